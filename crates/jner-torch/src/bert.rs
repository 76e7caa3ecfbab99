//! A BERT-family encoder (BERT, MiniLM, …) on libtorch, weights named as in the Hugging Face
//! checkpoints (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`,
//! …) relative to the [`nn::Path`] it is built under.
//!
//! Unlike most ports it takes explicit `position_ids` and a full additive attention mask
//! `[batch, 1 or heads, q, k]`, which SpanMarker's levitated markers need.

use crate::dropout::dropout;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// Optimiser group of weights that get weight decay.
pub const DECAY_GROUP: usize = 0;
/// Optimiser group of biases and LayerNorm weights (no weight decay, as Hugging Face's Trainer).
pub const NO_DECAY_GROUP: usize = 1;

/// Added to attention scores of masked positions: large but finite, so that a row that may
/// see nothing (padding) gives a uniform softmax instead of NaN.
pub const MASK_VALUE: f64 = -1e9;

fn d_gelu() -> String {
    "gelu".into()
}
fn d_dropout() -> f64 {
    0.1
}
fn d_max_pos() -> i64 {
    512
}
fn d_type_vocab() -> i64 {
    2
}
fn d_eps() -> f64 {
    1e-12
}
fn d_init() -> f64 {
    0.02
}

/// The fields of a Hugging Face BERT `config.json` the encoder needs; other keys are kept by
/// the caller in the raw JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BertConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    #[serde(default = "d_gelu")]
    pub hidden_act: String,
    #[serde(default = "d_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "d_dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "d_max_pos")]
    pub max_position_embeddings: i64,
    #[serde(default = "d_type_vocab")]
    pub type_vocab_size: i64,
    #[serde(default = "d_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "d_init")]
    pub initializer_range: f64,
    #[serde(default)]
    pub pad_token_id: i64,
    /// `bert`, or a RoBERTa-family type (`roberta`, `xlm-roberta`, `camembert`): the same
    /// layers, with position ids that start after the padding index.
    #[serde(default = "d_model_type")]
    pub model_type: String,
}

fn d_model_type() -> String {
    "bert".into()
}

/// Encoder types that load as [`BertModel`].
pub const SUPPORTED_TYPES: [&str; 4] = ["bert", "roberta", "xlm-roberta", "camembert"];

impl BertConfig {
    /// Reads the encoder fields from a `config.json` value; refuses model types whose layout
    /// differs from BERT's.
    pub fn from_json(v: &serde_json::Value) -> crate::Result<Self> {
        let model_type = v
            .get("model_type")
            .and_then(|m| m.as_str())
            .unwrap_or("bert");
        if !SUPPORTED_TYPES.contains(&model_type) {
            return Err(crate::TorchError::invalid(format!(
                "encoder model_type `{model_type}` is not supported (supported: {}; BERT \
                 includes MiniLM, BioBERT, PubMedBERT and other BERT-layout checkpoints)",
                SUPPORTED_TYPES.join(", ")
            )));
        }
        if let Some(p) = v.get("position_embedding_type").and_then(|m| m.as_str()) {
            if p != "absolute" {
                return Err(crate::TorchError::invalid(format!(
                    "position_embedding_type `{p}` is not supported (only `absolute`)"
                )));
            }
        }
        let mut v = v.clone();
        v["model_type"] = serde_json::json!(model_type);
        let cfg: BertConfig = serde_json::from_value(v)
            .map_err(|e| crate::TorchError::invalid(format!("encoder config: {e}")))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The number of weights this configuration describes (embeddings and layers; the pooler,
    /// which checkpoints may leave out, is not counted).
    pub fn n_params(&self) -> i64 {
        let h = self.hidden_size;
        let emb =
            (self.vocab_size + self.max_position_embeddings + self.type_vocab_size) * h + 2 * h;
        let layer =
            4 * (h * h + h) + 2 * (h * self.intermediate_size) + self.intermediate_size + h + 4 * h;
        emb + self.num_hidden_layers * layer
    }

    /// Refuses a configuration whose weights cannot be in `weights` (a file of fewer bytes than
    /// two per weight, even in half precision): checked before the model is allocated.
    pub fn check_against_file(&self, weights: &std::path::Path) -> crate::Result<()> {
        check_size(self.n_params(), weights)
    }

    /// Range checks: a `config.json` is untrusted, and these sizes decide the allocations made
    /// before any weight is read (a `hidden_size` of 10^9 would abort the process).
    pub fn check(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::TorchError::invalid(format!("encoder config: {m}")));
        let ranges: [(&str, i64, i64); 7] = [
            ("vocab_size", self.vocab_size, 1 << 22),
            ("hidden_size", self.hidden_size, 16384),
            ("num_hidden_layers", self.num_hidden_layers, 256),
            ("num_attention_heads", self.num_attention_heads, 1024),
            ("intermediate_size", self.intermediate_size, 1 << 17),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                1 << 17,
            ),
            ("type_vocab_size", self.type_vocab_size, 1 << 10),
        ];
        for (name, value, max) in ranges {
            let min = if name == "type_vocab_size" { 0 } else { 1 };
            if !(min..=max).contains(&value) {
                return bad(format!("{name} {value} is outside {min}..={max}"));
            }
        }
        check_shared(&Shared {
            hidden_size: self.hidden_size,
            num_attention_heads: self.num_attention_heads,
            hidden_dropout_prob: self.hidden_dropout_prob,
            attention_probs_dropout_prob: self.attention_probs_dropout_prob,
            layer_norm_eps: self.layer_norm_eps,
            pad_token_id: self.pad_token_id,
            vocab_size: self.vocab_size,
        })
        .or_else(bad)?;
        Ok(())
    }

    /// Whether position ids start after the padding index (RoBERTa's
    /// `create_position_ids_from_input_ids`).
    pub fn is_roberta_family(&self) -> bool {
        self.model_type != "bert"
    }

    /// The position id of the first token when none are given: `pad_token_id + 1` for the
    /// RoBERTa family, 0 for BERT.
    pub fn first_position(&self) -> i64 {
        if self.is_roberta_family() {
            self.pad_token_id + 1
        } else {
            0
        }
    }
}

/// The fields every encoder config checks the same way.
pub(crate) struct Shared {
    pub hidden_size: i64,
    pub num_attention_heads: i64,
    pub hidden_dropout_prob: f64,
    pub attention_probs_dropout_prob: f64,
    pub layer_norm_eps: f64,
    pub pad_token_id: i64,
    pub vocab_size: i64,
}

/// Heads divide the width, dropouts in [0, 1), a positive epsilon, the padding id a token.
pub(crate) fn check_shared(c: &Shared) -> std::result::Result<(), String> {
    if c.hidden_size % c.num_attention_heads != 0 {
        return Err(format!(
            "hidden_size {} is not a multiple of num_attention_heads {}",
            c.hidden_size, c.num_attention_heads
        ));
    }
    for (name, p) in [
        ("hidden_dropout_prob", c.hidden_dropout_prob),
        (
            "attention_probs_dropout_prob",
            c.attention_probs_dropout_prob,
        ),
    ] {
        if !(0.0..1.0).contains(&p) {
            return Err(format!("{name} {p} is outside [0, 1)"));
        }
    }
    if !(c.layer_norm_eps > 0.0 && c.layer_norm_eps.is_finite()) {
        return Err(format!("layer_norm_eps {} must be > 0", c.layer_norm_eps));
    }
    if c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size {
        return Err(format!(
            "pad_token_id {} is not a token id (vocab_size {})",
            c.pad_token_id, c.vocab_size
        ));
    }
    Ok(())
}

/// Refuses a weights file of fewer bytes than two per weight (`n_params`, even in half
/// precision): the config and the weights do not belong together. Checked before the model
/// is allocated.
pub fn check_size(n_params: i64, weights: &std::path::Path) -> crate::Result<()> {
    let len = std::fs::metadata(weights)
        .map_err(|e| crate::TorchError::io(weights, e))?
        .len() as i64;
    let need = n_params.saturating_mul(2);
    if len < need {
        return Err(crate::TorchError::invalid(format!(
            "{}: {len} bytes, too small for the {n_params} weights the encoder config describes: the config and the weights do not belong together",
            weights.display(),
        )));
    }
    Ok(())
}

/// `x W^T + b`, with the weight in the decayed group and the bias in the other.
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Linear {
    pub fn new(p: &nn::Path, in_dim: i64, out_dim: i64, init_std: f64) -> Self {
        let weight = p.set_group(DECAY_GROUP).var(
            "weight",
            &[out_dim, in_dim],
            nn::Init::Randn {
                mean: 0.,
                stdev: init_std,
            },
        );
        let bias = p.set_group(NO_DECAY_GROUP).zeros("bias", &[out_dim]);
        Linear { weight, bias }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

#[derive(Debug)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f64,
}

impl LayerNorm {
    pub fn new(p: &nn::Path, dim: i64, eps: f64) -> Self {
        let p = p.set_group(NO_DECAY_GROUP);
        LayerNorm {
            weight: p.ones("weight", &[dim]),
            bias: p.zeros("bias", &[dim]),
            eps,
        }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let dim = *x.size().last().expect("layer norm of a scalar");
        x.layer_norm([dim], Some(&self.weight), Some(&self.bias), self.eps, true)
    }
}

#[derive(Debug)]
struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
    dropout: f64,
    pad_id: i64,
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// The encoder: embeddings, `num_hidden_layers` post-norm transformer layers, and the (unused,
/// untrained, but saved) pooler.
#[derive(Debug)]
pub struct BertModel {
    pub config: BertConfig,
    emb: Embeddings,
    layers: Vec<Layer>,
    /// `pooler.dense.{weight,bias}`: kept so checkpoints round-trip; not trained.
    pub pooler: (Tensor, Tensor),
}

fn randn_init(std: f64) -> nn::Init {
    nn::Init::Randn {
        mean: 0.,
        stdev: std,
    }
}

impl BertModel {
    /// Builds the encoder with Hugging Face's initialisation (normal(0, initializer_range)
    /// weights, zero biases, unit LayerNorms) under `p`.
    pub fn new(p: &nn::Path, config: &BertConfig) -> Self {
        let c = config;
        let std = c.initializer_range;
        let h = c.hidden_size;
        let pe = p / "embeddings";
        let word = pe
            .sub("word_embeddings")
            .var("weight", &[c.vocab_size, h], randn_init(std));
        if c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size {
            tch::no_grad(|| {
                let _ = word.get(c.pad_token_id).zero_();
            });
        }
        let emb = Embeddings {
            word,
            position: pe.sub("position_embeddings").var(
                "weight",
                &[c.max_position_embeddings, h],
                randn_init(std),
            ),
            token_type: pe.sub("token_type_embeddings").var(
                "weight",
                &[c.type_vocab_size, h],
                randn_init(std),
            ),
            norm: LayerNorm::new(&(&pe / "LayerNorm"), h, c.layer_norm_eps),
            dropout: c.hidden_dropout_prob,
            pad_id: c.pad_token_id,
        };
        let mut layers = Vec::new();
        for i in 0..c.num_hidden_layers {
            let pl = p / "encoder" / "layer" / i;
            let pa = &pl / "attention";
            layers.push(Layer {
                query: Linear::new(&(&pa / "self" / "query"), h, h, std),
                key: Linear::new(&(&pa / "self" / "key"), h, h, std),
                value: Linear::new(&(&pa / "self" / "value"), h, h, std),
                attn_out: Linear::new(&(&pa / "output" / "dense"), h, h, std),
                attn_norm: LayerNorm::new(&(&pa / "output" / "LayerNorm"), h, c.layer_norm_eps),
                intermediate: Linear::new(
                    &(&pl / "intermediate" / "dense"),
                    h,
                    c.intermediate_size,
                    std,
                ),
                output: Linear::new(&(&pl / "output" / "dense"), c.intermediate_size, h, std),
                out_norm: LayerNorm::new(&(&pl / "output" / "LayerNorm"), h, c.layer_norm_eps),
            });
        }
        let pp = p / "pooler" / "dense";
        let mut pw = pp.zeros_no_train("weight", &[h, h]);
        let pb = pp.zeros_no_train("bias", &[h]);
        tch::no_grad(|| {
            pw.copy_(&(Tensor::randn([h, h], (Kind::Float, pw.device())) * std));
        });
        BertModel {
            config: config.clone(),
            emb,
            layers,
            pooler: (pw, pb),
        }
    }

    fn activation(&self, x: &Tensor) -> Tensor {
        match self.config.hidden_act.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => x.gelu("tanh"),
            "relu" => x.relu(),
            _ => x.gelu("none"),
        }
    }

    /// Embedding lookup + LayerNorm + dropout of `ids` at `pos` (token type 0).
    fn embed(&self, ids: &Tensor, pos: &Tensor, train: bool) -> Tensor {
        let e = Tensor::embedding(&self.emb.word, ids, self.emb.pad_id, false, false)
            + Tensor::embedding(&self.emb.position, pos, -1, false, false)
            + self.emb.token_type.get(0);
        dropout(&self.emb.norm.forward(&e), self.emb.dropout, train)
    }

    /// Attention output projection, residual, LayerNorm and feed-forward block of a layer.
    fn layer_tail(&self, l: &Layer, ctx: &Tensor, x: &Tensor, train: bool) -> Tensor {
        let p = self.config.hidden_dropout_prob;
        let a = l
            .attn_norm
            .forward(&(dropout(&l.attn_out.forward(ctx), p, train) + x));
        let i = self.activation(&l.intermediate.forward(&a));
        l.out_norm
            .forward(&(dropout(&l.output.forward(&i), p, train) + &a))
    }

    /// SpanMarker's "levitated" markers without repeating the text, for windows packed one
    /// after the other without padding. `ids`/`pos` `[N]` hold, for each window
    /// `(text_len, pairs)` of `windows`, its text tokens, then its `pairs` start markers, then
    /// the `pairs` end markers in the same order (the partner of start marker `j` is end
    /// marker `j`). Returns the hidden states `[N, H]`.
    ///
    /// Text attends to its window's text only; a marker attends to its window's text, itself
    /// and its partner. That is exactly what [`BertModel::forward`] computes for
    /// `[text][markers]` under SpanMarker's 4-D mask, so the text states do not depend on the
    /// markers: they are computed once per window instead of once per group of markers.
    pub fn forward_markers(
        &self,
        ids: &Tensor,
        pos: &Tensor,
        windows: &[(usize, usize)],
        train: bool,
    ) -> Tensor {
        let n = ids.size1().expect("ids must be [N]");
        let total: usize = windows.iter().map(|&(t, p)| t + 2 * p).sum();
        assert_eq!(n as usize, total, "ids do not match the windows' lengths");
        let heads = self.config.num_attention_heads;
        let h = self.config.hidden_size;
        let dh = h / heads;
        let scale = 1.0 / (dh as f64).sqrt();
        let attn_p = if train {
            self.config.attention_probs_dropout_prob
        } else {
            0.0
        };
        let mut x = self.embed(ids, pos, train);
        let fused = !train && x.device() == tch::Device::Cpu && x.kind() == Kind::Float;
        // [text][markers] of each window: one split per layer (its backward is one
        // concatenation, where a narrow per part would allocate a full-size gradient each)
        let sizes: Vec<i64> = windows
            .iter()
            .flat_map(|&(t, p)| [t as i64, 2 * p as i64])
            .collect();
        for l in &self.layers {
            // [heads, N, dh], then the parts
            let split = |y: Tensor| {
                y.view([n, heads, dh])
                    .transpose(0, 1)
                    .split_with_sizes(&sizes, 1)
            };
            let q = split(l.query.forward(&x));
            let k = split(l.key.forward(&x));
            let v = split(l.value.forward(&x));
            let mut parts = Vec::with_capacity(2 * windows.len());
            for (wi, &(t, p)) in windows.iter().enumerate() {
                let (t, p) = (t as i64, p as i64);
                let (qt, kt, vt) = (&q[2 * wi], &k[2 * wi], &v[2 * wi]);
                let ctx_t = attention(
                    &qt.unsqueeze(0),
                    &kt.unsqueeze(0),
                    &vt.unsqueeze(0),
                    None,
                    attn_p,
                )
                .squeeze_dim(0);
                parts.push(ctx_t);
                if p > 0 {
                    // markers: scores against the text, themselves and their partner
                    let (qm, km, vm) = (&q[2 * wi + 1], &k[2 * wi + 1], &v[2 * wi + 1]);
                    let kp = km.roll([p], [1]);
                    let vp = vm.roll([p], [1]);
                    let s_self = (qm * km).sum_dim_intlist(-1, true, None::<Kind>) * scale;
                    let s_part = (qm * &kp).sum_dim_intlist(-1, true, None::<Kind>) * scale;
                    if fused && !qm.requires_grad() {
                        // inference on the CPU: the fused kernel over the text, then its
                        // log-sum-exp merged with the two marker scores (same softmax)
                        let (o, lse) = Tensor::internal_scaled_dot_product_flash_attention_for_cpu(
                            &qm.unsqueeze(0),
                            &kt.unsqueeze(0),
                            &vt.unsqueeze(0),
                            0.0,
                            false,
                            None::<Tensor>,
                            scale,
                        );
                        let (o, lse) = (o.squeeze_dim(0), lse.squeeze_dim(0).unsqueeze(-1));
                        let mx = lse.maximum(&s_self).maximum(&s_part);
                        let (a, b, c) = (
                            (lse - &mx).exp(),
                            (s_self - &mx).exp(),
                            (s_part - &mx).exp(),
                        );
                        let z = &a + &b + &c;
                        parts.push((a * o + b * vm + c * &vp) / z);
                    } else {
                        let s_text = qm.matmul(&kt.transpose(-1, -2)) * scale;
                        let probs =
                            Tensor::cat(&[s_text, s_self, s_part], -1).softmax(-1, x.kind());
                        let probs = dropout(&probs, attn_p, train);
                        let pr = probs.split_with_sizes([t, 1, 1], -1);
                        parts.push(pr[0].matmul(vt) + &pr[1] * vm + &pr[2] * &vp);
                    }
                }
            }
            let ctx = Tensor::cat(&parts, 1)
                .transpose(0, 1)
                .contiguous()
                .view([n, h]);
            x = self.layer_tail(l, &ctx, &x, train);
        }
        x
    }

    /// Last hidden states `[batch, seq, hidden]`.
    ///
    /// * `input_ids`: `[batch, seq]` int64.
    /// * `position_ids`: `[batch, seq]`; `None` means `0..seq` for every row.
    /// * `token_type_ids`: `[batch, seq]`; `None` means all 0.
    /// * `attention_mask`: ADDITIVE float mask broadcastable to `[batch, heads, seq, seq]`
    ///   (0 where a query may attend to a key, [`MASK_VALUE`] where not); see
    ///   [`additive_mask`] to build one from a 0/1 mask. `None` lets everything attend.
    /// * `train`: dropout on.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        position_ids: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        attention_mask: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let (b, t) = input_ids.size2().expect("input_ids must be [batch, seq]");
        let dev = input_ids.device();
        let pos = match position_ids {
            Some(p) => p.shallow_clone(),
            None => (Tensor::arange(t, (Kind::Int64, dev)) + self.config.first_position())
                .unsqueeze(0)
                .expand([b, t], false),
        };
        let e = Tensor::embedding(&self.emb.word, input_ids, self.emb.pad_id, false, false)
            + Tensor::embedding(&self.emb.position, &pos, -1, false, false);
        let e = match token_type_ids {
            Some(tt) => e + Tensor::embedding(&self.emb.token_type, tt, -1, false, false),
            None => e + self.emb.token_type.get(0),
        };
        let mut x = dropout(&self.emb.norm.forward(&e), self.emb.dropout, train);
        let heads = self.config.num_attention_heads;
        let h = self.config.hidden_size;
        let dh = h / heads;
        let attn_p = if train {
            self.config.attention_probs_dropout_prob
        } else {
            0.0
        };
        let mask = attention_mask.map(|m| m.to_kind(x.kind()));
        for l in &self.layers {
            let split = |y: Tensor| y.view([b, t, heads, dh]).transpose(1, 2);
            let q = split(l.query.forward(&x));
            let k = split(l.key.forward(&x));
            let v = split(l.value.forward(&x));
            let ctx = attention(&q, &k, &v, mask.as_ref(), attn_p);
            let ctx = ctx.transpose(1, 2).contiguous().view([b, t, h]);
            x = self.layer_tail(l, &ctx, &x, train);
        }
        x
    }
}

/// Scaled dot-product attention of `[batch, heads, seq, dh]` inputs under an optional
/// additive mask, with dropout `attn_p` on the probabilities. With dropout it is spelled out
/// so that the probabilities get this crate's [`dropout`]; without, libtorch's fused kernel.
fn attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, attn_p: f64) -> Tensor {
    if attn_p > 0.0 {
        let dh = q.size()[q.dim() - 1];
        let mut scores = q.matmul(&k.transpose(-1, -2)) / (dh as f64).sqrt();
        if let Some(m) = mask {
            scores += m;
        }
        dropout(&scores.softmax(-1, q.kind()), attn_p, true).matmul(v)
    } else {
        Tensor::scaled_dot_product_attention(q, k, v, mask, 0.0, false, None::<f64>, false)
    }
}

/// Turns a 0/1 (or boolean) mask into the additive float mask [`BertModel::forward`] takes:
/// `[batch, seq]` (keys that may be attended: padding masks) becomes `[batch, 1, 1, seq]`,
/// `[batch, q, k]` becomes `[batch, 1, q, k]`, and `[batch, heads, q, k]` stays 4-D.
pub fn additive_mask(mask: &Tensor) -> Tensor {
    let m = match mask.dim() {
        2 => mask.unsqueeze(1).unsqueeze(1),
        3 => mask.unsqueeze(1),
        4 => mask.shallow_clone(),
        d => panic!("attention mask must have 2, 3 or 4 dimensions, got {d}"),
    };
    (1.0 - m.to_kind(Kind::Float)) * MASK_VALUE
}

#[cfg(test)]
mod config_checks {
    use super::*;

    fn tiny() -> serde_json::Value {
        serde_json::json!({"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16})
    }

    #[test]
    fn untrusted_encoder_configs_are_range_checked() {
        assert!(BertConfig::from_json(&tiny()).is_ok());
        for (k, v, want) in [
            (
                "hidden_size",
                serde_json::json!(1_000_000_000i64),
                "hidden_size",
            ),
            (
                "num_hidden_layers",
                serde_json::json!(0),
                "num_hidden_layers",
            ),
            ("num_attention_heads", serde_json::json!(3), "multiple"),
            (
                "hidden_dropout_prob",
                serde_json::json!(1.5),
                "hidden_dropout_prob",
            ),
            ("pad_token_id", serde_json::json!(99), "pad_token_id"),
        ] {
            let mut c = tiny();
            c[k] = v;
            let e = BertConfig::from_json(&c).unwrap_err().to_string();
            assert!(e.contains(want), "{k}: {e}");
        }
        // a weights file too small for the configuration
        let cfg = BertConfig::from_json(&tiny()).unwrap();
        let dir = std::env::temp_dir().join(format!("jner-bertcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = dir.join("model.safetensors");
        std::fs::write(&w, vec![0u8; 100]).unwrap();
        let e = cfg.check_against_file(&w).unwrap_err().to_string();
        assert!(e.contains("do not belong together"), "{e}");
        std::fs::write(&w, vec![0u8; (cfg.n_params() * 4) as usize]).unwrap();
        cfg.check_against_file(&w).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
