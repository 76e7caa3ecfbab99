//! The libtorch backends of jner (through the `tch` crate).
//!
//! * [`bert`]: a BERT-family encoder (BERT and its variants such as MiniLM, and the RoBERTa
//!   family: RoBERTa, XLM-R, CamemBERT) taking explicit position ids and a full 4-D additive
//!   attention mask, weights named as in Hugging Face checkpoints; plus the shared-text
//!   forward SpanMarker trains and predicts with.
//! * [`deberta`]: DeBERTa-v2/v3 (disentangled attention), the encoder of every public GLiNER
//!   checkpoint; [`encoder`] puts it and the BERT family behind one type.
//! * [`dropout`]: dropout with a fast, seeded, multi-threaded CPU mask (libtorch's CPU
//!   dropout draws its mask on one thread).
//! * [`hf`]: Hugging Face model folders (config, safetensors / `.bin` weights, tokenizer).
//! * [`hub`]: model names: a folder, or a hub id from the local hub cache or downloaded
//!   (`hf-hub`; `HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_ENDPOINT`, `HF_TOKEN`).
//! * [`gliner`]: the GLiNER span model: zero-shot labels, the library's checkpoints, windows
//!   so no text is cut, training.
//! * [`spanmarker`]: the SpanMarker span classifier: data layout, model, training, save/load
//!   in the Python `span_marker` library's file layout.
//! * [`spm`]: a SentencePiece `spm.model` as the tokenizer transformers' fast DeBERTa-v2/v3
//!   tokenizer converts it to (for encoders whose hub folder has no `tokenizer.json`).
//!
//! Build with libtorch provisioned by `eval "$(scripts/libtorch.sh)"`; binaries find it at
//! run time through an rpath (see `build.rs`).

pub mod bert;
pub mod deberta;
pub mod dropout;
pub mod encoder;
pub mod error;
pub mod gliner;
pub mod hf;
pub mod hub;
pub mod optim;
pub mod spanmarker;
pub mod spm;
pub mod trainer;
pub mod words;

pub use error::{Result, TorchError};
pub use spanmarker::{SpanMarkerConfig, SpanMarkerModel, TrainReport};
/// The `tch` this crate is built on (for `tch::Device` and friends without a direct dependency).
pub use tch;

/// Loads a SpanMarker model folder as a [`jner_corpus::Recognizer`].
pub fn load_recognizer(dir: &std::path::Path) -> Result<Box<dyn jner_corpus::Recognizer>> {
    Ok(Box::new(SpanMarkerModel::load(dir)?))
}
