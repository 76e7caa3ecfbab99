#![no_main]
//! The Corona2.json reader on arbitrary text.

use std::path::Path;

use jner_corpus::sources::corona::{parse_corona, CoronaStats};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let (mut st, mut w) = (CoronaStats::default(), Vec::new());
    if let Ok(docs) = parse_corona(raw, Path::new("c.json"), &mut st, &mut w) {
        common::check_documents(&docs);
    }
});
