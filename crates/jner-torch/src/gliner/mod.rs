//! GLiNER (Zaratiana et al.), the span model of the `gliner` library (`span_mode = markerV0`):
//! the label names are read as a prompt `<<ENT>> label … <<SEP>>` before the text's words, so
//! a model fine-tuned on some labels still takes others by name (zero-shot).
//!
//! One encoder pass per window: the hidden state at each `<<ENT>>` (through the prompt FFN)
//! is a label's vector; the first subword of each word, projected to `hidden_size` and read by
//! a bi-LSTM, gives word vectors; every span of up to `max_width` words is the FFN of its
//! start's and end's projections (SpanMarkerV0); a span's score for a label is the dot product,
//! its probability the sigmoid.
//!
//! Unlike the library, no text is cut: a text longer than `max_len` words, or than the
//! encoder's subword limit with the prompt, is read in overlapping windows, and a label list
//! whose prompt alone would crowd out the text is read in groups ([`model`]).
//!
//! * [`config`](mod@config): `gliner_config.json`.
//! * [`data`]: words, prompts, windows, label groups, batches (no libtorch).
//! * [`net`]: the network and the loss.
//! * [`decode`]: greedy flat / nested / multi-label decoding.
//! * [`model`]: the user-facing [`GlinerModel`] (load/save/predict).
//! * [`train`](mod@train): the training loop.

pub mod config;
pub mod data;
pub mod decode;
pub mod model;
pub mod net;
pub mod train;

pub use config::GlinerConfig;
pub use decode::DecodeMode;
pub use model::GlinerModel;
pub use train::{train, GlinerTrainConfig};
