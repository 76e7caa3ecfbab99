#![no_main]
//! The JSONL document reader on arbitrary text; what it accepts round-trips through the
//! writer.

use std::path::Path;

use jner_corpus::jsonl::{jsonl_bytes, parse_jsonl};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for known_only in [false, true] {
        if let Ok(docs) = parse_jsonl(raw, Path::new("d.jsonl"), known_only) {
            common::check_documents(&docs);
            let again = parse_jsonl(&jsonl_bytes(&docs), Path::new("again.jsonl"), known_only)
                .expect("what was read can be read again after writing");
            assert_eq!(docs, again);
        }
    }
});
