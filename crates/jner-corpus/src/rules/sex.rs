//! Sex-span absorption: MACCROBAT types "16-year-old" as `Age` and "boy" as `Sex`, while the
//! reviews label the whole phrase ("4 year old son") as one `MinorChild`. A `Sex` span next
//! to a `MinorChild` age span is absorbed into it when the gap between them is pure
//! whitespace of at most 2 characters with no line break. A comma, a newline or any other
//! character prevents the merge. Both orders are merged ("16-year-old boy", "female child").

use std::collections::{BTreeMap, BTreeSet};

use crate::Span;

/// Whether the text between two spans allows a merge.
pub fn mergeable_gap(gap: &str) -> bool {
    gap.chars().count() <= 2
        && gap
            .chars()
            .all(|c| c.is_whitespace() && c != '\n' && c != '\r')
}

/// The most bytes a mergeable gap can have: two characters of at most four bytes each.
const MAX_GAP_BYTES: usize = 8;

/// Extends each span of `minors` over an adjacent span of `sex` (byte ranges). Each Sex span
/// is absorbed at most once. Returns how many Sex spans were absorbed.
///
/// For each minor, in order: first the Sex span after it (start at or after the minor's end,
/// with a [`mergeable_gap`] between), then the one before it (end at or before the minor's
/// start); where several qualify, the first in `sex` that is not yet absorbed.
///
/// A mergeable gap is at most [`MAX_GAP_BYTES`] bytes, so only Sex spans starting (ending)
/// within that many bytes of the minor's edge can qualify: they are looked up by position in
/// sorted maps from which absorbed ones are removed, O((m + s) log s), where trying every Sex
/// span for every minor was O(m·s). A gap that is not a slice of `text` (past its end or not on
/// character boundaries) is not mergeable.
pub fn absorb_sex(text: &str, minors: &mut [Span], sex: &[(usize, usize)]) -> usize {
    // Position → indices (ascending) of the Sex spans not yet absorbed that start / end there.
    let mut by_start: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let mut by_end: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, &(s, e)) in sex.iter().enumerate() {
        by_start.entry(s).or_default().insert(i);
        by_end.entry(e).or_default().insert(i);
    }
    let gap_ok = |a: usize, b: usize| text.get(a..b).is_some_and(mergeable_gap);
    // The first unabsorbed index among positions in `window` that pass `ok`.
    fn first(
        map: &BTreeMap<usize, BTreeSet<usize>>,
        window: std::ops::RangeInclusive<usize>,
        ok: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        map.range(window)
            .filter(|(&p, _)| ok(p))
            .filter_map(|(_, set)| set.first().copied())
            .min()
    }
    let take = |i: usize,
                by_start: &mut BTreeMap<usize, BTreeSet<usize>>,
                by_end: &mut BTreeMap<usize, BTreeSet<usize>>| {
        for (map, at) in [(by_start, sex[i].0), (by_end, sex[i].1)] {
            if let Some(set) = map.get_mut(&at) {
                set.remove(&i);
                if set.is_empty() {
                    map.remove(&at);
                }
            }
        }
    };
    let mut absorbed = 0;
    for m in minors.iter_mut() {
        // After the age: "16-year-old boy".
        let end = m.end;
        if let Some(i) = first(&by_start, end..=end.saturating_add(MAX_GAP_BYTES), |p| {
            gap_ok(end, p)
        }) {
            take(i, &mut by_start, &mut by_end);
            m.end = sex[i].1;
            absorbed += 1;
        }
        // Before the age: "female child".
        let start = m.start;
        if let Some(i) = first(&by_end, start.saturating_sub(MAX_GAP_BYTES)..=start, |p| {
            gap_ok(p, start)
        }) {
            take(i, &mut by_start, &mut by_end);
            m.start = sex[i].0;
            absorbed += 1;
        }
    }
    absorbed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, age: &str, sex: &str) -> (usize, String) {
        let a = text.find(age).unwrap();
        let s = text.rfind(sex).unwrap();
        let mut minors = vec![Span::new(a, a + age.len(), "MinorChild")];
        let n = absorb_sex(text, &mut minors, &[(s, s + sex.len())]);
        (n, text[minors[0].start..minors[0].end].to_string())
    }

    /// The pairwise algorithm `absorb_sex` used before, kept as the reference.
    fn absorb_sex_pairwise(text: &str, minors: &mut [Span], sex: &[(usize, usize)]) -> usize {
        let mut used = vec![false; sex.len()];
        let mut absorbed = 0;
        for m in minors.iter_mut() {
            if let Some(i) = (0..sex.len())
                .find(|&i| !used[i] && sex[i].0 >= m.end && mergeable_gap(&text[m.end..sex[i].0]))
            {
                used[i] = true;
                m.end = sex[i].1;
                absorbed += 1;
            }
            if let Some(i) = (0..sex.len()).find(|&i| {
                !used[i] && sex[i].1 <= m.start && mergeable_gap(&text[sex[i].1..m.start])
            }) {
                used[i] = true;
                m.start = sex[i].0;
                absorbed += 1;
            }
        }
        absorbed
    }

    #[test]
    fn absorb_sex_matches_pairwise_reference_on_random_spans() {
        use crate::rng::Rng;
        let pieces = [
            "a", "bb", " ", " ", "\t", "\n", "\u{a0}", "\u{3000}", ",", "é",
        ];
        let mut rng = Rng::new(9);
        let mut total = 0;
        for _ in 0..5000 {
            let text: String = (0..rng.below(16))
                .map(|_| pieces[rng.below(pieces.len())])
                .collect();
            let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            bounds.push(text.len());
            let range = |rng: &mut Rng| {
                let a = rng.below(bounds.len());
                let b = a + rng.below((bounds.len() - a).min(4));
                (bounds[a], bounds[b])
            };
            // Minors and Sex spans anywhere: overlapping, nested, repeated, empty.
            let minors: Vec<Span> = (0..rng.below(5))
                .map(|_| {
                    let (s, e) = range(&mut rng);
                    Span::new(s, e, "MinorChild")
                })
                .collect();
            let mut sex: Vec<(usize, usize)> = Vec::new();
            for _ in 0..rng.below(7) {
                if !sex.is_empty() && rng.below(4) == 0 {
                    sex.push(sex[rng.below(sex.len())]);
                } else {
                    sex.push(range(&mut rng));
                }
            }
            let mut expected = minors.clone();
            let n_expected = absorb_sex_pairwise(&text, &mut expected, &sex);
            let mut got = minors.clone();
            let n_got = absorb_sex(&text, &mut got, &sex);
            assert_eq!(
                (n_got, &got),
                (n_expected, &expected),
                "text {text:?} minors {minors:?} sex {sex:?}"
            );
            total += n_expected;
        }
        assert!(total > 1000, "{total}");
    }

    #[test]
    fn one_space_merges() {
        assert_eq!(
            run("A 16-year-old boy was seen.", "16-year-old", "boy"),
            (1, "16-year-old boy".into())
        );
    }

    #[test]
    fn two_spaces_merge_three_do_not() {
        assert_eq!(run("A 16-year-old  boy", "16-year-old", "boy").0, 1);
        assert_eq!(run("A 16-year-old \tboy", "16-year-old", "boy").0, 1);
        assert_eq!(
            run("A 16-year-old   boy", "16-year-old", "boy"),
            (0, "16-year-old".into())
        );
    }

    #[test]
    fn comma_or_newline_blocks() {
        assert_eq!(run("A 16-year-old, boy", "16-year-old", "boy").0, 0);
        assert_eq!(run("A 16-year-old\nboy", "16-year-old", "boy").0, 0);
        assert_eq!(run("A 16-year-old\r\nboy", "16-year-old", "boy").0, 0);
        assert_eq!(run("A 16-year-old x boy", "16-year-old", "boy").0, 0);
    }

    #[test]
    fn sex_before_age_and_non_ascii() {
        assert_eq!(
            run("a female child", "child", "female"),
            (1, "female child".into())
        );
        // A no-break space (U+00A0) is whitespace; two characters, four bytes.
        assert_eq!(
            run("un 3-month-old\u{a0}\u{a0}garçon", "3-month-old", "garçon").0,
            1
        );
    }
}
