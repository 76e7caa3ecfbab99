//! DeBERTa-v2/v3 (He et al.) on libtorch, weights named as in Hugging Face's `DebertaV2Model`
//! (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query_proj.weight`,
//! `encoder.rel_embeddings.weight`, …) relative to the [`nn::Path`] it is built under.
//!
//! Disentangled attention: besides content·content, each head adds content→position (c2p) and
//! position→content (p2c) scores, computed against the relative-position embeddings
//! (`rel_embeddings`, normalised by the encoder's LayerNorm when `norm_rel_ebd` says
//! `layer_norm`), projected by the layer's own query/key projections when `share_att_key`.
//! Relative distances are log-bucketed (`position_buckets`). Every score is divided by
//! `sqrt(d_head · (1 + #position terms))`. The computation follows `transformers`' op for op
//! (the bucketing in f32, the gathers, the p2c transpose, the masked softmax), because its ceil and clamp boundaries are where ports go wrong: a clamp
//! without the `+att_span` offset, a scale without its square root, a transposed p2c.

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::bert::{LayerNorm, Linear, NO_DECAY_GROUP};
use crate::dropout::dropout;

fn d_dropout() -> f64 {
    0.1
}
fn d_max_pos() -> i64 {
    512
}
fn d_eps() -> f64 {
    1e-7
}
fn d_init() -> f64 {
    0.02
}
fn d_gelu() -> String {
    "gelu".into()
}
fn d_neg1() -> i64 {
    -1
}
fn d_true() -> bool {
    true
}
fn d_norm() -> String {
    "none".into()
}

/// The fields of a `DebertaV2Config` (`model_type` `deberta-v2`) the encoder needs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DebertaConfig {
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
    #[serde(default)]
    pub type_vocab_size: i64,
    #[serde(default = "d_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "d_init")]
    pub initializer_range: f64,
    #[serde(default)]
    pub pad_token_id: i64,
    #[serde(default)]
    pub relative_attention: bool,
    #[serde(default = "d_neg1")]
    pub max_relative_positions: i64,
    #[serde(default = "d_neg1")]
    pub position_buckets: i64,
    #[serde(default = "d_true")]
    pub position_biased_input: bool,
    #[serde(default)]
    pub pos_att_type: Vec<String>,
    #[serde(default)]
    pub share_att_key: bool,
    #[serde(default = "d_norm")]
    pub norm_rel_ebd: String,
    #[serde(default)]
    pub embedding_size: Option<i64>,
    #[serde(default)]
    pub conv_kernel_size: i64,
}

/// `pos_att_type` may be a list or a `|`-separated string in older configs.
fn pos_att_list(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => s
            .split('|')
            .map(|x| x.trim().to_lowercase())
            .filter(|x| !x.is_empty())
            .collect(),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(|s| s.trim().to_lowercase()))
            .collect(),
        _ => Vec::new(),
    }
}

impl DebertaConfig {
    pub fn from_json(v: &serde_json::Value) -> crate::Result<Self> {
        let bad = |m: String| crate::TorchError::invalid(format!("encoder config: {m}"));
        let mut v = v.clone();
        if let Some(p) = v.get("pos_att_type").cloned() {
            v["pos_att_type"] = serde_json::json!(pos_att_list(&p));
        }
        if v.get("embedding_size").is_some_and(|e| e.is_null()) {
            v.as_object_mut().map(|m| m.remove("embedding_size"));
        }
        let cfg: DebertaConfig = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Range checks before anything is allocated (the config is untrusted).
    pub fn check(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::TorchError::invalid(format!("encoder config: {m}")));
        let ranges: [(&str, i64, i64); 6] = [
            ("vocab_size", 1, 2_000_000),
            ("hidden_size", 1, 16_384),
            ("num_hidden_layers", 1, 256),
            ("num_attention_heads", 1, 1024),
            ("intermediate_size", 1, 131_072),
            ("max_position_embeddings", 1, 1 << 20),
        ];
        for (name, v, lo_hi) in [
            ("vocab_size", self.vocab_size, ranges[0]),
            ("hidden_size", self.hidden_size, ranges[1]),
            ("num_hidden_layers", self.num_hidden_layers, ranges[2]),
            ("num_attention_heads", self.num_attention_heads, ranges[3]),
            ("intermediate_size", self.intermediate_size, ranges[4]),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                ranges[5],
            ),
        ] {
            if v < lo_hi.1 || v > lo_hi.2 {
                return bad(format!(
                    "{name} = {v} is outside [{}, {}]",
                    lo_hi.1, lo_hi.2
                ));
            }
        }
        crate::bert::check_shared(&crate::bert::Shared {
            hidden_size: self.hidden_size,
            num_attention_heads: self.num_attention_heads,
            hidden_dropout_prob: self.hidden_dropout_prob,
            attention_probs_dropout_prob: self.attention_probs_dropout_prob,
            layer_norm_eps: self.layer_norm_eps,
            pad_token_id: self.pad_token_id,
            vocab_size: self.vocab_size,
        })
        .or_else(bad)?;
        if !(0..=8).contains(&self.type_vocab_size) {
            return bad(format!("type_vocab_size = {}", self.type_vocab_size));
        }
        if let Some(e) = self.embedding_size {
            if !(1..=16_384).contains(&e) {
                return bad(format!("embedding_size = {e}"));
            }
        }
        if self.conv_kernel_size > 0 {
            return bad(format!(
                "conv_kernel_size = {}: DeBERTa-v2's convolution layer (deberta-v2-xlarge/xxlarge) is not supported; DeBERTa-v3 models have none",
                self.conv_kernel_size
            ));
        }
        for t in &self.pos_att_type {
            if t != "c2p" && t != "p2c" {
                return bad(format!(
                    "pos_att_type `{t}` is not supported (c2p and p2c are)"
                ));
            }
        }
        if self.relative_attention && (self.span() < 1 || self.span() > 1 << 16) {
            return bad(format!(
                "position_buckets {} / max_relative_positions {}",
                self.position_buckets, self.max_relative_positions
            ));
        }
        let norm = self.norm_terms();
        if norm.iter().any(|t| t != "layer_norm" && t != "none") {
            return bad(format!(
                "norm_rel_ebd `{}` is not supported",
                self.norm_rel_ebd
            ));
        }
        Ok(())
    }

    fn norm_terms(&self) -> Vec<String> {
        self.norm_rel_ebd
            .to_lowercase()
            .split('|')
            .map(|s| s.trim().to_string())
            .collect()
    }

    fn norm_rel(&self) -> bool {
        self.norm_terms().iter().any(|t| t == "layer_norm")
    }

    /// `max_relative_positions`, or `max_position_embeddings` when it is below 1.
    pub fn max_relative(&self) -> i64 {
        if self.max_relative_positions < 1 {
            self.max_position_embeddings
        } else {
            self.max_relative_positions
        }
    }

    /// Half the number of `rel_embeddings` rows a layer uses (`att_span` in transformers).
    pub fn span(&self) -> i64 {
        if self.position_buckets > 0 {
            self.position_buckets
        } else {
            self.max_relative()
        }
    }

    fn emb_size(&self) -> i64 {
        self.embedding_size.unwrap_or(self.hidden_size)
    }

    fn c2p(&self) -> bool {
        self.pos_att_type.iter().any(|t| t == "c2p")
    }
    fn p2c(&self) -> bool {
        self.pos_att_type.iter().any(|t| t == "p2c")
    }

    /// The number of weights the configuration describes.
    pub fn n_params(&self) -> i64 {
        let h = self.hidden_size;
        let e = self.emb_size();
        let mut emb = self.vocab_size * e + 2 * h;
        if self.position_biased_input {
            emb += self.max_position_embeddings * e;
        }
        emb += self.type_vocab_size * e;
        if e != h {
            emb += e * h;
        }
        let mut layer =
            4 * (h * h + h) + 2 * (h * self.intermediate_size) + self.intermediate_size + h + 4 * h;
        if self.relative_attention && !self.share_att_key {
            layer += (self.c2p() as i64 + self.p2c() as i64) * (h * h + h);
        }
        let mut enc = 0;
        if self.relative_attention {
            enc += 2 * self.span() * h;
            if self.norm_rel() {
                enc += 2 * h;
            }
        }
        emb + self.num_hidden_layers * layer + enc
    }

    /// Refuses a configuration whose weights cannot be in `weights` (see
    /// [`crate::bert::BertConfig::check_against_file`]).
    pub fn check_against_file(&self, weights: &std::path::Path) -> crate::Result<()> {
        crate::bert::check_size(self.n_params(), weights)
    }
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    pos_key: Option<Linear>,
    pos_query: Option<Linear>,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// The encoder (`DebertaV2Model` without heads).
#[derive(Debug)]
pub struct DebertaModel {
    pub config: DebertaConfig,
    word: Tensor,
    position: Option<Tensor>,
    token_type: Option<Tensor>,
    embed_proj: Option<Tensor>,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    rel_embeddings: Option<Tensor>,
    rel_norm: Option<LayerNorm>,
}

fn randn(std: f64) -> nn::Init {
    nn::Init::Randn {
        mean: 0.,
        stdev: std,
    }
}

impl DebertaModel {
    /// Builds the encoder with Hugging Face's initialisation under `p`.
    pub fn new(p: &nn::Path, config: &DebertaConfig) -> Self {
        let c = config;
        let std = c.initializer_range;
        let h = c.hidden_size;
        let e = c.emb_size();
        let pe = p / "embeddings";
        let word = pe
            .sub("word_embeddings")
            .var("weight", &[c.vocab_size, e], randn(std));
        tch::no_grad(|| {
            let _ = word.get(c.pad_token_id).zero_();
        });
        let position = c.position_biased_input.then(|| {
            pe.sub("position_embeddings")
                .var("weight", &[c.max_position_embeddings, e], randn(std))
        });
        let token_type = (c.type_vocab_size > 0).then(|| {
            pe.sub("token_type_embeddings")
                .var("weight", &[c.type_vocab_size, e], randn(std))
        });
        let embed_proj = (e != h).then(|| pe.sub("embed_proj").var("weight", &[h, e], randn(std)));
        let emb_norm = LayerNorm::new(&(&pe / "LayerNorm"), h, c.layer_norm_eps);
        let rel = c.relative_attention && !c.share_att_key;
        let mut layers = Vec::new();
        for i in 0..c.num_hidden_layers {
            let pl = p / "encoder" / "layer" / i;
            let pa = &pl / "attention";
            let ps = &pa / "self";
            layers.push(Layer {
                query: Linear::new(&(&ps / "query_proj"), h, h, std),
                key: Linear::new(&(&ps / "key_proj"), h, h, std),
                value: Linear::new(&(&ps / "value_proj"), h, h, std),
                pos_key: (rel && c.c2p()).then(|| Linear::new(&(&ps / "pos_key_proj"), h, h, std)),
                pos_query: (rel && c.p2c())
                    .then(|| Linear::new(&(&ps / "pos_query_proj"), h, h, std)),
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
        let penc = p / "encoder";
        let rel_embeddings = c.relative_attention.then(|| {
            penc.sub("rel_embeddings")
                .set_group(crate::bert::DECAY_GROUP)
                .var("weight", &[2 * c.span(), h], randn(std))
        });
        let rel_norm = (c.relative_attention && c.norm_rel())
            .then(|| LayerNorm::new(&(&penc / "LayerNorm"), h, c.layer_norm_eps));
        let _ = NO_DECAY_GROUP;
        DebertaModel {
            config: config.clone(),
            word,
            position,
            token_type,
            embed_proj,
            emb_norm,
            layers,
            rel_embeddings,
            rel_norm,
        }
    }

    fn activation(&self, x: &Tensor) -> Tensor {
        match self.config.hidden_act.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => x.gelu("tanh"),
            "relu" => x.relu(),
            _ => x.gelu("none"),
        }
    }

    /// Relative positions `[q, k]` (`q − k`, log-bucketed), as transformers'
    /// `build_relative_position`, op for op.
    pub fn relative_positions(&self, len: i64, device: tch::Device) -> Tensor {
        let ids = Tensor::arange(len, (Kind::Int64, device));
        let rel = ids.unsqueeze(1) - ids.unsqueeze(0);
        let (buckets, max_pos) = (self.config.position_buckets, self.config.max_relative());
        if buckets > 0 && max_pos > 0 {
            log_bucket_position(&rel, buckets, max_pos)
        } else {
            rel
        }
    }

    /// Hidden states of every layer: `[embeddings, layer 1, …, layer L]`, each `[b, t, h]`.
    /// `mask` is the `[b, t]` 0/1 padding mask.
    pub fn forward_all(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Vec<Tensor> {
        let c = &self.config;
        let (b, t) = ids.size2().expect("input_ids must be [batch, seq]");
        let dev = ids.device();
        let mut e = Tensor::embedding(&self.word, ids, c.pad_token_id, false, false);
        if let Some(pos) = &self.position {
            let p = Tensor::arange(t, (Kind::Int64, dev)).unsqueeze(0);
            e += Tensor::embedding(pos, &p, -1, false, false);
        }
        if let Some(tt) = &self.token_type {
            e += tt.get(0);
        }
        if let Some(w) = &self.embed_proj {
            e = e.matmul(&w.tr());
        }
        let maskf = mask.to_kind(e.kind());
        let e = self.emb_norm.forward(&e) * maskf.unsqueeze(-1);
        let mut x = dropout(&e, c.hidden_dropout_prob, train);
        // pairwise mask m_i · m_j, [b, 1, t, t]
        let pair = (maskf.unsqueeze(2) * maskf.unsqueeze(1)).unsqueeze(1);
        let keep = pair.gt(0.5);
        let drop = keep.logical_not();
        let rel = self.rel_embeddings.as_ref().map(|r| {
            let r = match &self.rel_norm {
                Some(n) => n.forward(r),
                None => r.shallow_clone(),
            };
            (r, self.relative_positions(t, dev))
        });
        let mut all = vec![x.shallow_clone()];
        for l in &self.layers {
            let ctx = self.attention(l, &x, rel.as_ref(), &drop, b, t, train);
            let p = c.hidden_dropout_prob;
            let a = l
                .attn_norm
                .forward(&(dropout(&l.attn_out.forward(&ctx), p, train) + &x));
            let i = self.activation(&l.intermediate.forward(&a));
            x = l
                .out_norm
                .forward(&(dropout(&l.output.forward(&i), p, train) + &a));
            all.push(x.shallow_clone());
        }
        all
    }

    /// Last hidden states `[b, t, h]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        self.forward_all(ids, mask, train)
            .pop()
            .expect("at least the embeddings")
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        l: &Layer,
        x: &Tensor,
        rel: Option<&(Tensor, Tensor)>,
        drop: &Tensor,
        b: i64,
        t: i64,
        train: bool,
    ) -> Tensor {
        let c = &self.config;
        let heads = c.num_attention_heads;
        let h = c.hidden_size;
        let dh = h / heads;
        let heads_of = |y: Tensor| y.view([b, t, heads, dh]).transpose(1, 2); // [b, n, t, dh]
        let q = heads_of(l.query.forward(x));
        let k = heads_of(l.key.forward(x));
        let v = heads_of(l.value.forward(x));
        let factor = 1 + i64::from(c.c2p()) + i64::from(c.p2c());
        let scale = ((dh * factor) as f32).sqrt() as f64;
        let mut scores = q.matmul(&k.transpose(-1, -2)) / scale;
        if let Some((rel_emb, rel_pos)) = rel {
            let span = c.span();
            // each layer's own dropout of the (normalised) embeddings, as transformers'
            let r = dropout(
                &rel_emb.narrow(0, 0, 2 * span),
                c.hidden_dropout_prob,
                train,
            );
            let pos_heads = |y: Tensor| y.view([2 * span, heads, dh]).transpose(0, 1); // [n, 2s, dh]
            if c.c2p() {
                let pk = match (&l.pos_key, c.share_att_key) {
                    (Some(pk), _) => pos_heads(pk.forward(&r)),
                    _ => pos_heads(l.key.forward(&r)),
                };
                let c2p = q.matmul(&pk.transpose(-1, -2)); // [b, n, t, 2s]
                let idx = (rel_pos + span)
                    .clamp(0, 2 * span - 1)
                    .expand([b, heads, t, t], false);
                scores += c2p.gather(-1, &idx, false) / scale;
            }
            if c.p2c() {
                let pq = match (&l.pos_query, c.share_att_key) {
                    (Some(pq), _) => pos_heads(pq.forward(&r)),
                    _ => pos_heads(l.query.forward(&r)),
                };
                let p2c = k.matmul(&pq.transpose(-1, -2)); // [b, n, t(k), 2s]
                let idx = (-rel_pos + span)
                    .clamp(0, 2 * span - 1)
                    .expand([b, heads, t, t], false);
                scores += p2c.gather(-1, &idx, false).transpose(-1, -2) / scale;
            }
        }
        // as transformers 5: masked scores set to the dtype's minimum, then softmax (a padding
        // row, all masked, averages every value; real tokens never see padding either way)
        let probs = scores
            .masked_fill(drop, f32::MIN as f64)
            .softmax(-1, scores.kind());
        let attn_p = if train {
            c.attention_probs_dropout_prob
        } else {
            0.0
        };
        let probs = dropout(&probs, attn_p, train);
        probs
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, t, h])
    }
}

/// transformers' `make_log_bucket_position`: distances below `bucket_size / 2` kept, larger
/// ones log-compressed up to `max_position`; computed with the same f32 operations.
pub fn log_bucket_position(rel: &Tensor, bucket_size: i64, max_position: i64) -> Tensor {
    let dev = rel.device();
    let sign = rel.sign();
    let mid = bucket_size / 2;
    let inside = rel.lt(mid).logical_and(&rel.gt(-mid));
    let abs_pos = rel
        .abs()
        .where_self(&inside.logical_not(), &Tensor::from(mid - 1).to_device(dev));
    let denom = Tensor::from(((max_position - 1) as f64 / mid as f64) as f32)
        .to_device(dev)
        .log();
    let log_pos = ((abs_pos.to_kind(Kind::Float) / mid as f64).log() / denom * (mid - 1) as f64)
        .ceil()
        + mid as f64;
    let bucket = rel
        .to_kind(Kind::Float)
        .where_self(&abs_pos.le(mid), &(log_pos * sign.to_kind(Kind::Float)));
    bucket.to_kind(Kind::Int64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_buckets_match_the_reference_formula() {
        // hand-computed from transformers' formula: bucket 256 (mid 128), max 512
        let rel = Tensor::from_slice(&[0i64, 5, -5, 127, 128, 129, 200, -200, 511, -511]);
        let b = Vec::<i64>::try_from(log_bucket_position(&rel, 256, 512)).unwrap();
        // ceil(ln(129/128)/ln(511/128)*127)+128 = ceil(0.7157)+128 = 129
        // ceil(ln(200/128)/ln(511/128)*127)+128 = ceil(40.98)+128 = 169
        // ceil(ln(511/128)/ln(511/128)*127)+128 = 255
        assert_eq!(b, vec![0, 5, -5, 127, 128, 129, 169, -169, 255, -255]);
    }

    #[test]
    fn configs_are_range_checked() {
        let base = serde_json::json!({"vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 16, "relative_attention": true,
            "position_buckets": 16, "pos_att_type": "p2c|c2p", "norm_rel_ebd": "layer_norm",
            "share_att_key": true, "position_biased_input": false, "type_vocab_size": 0});
        let c = DebertaConfig::from_json(&base).unwrap();
        assert_eq!(c.pos_att_type, vec!["p2c", "c2p"]);
        for (k, v, want) in [
            ("hidden_size", serde_json::json!(7), "multiple"),
            ("conv_kernel_size", serde_json::json!(3), "convolution"),
            ("pos_att_type", serde_json::json!(["p2p"]), "p2p"),
            ("vocab_size", serde_json::json!(0), "vocab_size"),
        ] {
            let mut b = base.clone();
            b[k] = v;
            let e = DebertaConfig::from_json(&b).unwrap_err().to_string();
            assert!(e.contains(want), "{k}: {e}");
        }
    }

    #[test]
    fn n_params_counts_the_variables() {
        let cfg = DebertaConfig::from_json(&serde_json::json!({"vocab_size": 50, "hidden_size": 8,
            "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16,
            "relative_attention": true, "position_buckets": 16, "pos_att_type": ["p2c", "c2p"],
            "norm_rel_ebd": "layer_norm", "share_att_key": false, "position_biased_input": false,
            "type_vocab_size": 0}))
        .unwrap();
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let _m = DebertaModel::new(&vs.root(), &cfg);
        let n: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
        assert_eq!(n, cfg.n_params());
    }
}
