//! Tests that need libtorch: one binary (linking libtorch once).

mod common;
mod encoder;
mod gliner;
mod hub;
mod minilm;
mod spanmarker;
