//! A tiny random-weight BERT folder (config.json, model.safetensors, tokenizer.json) built in
//! code, so no download is needed.

use std::path::Path;

use jner_torch::bert::{BertConfig, BertModel};
use serde_json::json;
use tch::{nn, Device};

pub const WORDS: &[&str] = &[
    "the", "a", "patient", "had", "has", "fever", "cough", "and", "chest", "pain", "girl", "boy",
    "mother", "was", "given", "surgery", "asthma", "diabetes", "no", "with", "of", "her", "his",
    "scan", "showed", "mild", "severe", "after", "day", "one", "two", "three", "old", "year", "-",
    ",", ".", "(", ")", "##s", "##ed", "##ing",
];

/// Call first in every test: tests run in parallel threads, and libtorch's intra-op pools
/// oversubscribe the cores badly under contention (seconds become minutes).
pub fn one_thread() {
    tch::set_num_threads(1);
}

pub fn vocab() -> Vec<String> {
    let mut v: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(WORDS.iter().map(|s| s.to_string()));
    v
}

pub fn tokenizer_json() -> serde_json::Value {
    let vocab: serde_json::Map<String, serde_json::Value> = vocab()
        .into_iter()
        .enumerate()
        .map(|(i, w)| (w, json!(i)))
        .collect();
    let special = |id: usize, content: &str| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    json!({
        "version": "1.0",
        "truncation": {"max_length": 8, "strategy": "LongestFirst", "stride": 0,
                       "direction": "Right"},
        "padding": null,
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"),
                         special(3, "[SEP]"), special(4, "[MASK]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
                       "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    })
}

pub fn tiny_config(hidden: i64, layers: i64) -> serde_json::Value {
    json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab().len(),
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": 2 * hidden,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 64,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "initializer_range": 0.02,
        "pad_token_id": 0,
        "position_embedding_type": "absolute"
    })
}

/// Writes a random tiny BERT folder; `prefix` (`""` or `"bert."`) goes before every weight name.
pub fn write_tiny_bert(dir: &Path, hidden: i64, layers: i64, prefix: &str, seed: i64) {
    write_tiny_bert_with(dir, tiny_config(hidden, layers), prefix, seed)
}

/// [`write_tiny_bert`] with a given config.
pub fn write_tiny_bert_with(dir: &Path, cfg_json: serde_json::Value, prefix: &str, seed: i64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), cfg_json.to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).unwrap();
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = BertConfig::from_json(&cfg_json).unwrap();
    let _m = BertModel::new(&vs.root(), &cfg);
    let named: Vec<(String, tch::Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v))
        .collect();
    tch::Tensor::write_safetensors(&named, dir.join("model.safetensors")).unwrap();
}

/// Words of the tiny RoBERTa vocabulary (each as a whole `Ġword` piece).
const ROBERTA_WORDS: &[&str] = &[
    "the", "a", "had", "her", "was", "given", "surgery", "after", "scan", "showed", "no", "one",
    "day", "old", "girl", "boy", "mother", "fever", "cough", "asthma", "diabetes", "chest", "pain",
    "severe", ".", ",",
];

/// A byte-level BPE tokenizer.json as RoBERTa ships it (`add_prefix_space: false`, which
/// jner must override for pre-split words): `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3,
/// `<mask>`=4, whole-word pieces `Ġword`, and single characters as the fallback.
pub fn roberta_tokenizer_json() -> serde_json::Value {
    let mut vocab = serde_json::Map::new();
    for t in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] {
        let n = vocab.len();
        vocab.insert(t.to_string(), json!(n));
    }
    for w in ROBERTA_WORDS {
        let n = vocab.len();
        vocab.insert(format!("Ġ{w}"), json!(n));
    }
    for c in (33u8..127).map(char::from).chain(std::iter::once('Ġ')) {
        let n = vocab.len();
        vocab.entry(c.to_string()).or_insert(json!(n));
    }
    let special = |id: usize, content: &str| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [special(0, "<s>"), special(1, "<pad>"), special(2, "</s>"),
                         special(3, "<unk>"), special(4, "<mask>")],
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                          "use_regex": true},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": true, "add_prefix_space": false},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                    "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>",
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
                  "vocab": vocab, "merges": []}
    })
}

/// A random tiny RoBERTa folder (`roberta.`-prefixed weights, as `RobertaForMaskedLM` saves).
pub fn write_tiny_roberta(dir: &Path, hidden: i64, layers: i64, seed: i64) -> serde_json::Value {
    let vocab_size = roberta_tokenizer_json()["model"]["vocab"]
        .as_object()
        .unwrap()
        .len();
    let mut cfg = tiny_config(hidden, layers);
    cfg["architectures"] = json!(["RobertaForMaskedLM"]);
    cfg["model_type"] = json!("roberta");
    cfg["vocab_size"] = json!(vocab_size);
    cfg["pad_token_id"] = json!(1);
    cfg["bos_token_id"] = json!(0);
    cfg["eos_token_id"] = json!(2);
    cfg["type_vocab_size"] = json!(1);
    cfg["layer_norm_eps"] = json!(1e-5);
    cfg["max_position_embeddings"] = json!(66);
    write_tiny_bert_with(dir, cfg.clone(), "roberta.", seed);
    std::fs::write(
        dir.join("tokenizer.json"),
        roberta_tokenizer_json().to_string(),
    )
    .unwrap();
    cfg
}
