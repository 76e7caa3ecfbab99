//! The encoders a span model can sit on, behind one type: the BERT family ([`crate::bert`])
//! and DeBERTa-v2/v3 ([`crate::deberta`]), chosen by `model_type` in the config.

use tch::{nn, Tensor};

use crate::bert::{additive_mask, BertConfig, BertModel};
use crate::deberta::{DebertaConfig, DebertaModel};
use crate::{Result, TorchError};

/// An encoder configuration, read from a Hugging Face `config.json` value.
#[derive(Clone, Debug, PartialEq)]
pub enum EncoderConfig {
    Bert(BertConfig),
    Deberta(DebertaConfig),
}

/// `model_type`s that load as DeBERTa-v2/v3.
pub const DEBERTA_TYPES: [&str; 1] = ["deberta-v2"];

impl EncoderConfig {
    pub fn from_json(v: &serde_json::Value) -> Result<Self> {
        let t = v
            .get("model_type")
            .and_then(|m| m.as_str())
            .unwrap_or("bert");
        if DEBERTA_TYPES.contains(&t) {
            return Ok(EncoderConfig::Deberta(DebertaConfig::from_json(v)?));
        }
        if t == "deberta" {
            return Err(TorchError::invalid(
                "encoder model_type `deberta` (DeBERTa v1) is not supported; DeBERTa-v2/v3 (`deberta-v2`) and the BERT family are",
            ));
        }
        BertConfig::from_json(v)
            .map(EncoderConfig::Bert)
            .map_err(|e| {
                TorchError::invalid(format!(
                    "{e} (GLiNER also takes deberta-v2, i.e. DeBERTa-v2/v3)"
                ))
            })
    }

    pub fn hidden_size(&self) -> i64 {
        match self {
            EncoderConfig::Bert(c) => c.hidden_size,
            EncoderConfig::Deberta(c) => c.hidden_size,
        }
    }

    pub fn vocab_size(&self) -> i64 {
        match self {
            EncoderConfig::Bert(c) => c.vocab_size,
            EncoderConfig::Deberta(c) => c.vocab_size,
        }
    }

    pub fn set_vocab_size(&mut self, n: i64) {
        match self {
            EncoderConfig::Bert(c) => c.vocab_size = n,
            EncoderConfig::Deberta(c) => c.vocab_size = n,
        }
    }

    pub fn pad_token_id(&self) -> i64 {
        match self {
            EncoderConfig::Bert(c) => c.pad_token_id,
            EncoderConfig::Deberta(c) => c.pad_token_id,
        }
    }

    /// The longest input in subword tokens (specials included) the encoder takes: the
    /// position table of a BERT (after RoBERTa's offset), 512 for DeBERTa (its relative
    /// positions have no hard limit, but it was trained on 512-token inputs and its tokenizer
    /// says 512).
    pub fn max_tokens(&self) -> usize {
        match self {
            EncoderConfig::Bert(c) => {
                (c.max_position_embeddings - c.first_position()).max(1) as usize
            }
            EncoderConfig::Deberta(c) => c.max_position_embeddings.max(1) as usize,
        }
    }

    /// The input length past which the encoder cannot compute at all (a BERT's position
    /// table); `None` for DeBERTa with relative positions only.
    pub fn hard_limit(&self) -> Option<usize> {
        match self {
            EncoderConfig::Bert(c) => {
                Some((c.max_position_embeddings - c.first_position()).max(1) as usize)
            }
            EncoderConfig::Deberta(c) if c.position_biased_input => {
                Some(c.max_position_embeddings.max(1) as usize)
            }
            EncoderConfig::Deberta(_) => None,
        }
    }

    pub fn n_params(&self) -> i64 {
        match self {
            EncoderConfig::Bert(c) => c.n_params(),
            EncoderConfig::Deberta(c) => c.n_params(),
        }
    }

    pub fn hidden_dropout(&self) -> f64 {
        match self {
            EncoderConfig::Bert(c) => c.hidden_dropout_prob,
            EncoderConfig::Deberta(c) => c.hidden_dropout_prob,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            EncoderConfig::Bert(_) => "bert",
            EncoderConfig::Deberta(_) => "deberta-v2",
        }
    }
}

/// An encoder network.
#[derive(Debug)]
pub enum Encoder {
    Bert(BertModel),
    Deberta(DebertaModel),
}

impl Encoder {
    pub fn new(p: &nn::Path, cfg: &EncoderConfig) -> Self {
        match cfg {
            EncoderConfig::Bert(c) => Encoder::Bert(BertModel::new(p, c)),
            EncoderConfig::Deberta(c) => Encoder::Deberta(DebertaModel::new(p, c)),
        }
    }

    /// Last hidden states `[b, t, h]` of `ids` `[b, t]` under the 0/1 padding `mask` `[b, t]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        match self {
            Encoder::Bert(m) => m.forward(ids, None, None, Some(&additive_mask(mask)), train),
            Encoder::Deberta(m) => m.forward(ids, mask, train),
        }
    }

    /// Whether `name` (relative to the encoder) is a weight checkpoints may leave out: BERT's
    /// pooler (GLiNER never uses it).
    pub fn optional_weight(name: &str) -> bool {
        name.starts_with("pooler.")
    }
}
