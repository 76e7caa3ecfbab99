//! Span hygiene shared by every source, applied last: trim whitespace at span edges, drop
//! empty spans, drop exact duplicates, and resolve overlapping spans into the flat view that
//! training and scoring use: longest first, ties to the earliest start, then to the label
//! that comes first in [`crate::labels::ALL`] (then by name).

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

    #[test]
    fn out_of_range_never_panics() {
        let (out, c) = clean_spans("abc", vec![sp(2, 9, "A"), sp(3, 1, "A")]);
        assert!(out.is_empty());
        assert_eq!(c.empty_dropped, 2);
    }
}
