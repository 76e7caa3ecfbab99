//! Phrase cells of the reviews CSV: a `;`-separated list of phrases; each phrase labels every
//! case-insensitive, word-boundary occurrence in the review.

use std::collections::HashSet;

use crate::rules::find_phrase;
use crate::Span;

/// The phrases of one cell: split on `;`, trimmed, empties dropped, duplicates (ignoring
/// case) dropped, the first of each kept, in order. The lower-cased phrases already kept are
/// looked up in a hash set (O(n)), where comparing with each kept phrase was O(n²).
pub fn split_cell(cell: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for p in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if seen.insert(p.to_lowercase()) {
            out.push(p);
        }
    }
    out
}

/// Spans for every occurrence of every phrase in `cell`; returns the spans and the phrases
/// that were not found in the text.
pub fn label_phrases<'a>(text: &str, cell: &'a str, label: &str) -> (Vec<Span>, Vec<&'a str>) {
    let mut spans = Vec::new();
    let mut missing = Vec::new();
    for p in split_cell(cell) {
        let found = find_phrase(text, p);
        if found.is_empty() {
            missing.push(p);
        }
        spans.extend(found.into_iter().map(|(s, e)| Span::new(s, e, label)));
    }
    (spans, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pairwise algorithm `split_cell` used before, kept as the reference.
    fn split_cell_pairwise(cell: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            if !out.iter().any(|q| q.to_lowercase() == p.to_lowercase()) {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn split_cell_matches_pairwise_reference_on_random_cells() {
        use crate::rng::Rng;
        let pieces = [
            "son", "SON", "Son", " ", ";", ";", "é", "É", "ß", "SS", "ss", "İ", "i̇",
        ];
        let mut rng = Rng::new(3);
        for _ in 0..4000 {
            let cell: String = (0..rng.below(20))
                .map(|_| pieces[rng.below(pieces.len())])
                .collect();
            assert_eq!(split_cell(&cell), split_cell_pairwise(&cell), "{cell:?}");
        }
    }

    #[test]
    fn every_occurrence_and_missing() {
        let t = "My son loves it. Son, 4 year old son!";
        let (spans, missing) = label_phrases(t, "son; 4 year old son ;; nephew;SON", "MinorChild");
        let w: Vec<&str> = spans.iter().map(|s| &t[s.start..s.end]).collect();
        assert_eq!(w, ["son", "Son", "son", "4 year old son"]);
        assert_eq!(missing, ["nephew"]);
    }
}
