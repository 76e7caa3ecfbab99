//! `gliner_config.json`: the keys the span model needs, read from the library's files (old
//! flat v2.1 configs and the v0.2.x layout with `encoder_config`), and every other key kept so
//! a saved model round-trips.

use serde_json::{json, Value};

use crate::{Result, TorchError};

/// The span model's settings (`GLiNERConfig` of the Python library).
#[derive(Clone, Debug, PartialEq)]
pub struct GlinerConfig {
    /// The encoder's hub id or folder (where an old checkpoint's tokenizer and encoder config
    /// come from).
    pub model_name: String,
    /// Width `D` of the head (the `projection` maps the encoder's width to it when they differ).
    pub hidden_size: i64,
    /// Longest span in words.
    pub max_width: usize,
    pub dropout: f64,
    /// Words per window.
    pub max_len: usize,
    /// Labels per training prompt.
    pub max_types: usize,
    pub max_neg_type_ratio: usize,
    pub has_rnn: bool,
    pub embed_ent_token: bool,
    /// Id of `<<ENT>>`; `None` in old configs (then the tokens are added on load).
    pub class_token_index: Option<i64>,
    /// Rows of the embedding matrix; `None` in old configs.
    pub vocab_size: Option<i64>,
    pub ent_token: String,
    pub sep_token: String,
    /// The encoder's `config.json` as the v0.2.x library embeds it.
    pub encoder_config: Option<Value>,
    /// The whole file, for the keys jner does not read.
    pub raw: Value,
}

impl GlinerConfig {
    /// Reads a `gliner_config.json` value; refuses what this implementation does not compute
    /// (other span modes, bi-encoders, fused layers, other word splitters) by name.
    pub fn from_json(v: &Value, path: &std::path::Path) -> Result<Self> {
        let bad = |m: String| TorchError::invalid(format!("{}: {m}", path.display()));
        let obj = v
            .as_object()
            .ok_or_else(|| bad("not a JSON object".into()))?;
        let s = |k: &str, d: &str| -> Result<String> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(d.to_string()),
                Some(Value::String(x)) => Ok(x.clone()),
                Some(x) => Err(bad(format!("`{k}` must be a string, got {x}"))),
            }
        };
        let int = |k: &str, d: i64| -> Result<i64> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(d),
                Some(x) => x
                    .as_i64()
                    .ok_or_else(|| bad(format!("`{k}` must be an integer, got {x}"))),
            }
        };
        let flag = |k: &str, d: bool| -> Result<bool> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(d),
                Some(x) => x
                    .as_bool()
                    .ok_or_else(|| bad(format!("`{k}` must be true or false, got {x}"))),
            }
        };
        let span_mode = s("span_mode", "markerV0")?;
        if span_mode != "markerV0" {
            return Err(bad(format!(
                "span_mode `{span_mode}` is not supported (jner computes GLiNER's span model, span_mode markerV0, as the v2.1 checkpoints use)"
            )));
        }
        for k in ["labels_encoder", "labels_decoder"] {
            if obj.get(k).is_some_and(|x| !x.is_null()) {
                return Err(bad(format!(
                    "`{k}` is set: bi-encoder and decoder GLiNER models are not supported"
                )));
            }
        }
        if flag("fuse_layers", false)? {
            return Err(bad("fuse_layers = true is not supported".into()));
        }
        let fusion = s("post_fusion_schema", "")?;
        if !fusion.is_empty() {
            return Err(bad(format!(
                "post_fusion_schema `{fusion}` is not supported"
            )));
        }
        let splitter = s("words_splitter_type", "whitespace")?;
        if splitter != "whitespace" {
            return Err(bad(format!(
                "words_splitter_type `{splitter}` is not supported (only `whitespace`, GLiNER's regex splitter)"
            )));
        }
        let pooling = s("subtoken_pooling", "first")?;
        if pooling != "first" {
            return Err(bad(format!(
                "subtoken_pooling `{pooling}` is not supported (only `first`)"
            )));
        }
        // HEAD renamed has_rnn to num_rnn_layers
        let has_rnn = match obj.get("num_rnn_layers").and_then(Value::as_i64) {
            Some(0) => false,
            Some(1) => true,
            Some(n) => {
                return Err(bad(format!(
                    "num_rnn_layers = {n} is not supported (0 or 1)"
                )))
            }
            None => flag("has_rnn", true)?,
        };
        let opt = |k: &str| -> Result<Option<i64>> {
            let x = int(k, -1)?;
            Ok((x >= 0).then_some(x))
        };
        let cfg = GlinerConfig {
            model_name: s("model_name", "microsoft/deberta-v3-small")?,
            hidden_size: int("hidden_size", 512)?,
            max_width: int("max_width", 12)?.clamp(0, i64::MAX) as usize,
            dropout: obj.get("dropout").and_then(Value::as_f64).unwrap_or(0.4),
            max_len: int("max_len", 384)?.clamp(0, i64::MAX) as usize,
            max_types: int("max_types", 25)?.clamp(0, i64::MAX) as usize,
            max_neg_type_ratio: int("max_neg_type_ratio", 1)?.clamp(0, i64::MAX) as usize,
            has_rnn,
            embed_ent_token: flag("embed_ent_token", true)?,
            class_token_index: opt("class_token_index")?,
            vocab_size: opt("vocab_size")?,
            ent_token: s("ent_token", "<<ENT>>")?,
            sep_token: s("sep_token", "<<SEP>>")?,
            encoder_config: obj.get("encoder_config").filter(|x| !x.is_null()).cloned(),
            raw: v.clone(),
        };
        cfg.check().map_err(|e| bad(e.to_string()))?;
        Ok(cfg)
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(TorchError::invalid(m));
        if !(1..=16_384).contains(&self.hidden_size) || self.hidden_size % 2 != 0 {
            return bad(format!(
                "hidden_size = {} (must be even, 2 to 16384)",
                self.hidden_size
            ));
        }
        if !(1..=64).contains(&self.max_width) {
            return bad(format!("max_width = {} is outside [1, 64]", self.max_width));
        }
        if !(1..=100_000).contains(&self.max_len) {
            return bad(format!("max_len = {} is outside [1, 100000]", self.max_len));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout = {} is outside [0, 1)", self.dropout));
        }
        if self.ent_token.is_empty()
            || self.sep_token.is_empty()
            || self.ent_token == self.sep_token
        {
            return bad("ent_token and sep_token must be two different, non-empty tokens".into());
        }
        Ok(())
    }

    /// A fresh model's config on an encoder (the library's defaults, `hidden_size` 512).
    pub fn fresh(model_name: &str, encoder_config: Value) -> Self {
        let raw = json!({
            "model_name": model_name,
            "name": "span level gliner",
            "max_width": 12,
            "hidden_size": 512,
            "dropout": 0.4,
            "fine_tune": true,
            "subtoken_pooling": "first",
            "span_mode": "markerV0",
            "post_fusion_schema": "",
            "num_post_fusion_layers": 1,
            "vocab_size": -1,
            "max_neg_type_ratio": 1,
            "max_types": 25,
            "max_len": 384,
            "words_splitter_type": "whitespace",
            "has_rnn": true,
            "fuse_layers": false,
            "embed_ent_token": true,
            "class_token_index": -1,
            "encoder_config": encoder_config,
            "ent_token": "<<ENT>>",
            "sep_token": "<<SEP>>",
            "_attn_implementation": null,
            "model_type": "gliner",
        });
        Self::from_json(&raw, std::path::Path::new("gliner_config.json"))
            .expect("the defaults are valid")
    }

    /// The file to write: the keys read at load, updated with this config's values.
    pub fn to_json(&self) -> Value {
        let mut v = self.raw.clone();
        if let Value::Object(m) = &mut v {
            m.insert("model_name".into(), json!(self.model_name));
            m.insert("hidden_size".into(), json!(self.hidden_size));
            m.insert("max_width".into(), json!(self.max_width));
            m.insert("dropout".into(), json!(self.dropout));
            m.insert("max_len".into(), json!(self.max_len));
            m.insert("max_types".into(), json!(self.max_types));
            m.insert("max_neg_type_ratio".into(), json!(self.max_neg_type_ratio));
            m.insert(
                "class_token_index".into(),
                json!(self.class_token_index.unwrap_or(-1)),
            );
            m.insert("vocab_size".into(), json!(self.vocab_size.unwrap_or(-1)));
            m.insert("ent_token".into(), json!(self.ent_token));
            m.insert("sep_token".into(), json!(self.sep_token));
            m.insert("span_mode".into(), json!("markerV0"));
            if m.contains_key("num_rnn_layers") {
                m.insert("num_rnn_layers".into(), json!(i64::from(self.has_rnn)));
            } else {
                m.insert("has_rnn".into(), json!(self.has_rnn));
            }
            if let Some(e) = &self.encoder_config {
                m.insert("encoder_config".into(), e.clone());
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_configs_load_and_unsupported_modes_are_named() {
        let p = std::path::Path::new("gliner_config.json");
        // the flat v2.1 layout: training keys are ignored, no encoder_config
        let legacy = json!({"model_name": "microsoft/deberta-v3-small", "name": "correct",
            "max_width": 12, "hidden_size": 512, "dropout": 0.4, "fine_tune": true,
            "subtoken_pooling": "first", "span_mode": "markerV0", "num_steps": 30000,
            "train_batch_size": 8, "lr_encoder": "1e-5", "lr_others": "5e-5",
            "warmup_ratio": 3000, "max_len": 384, "max_types": 25, "shuffle_types": true,
            "random_drop": true, "max_neg_type_ratio": 1, "size_sup": -1});
        let c = GlinerConfig::from_json(&legacy, p).unwrap();
        assert_eq!((c.hidden_size, c.max_width, c.max_len), (512, 12, 384));
        assert_eq!(c.class_token_index, None);
        assert!(c.encoder_config.is_none());
        assert!(c.has_rnn);
        for (k, v, want) in [
            ("span_mode", json!("token_level"), "token_level"),
            ("labels_encoder", json!("bge"), "bi-encoder"),
            ("words_splitter_type", json!("spacy"), "spacy"),
            ("hidden_size", json!(7), "hidden_size"),
            ("max_width", json!(0), "max_width"),
            ("max_len", json!("x"), "integer"),
        ] {
            let mut b = legacy.clone();
            b[k] = v;
            let e = GlinerConfig::from_json(&b, p).unwrap_err().to_string();
            assert!(e.contains(want), "{k}: {e}");
            assert!(e.contains("gliner_config.json"), "{e}");
        }
        let fresh = GlinerConfig::fresh("enc", json!({"model_type": "bert"}));
        let round = GlinerConfig::from_json(&fresh.to_json(), p).unwrap();
        assert_eq!(
            round,
            GlinerConfig {
                raw: round.raw.clone(),
                ..fresh
            }
        );
    }
}
