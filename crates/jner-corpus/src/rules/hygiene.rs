//! Span hygiene shared by every source, applied last: trim whitespace at span edges, drop
//! empty spans, drop exact duplicates, and resolve overlapping spans into the flat view that
//! training and scoring use: longest first, ties to the earliest start, then to the label
//! that comes first in [`crate::labels::ALL`] (then by name).

use crate::rules::DisjointRanges;
use crate::{labels, Span};
use serde::Serialize;

/// How many spans each hygiene step changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HygieneCounts {
    /// Spans whose edges were trimmed of whitespace.
    pub trimmed: usize,
    /// Spans dropped because nothing was left (or they were empty to begin with).
    pub empty_dropped: usize,
    /// Exact (start, end, label) duplicates dropped.
    pub duplicates_dropped: usize,
    /// Spans dropped because they overlapped a longer (or tied, earlier) span.
    pub overlaps_dropped: usize,
}

impl HygieneCounts {
    pub fn add(&mut self, o: &HygieneCounts) {
        self.trimmed += o.trimmed;
        self.empty_dropped += o.empty_dropped;
        self.duplicates_dropped += o.duplicates_dropped;
        self.overlaps_dropped += o.overlaps_dropped;
    }
}

fn label_rank(label: &str) -> usize {
    labels::ALL
        .iter()
        .position(|l| *l == label)
        .unwrap_or(labels::ALL.len())
}

/// Trims, drops empties and duplicates, resolves overlaps; returns spans sorted by start.
pub fn clean_spans(text: &str, spans: Vec<Span>) -> (Vec<Span>, HygieneCounts) {
    let mut counts = HygieneCounts::default();
    let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
    for mut s in spans {
        if s.end > text.len() || s.start > s.end {
            counts.empty_dropped += 1;
            continue;
        }
        let inner = &text[s.start..s.end];
        let lead = inner.len() - inner.trim_start().len();
        let trail = inner.len() - inner.trim_end().len();
        if lead + trail > 0 && lead < inner.len() {
            counts.trimmed += 1;
        }
        if lead == inner.len() {
            counts.empty_dropped += 1;
            continue;
        }
        s.start += lead;
        s.end -= trail;
        kept.push(s);
    }
    kept.sort();
    let before = kept.len();
    kept.dedup();
    counts.duplicates_dropped = before - kept.len();

    let (accepted, dropped) = resolve_overlaps(kept);
    counts.overlaps_dropped = dropped;
    (accepted, counts)
}

/// The greedy overlap resolution of [`clean_spans`] on trimmed, non-empty, deduplicated
/// spans: in the order longest first, earliest start, label rank, label name, a span is kept
/// unless it overlaps one already kept. Returns the kept spans sorted and how many were
/// dropped.
///
/// The kept spans never overlap one another, so they live in a [`DisjointRanges`] that
/// answers each "does it overlap a kept span?" in O(log n): O(n log n) in all, where
/// checking every kept span was O(n²).
fn resolve_overlaps(kept: Vec<Span>) -> (Vec<Span>, usize) {
    let ranks: Vec<usize> = kept.iter().map(|s| label_rank(&s.label)).collect();
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&kept[a], &kept[b]);
        y.len()
            .cmp(&x.len())
            .then(x.start.cmp(&y.start))
            .then(ranks[a].cmp(&ranks[b]))
            .then(x.label.cmp(&y.label))
    });
    let mut taken = vec![false; kept.len()];
    let mut set = DisjointRanges::default();
    let mut dropped = 0;
    for i in order {
        let s = &kept[i];
        if set.overlaps(s.start, s.end) {
            dropped += 1;
        } else {
            set.insert(s.start, s.end);
            taken[i] = true;
        }
    }
    // `kept` is sorted and free of duplicates, so its kept spans in place are sorted.
    let accepted = kept
        .into_iter()
        .zip(taken)
        .filter_map(|(s, t)| t.then_some(s))
        .collect();
    (accepted, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(s: usize, e: usize, l: &str) -> Span {
        Span::new(s, e, l)
    }

    #[test]
    fn trims_and_drops_empty() {
        let t = " diarrhea  x   ";
        let (out, c) = clean_spans(t, vec![sp(0, 10, "A"), sp(12, 15, "A"), sp(3, 3, "A")]);
        assert_eq!(out, vec![sp(1, 9, "A")]);
        assert_eq!(c.trimmed, 1);
        assert_eq!(c.empty_dropped, 2);
    }

    #[test]
    fn longest_first_then_earliest() {
        let t = "abcdefghijklmnop";
        let spans = vec![
            sp(0, 4, "A"),
            sp(2, 10, "B"),
            sp(9, 13, "C"),
            sp(12, 16, "D"),
        ];
        let (out, c) = clean_spans(t, spans);
        // B (len 8) wins over A and C; D (12..16) does not touch B (2..10).
        assert_eq!(out, vec![sp(2, 10, "B"), sp(12, 16, "D")]);
        assert_eq!(c.overlaps_dropped, 2);
        // Equal length: the earlier start wins.
        let (out, _) = clean_spans(t, vec![sp(3, 6, "X"), sp(1, 4, "Y")]);
        assert_eq!(out, vec![sp(1, 4, "Y")]);
    }

    #[test]
    fn same_extent_two_labels_and_duplicates() {
        let t = "fever cough";
        let spans = vec![
            sp(0, 5, labels::CLINICAL_PROCEDURE),
            sp(0, 5, labels::MEDICAL_CONDITION),
            sp(0, 5, labels::MEDICAL_CONDITION),
        ];
        let (out, c) = clean_spans(t, spans);
        assert_eq!(out, vec![sp(0, 5, labels::MEDICAL_CONDITION)]);
        assert_eq!((c.duplicates_dropped, c.overlaps_dropped), (1, 1));
    }

    /// The pairwise algorithm `clean_spans` used before, kept as the reference.
    fn clean_spans_pairwise(text: &str, spans: Vec<Span>) -> (Vec<Span>, HygieneCounts) {
        let mut counts = HygieneCounts::default();
        let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
        for mut s in spans {
            if s.end > text.len() || s.start > s.end {
                counts.empty_dropped += 1;
                continue;
            }
            let inner = &text[s.start..s.end];
            let lead = inner.len() - inner.trim_start().len();
            let trail = inner.len() - inner.trim_end().len();
            if lead + trail > 0 && lead < inner.len() {
                counts.trimmed += 1;
            }
            if lead == inner.len() {
                counts.empty_dropped += 1;
                continue;
            }
            s.start += lead;
            s.end -= trail;
            kept.push(s);
        }
        kept.sort();
        let before = kept.len();
        kept.dedup();
        counts.duplicates_dropped = before - kept.len();

        let mut order: Vec<usize> = (0..kept.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&kept[a], &kept[b]);
            y.len()
                .cmp(&x.len())
                .then(x.start.cmp(&y.start))
                .then(label_rank(&x.label).cmp(&label_rank(&y.label)))
                .then(x.label.cmp(&y.label))
        });
        let mut accepted: Vec<Span> = Vec::with_capacity(kept.len());
        for i in order {
            let s = &kept[i];
            if accepted.iter().any(|a| a.overlaps(s)) {
                counts.overlaps_dropped += 1;
            } else {
                accepted.push(s.clone());
            }
        }
        accepted.sort();
        (accepted, counts)
    }

    #[test]
    fn clean_spans_matches_pairwise_reference_on_random_spans() {
        use crate::rng::Rng;
        // Labels of every rank, two unknown ones (ranked last, then by name).
        let names = [
            labels::ALL[0],
            labels::ALL[1],
            labels::ALL[labels::ALL.len() - 1],
            "Zeta",
            "Alpha",
        ];
        let mut rng = Rng::new(7);
        let mut overlaps_seen = 0;
        for case in 0..4000 {
            // Short texts with much whitespace; every few cases a multi-byte one, whose spans
            // are drawn from its character boundaries.
            let alphabet: &[&str] = if case % 4 == 0 {
                &["a", " ", "é", "\u{a0}", "–", "b"]
            } else {
                &["a", "b", " ", " ", "\t", "\n"]
            };
            let text: String = (0..rng.below(14))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            bounds.push(text.len());
            let n = rng.below(12);
            let mut spans: Vec<Span> = Vec::new();
            for _ in 0..n {
                let label = names[rng.below(names.len())];
                let span = match rng.below(12) {
                    // Repeat an earlier span: an exact duplicate or the same extent relabelled.
                    0 | 1 if !spans.is_empty() => {
                        let mut s = spans[rng.below(spans.len())].clone();
                        if rng.below(2) == 0 {
                            s.label = label.to_string();
                        }
                        s
                    }
                    // Out of range or start after end.
                    2 => Span::new(
                        rng.below(bounds.len() + 3),
                        text.len() + 1 + rng.below(3),
                        label,
                    ),
                    3 if bounds.len() > 1 => {
                        let a = 1 + rng.below(bounds.len() - 1);
                        Span::new(bounds[a], bounds[rng.below(a)], label)
                    }
                    // Empty.
                    4 => {
                        let b = bounds[rng.below(bounds.len())];
                        Span::new(b, b, label)
                    }
                    _ => {
                        let a = rng.below(bounds.len());
                        let b = a + rng.below(bounds.len() - a);
                        Span::new(bounds[a], bounds[b], label)
                    }
                };
                spans.push(span);
            }
            let expected = clean_spans_pairwise(&text, spans.clone());
            let got = clean_spans(&text, spans.clone());
            assert_eq!(got, expected, "text {text:?} spans {spans:?}");
            overlaps_seen += expected.1.overlaps_dropped;
        }
        // The generator does exercise the overlap resolution.
        assert!(overlaps_seen > 1000, "{overlaps_seen}");
    }

    #[test]
    fn out_of_range_never_panics() {
        let (out, c) = clean_spans("abc", vec![sp(2, 9, "A"), sp(3, 1, "A")]);
        assert!(out.is_empty());
        assert_eq!(c.empty_dropped, 2);
    }
}
