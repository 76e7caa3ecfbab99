//! jner's default backend: a pure-Rust, spaCy-class named-entity recogniser.
//!
//! * [`tokenizer`]: English prefix/suffix/infix tokenizer (byte offsets), with gold
//!   boundary splitting for training.
//! * [`features`] + [`net`]: hash embeddings of NORM/PREFIX/SUFFIX/SHAPE (seeded sub-hashes,
//!   summed), optional static vectors through a learned projection, Maxout → LayerNorm,
//!   then a residual MaxoutWindowEncoder; a linear BILUO tag layer with softmax.
//! * [`attention`]: an optional windowed multi-head self-attention block over the encoder's
//!   output (`attention_heads`, off by default), for context beyond `depth·window` tokens.
//! * [`decoder`]: constrained Viterbi over valid BILUO sequences; entity confidence is the
//!   geometric mean of its tokens' tag probabilities.
//! * [`train()`]: Adam (decoupled weight decay, per-tensor clipping), data-parallel
//!   deterministic gradients, per-epoch evaluation with `jner_eval`, atomic checkpoints.
//! * [`pretrain`]: masked-word pretraining of the encoder on raw text (`jner pretrain`), the
//!   starting point of `train --init`.
//! * [`skipgram`]: static word vectors trained on raw text (skip-gram, negative sampling),
//!   the input of `vectors`.
//! * [`CnnModel`]: save/load of a model directory and the [`jner_corpus::Recognizer`] impl.
//!
//! # Design choices
//!
//! * **Tagger instead of a transition system.** The tok2vec is spaCy's (same attributes,
//!   sub-hashes, maxout pieces, window; 4× the rows, and since the speed screen below
//!   width 64 / depth 3 instead of 96 / 4), but the decoder is a linear
//!   BILUO layer + softmax per token with constrained Viterbi. It gives per-entity
//!   confidences (spaCy's greedy parser cannot), needs no per-step state loop, and lets
//!   the whole batch go through one sgemm per layer. Measured on the lead's split
//!   (1482 train / 71 eval documents, 1253 eval entities): best micro F1 0.665 (epoch 4
//!   of 10, default config, seed 42), inside the 0.6–0.75 range quoted for spaCy 3.8's
//!   default NER on this kind of data.
//! * **Confidence** = geometric mean of the entity's token tag probabilities.
//! * **Weight averaging** (`use_averages`, default on, like thinc's averages): evaluation
//!   and saved models use an EMA of the weights; it raised F1 at epochs 1–4 by 0.01–0.03
//!   and made the curve flatter (0.665 best vs 0.662 without). (Fixed since: training used
//!   to continue from the averaged weights after each evaluation, and `final/` held the raw
//!   weights; now the raw weights are restored after evaluating and `final/` is averaged.)
//! * **Lazy (sparse) optimiser updates** for the hash tables (`src/optim.rs` docs):
//!   only the rows a batch reads are visited; missed steps (moment decay, momentum "ghost"
//!   steps, decoupled weight decay, the EMA) are caught up in closed form when a row is next
//!   touched and for all rows before evaluation/saving, so the result equals dense Adam up
//!   to f32 rounding (tested), and per-worker gradients of the tables are only zeroed and
//!   reduced on touched rows. Optimiser share of a training profile: 11% → 6.6% with
//!   spaCy-sized tables, and independent of table size.
//! * **Training pieces** of at most `max_piece_tokens` (128) tokens cut at sentence/line
//!   ends, never inside a gold entity; evaluation and prediction run on whole documents
//!   (internally in 1024-token chunks with exact context, see [`model`]).
//! * **Determinism**: pieces of a batch are assigned to `threads` shards by a fixed greedy
//!   rule, each shard has its own dropout seed (seed, epoch, batch, shard), gradients are
//!   summed in shard order, and the optimiser updates fixed groups of whole tensors: the
//!   same seed and thread count give bit-identical weights (tested).
//! * **Experiments** (6-epoch screens, best-epoch micro F1 on the lead's split, mean of
//!   seeds 42/43; 2-core machine shared with other jobs, load 3–7, so words/s are only
//!   comparable within a row of runs made back to back):
//!
//!   | setting (vs. default of the time)              | F1 s42 | F1 s43 | mean   |
//!   |------------------------------------------------|--------|--------|--------|
//!   | baseline (rows 5000/1000/2500/2500), lazy Adam | 0.6636 | 0.6565 | 0.6601 |
//!   | rows ×4 (20000/4000/10000/10000) — adopted     | 0.6667 | 0.6689 | 0.6678 |
//!   | dropout 0.1                                    | 0.6706 | 0.6552 | 0.6629 |
//!   | label smoothing 0.1                            | 0.6584 | 0.6566 | 0.6575 |
//!   | rows ×4 + dropout 0.1                          | 0.6711 | 0.6650 | 0.6681 |
//!
//!   **Speed screen** (5-epoch runs, best-epoch micro F1, rows ×4, 2 threads). Words/s
//!   are from 2-epoch runs made back to back with one binary (load ≈ 4, another job on
//!   the 2 cores; round 1 of 2); `CPU` is the user CPU seconds of that whole 2-epoch run
//!   (training + evaluation + inference benchmark), mean of two rounds. No hardware
//!   counters on this machine (`perf stat -e instructions` unsupported), so CPU time
//!   stands in for instruction counts.
//!
//!   | setting                                  | F1 s42 | F1 s43 | mean   | train w/s | infer w/s | CPU s |
//!   |------------------------------------------|--------|--------|--------|-----------|-----------|-------|
//!   | width 96, depth 4, pieces 3 (old default)| 0.6667 | (0.6689)¹ | 0.668 | 22.5k  | 78k       | 18.4  |
//!   | width 64                                 | 0.6664 | 0.6697 | 0.6680 | 36.2k     | 153k      | 9.9   |
//!   | **width 64, depth 3 — adopted**          | 0.6636 | 0.6683 | 0.6660 | 38.4k     | 180k      | 8.6   |
//!   | width 64, pieces 2                       | 0.6544 | 0.6576 | 0.6560 | 40.6k     | 192k      | 7.8   |
//!   | width 64, n_hashes 3                     | 0.6591 | 0.6625 | 0.6608 | –         | –         | –     |
//!   | width 80, pieces 2                       | 0.6592 | 0.6616 | 0.6604 | –         | –         | –     |
//!   | width 96, pieces 2                       | 0.6661 | –      | –      | –         | –         | –     |
//!
//!   ¹ 6-epoch screen above. Width 64 / depth 3 cuts CPU time per run ≈2.1× and doubles
//!   inference words/s (≈2.3×); wall-clock training words/s rose only ≈1.7× under this
//!   load because the per-batch serial part (gradient reduction, Adam, thread start-up)
//!   does not shrink with the network. A code change tried and dropped: computing the
//!   maxout input gradient by gathering the winning weight rows (p× fewer multiply-adds
//!   than the dense `dpre · W` sgemm) was ≈10% *slower* than matrixmultiply's AVX-512
//!   kernel even with an AVX2-dispatched loop. Profile at width 64 (perf, cpu-clock):
//!   sgemm kernel + packing 52%, Adam (dense + lazy catch-up) 9%, maxout/LayerNorm
//!   forward and backward 11%, hash embeddings 4%.
//!
//!   Rows ×4 costs ≈7% training speed (1 epoch back to back: 21.1k/20.0k vs 23.3k/21.5k
//!   words/s, load ≈5.5) and raises peak RSS of a 10-epoch run from 130 MB to 226 MB.
//!   Old default (width 96, depth 4) 10-epoch run (seed 42): best F1 0.6667 at epoch 3, 0.648 at epoch 10 (the
//!   model overfits after epoch 3–4; `best/` keeps the best epoch). Not tried for lack of
//!   time: piece length, learning rate, width/depth, extra lexical features, a CRF loss.
//! * **Speed/memory**: features are hashed once per training document; per layer one
//!   `matrixmultiply::sgemm` over all tokens of a shard; activations live in reusable
//!   buffers. Measured (2-core machine shared with other builds, load average ≈ 4):
//!   training 13–35k words/s (≈20k words/s averaged over 10 epochs), inference ≈ 70k
//!   words/s on 2 threads, peak RSS 130 MB for the full 10-epoch run with evaluation.

pub mod attention;
pub mod config;
pub mod decoder;
pub mod error;
pub mod features;
pub mod layers;
pub mod linalg;
pub mod model;
pub mod net;
mod optim;
pub mod pretrain;
mod resume;
pub mod skipgram;
pub mod tokenizer;
pub mod train;
pub mod vectors;

#[cfg(test)]
mod tests;

pub use config::CnnConfig;
pub use error::{CnnError, Result};
pub use model::CnnModel;
pub use train::{evaluate, train, train_model, Alignment, EpochReport, TrainReport};
pub use vectors::Vectors;
