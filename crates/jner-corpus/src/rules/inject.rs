//! Pronoun and noun-phrase injection: a clinical case report is about one patient, so in a
//! document with a `MinorChild` span every third-person singular pronoun and every "the
//! patient"-style noun phrase refers to that minor and is labelled `MinorChild`.
//!
//! Pronouns: the spec's he, she, his, her, him, plus hers, himself, herself (the same
//! third-person singular set the reviews are annotated with). Plural pronouns (they, them,
//! their) are never labelled. Noun phrases: "the" or "this" followed by a patient or child
//! noun; only the noun is labelled ("the child" → "child"), as the reviews label noun phrases
//! without determiners. Matching is case-insensitive on word boundaries, so "this" and
//! "hershey" never match.

use crate::rules::{find_phrase, ranges_overlap, DisjointRanges, RangeIndex};
use crate::{labels, Span};

pub const PRONOUNS: [&str; 8] = [
    "he", "she", "his", "her", "him", "hers", "himself", "herself",
];
pub const DETERMINERS: [&str; 2] = ["the", "this"];
pub const NOUNS: [&str; 12] = [
    "patient",
    "child",
    "boy",
    "girl",
    "infant",
    "baby",
    "newborn",
    "neonate",
    "toddler",
    "adolescent",
    "teenager",
    "kid",
];

/// What injection found in one document (byte ranges).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Injected {
    pub pronouns: Vec<(usize, usize)>,
    pub noun_phrases: Vec<(usize, usize)>,
}

/// Finds the pronouns and noun phrases to label `MinorChild` in a document's text.
pub fn find_injections(text: &str) -> Injected {
    let mut out = Injected::default();
    for p in PRONOUNS {
        out.pronouns.extend(find_phrase(text, p));
    }
    out.pronouns.sort_unstable();
    for d in DETERMINERS {
        // each determiner is searched once, then followed by every noun
        let found = find_phrase(text, d);
        for n in NOUNS {
            for (_, end) in followed_by(text, &found, n) {
                out.noun_phrases.push((end - n.len(), end));
            }
        }
    }
    out.noun_phrases.sort_unstable();
    out.noun_phrases.dedup();
    out
}

/// What [`add_injections`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InjectCounts {
    /// Pronoun spans added.
    pub pronouns: usize,
    /// Noun-phrase spans added.
    pub noun_phrases: usize,
    /// Found ranges not added because they overlap a span of the document (or one added
    /// before them).
    pub skipped_overlap: usize,
}

/// Appends to `spans` a `MinorChild` span for every range of `found` that overlaps no span
/// already there: the pronouns first, then the noun phrases, each in its order, every added
/// span counting for the ranges after it.
///
/// O((n + m) log(n + m)) for n spans and m ranges: the document's own spans (any shape) go
/// into a [`RangeIndex`], the added ones (which never overlap one another) into a
/// [`DisjointRanges`], where checking every span in `spans` for each range was O(n·m + m²).
pub fn add_injections(spans: &mut Vec<Span>, found: Injected) -> InjectCounts {
    let existing = RangeIndex::new(spans.iter().map(|s| (s.start, s.end)));
    let mut added = DisjointRanges::default();
    // Ranges with start > end never come from `find_injections`; should one be given, it
    // is checked against as the pairwise loop did, one by one.
    let mut reversed: Vec<(usize, usize)> = Vec::new();
    let mut counts = InjectCounts::default();
    for (list, is_pronoun) in [(found.pronouns, true), (found.noun_phrases, false)] {
        for (s, e) in list {
            if existing.overlaps(s, e)
                || added.overlaps(s, e)
                || reversed.iter().any(|&r| ranges_overlap(r, (s, e)))
            {
                counts.skipped_overlap += 1;
                continue;
            }
            if s <= e {
                added.insert(s, e);
            } else {
                reversed.push((s, e));
            }
            spans.push(Span::new(s, e, labels::MINOR_CHILD));
            if is_pronoun {
                counts.pronouns += 1;
            } else {
                counts.noun_phrases += 1;
            }
        }
    }
    counts
}

/// The occurrences in `found` (of a determiner) followed by whitespace then `b`, on word
/// boundaries.
fn followed_by(text: &str, found: &[(usize, usize)], b: &str) -> Vec<(usize, usize)> {
    found
        .iter()
        .filter_map(|&(s, e)| {
            let rest = &text[e..];
            let ws = rest.len() - rest.trim_start().len();
            if ws == 0 {
                return None;
            }
            let after = &rest[ws..];
            let head = after.get(..b.len())?;
            if !head.eq_ignore_ascii_case(b) {
                return None;
            }
            let end = e + ws + b.len();
            crate::rules::on_word_boundaries(text, e + ws, end).then_some((s, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, r: &[(usize, usize)]) -> Vec<String> {
        r.iter().map(|&(s, e)| text[s..e].to_string()).collect()
    }

    #[test]
    fn pronouns_on_word_boundaries() {
        let t = "He said this to his mother; hershey Her herself. They and them: the others.";
        let inj = find_injections(t);
        assert_eq!(words(t, &inj.pronouns), ["He", "his", "Her", "herself"]);
    }

    #[test]
    fn noun_phrases_label_the_noun() {
        let t = "The patient was seen. the  child cried; the patients; this Boy; a girl";
        let inj = find_injections(t);
        assert_eq!(words(t, &inj.noun_phrases), ["patient", "child", "Boy"]);
    }

    /// The pairwise loop the MACCROBAT reader ran before [`add_injections`], kept as the
    /// reference: (spans, pronouns added, noun phrases added, skipped).
    fn add_injections_pairwise(
        mut spans: Vec<Span>,
        found: Injected,
    ) -> (Vec<Span>, usize, usize, usize) {
        let (mut pronouns, mut noun_phrases, mut skipped) = (0, 0, 0);
        for (list, counter) in [
            (found.pronouns, &mut pronouns),
            (found.noun_phrases, &mut noun_phrases),
        ] {
            for (s, e) in list {
                let cand = Span::new(s, e, labels::MINOR_CHILD);
                if spans.iter().any(|x| x.overlaps(&cand)) {
                    skipped += 1;
                } else {
                    spans.push(cand);
                    *counter += 1;
                }
            }
        }
        (spans, pronouns, noun_phrases, skipped)
    }

    fn check_against_reference(spans: Vec<Span>, found: Injected) -> InjectCounts {
        let expected = add_injections_pairwise(spans.clone(), found.clone());
        let mut got = spans.clone();
        let c = add_injections(&mut got, found.clone());
        assert_eq!(
            (got, c.pronouns, c.noun_phrases, c.skipped_overlap),
            expected,
            "spans {spans:?} found {found:?}"
        );
        c
    }

    #[test]
    fn add_injections_matches_pairwise_reference_on_random_ranges() {
        use crate::rng::Rng;
        let mut rng = Rng::new(5);
        let range = |rng: &mut Rng, wild: bool| {
            let s = rng.below(16);
            match rng.below(12) {
                0 => (s, s),
                1 if wild => (s, rng.below(16)),
                _ => (s, s + 1 + rng.below(6)),
            }
        };
        let (mut added, mut skipped) = (0, 0);
        for case in 0..5000 {
            // The document's spans: nested, overlapping, repeated, empty, now and then reversed.
            let mut spans: Vec<Span> = Vec::new();
            for _ in 0..rng.below(6) {
                if !spans.is_empty() && rng.below(6) == 0 {
                    spans.push(spans[rng.below(spans.len())].clone());
                } else {
                    let (s, e) = range(&mut rng, true);
                    spans.push(Span::new(
                        s,
                        e,
                        ["A", "B", labels::MINOR_CHILD][rng.below(3)],
                    ));
                }
            }
            // Found ranges: sorted (and noun phrases deduplicated) as find_injections gives
            // them, or in any order with repeats, every few cases.
            let mut found = Injected::default();
            for list in [&mut found.pronouns, &mut found.noun_phrases] {
                for _ in 0..rng.below(10) {
                    if !list.is_empty() && rng.below(5) == 0 {
                        list.push(list[rng.below(list.len())]);
                    } else {
                        list.push(range(&mut rng, case % 5 == 0));
                    }
                }
                if case % 3 != 0 {
                    list.sort_unstable();
                }
            }
            found.noun_phrases.dedup();
            let c = check_against_reference(spans, found);
            added += c.pronouns + c.noun_phrases;
            skipped += c.skipped_overlap;
        }
        assert!(added > 5000 && skipped > 5000, "{added} {skipped}");
    }

    #[test]
    fn add_injections_matches_pairwise_reference_on_texts() {
        use crate::rng::Rng;
        let words = [
            "he",
            "she",
            "his",
            "her",
            "the",
            "this",
            "patient",
            "child",
            "boy",
            "they",
            "a",
            "herself",
            "hershey",
            "16-year-old",
            ",",
            ".",
        ];
        let mut rng = Rng::new(6);
        for _ in 0..1000 {
            let text = (0..rng.below(30))
                .map(|_| words[rng.below(words.len())])
                .collect::<Vec<_>>()
                .join(if rng.below(2) == 0 { " " } else { "  " });
            let mut spans = Vec::new();
            for _ in 0..rng.below(5) {
                let s = rng.below(text.len() + 1);
                let e = s + rng.below(text.len() + 1 - s);
                spans.push(Span::new(s, e, "Age"));
            }
            check_against_reference(spans, find_injections(&text));
        }
    }

    #[test]
    fn add_injections_skips_overlaps_in_order() {
        let t = "the patient said he and she";
        let mut spans = vec![Span::new(4, 11, "MinorChild")]; // "patient"
        let mut found = find_injections(t);
        // Last in the list, "he an" overlaps the "he" added before it; the noun "patient"
        // overlaps the document's span.
        found.pronouns.push((17, 22));
        let c = add_injections(&mut spans, found);
        assert_eq!(
            c,
            InjectCounts {
                pronouns: 2,
                noun_phrases: 0,
                skipped_overlap: 2
            }
        );
        assert_eq!(words(t, &[(spans[1].start, spans[1].end)]), ["he"]);
        assert_eq!(words(t, &[(spans[2].start, spans[2].end)]), ["she"]);
    }

    #[test]
    fn non_ascii_text() {
        let t = "Café – she had 38.5°C; μg of drug for him";
        let inj = find_injections(t);
        assert_eq!(words(t, &inj.pronouns), ["she", "him"]);
    }
}
