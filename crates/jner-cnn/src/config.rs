//! [`CnnConfig`]: every hyper-parameter of the cnn backend in one serialisable record
//! (it is written into `jner.json` so a model directory says how it was trained).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Hyper-parameters of the network and of training. Defaults follow spaCy 3.8's CPU
/// "efficiency" NER recipe (four seeded sub-hashes, maxout 3 pieces, window 1, Adam 0.001
/// with decoupled weight decay 0.01 and gradient clipping 1.0) where the brief does not
/// say otherwise (epochs 10, batch size 8 documents, dropout 0.2, seed 42, 2 threads),
/// except:
/// * the hash tables: 4× spaCy's rows (`[20000, 4000, 10000, 10000]` instead of
///   `[5000, 1000, 2500, 2500]`), which measured +0.008 mean F1 and costs little since the
///   optimiser updates only touched rows;
/// * width 64 and encoder depth 3 instead of spaCy's 96 and 4: about half the compute per
///   token (≈2.1× less training CPU time, ≈2.3× inference words/s) for −0.002 mean F1
///   (0.666 vs 0.668 over seeds 42/43, see the experiments table in the crate docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CnnConfig {
    /// Width of every hidden representation.
    pub width: usize,
    /// Hash-table rows for NORM, PREFIX, SUFFIX, SHAPE (4× spaCy's efficiency recipe).
    pub rows: [usize; 4],
    /// Seeded sub-hashes summed per key.
    pub n_hashes: usize,
    /// Maxout pieces of every maxout layer.
    pub maxout_pieces: usize,
    /// Encoder layers.
    pub depth: usize,
    /// Tokens of context on each side per encoder layer.
    pub window: usize,
    /// Heads of a self-attention layer over the CNN's output (0: none). It must divide
    /// `width`.
    pub attention_heads: usize,
    /// Tokens on each side the attention layer sees (within the same piece).
    pub attention_window: usize,
    /// Passes over the training documents.
    pub epochs: usize,
    /// Documents (or training pieces of long documents) per update.
    pub batch_size: usize,
    /// Long training documents are cut at sentence/line boundaries into pieces of at most
    /// this many tokens (training only; evaluation and prediction see whole documents).
    pub max_piece_tokens: usize,
    pub dropout: f32,
    /// Label smoothing of the tag targets (`(1 − ε)·onehot + ε/tags`).
    pub label_smoothing: f32,
    pub seed: u64,
    pub learn_rate: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Decoupled weight decay (`w -= lr * weight_decay * w` after each Adam step).
    pub weight_decay: f32,
    /// Each parameter tensor's gradient is rescaled to at most this L2 norm.
    pub grad_clip: f32,
    /// Worker threads for training and prediction (data-parallel; results depend only on
    /// the seed and this number).
    pub threads: usize,
    /// Optional word2vec/fastText text-format vectors used as an extra (frozen) embedding.
    pub vectors: Option<PathBuf>,
    /// Width of the learned projection of the static vectors.
    pub vectors_width: usize,
    /// Start the encoder from this `jner pretrain` folder (its `final/` or a checkpoint); the
    /// architecture must be the one it was pretrained with.
    pub init: Option<PathBuf>,
    /// Evaluate and save an exponential moving average of the weights (thinc's
    /// "averages"; decay `min(0.999, (1+t)/(10+t))`).
    pub use_averages: bool,
    /// Write `checkpoint-epoch-N/` after every epoch.
    pub save_checkpoints: bool,
}

impl Default for CnnConfig {
    fn default() -> Self {
        CnnConfig {
            width: 64,
            rows: [20000, 4000, 10000, 10000],
            n_hashes: 4,
            maxout_pieces: 3,
            depth: 3,
            window: 1,
            attention_heads: 0,
            attention_window: 32,
            epochs: 10,
            batch_size: 8,
            max_piece_tokens: 128,
            dropout: 0.2,
            label_smoothing: 0.0,
            seed: 42,
            learn_rate: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            grad_clip: 1.0,
            threads: 2,
            vectors: None,
            vectors_width: 96,
            init: None,
            use_averages: true,
            save_checkpoints: true,
        }
    }
}

/// Upper bounds that no sensible model reaches and that keep every allocation bounded.
pub const MAX_WIDTH: usize = 4096;
pub const MAX_ROWS: usize = 1 << 24;
pub const MAX_TABLE_PARAMS: usize = 1 << 30;
pub const MAX_DEPTH: usize = 32;
pub const MAX_WINDOW: usize = 8;
pub const MAX_ATTENTION_WINDOW: usize = 512;
pub const MAX_THREADS: usize = 1024;

impl CnnConfig {
    /// Reject values that would make the network or training meaningless.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::CnnError::Config(m.to_string()));
        // Ranges first: a model folder's jner.json is untrusted input, and these sizes decide
        // the allocations made before any tensor is read.
        if self.width == 0 || self.width > MAX_WIDTH {
            return bad(&format!("width must be in 1..={MAX_WIDTH}"));
        }
        if self.rows.contains(&0) {
            return bad("every hash table needs at least one row");
        }
        if self.rows.iter().any(|&r| r > MAX_ROWS) {
            return bad(&format!("hash tables may have at most {MAX_ROWS} rows"));
        }
        if self.rows.iter().sum::<usize>().saturating_mul(self.width) > MAX_TABLE_PARAMS {
            return bad(&format!(
                "rows x width exceeds {MAX_TABLE_PARAMS} parameters (the hash tables alone would need over 4 GiB)"
            ));
        }
        if self.depth == 0 || self.depth > MAX_DEPTH {
            return bad(&format!("depth must be in 1..={MAX_DEPTH}"));
        }
        if self.window > MAX_WINDOW {
            return bad(&format!("window must be in 0..={MAX_WINDOW}"));
        }
        if self.attention_heads > 0 {
            if self.attention_heads > 64 || !self.width.is_multiple_of(self.attention_heads) {
                return bad("attention_heads must be in 0..=64 and divide width");
            }
            if self.attention_window == 0 || self.attention_window > MAX_ATTENTION_WINDOW {
                return bad(&format!(
                    "attention_window must be in 1..={MAX_ATTENTION_WINDOW}"
                ));
            }
        }
        if self.maxout_pieces > 16 {
            return bad("maxout_pieces must be in 1..=16");
        }
        if self.threads == 0 || self.threads > MAX_THREADS {
            return bad(&format!("threads must be in 1..={MAX_THREADS}"));
        }
        if self.max_piece_tokens > 1 << 16 {
            return bad("max_piece_tokens must be <= 65536");
        }
        if self.vectors_width > MAX_WIDTH {
            return bad(&format!("vectors_width must be <= {MAX_WIDTH}"));
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return bad("eps must be > 0");
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad("weight_decay must be >= 0");
        }
        if self.n_hashes == 0 || self.n_hashes > 8 {
            return bad("n_hashes must be in 1..=8");
        }
        if self.maxout_pieces == 0 {
            return bad("maxout_pieces must be > 0");
        }
        if self.batch_size == 0 {
            return bad("batch_size must be > 0");
        }
        if self.max_piece_tokens < 8 {
            return bad("max_piece_tokens must be >= 8");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout must be in [0, 1)");
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad("label_smoothing must be in [0, 1)");
        }
        if !(self.learn_rate > 0.0 && self.learn_rate.is_finite()) {
            return bad("learn_rate must be > 0");
        }
        if !(0.0..1.0).contains(&self.beta1) || !(0.0..1.0).contains(&self.beta2) {
            return bad("beta1 and beta2 must be in [0, 1)");
        }
        if !(self.grad_clip.is_finite() && self.grad_clip > 0.0) {
            return bad("grad_clip must be > 0");
        }
        if self.vectors.is_some() && self.vectors_width == 0 {
            return bad("vectors_width must be > 0");
        }
        Ok(())
    }
}
