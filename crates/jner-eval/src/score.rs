//! Matching: gold and predicted triples of each document to tp, fp and fn counts per label,
//! and the classification of every error.

use jner_corpus::rules::RangeIndex;
use std::collections::{BTreeMap, HashMap};

use jner_corpus::offsets::CharIndex;
use jner_corpus::{Document, Entity};

use crate::report::{ErrorBreakdown, Report};
use crate::EvalError;

/// `(start, end, label)` in Unicode character offsets, `end` exclusive.
pub type Triple = (usize, usize, String);

/// The gold and predicted triples of one document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocScoreInput {
    pub gold: Vec<Triple>,
    pub pred: Vec<Triple>,
}

/// Raw counts of one label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

/// Score documents whose gold and predictions are already character-offset triples.
/// See the crate documentation for the definitions.
pub fn score(docs: &[DocScoreInput]) -> Report {
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut errors = ErrorBreakdown::default();
    for doc in docs {
        score_doc(doc, &mut counts, &mut errors);
    }
    Report::from_counts(docs.len(), counts, errors)
}

/// Score gold documents against the entities predicted for each, in the same order.
///
/// Gold spans are byte offsets into each document's text and are converted to characters here;
/// a span whose offsets are not character boundaries of the text (or past its end, or with
/// start after end) is an [`EvalError::GoldSpan`]. Predicted entities are taken as they are
/// (character offsets); one that is out of range simply cannot match and counts as a false
/// positive. A different number of prediction lists than documents is
/// [`EvalError::LengthMismatch`].
pub fn score_documents(gold: &[Document], pred: &[Vec<Entity>]) -> Result<Report, EvalError> {
    Ok(score(&document_inputs(gold, pred)?))
}

/// The triples [`score_documents`] scores, one entry per document (for [`crate::stats`]).
pub fn document_inputs(
    gold: &[Document],
    pred: &[Vec<Entity>],
) -> Result<Vec<DocScoreInput>, EvalError> {
    if gold.len() != pred.len() {
        return Err(EvalError::LengthMismatch {
            gold: gold.len(),
            pred: pred.len(),
        });
    }
    gold.iter()
        .zip(pred)
        .map(|(doc, entities)| {
            Ok(DocScoreInput {
                gold: gold_char_triples(doc)?,
                pred: entities
                    .iter()
                    .map(|e| (e.start, e.end, e.label.clone()))
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, EvalError>>()
}

/// The spans of a document as character-offset triples.
fn gold_char_triples(doc: &Document) -> Result<Vec<Triple>, EvalError> {
    let index = CharIndex::new(&doc.text);
    doc.spans
        .iter()
        .map(|span| {
            let fail = |reason: String| EvalError::GoldSpan {
                id: doc.id.clone(),
                start: span.start,
                end: span.end,
                label: span.label.clone(),
                reason,
            };
            let to_char = |b: usize| {
                index.to_char(b).ok_or_else(|| {
                    if b > doc.text.len() {
                        fail(format!(
                            "byte offset {b} is past the end of the text ({} bytes)",
                            doc.text.len()
                        ))
                    } else {
                        fail(format!(
                            "byte offset {b} falls inside a multi-byte character of the text"
                        ))
                    }
                })
            };
            let (start, end) = (to_char(span.start)?, to_char(span.end)?);
            if start > end {
                return Err(fail("start is after end".to_string()));
            }
            Ok((start, end, span.label.clone()))
        })
        .collect()
}

/// The triples of one side of a document, indexed for the error classification: the labels
/// at each `(start, end)` (in order), and per label a [`RangeIndex`].
struct SideIndex<'a> {
    bounds: HashMap<(usize, usize), Vec<&'a str>>,
    by_label: HashMap<&'a str, RangeIndex>,
}

impl<'a> SideIndex<'a> {
    fn new(triples: &'a [Triple]) -> Self {
        let mut ranges: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
        let mut bounds: HashMap<(usize, usize), Vec<&str>> = HashMap::new();
        for (s, e, l) in triples {
            ranges.entry(l.as_str()).or_default().push((*s, *e));
            bounds.entry((*s, *e)).or_default().push(l.as_str());
        }
        SideIndex {
            bounds,
            by_label: ranges
                .into_iter()
                .map(|(l, v)| (l, RangeIndex::new(v)))
                .collect(),
        }
    }

    /// The first label of a triple with exactly these bounds.
    fn label_at(&self, start: usize, end: usize) -> Option<&'a str> {
        self.bounds.get(&(start, end)).map(|v| v[0])
    }

    /// Whether some triple of `label` overlaps `start..end`.
    fn label_overlaps(&self, label: &str, start: usize, end: usize) -> bool {
        self.by_label
            .get(label)
            .is_some_and(|ix| ix.overlaps(start, end))
    }
}

/// What became of one triple (see the crate documentation for the classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    /// A prediction that matched a gold triple (tp).
    Match,
    /// False positives.
    Duplicate,
    /// With the gold label at the same bounds.
    WrongLabel(&'a str),
    WrongBoundary,
    Spurious,
    /// False negatives.
    Missed,
    Partial,
}

/// Classifies every prediction, then every unmatched gold copy, of one document, in input
/// order. For each unmatched prediction the classification asks about all gold spans, and
/// for each unmatched gold span about all predictions; both sides are indexed once
/// ([`SideIndex`]), so each question is O(1) or O(log n) and a document O(n log n), where
/// scanning the other side for each was O(n²).
pub(crate) fn classify<'a>(doc: &'a DocScoreInput, mut f: impl FnMut(&'a Triple, Outcome<'a>)) {
    // Gold as a multiset: how many copies of each triple are still unmatched.
    let mut unmatched: HashMap<(usize, usize, &str), usize> = HashMap::new();
    for (s, e, label) in &doc.gold {
        *unmatched.entry((*s, *e, label.as_str())).or_insert(0) += 1;
    }
    let mut gold_index: Option<SideIndex> = None;
    for t in &doc.pred {
        let (s, e, label) = t;
        let outcome = match unmatched.get_mut(&(*s, *e, label.as_str())) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Outcome::Match
            }
            Some(_) => Outcome::Duplicate,
            None => {
                let gold = gold_index.get_or_insert_with(|| SideIndex::new(&doc.gold));
                // No gold triple is (s, e, label) (it would be a key of `unmatched`), so a
                // gold span with these bounds has another label.
                if let Some(g) = gold.label_at(*s, *e) {
                    Outcome::WrongLabel(g)
                } else if gold.label_overlaps(label, *s, *e) {
                    Outcome::WrongBoundary
                } else {
                    Outcome::Spurious
                }
            }
        };
        f(t, outcome);
    }
    // the unmatched copies, the later copies of a triple first used up by matches
    let mut pred_index: Option<SideIndex> = None;
    let mut seen: HashMap<(usize, usize, &str), usize> = HashMap::new();
    let total: HashMap<(usize, usize, &str), usize> = {
        let mut m = HashMap::new();
        for (s, e, l) in &doc.gold {
            *m.entry((*s, *e, l.as_str())).or_insert(0) += 1;
        }
        m
    };
    for t in &doc.gold {
        let (s, e, label) = t;
        let key = (*s, *e, label.as_str());
        let k = seen.entry(key).or_insert(0);
        *k += 1;
        // copy k of n is unmatched when k > n - left
        if *k <= total[&key] - unmatched[&key] {
            continue;
        }
        let pred = pred_index.get_or_insert_with(|| SideIndex::new(&doc.pred));
        let outcome = if pred.label_at(*s, *e).is_some() || pred.label_overlaps(label, *s, *e) {
            Outcome::Partial
        } else {
            Outcome::Missed
        };
        f(t, outcome);
    }
}

/// Counts and classifies one document ([`classify`]).
pub(crate) fn score_doc(
    doc: &DocScoreInput,
    counts: &mut BTreeMap<String, Counts>,
    errors: &mut ErrorBreakdown,
) {
    for (_, _, label) in &doc.gold {
        counts.entry(label.clone()).or_default();
    }
    classify(doc, |(_, _, label), outcome| {
        let c = counts.entry(label.clone()).or_default();
        let class = match outcome {
            Outcome::Match => {
                c.tp += 1;
                return;
            }
            Outcome::Duplicate => &mut errors.duplicate,
            Outcome::WrongLabel(_) => &mut errors.wrong_label,
            Outcome::WrongBoundary => &mut errors.wrong_boundary,
            Outcome::Spurious => &mut errors.spurious,
            Outcome::Missed | Outcome::Partial => {
                c.fn_ += 1;
                if outcome == Outcome::Missed {
                    errors.missed += 1;
                } else {
                    errors.partial += 1;
                }
                return;
            }
        };
        c.fp += 1;
        *class += 1;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LabelScore;

    const EPS: f64 = 1e-12;

    fn t(s: usize, e: usize, l: &str) -> Triple {
        (s, e, l.to_string())
    }

    /// Whether two half-open character ranges share at least one character.
    fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
        a.0 < b.1 && b.0 < a.1
    }

    /// The pairwise `score_doc` used before, kept as the reference.
    fn score_doc_pairwise(
        doc: &DocScoreInput,
        counts: &mut BTreeMap<String, Counts>,
        errors: &mut ErrorBreakdown,
    ) {
        let mut unmatched: HashMap<(usize, usize, &str), usize> = HashMap::new();
        for (s, e, label) in &doc.gold {
            *unmatched.entry((*s, *e, label.as_str())).or_insert(0) += 1;
            counts.entry(label.clone()).or_default();
        }

        for (s, e, label) in &doc.pred {
            let c = counts.entry(label.clone()).or_default();
            match unmatched.get_mut(&(*s, *e, label.as_str())) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    c.tp += 1;
                }
                Some(_) => {
                    c.fp += 1;
                    errors.duplicate += 1;
                }
                None => {
                    c.fp += 1;
                    if doc
                        .gold
                        .iter()
                        .any(|(gs, ge, gl)| (gs, ge) == (s, e) && gl != label)
                    {
                        errors.wrong_label += 1;
                    } else if doc
                        .gold
                        .iter()
                        .any(|(gs, ge, gl)| gl == label && overlaps((*gs, *ge), (*s, *e)))
                    {
                        errors.wrong_boundary += 1;
                    } else {
                        errors.spurious += 1;
                    }
                }
            }
        }

        for (&(s, e, label), &left) in &unmatched {
            if left == 0 {
                continue;
            }
            counts.entry(label.to_string()).or_default().fn_ += left;
            let found_in_part = doc.pred.iter().any(|(ps, pe, pl)| {
                (*ps, *pe) == (s, e) || (pl == label && overlaps((*ps, *pe), (s, e)))
            });
            if found_in_part {
                errors.partial += left;
            } else {
                errors.missed += left;
            }
        }
    }

    fn score_pairwise(docs: &[DocScoreInput]) -> Report {
        let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
        let mut errors = ErrorBreakdown::default();
        for doc in docs {
            score_doc_pairwise(doc, &mut counts, &mut errors);
        }
        Report::from_counts(docs.len(), counts, errors)
    }

    /// A random triple on `0..12`: mostly well-formed, some empty, some with start > end.
    fn random_triple(rng: &mut jner_corpus::rng::Rng) -> Triple {
        let s = rng.below(12);
        let e = match rng.below(10) {
            0 => s,
            1 => rng.below(12),
            _ => s + 1 + rng.below(5),
        };
        (s, e, ["A", "B", "C"][rng.below(3)].to_string())
    }

    #[test]
    fn score_matches_pairwise_reference_on_random_documents() {
        let mut rng = jner_corpus::rng::Rng::new(42);
        let mut seen = ErrorBreakdown::default();
        for _ in 0..4000 {
            let docs: Vec<DocScoreInput> = (0..1 + rng.below(3))
                .map(|_| {
                    let mut gold: Vec<Triple> = Vec::new();
                    for _ in 0..rng.below(9) {
                        if !gold.is_empty() && rng.below(5) == 0 {
                            gold.push(gold[rng.below(gold.len())].clone()); // a multiset
                        } else {
                            gold.push(random_triple(&mut rng));
                        }
                    }
                    let mut pred: Vec<Triple> = Vec::new();
                    for _ in 0..rng.below(9) {
                        let t = match rng.below(6) {
                            // A gold triple: a match, or a duplicate once used up.
                            0 | 1 if !gold.is_empty() => gold[rng.below(gold.len())].clone(),
                            // Gold bounds, another label.
                            2 if !gold.is_empty() => {
                                let (s, e, _) = gold[rng.below(gold.len())].clone();
                                (s, e, ["A", "B", "C", "D"][rng.below(4)].to_string())
                            }
                            3 if !pred.is_empty() => pred[rng.below(pred.len())].clone(),
                            _ => random_triple(&mut rng),
                        };
                        pred.push(t);
                    }
                    DocScoreInput { gold, pred }
                })
                .collect();
            let expected = score_pairwise(&docs);
            let got = score(&docs);
            assert_eq!(got, expected, "{docs:?}");
            let e = &expected.errors;
            seen.duplicate += e.duplicate;
            seen.wrong_label += e.wrong_label;
            seen.wrong_boundary += e.wrong_boundary;
            seen.spurious += e.spurious;
            seen.partial += e.partial;
            seen.missed += e.missed;
        }
        // Every class is exercised.
        for (class, n) in [
            ("duplicate", seen.duplicate),
            ("wrong_label", seen.wrong_label),
            ("wrong_boundary", seen.wrong_boundary),
            ("spurious", seen.spurious),
            ("partial", seen.partial),
            ("missed", seen.missed),
        ] {
            assert!(n > 500, "{class}: {n}");
        }
    }

    fn doc(gold: &[(usize, usize, &str)], pred: &[(usize, usize, &str)]) -> DocScoreInput {
        DocScoreInput {
            gold: gold.iter().map(|&(s, e, l)| t(s, e, l)).collect(),
            pred: pred.iter().map(|&(s, e, l)| t(s, e, l)).collect(),
        }
    }

    fn assert_close(actual: f64, expected: f64, what: &str) {
        assert!(
            (actual - expected).abs() < EPS,
            "{what}: got {actual}, expected {expected}"
        );
    }

    fn assert_label(r: &Report, label: &str, tp: usize, fp: usize, fn_: usize, prf: [f64; 3]) {
        let s: &LabelScore = r
            .per_label
            .get(label)
            .unwrap_or_else(|| panic!("no label {label}"));
        assert_eq!((s.tp, s.fp, s.fn_), (tp, fp, fn_), "{label} counts");
        assert_eq!(s.support, tp + fn_, "{label} support");
        assert_close(s.precision, prf[0], &format!("{label} precision"));
        assert_close(s.recall, prf[1], &format!("{label} recall"));
        assert_close(s.f1, prf[2], &format!("{label} f1"));
    }

    /// The breakdown always adds up to fp and fn.
    fn assert_breakdown_sums(r: &Report) {
        let e = &r.errors;
        assert_eq!(
            e.duplicate + e.wrong_label + e.wrong_boundary + e.spurious,
            r.micro.fp
        );
        assert_eq!(e.missed + e.partial, r.micro.fn_);
    }

    #[test]
    fn perfect_match() {
        // Gold = pred = {A 0..5, A 10..15, B 20..25}: A tp 2, B tp 1, nothing else.
        // Every P, R, F1 = 1; micro 3/3 = 1; macro (1 + 1) / 2 = 1.
        let r = score(&[doc(
            &[(0, 5, "A"), (10, 15, "A"), (20, 25, "B")],
            &[(20, 25, "B"), (0, 5, "A"), (10, 15, "A")],
        )]);
        assert_eq!(r.documents, 1);
        assert_label(&r, "A", 2, 0, 0, [1.0, 1.0, 1.0]);
        assert_label(&r, "B", 1, 0, 0, [1.0, 1.0, 1.0]);
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (3, 0, 0));
        assert_close(r.micro.f1, 1.0, "micro f1");
        assert_close(r.macro_avg.f1, 1.0, "macro f1");
        assert_close(r.f1(), 1.0, "Report::f1");
        assert_eq!(r.errors, ErrorBreakdown::default());
    }

    #[test]
    fn empty_predictions_score_zero_with_support() {
        // Gold A 0..5, A 6..9, B 10..12; no predictions.
        // A: tp 0, fp 0, fn 2 → P = 0/0 := 0, R = 0/2 = 0, F1 = 0/(0+0+2) = 0, support 2.
        // B: tp 0, fp 0, fn 1 → all 0, support 1. Micro: 0/0 := 0, 0/3 = 0, F1 0.
        let r = score(&[doc(&[(0, 5, "A"), (6, 9, "A"), (10, 12, "B")], &[])]);
        assert_label(&r, "A", 0, 0, 2, [0.0, 0.0, 0.0]);
        assert_label(&r, "B", 0, 0, 1, [0.0, 0.0, 0.0]);
        assert_eq!(r.per_label["A"].support, 2);
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (0, 0, 3));
        assert_eq!(
            (r.micro.precision, r.micro.recall, r.micro.f1),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(r.errors.missed, 3);
        assert_breakdown_sums(&r);
    }

    #[test]
    fn empty_gold_and_empty_predictions() {
        // No spans anywhere: no labels, every ratio is 0/0 := 0 (macro over no labels is 0 too).
        let r = score(&[doc(&[], &[]), doc(&[], &[])]);
        assert_eq!(r.documents, 2);
        assert!(r.per_label.is_empty());
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (0, 0, 0));
        assert_eq!(
            (r.micro.precision, r.micro.recall, r.micro.f1),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(
            (r.macro_avg.precision, r.macro_avg.recall, r.macro_avg.f1),
            (0.0, 0.0, 0.0)
        );
        assert!(r.f1().is_finite());
        // And no documents at all.
        let r = score(&[]);
        assert_eq!(r.documents, 0);
        assert_eq!(r.micro.f1, 0.0);
    }

    #[test]
    fn predictions_without_gold_are_all_false_positives() {
        // Gold empty, pred A 0..3: A tp 0, fp 1, fn 0 → P = 0/1 = 0, R = 0/0 := 0, F1 = 0.
        // Support 0, but the label is listed because it has a prediction.
        let r = score(&[doc(&[], &[(0, 3, "A")])]);
        assert_label(&r, "A", 0, 1, 0, [0.0, 0.0, 0.0]);
        assert_eq!(r.errors.spurious, 1);
        assert_breakdown_sums(&r);
    }

    #[test]
    fn overlapping_predictions_are_scored_as_they_are() {
        // Gold: A 0..10.
        // Pred: A 0..10  → tp (exact)
        //       A 0..4   → fp, overlaps gold A → wrong_boundary
        //       A 2..12  → fp, overlaps gold A → wrong_boundary
        //       B 5..10  → fp, overlaps only a gold span of another label, other boundaries → spurious
        //       A 10..14 → fp, touches 0..10 at 10 but shares no character → spurious
        // A: tp 1, fp 3 (0..4, 2..12, 10..14), fn 0 → P = 1/4, R = 1/1 = 1, F1 = 2/(2+3+0) = 0.4.
        // B: tp 0, fp 1, fn 0 → 0, 0, 0.
        // Micro: tp 1, fp 4, fn 0 → P = 1/5, R = 1, F1 = 2/(2+4) = 1/3.
        // Macro: P = (0.25 + 0)/2 = 0.125, R = (1 + 0)/2 = 0.5, F1 = (0.4 + 0)/2 = 0.2.
        let r = score(&[doc(
            &[(0, 10, "A")],
            &[
                (0, 10, "A"),
                (0, 4, "A"),
                (2, 12, "A"),
                (5, 10, "B"),
                (10, 14, "A"),
            ],
        )]);
        assert_label(&r, "A", 1, 3, 0, [0.25, 1.0, 0.4]);
        assert_label(&r, "B", 0, 1, 0, [0.0, 0.0, 0.0]);
        assert_close(r.micro.precision, 0.2, "micro P");
        assert_close(r.micro.recall, 1.0, "micro R");
        assert_close(r.micro.f1, 1.0 / 3.0, "micro F1");
        assert_close(r.macro_avg.precision, 0.125, "macro P");
        assert_close(r.macro_avg.recall, 0.5, "macro R");
        assert_close(r.macro_avg.f1, 0.2, "macro F1");
        assert_eq!(r.errors.wrong_boundary, 2);
        assert_eq!(r.errors.spurious, 2);
        assert_eq!(r.errors.missed + r.errors.partial, 0);
        assert_breakdown_sums(&r);
    }

    #[test]
    fn wrong_label() {
        // Gold A 0..5, B 10..15. Pred B 0..5 (same boundaries, other label), B 10..15 (tp).
        // A: tp 0, fp 0, fn 1 → 0, 0, 0; the fn is partial (same boundaries were predicted).
        // B: tp 1, fp 1, fn 0 → P 1/2, R 1/1, F1 = 2/(2+1+0) = 2/3.
        // Micro: tp 1, fp 1, fn 1 → P 1/2, R 1/2, F1 1/2. Macro F1 = (0 + 2/3)/2 = 1/3.
        let r = score(&[doc(
            &[(0, 5, "A"), (10, 15, "B")],
            &[(0, 5, "B"), (10, 15, "B")],
        )]);
        assert_label(&r, "A", 0, 0, 1, [0.0, 0.0, 0.0]);
        assert_label(&r, "B", 1, 1, 0, [0.5, 1.0, 2.0 / 3.0]);
        assert_close(r.micro.f1, 0.5, "micro F1");
        assert_close(r.macro_avg.f1, 1.0 / 3.0, "macro F1");
        assert_eq!(r.errors.wrong_label, 1);
        assert_eq!(r.errors.partial, 1);
        assert_eq!(r.errors.missed, 0);
        assert_breakdown_sums(&r);
    }

    #[test]
    fn wrong_boundary() {
        // Gold A 0..10 ("chest pain"), A 20..25. Pred A 0..5 ("chest"): overlaps gold A → fp
        // wrong_boundary; gold 0..10 is a partial fn, gold 20..25 a missed fn.
        // A: tp 0, fp 1, fn 2 → P 0/1 = 0, R 0/2 = 0, F1 0.
        let r = score(&[doc(&[(0, 10, "A"), (20, 25, "A")], &[(0, 5, "A")])]);
        assert_label(&r, "A", 0, 1, 2, [0.0, 0.0, 0.0]);
        assert_eq!(r.errors.wrong_boundary, 1);
        assert_eq!(r.errors.partial, 1);
        assert_eq!(r.errors.missed, 1);
        assert_breakdown_sums(&r);
    }

    #[test]
    fn wrong_label_takes_precedence_over_wrong_boundary() {
        // Gold A 0..5 and B 0..10. Pred B 0..5 has A's boundaries (wrong_label) and also
        // overlaps gold B (wrong_boundary); the first class in the order wins.
        // Both gold spans are partial fns: A 0..5 by same boundaries, B 0..10 by overlap.
        let r = score(&[doc(&[(0, 5, "A"), (0, 10, "B")], &[(0, 5, "B")])]);
        assert_eq!(r.errors.wrong_label, 1);
        assert_eq!(r.errors.wrong_boundary, 0);
        assert_eq!(r.errors.partial, 2);
        assert_breakdown_sums(&r);
    }

    #[test]
    fn other_label_overlap_is_not_partial() {
        // Gold A 0..10; pred B 2..8: other label, other boundaries → spurious fp, missed fn.
        let r = score(&[doc(&[(0, 10, "A")], &[(2, 8, "B")])]);
        assert_eq!(r.errors.spurious, 1);
        assert_eq!(r.errors.missed, 1);
        assert_eq!(r.errors.partial, 0);
    }

    #[test]
    fn duplicate_predictions_beyond_gold_count_are_false_positives() {
        // Gold A 0..5 once; pred A 0..5 three times → tp 1, fp 2 (duplicate).
        // A: P = 1/3, R = 1/1, F1 = 2/(2+2+0) = 1/2.
        let r = score(&[doc(
            &[(0, 5, "A")],
            &[(0, 5, "A"), (0, 5, "A"), (0, 5, "A")],
        )]);
        assert_label(&r, "A", 1, 2, 0, [1.0 / 3.0, 1.0, 0.5]);
        assert_eq!(r.errors.duplicate, 2);
        assert_breakdown_sums(&r);

        // Gold A 0..5 twice (a multiset); pred once → tp 1, fn 1 → P 1, R 1/2, F1 2/(2+0+1) = 2/3.
        let r = score(&[doc(&[(0, 5, "A"), (0, 5, "A")], &[(0, 5, "A")])]);
        assert_label(&r, "A", 1, 0, 1, [1.0, 0.5, 2.0 / 3.0]);
        // Gold twice, pred twice → both match.
        let r = score(&[doc(
            &[(0, 5, "A"), (0, 5, "A")],
            &[(0, 5, "A"), (0, 5, "A")],
        )]);
        assert_label(&r, "A", 2, 0, 0, [1.0, 1.0, 1.0]);
    }

    #[test]
    fn matching_is_per_document() {
        // The same triple in two documents: gold in doc 1, pred in doc 2 → no match.
        let r = score(&[doc(&[(0, 5, "A")], &[]), doc(&[], &[(0, 5, "A")])]);
        assert_label(&r, "A", 0, 1, 1, [0.0, 0.0, 0.0]);
        assert_eq!(r.documents, 2);
    }

    #[test]
    fn micro_and_macro_differ_across_documents() {
        // Doc 1: gold A 0..3, A 5..8, A 10..13, all predicted → A tp 3.
        // Doc 2: gold B 0..4, pred B 0..3 → B fp 1 (wrong_boundary), fn 1 (partial).
        // A: P 1, R 1, F1 1.   B: P 0/1 = 0, R 0/1 = 0, F1 0.
        // Micro: tp 3, fp 1, fn 1 → P 3/4, R 3/4, F1 = 6/(6+1+1) = 0.75.
        // Macro: P (1+0)/2 = 0.5, R 0.5, F1 0.5.
        let r = score(&[
            doc(
                &[(0, 3, "A"), (5, 8, "A"), (10, 13, "A")],
                &[(0, 3, "A"), (5, 8, "A"), (10, 13, "A")],
            ),
            doc(&[(0, 4, "B")], &[(0, 3, "B")]),
        ]);
        assert_label(&r, "A", 3, 0, 0, [1.0, 1.0, 1.0]);
        assert_label(&r, "B", 0, 1, 1, [0.0, 0.0, 0.0]);
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (3, 1, 1));
        assert_close(r.micro.precision, 0.75, "micro P");
        assert_close(r.micro.recall, 0.75, "micro R");
        assert_close(r.micro.f1, 0.75, "micro F1");
        assert_close(r.macro_avg.precision, 0.5, "macro P");
        assert_close(r.macro_avg.recall, 0.5, "macro R");
        assert_close(r.macro_avg.f1, 0.5, "macro F1");
        // Macro counts are the totals.
        assert_eq!((r.macro_avg.tp, r.macro_avg.fp, r.macro_avg.fn_), (3, 1, 1));
        assert_close(r.f1(), 0.75, "Report::f1 is micro");
    }

    #[test]
    fn macro_f1_is_mean_of_label_f1_not_harmonic_of_means() {
        // A: gold 2, pred 1 correct → P 1, R 1/2, F1 2/(2+0+1) = 2/3.
        // B: gold 1, pred 3 (1 correct, 2 spurious) → P 1/3, R 1, F1 2/(2+2+0) = 1/2.
        // Macro P = (1 + 1/3)/2 = 2/3, R = (1/2 + 1)/2 = 3/4,
        // Macro F1 = (2/3 + 1/2)/2 = 7/12 (the harmonic mean of 2/3 and 3/4 would be 12/17).
        let r = score(&[doc(
            &[(0, 2, "A"), (3, 5, "A"), (10, 12, "B")],
            &[(0, 2, "A"), (10, 12, "B"), (20, 22, "B"), (30, 32, "B")],
        )]);
        assert_label(&r, "A", 1, 0, 1, [1.0, 0.5, 2.0 / 3.0]);
        assert_label(&r, "B", 1, 2, 0, [1.0 / 3.0, 1.0, 0.5]);
        assert_close(r.macro_avg.precision, 2.0 / 3.0, "macro P");
        assert_close(r.macro_avg.recall, 0.75, "macro R");
        assert_close(r.macro_avg.f1, 7.0 / 12.0, "macro F1");
        // Micro: tp 2, fp 2, fn 1 → P 1/2, R 2/3, F1 4/(4+2+1) = 4/7.
        assert_close(r.micro.f1, 4.0 / 7.0, "micro F1");
    }

    // ---- score_documents: byte → character conversion ----

    fn entity(start: usize, end: usize, label: &str) -> Entity {
        Entity {
            start,
            end,
            label: label.to_string(),
            score: 0.9,
        }
    }

    /// "Fièvre – 38.5°C fever": è and ° are 2 bytes, – is 3 bytes.
    /// chars: F0 i1 è2 v3 r4 e5 ␠6 –7 ␠8 3₉ 8₁₀ .₁₁ 5₁₂ °13 C14 ␠15 f16 e17 v18 e19 r20 (21 chars)
    /// bytes: F0 i1 è2-3 v4 r5 e6 ␠7 –8-10 ␠11 3₁₂ 8₁₃ .₁₄ 5₁₅ °16-17 C18 ␠19 f20 … r24 (25 bytes)
    fn fievre() -> Document {
        let mut d = Document::new("demo/1", "demo", "Fièvre – 38.5°C fever");
        d.spans
            .push(jner_corpus::Span::new(0, 7, "MedicalCondition")); // "Fièvre" → chars 0..6
        d.spans.push(jner_corpus::Span::new(12, 19, "Measure")); // "38.5°C" → chars 9..15
        d.spans
            .push(jner_corpus::Span::new(20, 25, "MedicalCondition")); // "fever" → chars 16..21
        d
    }

    #[test]
    fn score_documents_converts_non_ascii_byte_spans_to_chars() {
        let d = fievre();
        assert_eq!(d.text.len(), 25);
        assert_eq!(d.text.chars().count(), 21);
        assert_eq!(d.span_text(&d.spans[0]), "Fièvre");
        assert_eq!(d.span_text(&d.spans[1]), "38.5°C");
        assert_eq!(d.span_text(&d.spans[2]), "fever");

        // Character offsets: all three match.
        let pred = vec![vec![
            entity(0, 6, "MedicalCondition"),
            entity(9, 15, "Measure"),
            entity(16, 21, "MedicalCondition"),
        ]];
        let r = score_documents(std::slice::from_ref(&d), &pred).unwrap();
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (3, 0, 0));
        assert_close(r.f1(), 1.0, "f1");

        // A backend that mistakenly reports byte offsets: "Fièvre" as 0..7, "38.5°C" as 12..19,
        // "fever" as 20..25 → nothing matches. MedicalCondition: 0..7 overlaps gold 0..6 →
        // wrong_boundary; 20..25 overlaps gold 16..21 → wrong_boundary. Measure 12..19 overlaps
        // gold 9..15 → wrong_boundary. tp 0, fp 3, fn 3, all three fns partial.
        let pred = vec![vec![
            entity(0, 7, "MedicalCondition"),
            entity(12, 19, "Measure"),
            entity(20, 25, "MedicalCondition"),
        ]];
        let r = score_documents(std::slice::from_ref(&d), &pred).unwrap();
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (0, 3, 3));
        assert_eq!(r.errors.wrong_boundary, 3);
        assert_eq!(r.errors.partial, 3);
    }

    #[test]
    fn score_documents_rejects_bad_gold_offsets() {
        // Byte 3 is inside "è" (bytes 2..4).
        let mut d = fievre();
        d.spans[0].end = 3;
        let err = score_documents(&[d], &[vec![]]).unwrap_err();
        assert!(
            matches!(&err, EvalError::GoldSpan { id, start: 0, end: 3, .. } if id == "demo/1"),
            "{err:?}"
        );
        assert!(err.to_string().contains("demo/1"), "{err}");

        // Past the end of the text.
        let mut d = fievre();
        d.spans[2].end = 26;
        let err = score_documents(&[d], &[vec![]]).unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");

        // Start after end.
        let mut d = fievre();
        d.spans[0] = jner_corpus::Span::new(7, 0, "MedicalCondition");
        let err = score_documents(&[d], &[vec![]]).unwrap_err();
        assert!(err.to_string().contains("start is after end"), "{err}");
    }

    #[test]
    fn score_documents_length_mismatch_is_an_error() {
        let err = score_documents(&[fievre(), fievre()], &[vec![]]).unwrap_err();
        assert!(
            matches!(err, EvalError::LengthMismatch { gold: 2, pred: 1 }),
            "{err:?}"
        );
        // Out-of-range predictions are not an error: they just cannot match.
        let r = score_documents(&[fievre()], &[vec![entity(100, 200, "X")]]).unwrap();
        assert_eq!((r.micro.fp, r.micro.fn_), (1, 3));
    }
}
