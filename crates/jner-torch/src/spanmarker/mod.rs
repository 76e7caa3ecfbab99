//! SpanMarker (Aarsen's `span_marker`, after PL-Marker): an encoder reads a text followed by
//! packed `<start>`/`<end>` marker pairs, one pair per candidate span; each pair's two hidden
//! states, concatenated, are classified into the labels or `O`.
//!
//! SpanMarker's attention mask lets text see only text, and a marker only the text, itself
//! and its partner. So the text's hidden states do not depend on the markers, and jner
//! computes each window's text once for all its marker pairs
//! ([`crate::bert::BertModel::forward_markers`]) where the Python library repeats the text in
//! every sample of ~128 pairs. Same function (tested against the library's layout: equal
//! logits and gradients). Batches are counted in the library's samples (`--batch-size 8` =
//! 8 samples of up to `marker_max_length` pairs, the same number of optimizer steps) and, by
//! default, shuffled one by one as the library does; samples of one window that land in the
//! same batch share the text's encoding. `window_group` keeps up to that many samples of a
//! window together (faster, less varied batches: see bench/SPANMARKER_VS_LIBRARY.md). At
//! inference a document's samples are adjacent, so long documents gain the most.
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
