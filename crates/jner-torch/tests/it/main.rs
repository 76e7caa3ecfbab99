//! Tests that need libtorch: one binary (linking libtorch once).

mod common;
mod encoder;
mod hub;
mod minilm;
mod spanmarker;
