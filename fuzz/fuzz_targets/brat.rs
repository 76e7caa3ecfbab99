#![no_main]
//! The brat reader on a text and an annotation file: the first byte says where the input
//! splits into the two.

use std::path::Path;

use jner_corpus::rules::AgeRule;
use jner_corpus::sources::brat::{parse_document, BratStats};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize * rest.len() / 255).min(rest.len());
    let (Ok(text), Ok(ann)) = (
        std::str::from_utf8(&rest[..cut]),
        std::str::from_utf8(&rest[cut..]),
    ) else {
        return;
    };
    for rule in [AgeRule::Units, AgeRule::Spec] {
        let (mut st, mut w) = (BratStats::default(), Vec::new());
        let d = parse_document("d", text, ann, Path::new("x.ann"), rule, &mut st, &mut w);
        common::check_documents(std::slice::from_ref(&d));
    }
});
