//! GLiNER's span decoding: every (span, label) above the threshold is a candidate; candidates
//! are taken greedily by score, skipping any that conflicts with one already taken.
//!
//! * flat (default): two spans conflict when they share a word;
//! * nested: only when they cross (overlap without one containing the other);
//! * either way a span taken with one label blocks the same span with another, unless
//!   `multi_label`.

/// A scored span, word indices `start..=end`.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub start: usize,
    pub end: usize,
    pub label: usize,
    pub score: f32,
}

/// How candidates may share words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeMode {
    pub nested: bool,
    pub multi_label: bool,
}

fn conflicts(a: &Candidate, b: &Candidate, mode: DecodeMode) -> bool {
    if a.start == b.start && a.end == b.end {
        return !mode.multi_label;
    }
    let disjoint = a.start > b.end || b.start > a.end;
    if disjoint {
        return false;
    }
    if mode.nested {
        let contains =
            (a.start <= b.start && b.end <= a.end) || (b.start <= a.start && a.end <= b.end);
        return !contains;
    }
    true
}

/// Greedy decoding; `cands` in the order they were found (ties keep it, as Python's stable
/// sort). The result is sorted by start, equal starts by descending score (as the library).
pub fn greedy(mut cands: Vec<Candidate>, mode: DecodeMode) -> Vec<Candidate> {
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut taken: Vec<Candidate> = Vec::new();
    for c in cands {
        if !taken.iter().any(|t| conflicts(t, &c, mode)) {
            taken.push(c);
        }
    }
    taken.sort_by_key(|c| c.start);
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(start: usize, end: usize, label: usize, score: f32) -> Candidate {
        Candidate {
            start,
            end,
            label,
            score,
        }
    }

    #[test]
    fn flat_nested_and_multi_label() {
        let cands = vec![
            c(0, 2, 0, 0.9),
            c(1, 1, 1, 0.8), // inside the first
            c(2, 3, 0, 0.7), // crosses the first
            c(0, 2, 1, 0.6), // same span, other label
            c(5, 5, 0, 0.5),
        ];
        let flat = greedy(cands.clone(), DecodeMode::default());
        assert_eq!(flat, vec![c(0, 2, 0, 0.9), c(5, 5, 0, 0.5)]);
        let nested = greedy(
            cands.clone(),
            DecodeMode {
                nested: true,
                multi_label: false,
            },
        );
        assert_eq!(
            nested,
            vec![c(0, 2, 0, 0.9), c(1, 1, 1, 0.8), c(5, 5, 0, 0.5)]
        );
        let multi = greedy(
            cands,
            DecodeMode {
                nested: false,
                multi_label: true,
            },
        );
        assert_eq!(
            multi,
            vec![c(0, 2, 0, 0.9), c(0, 2, 1, 0.6), c(5, 5, 0, 0.5)]
        );
    }

    #[test]
    fn ties_keep_the_order_found() {
        let out = greedy(
            vec![c(0, 1, 0, 0.5), c(1, 2, 0, 0.5)],
            DecodeMode::default(),
        );
        assert_eq!(out, vec![c(0, 1, 0, 0.5)]);
    }
}
