//! [`CnnModel`]: a trained network with its labels, tokenizer and optional static vectors;
//! prediction over whole documents, and the model directory format.
//!
//! Model directory:
//! * `jner.json` — `{"backend":"cnn","format_version":1,"tokenizer":"jner-en-1",
//!   "labels":[…],"config":{…},"meta":…,"scores":<eval report or null>,"alignment":{…}}`
//! * `model.safetensors` — every parameter tensor by name (f32, little endian).
//! * `vectors.safetensors` + `vectors.words.txt` — only when trained with static vectors
//!   (the table is copied so the directory is self-contained).
//!
//! Long documents are run through the network in chunks of [`CHUNK_TOKENS`] tokens with
//! [`Dims::receptive`] tokens of context on each side. The encoder is local (receptive field
//! ±`depth·window` tokens, plus `attention_window` when the attention layer is on; LayerNorm
//! per token), so the probabilities — and the Viterbi
//! decoding, which always runs over the whole document — are exactly those of a single
//! pass over the whole document, while memory stays bounded.
//!
//! Texts longer than [`SEGMENT_BYTES`] (a whole file on one line, a dump) are decoded segment
//! by segment, cut at a line end, else a sentence end, else a space, in the second half of
//! each segment: prediction memory is then bounded by the segment, not by the text. Below
//! that size (every document of the corpora is far below it) the result is exact.

use crate::config::CnnConfig;
use crate::decoder::{entities, Viterbi};
use crate::features::{keys, rows_of};
use crate::net::{Dims, Input, Net, StaticTable, Work};
use crate::tokenizer::{Token, Tokenizer};
use crate::vectors::Vectors;
use crate::{CnnError, Result};
use jner_corpus::offsets::CharIndex;
use jner_corpus::{Entity, PredictOptions, Recognizer};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

/// Texts longer than this are predicted in segments of at most this many bytes.
pub const SEGMENT_BYTES: usize = 256 << 10;

/// Byte ranges covering `text`, each at most `max` bytes (at least one character), cut at
/// the last line end in the second half of the range, else the last sentence end (`.`, `!`,
/// `?` followed by whitespace), else the last whitespace, else a character boundary.
pub fn segments(text: &str, max: usize) -> Vec<(usize, usize)> {
    let max = max.max(8);
    let mut out = Vec::new();
    let mut a = 0;
    while text.len() - a > max {
        let mut lim = a + max;
        while !text.is_char_boundary(lim) {
            lim -= 1;
        }
        let mut half = a + max / 2;
        while !text.is_char_boundary(half) {
            half -= 1;
        }
        let w = &text.as_bytes()[half..lim];
        let after = |i: usize| half + i + 1;
        let cut = w
            .iter()
            .rposition(|&b| b == b'\n')
            .map(after)
            .or_else(|| {
                w.windows(2)
                    .rposition(|p| matches!(p[0], b'.' | b'!' | b'?') && p[1].is_ascii_whitespace())
                    .map(|i| half + i + 2)
            })
            .or_else(|| w.iter().rposition(|b| b.is_ascii_whitespace()).map(after))
            .unwrap_or(lim);
        let cut = if cut <= a { lim } else { cut };
        out.push((a, cut));
        a = cut;
    }
    out.push((a, text.len()));
    out
}

/// Tokens per forward pass at prediction time.
pub const CHUNK_TOKENS: usize = 1024;
pub const FORMAT_VERSION: u64 = 1;
pub const TOKENIZER_NAME: &str = "jner-en-1";

/// A trained cnn model.
#[derive(Clone, Debug)]
pub struct CnnModel {
    pub config: CnnConfig,
    pub labels: Vec<String>,
    pub(crate) net: Net,
    pub(crate) vectors: Option<Vectors>,
    pub(crate) tokenizer: Tokenizer,
    /// Free-form metadata given to [`crate::train`].
    pub meta: Value,
    /// Evaluation report of the epoch this model comes from (or null).
    pub scores: Value,
    /// Gold-alignment counts of the training data.
    pub alignment: Value,
    /// Worker pool for prediction, built on first use.
    pool: std::sync::Arc<std::sync::OnceLock<Option<rayon::ThreadPool>>>,
}

/// Per-thread buffers for prediction.
#[derive(Default)]
pub(crate) struct Scratch {
    pub tokens: Vec<Token>,
    pub rows: Vec<u32>,
    pub vec_rows: Vec<u32>,
    pub input: Input,
    pub work: Work,
    pub probs: Vec<f32>,
    pub space: Vec<bool>,
    pub tags: Vec<u16>,
    pub viterbi: Viterbi,
    pub lower: String,
}

pub(crate) fn dims_for(cfg: &CnnConfig, n_labels: usize, vec_dim: usize) -> Dims {
    Dims {
        width: cfg.width,
        pieces: cfg.maxout_pieces,
        depth: cfg.depth,
        window: cfg.window,
        n_tags: 1 + 4 * n_labels,
        n_hashes: cfg.n_hashes,
        rows: cfg.rows,
        vec_dim,
        vec_width: if vec_dim > 0 { cfg.vectors_width } else { 0 },
        heads: cfg.attention_heads,
        att_window: cfg.attention_window,
    }
}

/// Append the hash rows (and static-vector rows) of `tokens` to `rows`/`vec_rows`.
pub(crate) fn featurize(
    text: &str,
    tokens: &[Token],
    dims: &Dims,
    vectors: Option<&Vectors>,
    lower: &mut String,
    rows: &mut Vec<u32>,
    vec_rows: &mut Vec<u32>,
) {
    let stride = dims.stride();
    for tok in tokens {
        let s = tok.text(text);
        let k = keys(s, tok.is_space);
        let at = rows.len();
        rows.resize(at + stride, 0);
        rows_of(&k, &dims.rows, dims.n_hashes, &mut rows[at..]);
        let vr = match vectors {
            Some(v) if !tok.is_space => v.lookup(s, lower).unwrap_or(u32::MAX),
            _ => u32::MAX,
        };
        vec_rows.push(vr);
    }
}

impl CnnModel {
    /// A randomly initialised model (the configuration is validated first): what training
    /// starts from; also small fixtures for tests and fuzzing.
    pub fn untrained(config: CnnConfig, labels: Vec<String>) -> Result<Self> {
        config.validate()?;
        if labels.is_empty() {
            return Err(CnnError::Config("a model needs at least one label".into()));
        }
        let dims = dims_for(&config, labels.len(), 0);
        let net = Net::new(dims, config.seed);
        Ok(CnnModel::new(config, labels, net, None))
    }

    pub(crate) fn new(
        config: CnnConfig,
        labels: Vec<String>,
        net: Net,
        vectors: Option<Vectors>,
    ) -> Self {
        CnnModel {
            config,
            labels,
            net,
            vectors,
            tokenizer: Tokenizer::new(),
            meta: Value::Null,
            scores: Value::Null,
            alignment: Value::Null,
            pool: Default::default(),
        }
    }

    /// The flat parameter buffer (for inspection and determinism checks).
    pub fn parameters(&self) -> &[f32] {
        &self.net.params.data
    }

    /// Token-level class probabilities of a whole document, `[tokens, 1+4·labels]`.
    pub(crate) fn doc_probs(&self, text: &str, s: &mut Scratch) {
        let dims = self.net.dims;
        self.tokenizer.tokenize_into(text, &mut s.tokens);
        let n = s.tokens.len();
        s.rows.clear();
        s.vec_rows.clear();
        featurize(
            text,
            &s.tokens,
            &dims,
            self.vectors.as_ref(),
            &mut s.lower,
            &mut s.rows,
            &mut s.vec_rows,
        );
        let k = dims.n_tags;
        s.probs.clear();
        s.probs.resize(n * k, 0.0);
        let ctx = dims.receptive();
        let stride = dims.stride();
        let vt = self.vectors.as_ref().map(|v| StaticTable {
            dim: v.dim,
            data: &v.data,
        });
        let mut a = 0;
        while a < n {
            let b = (a + CHUNK_TOKENS).min(n);
            let ea = a.saturating_sub(ctx);
            let eb = (b + ctx).min(n);
            let inp = &mut s.input;
            inp.clear();
            inp.n = eb - ea;
            inp.rows
                .extend_from_slice(&s.rows[ea * stride..eb * stride]);
            inp.vec_rows.extend_from_slice(&s.vec_rows[ea..eb]);
            for t in ea..eb {
                inp.left.push((t - ea) as u32);
                inp.right.push((eb - 1 - t) as u32);
            }
            self.net.forward(inp, vt.as_ref(), &mut s.work, None);
            s.probs[a * k..b * k].copy_from_slice(&s.work.probs[(a - ea) * k..(b - ea) * k]);
            a = b;
        }
    }

    /// Entities of one text (character offsets, sorted by start); long texts segment by
    /// segment ([`SEGMENT_BYTES`]).
    pub(crate) fn predict_one(&self, text: &str, threshold: f32, s: &mut Scratch) -> Vec<Entity> {
        if text.len() <= SEGMENT_BYTES {
            return self.predict_segment(text, threshold, s);
        }
        let mut out = Vec::new();
        let mut chars_before = 0;
        for (a, b) in segments(text, SEGMENT_BYTES) {
            let seg = &text[a..b];
            out.extend(
                self.predict_segment(seg, threshold, s)
                    .into_iter()
                    .map(|mut e| {
                        e.start += chars_before;
                        e.end += chars_before;
                        e
                    }),
            );
            chars_before += seg.chars().count();
        }
        // the scratch of a long text is not kept for the next one
        *s = Scratch::default();
        out
    }

    fn predict_segment(&self, text: &str, threshold: f32, s: &mut Scratch) -> Vec<Entity> {
        self.doc_probs(text, s);
        let n = s.tokens.len();
        if n == 0 || self.labels.is_empty() {
            return Vec::new();
        }
        s.space.clear();
        s.space.extend(s.tokens.iter().map(|t| t.is_space));
        s.viterbi
            .decode(&s.probs, n, self.labels.len(), &s.space, &mut s.tags);
        let ents = entities(&s.tags, &s.probs, self.net.dims.n_tags);
        if ents.is_empty() {
            return Vec::new();
        }
        let ci = CharIndex::new(text);
        ents.into_iter()
            .filter(|e| e.3 >= threshold)
            .filter_map(|(ts, te, l, score)| {
                let start = ci.to_char(s.tokens[ts].start)?;
                let end = ci.to_char(s.tokens[te - 1].end)?;
                Some(Entity {
                    start,
                    end,
                    label: self.labels[l].clone(),
                    score: score.clamp(0.0, 1.0),
                })
            })
            .collect()
    }

    /// Predict many texts on `threads` worker threads (order preserved).
    pub fn predict_texts(&self, texts: &[&str], threshold: f32) -> Vec<Vec<Entity>> {
        let threads = self.config.threads.max(1);
        let sequential = || {
            let mut s = Scratch::default();
            texts
                .iter()
                .map(|t| self.predict_one(t, threshold, &mut s))
                .collect()
        };
        // no pool for one thread or one text (a text is never split across threads)
        if threads == 1 || texts.len() == 1 {
            return sequential();
        }
        let pool = self.pool.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok()
        });
        match pool {
            Some(pool) => pool.install(|| {
                texts
                    .par_iter()
                    .with_min_len(1)
                    .map_init(Scratch::default, |s, t| self.predict_one(t, threshold, s))
                    .collect()
            }),
            None => sequential(),
        }
    }

    /// `jner.json` content.
    pub fn descriptor(&self) -> Value {
        json!({
            "backend": "cnn",
            "format_version": FORMAT_VERSION,
            "tokenizer": TOKENIZER_NAME,
            "labels": self.labels,
            "config": self.config,
            "vectors": self.vectors.as_ref().map(|v| json!({"rows": v.len(), "dim": v.dim})),
            "meta": self.meta,
            "scores": self.scores,
            "alignment": self.alignment,
        })
    }

    /// Write the model directory (created if needed; files inside are overwritten).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| CnnError::io(dir, e))?;
        let p = dir.join("model.safetensors");
        let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .net
            .params
            .tensors
            .iter()
            .map(|t| {
                let bytes = self.net.params.data[t.offset..t.offset + t.len]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect();
                (t.name.clone(), t.shape.clone(), bytes)
            })
            .collect();
        write_safetensors(&p, &tensors)?;
        if let Some(v) = &self.vectors {
            let p = dir.join("vectors.safetensors");
            let bytes = v.data.iter().flat_map(|x| x.to_le_bytes()).collect();
            write_safetensors(&p, &[("vectors".to_string(), vec![v.len(), v.dim], bytes)])?;
            let p = dir.join("vectors.words.txt");
            let mut s = String::with_capacity(v.words.iter().map(|w| w.len() + 1).sum());
            for w in &v.words {
                s.push_str(w);
                s.push('\n');
            }
            std::fs::write(&p, s).map_err(|e| CnnError::io(&p, e))?;
        }
        // jner.json last, with the digests of the files written above
        let mut weights = vec!["model.safetensors"];
        if self.vectors.is_some() {
            weights.extend(["vectors.safetensors", "vectors.words.txt"]);
        }
        let mut desc = self.descriptor();
        desc[jner_run::digest::DIGESTS_KEY] = jner_run::digest::digest_files(dir, &weights)?;
        let p = dir.join("jner.json");
        let js =
            serde_json::to_string_pretty(&desc).map_err(|e| CnnError::file(&p, e.to_string()))?;
        std::fs::write(&p, js).map_err(|e| CnnError::io(&p, e))?;
        Ok(())
    }

    /// Load a model directory written by [`CnnModel::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let p = dir.join("jner.json");
        let text = std::fs::read_to_string(&p).map_err(|e| CnnError::io(&p, e))?;
        // the descriptor's own errors first: the weights are read only for a valid one
        let desc = parse_descriptor(&p, &text)?;
        let pw = dir.join("model.safetensors");
        let weights = std::fs::read(&pw).map_err(|e| CnnError::io(&pw, e))?;
        Self::from_parts(dir, desc, &weights)
    }

    /// A model from the contents of `jner.json` and `model.safetensors` (static vectors, when
    /// the descriptor names them, are read from `dir`, which also names the files in errors).
    /// Every size in the descriptor is checked before anything of that size is allocated.
    pub fn from_bytes(dir: &Path, text: &str, bytes: &[u8]) -> Result<Self> {
        Self::from_parts(dir, parse_descriptor(&dir.join("jner.json"), text)?, bytes)
    }

    fn from_parts(dir: &Path, desc: Value, bytes: &[u8]) -> Result<Self> {
        let p = dir.join("jner.json");
        if desc.get("backend").and_then(Value::as_str) != Some("cnn") {
            return Err(CnnError::file(
                &p,
                "not a cnn model (\"backend\" is not \"cnn\")",
            ));
        }
        let version = desc
            .get("format_version")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if version != FORMAT_VERSION {
            return Err(CnnError::file(
                &p,
                format!("unsupported format_version {version} (this build reads {FORMAT_VERSION})"),
            ));
        }
        let labels: Vec<String> =
            serde_json::from_value(desc.get("labels").cloned().unwrap_or(Value::Null))
                .map_err(|e| CnnError::file(&p, format!("bad \"labels\": {e}")))?;
        let config: CnnConfig =
            serde_json::from_value(desc.get("config").cloned().unwrap_or(Value::Null))
                .map_err(|e| CnnError::file(&p, format!("bad \"config\": {e}")))?;
        config
            .validate()
            .map_err(|e| CnnError::file(&p, e.to_string()))?;
        let vectors = match desc.get("vectors") {
            Some(v) if !v.is_null() => Some(load_vectors(dir)?),
            _ => None,
        };
        if labels.is_empty() || labels.iter().any(|l| l.trim().is_empty()) {
            return Err(CnnError::file(
                &p,
                "\"labels\" must be a non-empty list of non-empty names",
            ));
        }
        let dims = dims_for(&config, labels.len(), vectors.as_ref().map_or(0, |v| v.dim));
        let p = dir.join("model.safetensors");
        // every parameter is an f32 in the file: a file too small for what the configuration
        // describes cannot belong to it, and nothing of the described size is allocated
        let want = dims.n_params().saturating_mul(4);
        if bytes.len() < want {
            return Err(CnnError::file(
                &p,
                format!(
                    "{} bytes, too small for the {want} bytes of weights that jner.json's config describes: the config and the weights do not belong together",
                    bytes.len()
                ),
            ));
        }
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| CnnError::file(&p, format!("corrupted safetensors file: {e}")))?;
        let mut net = Net::new(dims, 0);
        read_tensors(&st, &p, &mut net, |_| true)?;
        let mut m = CnnModel::new(config, labels, net, vectors);
        m.meta = desc.get("meta").cloned().unwrap_or(Value::Null);
        m.scores = desc.get("scores").cloned().unwrap_or(Value::Null);
        m.alignment = desc.get("alignment").cloned().unwrap_or(Value::Null);
        Ok(m)
    }
}

fn parse_descriptor(path: &Path, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| CnnError::file(path, format!("not valid JSON: {e}")))
}

fn load_vectors(dir: &Path) -> Result<Vectors> {
    let p = dir.join("vectors.safetensors");
    let bytes = std::fs::read(&p).map_err(|e| CnnError::io(&p, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| CnnError::file(&p, format!("corrupted safetensors file: {e}")))?;
    let view = st
        .tensor("vectors")
        .map_err(|e| CnnError::file(&p, format!("tensor vectors: {e}")))?;
    let shape = view.shape().to_vec();
    if view.dtype() != safetensors::Dtype::F32 || shape.len() != 2 {
        return Err(CnnError::file(
            &p,
            "tensor vectors: expected a 2-d f32 tensor",
        ));
    }
    let data: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let pw = dir.join("vectors.words.txt");
    let words: Vec<String> = std::fs::read_to_string(&pw)
        .map_err(|e| CnnError::io(&pw, e))?
        .lines()
        .map(str::to_string)
        .collect();
    if words.len() != shape[0] {
        return Err(CnnError::file(
            &pw,
            format!("{} words for {} vectors", words.len(), shape[0]),
        ));
    }
    Vectors::from_parts(words, data, shape[1]).map_err(|e| CnnError::file(&p, e.to_string()))
}

/// Reads the tensors of `net` that `keep` selects from `st` (file `p`, for errors): each must
/// be f32 of the tensor's shape and finite.
pub(crate) fn read_tensors(
    st: &safetensors::SafeTensors,
    p: &Path,
    net: &mut Net,
    keep: impl Fn(&str) -> bool,
) -> Result<()> {
    let tensors = net.params.tensors.clone();
    for t in tensors.iter().filter(|t| keep(&t.name)) {
        let view = st
            .tensor(&t.name)
            .map_err(|e| CnnError::file(p, format!("tensor {}: {e}", t.name)))?;
        if view.dtype() != safetensors::Dtype::F32 || view.shape() != t.shape.as_slice() {
            return Err(CnnError::file(
                p,
                format!(
                    "tensor {}: expected f32 {:?}, found {:?} {:?}",
                    t.name,
                    t.shape,
                    view.dtype(),
                    view.shape()
                ),
            ));
        }
        let dst = &mut net.params.data[t.offset..t.offset + t.len];
        for (d, c) in dst.iter_mut().zip(view.data().chunks_exact(4)) {
            *d = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        if dst.iter().any(|v| !v.is_finite()) {
            return Err(CnnError::file(
                p,
                format!("tensor {} holds non-finite values", t.name),
            ));
        }
    }
    Ok(())
}

pub(crate) fn write_safetensors(
    path: &Path,
    tensors: &[(String, Vec<usize>, Vec<u8>)],
) -> Result<()> {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| CnnError::file(path, format!("tensor {n}: {e}")))
        })
        .collect::<Result<_>>()?;
    let info: Option<HashMap<String, String>> = Some(HashMap::from([(
        "format".to_string(),
        "jner-cnn".to_string(),
    )]));
    safetensors::serialize_to_file(views, &info, path)
        .map_err(|e| CnnError::file(path, e.to_string()))
}

impl Recognizer for CnnModel {
    fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The rayon pool is rebuilt with the new size on the next prediction.
    fn set_threads(&mut self, threads: usize) {
        if threads.max(1) != self.config.threads {
            self.config.threads = threads.max(1);
            self.pool = Default::default();
        }
    }

    /// Texts are processed in parallel on `config.threads` threads; `batch_size` is not
    /// needed (each text is its own batch of chunks).
    fn predict(
        &self,
        texts: &[&str],
        opts: &PredictOptions,
    ) -> std::result::Result<Vec<Vec<Entity>>, Box<dyn std::error::Error + Send + Sync>> {
        let mut preds = self.predict_texts(texts, opts.threshold.unwrap_or(0.0));
        jner_corpus::restrict_labels(opts, &self.labels, &mut preds)?;
        Ok(preds)
    }
}
