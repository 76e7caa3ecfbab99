//! GLiNER and DeBERTa against the Python libraries, on the fixtures `bench/gliner_fixtures.py`
//! made with `gliner` and `transformers` (tiny random models, perturbed weights so every term
//! shows; see bench/GLINER_FIXTURES.md): DeBERTa hidden states layer by layer, GLiNER input
//! ids, logits and decoded entities, and the strict loader's messages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jner_torch::deberta::{DebertaConfig, DebertaModel};
use jner_torch::gliner::{DecodeMode, GlinerModel};
use serde_json::Value;
use tch::{nn, Device, Kind, Tensor};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gliner")
}

fn tensors(p: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(p).unwrap().into_iter().collect()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// DeBERTa-v2/v3 hidden states equal transformers' at every layer, padding rows included:
/// v3 (256 buckets, shared keys, 300 tokens so distances beyond 128 are log-bucketed) and
/// v2 (16 buckets, max 64, own position projections).
#[test]
fn deberta_hidden_states_match_transformers_layer_by_layer() {
    super::common::one_thread();
    for variant in ["v3", "v2"] {
        let dir = fixtures().join("deberta_only").join(variant);
        let cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        let cfg = DebertaConfig::from_json(&cfg).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = DebertaModel::new(&vs.root(), &cfg);
        let w = tensors(&dir.join("model.safetensors"));
        let mut n = 0;
        for (name, var) in vs.variables() {
            let src = w
                .get(&name)
                .unwrap_or_else(|| panic!("{variant}: no {name} in the fixture"));
            tch::no_grad(|| var.shallow_clone().copy_(src));
            n += 1;
        }
        let extra: Vec<&String> = w
            .keys()
            .filter(|k| !vs.variables().contains_key(*k))
            .collect();
        assert!(
            extra.is_empty(),
            "{variant}: unused fixture weights {extra:?}"
        );
        assert!(n > 10);
        let h = tensors(&dir.join("hidden.safetensors"));
        let all = tch::no_grad(|| model.forward_all(&h["input_ids"], &h["attention_mask"], false));
        assert_eq!(all.len() as i64, cfg.num_hidden_layers + 1);
        for (i, got) in all.iter().enumerate() {
            let want = &h[&format!("hidden_states.{i}")];
            let m = h["attention_mask"].to_kind(Kind::Float).unsqueeze(-1);
            let d_valid = max_diff(&(got * &m), &(want * &m));
            let d = max_diff(got, want);
            assert!(
                d < 1e-4,
                "{variant} hidden state {i}: max |diff| {d} (on real tokens {d_valid})"
            );
        }
    }
}

struct Case {
    v: Value,
    i: usize,
}

fn cases(dir: &Path) -> Vec<Case> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| Case { v: c.clone(), i })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The text the library saw: cut after its first `W` words when it truncated.
fn seen_text(c: &Value) -> String {
    let text = c["text"].as_str().unwrap();
    let w = c["W"].as_u64().unwrap() as usize;
    let words = c["words"].as_array().unwrap();
    if words.len() > w {
        let end_char = words[w - 1][1].as_u64().unwrap() as usize;
        text.chars().take(end_char).collect()
    } else {
        text.to_string()
    }
}

/// 1 on the cells `[0, i, k, c]` of real spans (`i + k < w`) of a `[1, w, k, c]` grid.
fn real_cells(size: &[i64]) -> Tensor {
    let (w, k) = (size[1], size[2]);
    let i = Tensor::arange(w, (Kind::Int64, Device::Cpu)).view([1, w, 1, 1]);
    let j = Tensor::arange(k, (Kind::Int64, Device::Cpu)).view([1, 1, k, 1]);
    (i + j).lt(w).to_kind(Kind::Float)
}

fn check_model(name: &str) {
    super::common::one_thread();
    let dir = fixtures().join(name);
    let model = GlinerModel::load(&dir).unwrap();
    let t = tensors(&dir.join("cases.safetensors"));
    for Case { v: c, i } in cases(&dir) {
        let cname = c["name"].as_str().unwrap().to_string();
        let labels = strings(&c["labels"]);
        let text = seen_text(&c);
        // the same words
        let words: Vec<(usize, usize)> = {
            let ix = jner_corpus::offsets::CharIndex::new(c["text"].as_str().unwrap());
            jner_torch::words::split_words(c["text"].as_str().unwrap())
                .iter()
                .map(|&(a, b)| (ix.to_char(a).unwrap(), ix.to_char(b).unwrap()))
                .collect()
        };
        let want_words: Vec<(usize, usize)> = c["words"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap() as usize,
                    p[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert_eq!(words, want_words, "{name}/{cname}: words");
        // the same input ids
        let tok = model.tokenize(&text).unwrap();
        let prompt = jner_torch::gliner::data::Prompt::new(
            model.tokenizer(),
            &jner_torch::gliner::data::dedup_labels(&labels),
            model.specials(),
        )
        .unwrap();
        let item = jner_torch::gliner::data::build_item(
            &tok,
            (0, tok.words.len()),
            &prompt,
            model.specials(),
        );
        let want_ids = Vec::<i64>::try_from(t[&format!("case{i}.input_ids")].view([-1])).unwrap();
        if want_ids.len() < item.input_ids.len() {
            // the library cut prompt + words at the tokenizer's limit: the words past it are
            // scored from zero vectors there; jner reads them in further windows instead
            let n = want_ids.len() - 1;
            assert_eq!(
                want_ids[..n],
                item.input_ids[..n],
                "{name}/{cname}: input ids"
            );
            eprintln!(
                "{name}/{cname}: the library cut the input at {} subwords",
                want_ids.len()
            );
            continue;
        }
        assert_eq!(item.input_ids, want_ids, "{name}/{cname}: input ids");
        // words_mask: jner maps word j to its own first piece. The library numbers the words
        // that have pieces in turn, so after a word the tokenizer drops entirely (a lone
        // combining mark under BERT's accent stripping) every later word gets the next word's
        // vector and the last word none: a library bug jner does not copy. Where it happens,
        // check that it is exactly that, and compare no further.
        let want_mask = Vec::<i64>::try_from(t[&format!("case{i}.words_mask")].view([-1])).unwrap();
        let mut ours = vec![0i64; item.input_ids.len()];
        let mut compacted = vec![0i64; item.input_ids.len()];
        let mut seen = 0;
        for (j, p) in item.word_pos.iter().enumerate() {
            if let Some(p) = p {
                seen += 1;
                ours[*p] = j as i64 + 1;
                compacted[*p] = seen;
            }
        }
        if ours != want_mask {
            assert_eq!(compacted, want_mask, "{name}/{cname}: words_mask");
            assert!(item.word_pos.iter().any(Option::is_none));
            eprintln!(
                "{name}/{cname}: a word without subwords; the library's word shift is not copied"
            );
            continue;
        }
        // the same logits
        let parts = model.parts_one(&text, &labels).unwrap();
        for (stage, got) in [
            ("token_embeds", &parts.tokens),
            ("words_embedding_pre_lstm", &parts.words_pre_lstm),
            ("words_embedding", &parts.words),
            ("prompts_embedding", &parts.prompts),
            ("span_rep", &parts.spans),
        ] {
            if let Some(want) = t.get(&format!("case{i}.{stage}")) {
                let d = max_diff(got, want);
                assert!(d < 1e-4, "{name}/{cname}: {stage} max |diff| {d}");
            }
        }
        // the library's layout (every cell) and jner's factored one (the cells of real spans;
        // those past the text's end are never read)
        let want = &t[&format!("case{i}.logits")];
        let real = real_cells(&want.size());
        for (how, got, mask) in [
            ("span vectors", parts.logits, None),
            (
                "factored",
                model.logits_one(&text, &labels).unwrap(),
                Some(&real),
            ),
        ] {
            assert_eq!(got.size(), want.size(), "{name}/{cname}: logits shape");
            let d = match mask {
                None => max_diff(&got, want),
                Some(m) => max_diff(&(&got * m), &(want * m)),
            };
            assert!(d < 1e-4, "{name}/{cname}: logits ({how}) max |diff| {d}");
        }
        // the same entities, when the library read the whole text in one window
        if c["num_words_before_truncation"] == c["W"] {
            let mode = DecodeMode {
                nested: !c["flat_ner"].as_bool().unwrap(),
                multi_label: c["multi_label"].as_bool().unwrap(),
            };
            let th = c["threshold"].as_f64().unwrap() as f32;
            let got = model
                .predict_texts(&[text.as_str()], &labels, th, mode, 4)
                .unwrap()
                .remove(0);
            let want = c["entities"].as_array().unwrap();
            let key = |s: usize, e: usize, l: &str| format!("{s}..{e} {l}");
            let mut g: Vec<String> = got.iter().map(|e| key(e.start, e.end, &e.label)).collect();
            let mut w: Vec<String> = want
                .iter()
                .map(|e| {
                    key(
                        e["start"].as_u64().unwrap() as usize,
                        e["end"].as_u64().unwrap() as usize,
                        e["label"].as_str().unwrap(),
                    )
                })
                .collect();
            g.sort();
            w.sort();
            assert_eq!(g, w, "{name}/{cname}: entities");
            for e in &got {
                let we = want
                    .iter()
                    .find(|x| {
                        x["start"].as_u64() == Some(e.start as u64)
                            && x["end"].as_u64() == Some(e.end as u64)
                            && x["label"].as_str() == Some(&e.label)
                    })
                    .unwrap();
                let ws = we["score"].as_f64().unwrap();
                assert!(
                    (f64::from(e.score) - ws).abs() < 1e-4,
                    "{name}/{cname}: score"
                );
            }
        }
    }
}

#[test]
fn gliner_on_deberta_matches_the_library() {
    check_model("deberta");
}

#[test]
fn gliner_on_bert_matches_the_library() {
    check_model("bert");
}

/// The loader names every missing, unexpected and misshapen key (the library's
/// `strict=False` would keep random weights silently).
#[test]
fn strict_loader_names_every_bad_key() {
    super::common::one_thread();
    let src = fixtures().join("deberta");
    let tmp = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), tmp.path().join(f.file_name())).unwrap();
    }
    let mut w: Vec<(String, Tensor)> = Tensor::read_safetensors(src.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k != "rnn.lstm.weight_hh_l0")
        .map(|(k, t)| {
            if k == "prompt_rep_layer.0.bias" {
                (k, Tensor::zeros([7], (Kind::Float, Device::Cpu)))
            } else {
                (k, t)
            }
        })
        .collect();
    w.push((
        "rnn.lstm.weight_hh_l1".into(),
        Tensor::zeros([2], (Kind::Float, Device::Cpu)),
    ));
    Tensor::write_safetensors(&w, tmp.path().join("model.safetensors")).unwrap();
    let e = GlinerModel::load(tmp.path()).err().unwrap().to_string();
    for want in [
        "missing 1 key(s): rnn.lstm.weight_hh_l0",
        "unexpected 1 key(s): rnn.lstm.weight_hh_l1",
        "prompt_rep_layer.0.bias: [7] in the file",
        "model.safetensors",
    ] {
        assert!(e.contains(want), "{want:?} not in: {e}");
    }
}

/// The factored forward pass has the gradients of the library-shaped one (every weight).
#[test]
fn factored_logits_have_the_reference_gradients() {
    super::common::one_thread();
    let model = GlinerModel::load(&fixtures().join("deberta")).unwrap();
    let labels: Vec<String> = ["person", "place", "medical condition"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let texts = [
        "Alice went to Paris with her son.",
        "No fever, but a bad cough.",
    ];
    let prompt =
        jner_torch::gliner::data::Prompt::new(model.tokenizer(), &labels, model.specials())
            .unwrap();
    let toks: Vec<_> = texts.iter().map(|t| model.tokenize(t).unwrap()).collect();
    let items: Vec<_> = toks
        .iter()
        .map(|t| {
            jner_torch::gliner::data::build_item(t, (0, t.words.len()), &prompt, model.specials())
        })
        .collect();
    let refs: Vec<_> = items.iter().collect();
    let batch = jner_torch::gliner::data::collate(&refs, model.specials().pad);
    model.with_net(|net| {
        tch::manual_seed(3);
        // real spans only (cells past a text's end differ by design and are never read)
        let probe = Tensor::randn(
            [2, batch.w as i64, net.max_width, 3],
            (Kind::Float, Device::Cpu),
        ) * jner_torch::gliner::net::span_mask(
            &batch.lengths,
            batch.w,
            net.max_width as usize,
            Device::Cpu,
        )
        .unsqueeze(-1);
        let grads = |fast: bool| {
            for (_, v) in net.vs.variables() {
                let mut g = v.grad();
                if g.defined() {
                    let _ = g.zero_();
                }
            }
            let l = if fast {
                net.logits(&batch, false)
            } else {
                net.forward_parts(&batch, false).logits
            };
            (l * &probe).sum(Kind::Float).backward();
            let mut out: Vec<(String, Tensor)> = net
                .vs
                .variables()
                .into_iter()
                .map(|(k, v)| (k, v.grad().copy()))
                .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        };
        let (a, b) = (grads(true), grads(false));
        let mut checked = 0;
        for ((name, ga), (_, gb)) in a.iter().zip(&b) {
            let scale = gb.abs().max().double_value(&[]).max(1e-3);
            let d = max_diff(ga, gb) / scale;
            assert!(d < 1e-4, "{name}: relative gradient diff {d}");
            checked += 1;
        }
        assert!(checked > 40);
    });
}

/// A v2.1-style checkpoint: a flat `gliner_config.json` (no `encoder_config`, no
/// `class_token_index`), `pytorch_model.bin`, no tokenizer: the encoder config and the
/// tokenizer come from `model_name` (here a folder with `config.json` and only `spm.model`,
/// as microsoft/deberta-v3-* on the hub), `[FLERT]`, `<<ENT>>`, `<<SEP>>` are added, and the
/// logits equal the library's on the fixture cases (plain ASCII text, where the spm conversion
/// of transformers 4 and the tokenizer of transformers 5 agree).
#[test]
fn legacy_checkpoints_load() {
    super::common::one_thread();
    let fx = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let enc = tmp.path().join("deberta-v3-tiny");
    std::fs::create_dir(&enc).unwrap();
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(fx.join("deberta/gliner_config.json")).unwrap(),
    )
    .unwrap();
    let mut enc_cfg = saved["encoder_config"].clone();
    enc_cfg["vocab_size"] = serde_json::json!(640); // the encoder before GLiNER's tokens
    std::fs::write(enc.join("config.json"), enc_cfg.to_string()).unwrap();
    std::fs::copy(fx.join("spm/spm.model"), enc.join("spm.model")).unwrap();
    let model_dir = tmp.path().join("gliner_small-v2.1-like");
    std::fs::create_dir(&model_dir).unwrap();
    let legacy = serde_json::json!({"model_name": enc.to_str().unwrap(), "name": "correct",
        "max_width": 12, "hidden_size": 24, "dropout": 0.4, "fine_tune": true,
        "subtoken_pooling": "first", "span_mode": "markerV0", "num_steps": 30000,
        "train_batch_size": 8, "lr_encoder": "1e-5", "lr_others": "5e-5", "warmup_ratio": 3000,
        "max_len": 384, "max_types": 25, "shuffle_types": true, "random_drop": true,
        "max_neg_type_ratio": 1, "size_sup": -1});
    std::fs::write(model_dir.join("gliner_config.json"), legacy.to_string()).unwrap();
    std::fs::copy(
        fx.join("legacy/pytorch_model.bin"),
        model_dir.join("pytorch_model.bin"),
    )
    .unwrap();
    let model = GlinerModel::load(&model_dir).unwrap();
    assert_eq!(model.specials().ent, 642);
    assert_eq!(model.config.class_token_index, Some(642));
    let t = tensors(&fx.join("deberta/cases.safetensors"));
    let mut checked = 0;
    for Case { v: c, i } in cases(&fx.join("deberta")) {
        let name = c["name"].as_str().unwrap();
        if !["short_en", "long", "many_labels", "nested", "threshold_low"].contains(&name) {
            continue;
        }
        let labels = strings(&c["labels"]);
        let got = model
            .logits_one(c["text"].as_str().unwrap(), &labels)
            .unwrap();
        let want = &t[&format!("case{i}.logits")];
        let real = real_cells(&want.size());
        let d = max_diff(&(&got * &real), &(want * &real));
        assert!(d < 1e-4, "legacy/{name}: logits max |diff| {d}");
        checked += 1;
    }
    assert_eq!(checked, 5);
    // the encoder's folder is needed: without it, the error names model_name
    std::fs::remove_dir_all(&enc).unwrap();
    let e = GlinerModel::load(&model_dir).err().unwrap().to_string();
    assert!(
        e.contains("model_name") && e.contains("deberta-v3-tiny"),
        "{e}"
    );
}

fn docs() -> Vec<jner_corpus::Document> {
    let mk = |id: &str, text: &str, spans: &[(&str, &str)]| {
        let spans = spans
            .iter()
            .map(|(w, l)| {
                let s = text.find(w).unwrap();
                jner_corpus::Span {
                    start: s,
                    end: s + w.len(),
                    label: l.to_string(),
                }
            })
            .collect();
        jner_corpus::Document {
            id: id.into(),
            text: text.into(),
            source: "test".into(),
            spans,
        }
    };
    vec![
        mk(
            "a",
            "Alice moved to Paris with her son.",
            &[("Alice", "person"), ("Paris", "location")],
        ),
        mk(
            "b",
            "The boy from Lyon had a fever.",
            &[("Lyon", "location"), ("fever", "condition")],
        ),
        mk("c", "Nothing to see here.", &[]),
        mk(
            "d",
            "Bob has asthma and lives in Rome.",
            &[
                ("Bob", "person"),
                ("asthma", "condition"),
                ("Rome", "location"),
            ],
        ),
    ]
}

/// Fine-tuning the library-made checkpoint: the loss falls, and a run interrupted after
/// epoch 1 of 3 and resumed ends with the uninterrupted run's weights (dropout on: the
/// dropout stream, the optimizer's moments and the per-epoch data order are restored).
#[test]
fn fine_tuning_learns_and_resumes_exactly() {
    use jner_run::{PendingRun, RunDir, RunMode};
    use jner_torch::gliner::GlinerTrainConfig;
    super::common::one_thread();
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = GlinerTrainConfig::new(fixtures().join("deberta").to_str().unwrap());
    cfg.epochs = 3;
    cfg.batch_size = 2;
    cfg.lr = 1e-3;
    cfg.lr_others = 1e-3;
    cfg.threads = Some(1);
    cfg.progress = false;
    let d = docs();
    let b = tmp.path().join("b");
    let whole =
        jner_torch::gliner::train(&d, &d, &cfg, PendingRun::new_run(&b).unwrap(), Value::Null)
            .unwrap();
    let losses: Vec<f64> = whole.epochs.iter().map(|e| e.loss).collect();
    assert!(losses[2] < losses[0], "the loss does not fall: {losses:?}");
    let a = tmp.path().join("a.safetensors");
    std::fs::copy(b.join("final/model.safetensors"), &a).unwrap();
    for gone in ["checkpoint-epoch-2", "checkpoint-epoch-3", "final"] {
        std::fs::remove_dir_all(b.join(gone)).unwrap();
    }
    let m = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    std::fs::write(
        b.join("metrics.jsonl"),
        format!("{}\n", m.lines().next().unwrap()),
    )
    .unwrap();
    let plan = RunDir::check(&b, RunMode::Resume, &Value::Null).unwrap();
    assert_eq!(plan.resume_from(), Some(1));
    let resumed =
        jner_torch::gliner::train(&d, &d, &cfg, plan.pending(Value::Null), Value::Null).unwrap();
    let (wa, wb) = (tensors(&a), tensors(&b.join("final/model.safetensors")));
    assert_eq!(wa.len(), wb.len());
    let worst = wa
        .iter()
        .map(|(k, t)| max_diff(t, &wb[k]))
        .fold(0f64, f64::max);
    assert!(worst <= 1e-6, "weights differ by {worst} after the resume");
    assert_eq!(resumed.epochs.len(), 2);
    assert!((resumed.epochs[1].loss - losses[2]).abs() <= 1e-6 * losses[2].abs().max(1.0));
    // the saved model is the library's layout and loads back
    let m = GlinerModel::load(&b.join("final")).unwrap();
    assert_eq!(m.trained_labels(), ["condition", "location", "person"]);
}
