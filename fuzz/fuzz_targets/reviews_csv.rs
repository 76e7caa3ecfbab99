#![no_main]
//! The reviews CSV reader on arbitrary bytes.

use std::path::Path;

use jner_corpus::sources::reviews::{parse_reviews, ReviewStats};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let (mut st, mut w) = (ReviewStats::default(), Vec::new());
    if let Ok(docs) = parse_reviews(data, Path::new("r.csv"), &mut st, &mut w) {
        common::check_documents(&docs);
    }
});
