//! The data rules of the specification, one module each, applied by the readers in the
//! spec's order: label mapping and age (brat), Sex absorption, pronoun injection, phrase
//! matching (reviews), then the span hygiene shared by all sources.

pub mod age;
pub mod hygiene;
pub mod inject;
pub mod phrases;
pub mod sex;

pub use age::{age_is_minor, AgeRule};
pub use hygiene::{clean_spans, HygieneCounts};

use std::collections::{BTreeMap, BTreeSet};

/// Whether the byte ranges `a` and `b` share at least one byte, as [`crate::Span::overlaps`]:
/// `a.0 < b.1 && b.0 < a.1`.
pub(crate) fn ranges_overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// A fixed set of byte ranges (any shape: overlapping, nested, repeated, empty) that answers
/// "does any of them overlap `start..end`?" ([`ranges_overlap`]) in O(log n).
///
/// A range `a` overlaps `s..e` iff `a.start < e` and `a.end > s`: the ranges with
/// `a.start < e` are a prefix of the ranges sorted by start, so the question is whether that
/// prefix's largest end is above `s`.
#[derive(Clone, Debug, Default)]
pub struct RangeIndex {
    /// Starts, ascending.
    starts: Vec<usize>,
    /// `max_end[i]`: the largest end among the first `i + 1` ranges by start.
    max_end: Vec<usize>,
}

impl RangeIndex {
    pub fn new(ranges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut v: Vec<(usize, usize)> = ranges.into_iter().collect();
        v.sort_unstable();
        let mut max_end = Vec::with_capacity(v.len());
        let mut m = 0;
        for &(_, e) in &v {
            m = m.max(e);
            max_end.push(m);
        }
        RangeIndex {
            starts: v.into_iter().map(|(s, _)| s).collect(),
            max_end,
        }
    }

    /// Whether any range of the set overlaps `start..end`.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        let k = self.starts.partition_point(|&s| s < end);
        k > 0 && self.max_end[k - 1] > start
    }
}

/// A growing set of byte ranges that pairwise do not overlap ([`ranges_overlap`]), answering
/// "does any of them overlap `start..end`?" in O(log n). This is the set of spans accepted so
/// far by a greedy "keep it unless it overlaps one already kept" pass.
#[derive(Clone, Debug, Default)]
pub(crate) struct DisjointRanges {
    /// Non-empty ranges, start → end. They are pairwise disjoint, so their ends rise with
    /// their starts: among those with `start < e`, the last one has the largest end.
    wide: BTreeMap<usize, usize>,
    /// Empty ranges (`start == end`) by position. One at `p` overlaps `s..e` iff `s < p < e`
    /// (it never overlaps another empty range).
    points: BTreeSet<usize>,
}

impl DisjointRanges {
    /// Whether any range of the set overlaps `start..end` (any shape).
    pub(crate) fn overlaps(&self, start: usize, end: usize) -> bool {
        if let Some((_, &e)) = self.wide.range(..end).next_back() {
            if start < e {
                return true;
            }
        }
        start < end && self.points.range(start + 1..end).next().is_some()
    }

    /// Adds `start..end` (`start <= end`), which must overlap none of the set.
    pub(crate) fn insert(&mut self, start: usize, end: usize) {
        debug_assert!(start <= end && !self.overlaps(start, end));
        if start < end {
            self.wide.insert(start, end);
        } else {
            self.points.insert(start);
        }
    }
}

/// Whether `c` counts as a word character for word-boundary tests (as regex `\w`).
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text[start..end]` stands on word boundaries: the characters just outside it are
/// not word characters where the span's own edge characters are.
pub(crate) fn on_word_boundaries(text: &str, start: usize, end: usize) -> bool {
    let inner_first = text[start..end].chars().next();
    let inner_last = text[start..end].chars().next_back();
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let left_ok = match (inner_first, before) {
        (Some(i), Some(b)) => !(is_word_char(i) && is_word_char(b)),
        _ => true,
    };
    let right_ok = match (inner_last, after) {
        (Some(i), Some(a)) => !(is_word_char(i) && is_word_char(a)),
        _ => true,
    };
    left_ok && right_ok
}

/// Every case-insensitive occurrence of `phrase` in `text` that stands on word boundaries,
/// as byte ranges, overlapping occurrences included.
/// The case-insensitive regex of a literal phrase, compiled once per thread (the rules look
/// up the same few dozen phrases in every document; compiling them anew for each cost more
/// than the search). The cache is bounded: it is emptied when it holds 4096 phrases.
fn phrase_regex(phrase: &str) -> Option<regex::Regex> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(re) = c.get(phrase) {
            return Some(re.clone());
        }
        let re = regex::RegexBuilder::new(&regex::escape(phrase))
            .case_insensitive(true)
            .build()
            .ok()?;
        if c.len() >= 4096 {
            c.clear();
        }
        c.insert(phrase.to_string(), re.clone());
        Some(re)
    })
}

pub fn find_phrase(text: &str, phrase: &str) -> Vec<(usize, usize)> {
    let phrase = phrase.trim();
    if phrase.is_empty() {
        return Vec::new();
    }
    let Some(re) = phrase_regex(phrase) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = 0;
    while at <= text.len() {
        let Some(m) = re.find_at(text, at) else { break };
        if on_word_boundaries(text, m.start(), m.end()) {
            out.push((m.start(), m.end()));
        }
        // Step one character past this match's start, so overlapping occurrences are seen.
        at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A random range in `0..12`: mostly well-formed, some empty, a few with start > end.
    fn random_range(rng: &mut Rng) -> (usize, usize) {
        let s = rng.below(12);
        match rng.below(10) {
            0 => (s, s),
            1 => (s, rng.below(12)),
            _ => (s, s + 1 + rng.below(5)),
        }
    }

    #[test]
    fn range_index_matches_pairwise_reference() {
        let mut rng = Rng::new(11);
        for _ in 0..3000 {
            let set: Vec<(usize, usize)> =
                (0..rng.below(8)).map(|_| random_range(&mut rng)).collect();
            let index = RangeIndex::new(set.iter().copied());
            for _ in 0..20 {
                let q = random_range(&mut rng);
                let expected = set.iter().any(|&a| ranges_overlap(a, q));
                assert_eq!(index.overlaps(q.0, q.1), expected, "{set:?} {q:?}");
            }
        }
    }

    #[test]
    fn disjoint_ranges_match_pairwise_reference() {
        let mut rng = Rng::new(12);
        for _ in 0..3000 {
            let mut kept: Vec<(usize, usize)> = Vec::new();
            let mut set = DisjointRanges::default();
            for _ in 0..rng.below(16) {
                let q = random_range(&mut rng);
                let expected = kept.iter().any(|&a| ranges_overlap(a, q));
                assert_eq!(set.overlaps(q.0, q.1), expected, "{kept:?} {q:?}");
                if !expected && q.0 <= q.1 {
                    kept.push(q);
                    set.insert(q.0, q.1);
                }
            }
        }
    }

    #[test]
    fn phrase_on_word_boundaries_only() {
        let t = "This is her hershey bar; HER son. her";
        let got = find_phrase(t, "her");
        let words: Vec<&str> = got.iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(words, ["her", "HER", "her"]);
        assert!(find_phrase("this", "his").is_empty());
    }

    #[test]
    fn phrase_with_punctuation_edges() {
        let t = "After a c-section, (c-section) x c-sections";
        assert_eq!(find_phrase(t, "c-section").len(), 2);
        let t = "LO. LO's bottle";
        assert_eq!(find_phrase(t, "LO").len(), 2);
    }

    #[test]
    fn phrase_non_ascii_case() {
        let t = "Mon BÉBÉ et mon bébé";
        assert_eq!(find_phrase(t, "bébé").len(), 2);
        assert!(find_phrase(t, "  ").is_empty());
    }
}
