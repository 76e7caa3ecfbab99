//! `jner_torch::spm` against transformers' `DebertaV2TokenizerFast` (4.x, built from `spm.model`
//! by `DebertaV2Converter`): ids, word ids, the serialized tokenizer, vocabulary size and special
//! token ids. The reference is made by `bench/spm_reference.py` (its docstring has the command)
//! in `tests/fixtures/spm_convert/`.

use std::path::{Path, PathBuf};

use jner_torch::spm::{tokenizer_from_spm, SpmModel};
use serde_json::Value;
use tokenizers::Tokenizer;

const MODELS: [&str; 2] = ["deberta_v3_like", "identity_bytes"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spm_convert")
}

fn expected() -> Value {
    let path = dir().join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn load(name: &str) -> Tokenizer {
    tokenizer_from_spm(&dir().join(name).join("spm.model")).unwrap()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

/// Rounds every float to f32. The scores are f32 values; serde_json's default float parsing
/// (without `float_roundtrip`) may read the reference's shortest decimal form one f64 ulp off.
fn round_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            *v = Value::from(n.as_f64().unwrap() as f32 as f64);
        }
        Value::Array(a) => a.iter_mut().for_each(round_floats),
        Value::Object(o) => o.values_mut().for_each(round_floats),
        _ => {}
    }
}

fn tokens(tok: &Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&i| tok.id_to_token(i).unwrap_or_else(|| format!("<{i}?>")))
        .collect()
}

#[test]
fn encodes_every_string_like_transformers() {
    let expected = expected();
    let mut failures = Vec::new();
    let mut checked = 0;
    for name in MODELS {
        let tok = load(name);
        let reference = &expected["models"][name];
        for case in reference["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let want = u32s(&case["ids"]);
            let got = tok.encode(text, true).unwrap();
            checked += 1;
            if got.get_ids() != want.as_slice() {
                failures.push(format!(
                    "{name} {text:?}: got {:?} {:?}, transformers {want:?} {:?}",
                    got.get_ids(),
                    got.get_tokens(),
                    tokens(&tok, &want)
                ));
            }
            let Some(words) = case.get("words") else {
                continue;
            };
            let words = strs(words);
            let want = u32s(&case["word_ids_ids"]);
            let want_words: Vec<Option<u32>> = case["word_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_u64().map(|w| w as u32))
                .collect();
            let got = tok.encode(words.clone(), true).unwrap();
            checked += 1;
            if got.get_ids() != want.as_slice() || got.get_word_ids() != want_words.as_slice() {
                failures.push(format!(
                    "{name} words {words:?}: got {:?} {:?} {:?}, transformers {want:?} {:?} {:?}",
                    got.get_ids(),
                    got.get_tokens(),
                    got.get_word_ids(),
                    tokens(&tok, &want),
                    want_words
                ));
            }
        }
        for pair in reference["pairs"].as_array().unwrap() {
            let (a, b) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
            let got = tok.encode((a, b), true).unwrap();
            checked += 1;
            if got.get_ids() != u32s(&pair["ids"]).as_slice()
                || got.get_type_ids() != u32s(&pair["type_ids"]).as_slice()
            {
                failures.push(format!(
                    "{name} pair {a:?} {b:?}: got {:?} {:?}, transformers {} {}",
                    got.get_ids(),
                    got.get_type_ids(),
                    pair["ids"],
                    pair["type_ids"]
                ));
            }
        }
    }
    assert!(checked > 150, "only {checked} encodings checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} encodings differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn builds_the_tokenizer_transformers_builds() {
    let expected = expected();
    let charsmap_marker = expected["charsmap_marker"].as_str().unwrap();
    let vocab_marker = expected["vocab_marker"].as_str().unwrap();
    for name in MODELS {
        let reference = &expected["models"][name];
        let tok = load(name);
        let model = SpmModel::load(&dir().join(name).join("spm.model")).unwrap();
        assert_eq!(
            model.pieces.len() as u64,
            reference["sp_piece_size"].as_u64().unwrap()
        );
        assert_eq!(
            model.normalizer_spec.precompiled_charsmap.len() as u64,
            reference["charsmap_len"].as_u64().unwrap()
        );

        // Sizes and special token ids.
        assert_eq!(
            tok.get_vocab_size(true) as u64,
            reference["len"].as_u64().unwrap(),
            "{name}: len(tokenizer)"
        );
        assert_eq!(
            tok.get_vocab_size(true) as u64,
            reference["backend_vocab_size_with_added"].as_u64().unwrap()
        );
        assert_eq!(
            tok.get_vocab_size(false) as u64,
            reference["vocab_size"].as_u64().unwrap(),
            "{name}: vocab_size"
        );
        for (key, token) in [
            ("cls", "[CLS]"),
            ("sep", "[SEP]"),
            ("pad", "[PAD]"),
            ("unk", "[UNK]"),
            ("mask", "[MASK]"),
        ] {
            assert_eq!(
                tok.token_to_id(token).map(u64::from),
                reference["special_ids"][key].as_u64(),
                "{name}: {token}"
            );
        }

        // The serialized tokenizer, the charsmap (and for one model the vocabulary) replaced by
        // the markers the reference uses.
        let mut mine = serde_json::to_value(&tok).unwrap();
        for n in mine["normalizer"]["normalizers"].as_array_mut().unwrap() {
            if n["type"] == "Precompiled" {
                let b64 = n["precompiled_charsmap"].as_str().unwrap();
                let pad = b64.bytes().rev().take_while(|&b| b == b'=').count();
                assert_eq!(
                    b64.len() / 4 * 3 - pad,
                    model.normalizer_spec.precompiled_charsmap.len()
                );
                n["precompiled_charsmap"] = Value::from(charsmap_marker);
            }
        }
        round_floats(&mut mine);
        let mut want = reference["tokenizer_json"].clone();
        round_floats(&mut want);
        let mut sample = reference["vocab_sample"].clone();
        round_floats(&mut sample);
        if want["model"]["vocab"] == vocab_marker {
            let vocab = mine["model"]["vocab"].as_array().unwrap();
            assert_eq!(
                vocab.len() as u64,
                reference["sp_piece_size"].as_u64().unwrap()
            );
            for (id, entry) in sample.as_object().unwrap() {
                let id: usize = id.parse().unwrap();
                assert_eq!(&vocab[id], entry, "{name}: piece {id}");
            }
            mine["model"]["vocab"] = Value::from(vocab_marker);
        }
        let keys: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(
            mine.as_object().unwrap().keys().collect::<Vec<_>>(),
            keys,
            "{name}"
        );
        for key in keys {
            assert_eq!(mine[key], want[key], "{name}: tokenizer.json {key:?}");
        }
    }
}

#[test]
fn bad_files_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(dir().join("identity_bytes/spm.model")).unwrap();
    for (file, bytes) in [
        ("truncated.model", &good[..good.len() / 2]),
        ("garbage.model", &b"\xff\xff\xff\xff not a model"[..]),
        ("json.model", &b"{\"version\": \"1.0\"}"[..]),
    ] {
        let path = tmp.path().join(file);
        std::fs::write(&path, bytes).unwrap();
        let e = tokenizer_from_spm(&path).unwrap_err().to_string();
        assert!(e.contains(file), "{e}");
    }
}
