//! SpanMarker (Aarsen's `span_marker`, after PL-Marker): an encoder reads a text followed by
//! packed `<start>`/`<end>` marker pairs, one pair per candidate span; each pair's two hidden
//! states, concatenated, are classified into the labels or `O`.
//!
//! * [`data`]: words, windows, candidate spans, samples, batches (no libtorch).
//! * [`model`]: the network and the user-facing [`SpanMarkerModel`] (load/save/predict).
//! * [`train`](mod@train): the training loop.

pub mod data;
pub mod model;
pub mod train;

pub use data::Layout;
pub use model::SpanMarkerModel;
pub use train::{parse_device, train, SpanMarkerConfig, TrainReport};
