#![no_main]
//! The data rules on a text and spans: span hygiene, pronoun / noun-phrase injection and
//! Sex absorption. Spans are made from the input's tail, snapped to character boundaries as
//! every reader makes them.

use jner_corpus::rules::inject::{add_injections, find_injections};
use jner_corpus::rules::{clean_spans, sex::absorb_sex};
use jner_corpus::{labels, Span};
use libfuzzer_sys::fuzz_target;

fn snap(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = u16::from_le_bytes([data[0], data[1]]) as usize;
    let rest = &data[2..];
    let cut = n.min(rest.len());
    let Ok(text) = std::str::from_utf8(&rest[..cut]) else {
        return;
    };
    if text.is_empty() {
        return;
    }
    let mut spans = Vec::new();
    for c in rest[cut..].chunks_exact(5) {
        let a = snap(
            text,
            u16::from_le_bytes([c[0], c[1]]) as usize % (text.len() + 1),
        );
        let b = snap(
            text,
            u16::from_le_bytes([c[2], c[3]]) as usize % (text.len() + 1),
        );
        let label = labels::ALL[c[4] as usize % labels::ALL.len()];
        spans.push(Span::new(a.min(b), a.max(b), label.to_string()));
    }
    let (mut clean, _) = clean_spans(text, spans.clone());
    for s in &clean {
        assert!(s.start < s.end && s.end <= text.len());
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
    }
    // no two kept spans overlap
    let mut sorted = clean.clone();
    sorted.sort_by_key(|s| (s.start, s.end));
    for w in sorted.windows(2) {
        assert!(w[0].end <= w[1].start, "overlap after hygiene");
    }
    let found = find_injections(text);
    let _ = add_injections(&mut clean, found);
    let sex: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.end)).collect();
    let mut minors: Vec<Span> = clean
        .into_iter()
        .filter(|s| s.label == labels::MINOR_CHILD)
        .collect();
    let _ = absorb_sex(text, &mut minors, &sex);
    for s in &minors {
        assert!(s.start <= s.end && s.end <= text.len());
    }
});
