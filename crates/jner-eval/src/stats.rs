//! How sure a score is: percentile bootstrap intervals over documents, the paired bootstrap
//! test between two systems scored on the same documents, and the mean and spread over folds.
//!
//! The unit resampled is the **document** (with replacement, as many as there are), because
//! entities of one document are not independent; F1 is recomputed from the resampled counts
//! each time (never averaged per document). Resampling uses jner's seeded SplitMix64, so a seed
//! gives the same interval on every machine.

use std::collections::BTreeMap;

use jner_corpus::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::score::{score_doc, Counts};
use crate::DocScoreInput;

/// tp, fp and fn of one document, per label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocCounts {
    per_label: BTreeMap<String, Counts>,
}

impl DocCounts {
    /// `(tp, fp, fn)` of one label, or summed over all labels (`None`: micro).
    pub fn get(&self, label: Option<&str>) -> (usize, usize, usize) {
        let mut t = (0, 0, 0);
        for (l, c) in &self.per_label {
            if label.is_none_or(|x| x == l) {
                t = (t.0 + c.tp, t.1 + c.fp, t.2 + c.fn_);
            }
        }
        t
    }
}

/// The counts of each document, as [`crate::score`] matches them.
pub fn doc_counts(docs: &[DocScoreInput]) -> Vec<DocCounts> {
    docs.iter()
        .map(|d| {
            let mut per_label = BTreeMap::new();
            score_doc(d, &mut per_label, &mut Default::default());
            DocCounts { per_label }
        })
        .collect()
}

fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    if tp == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    }
}

/// F1 (micro, or of one label) over the documents `idx` picks; `None` when they hold no gold
/// span and no prediction of it (F1 undefined: the scorer's 0/0 = 0 would count as a miss).
fn f1_opt(
    docs: &[DocCounts],
    idx: impl Iterator<Item = usize>,
    label: Option<&str>,
) -> Option<f64> {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for i in idx {
        let (a, b, c) = docs[i].get(label);
        tp += a;
        fp += b;
        fn_ += c;
    }
    (tp + fp + fn_ > 0).then(|| f1(tp, fp, fn_))
}

/// [`f1_opt`], 0 when undefined (the scorer's convention).
fn f1_of(docs: &[DocCounts], idx: impl Iterator<Item = usize>, label: Option<&str>) -> f64 {
    f1_opt(docs, idx, label).unwrap_or(0.0)
}

/// A score with its bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The score on all the documents.
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
    /// e.g. 0.95.
    pub level: f64,
}

/// The `q` quantile of sorted values (linear interpolation between order statistics).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 < sorted.len() {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

/// Percentile bootstrap interval of F1 (micro, or of `label`) at `level` (e.g. 0.95) from
/// `samples` resamples of the documents. Resamples without a single gold span or prediction
/// of the label are left out (their F1 is undefined, not 0).
pub fn bootstrap_f1(
    docs: &[DocCounts],
    label: Option<&str>,
    samples: usize,
    level: f64,
    seed: u64,
) -> Interval {
    let estimate = f1_of(docs, 0..docs.len(), label);
    let n = docs.len();
    if n == 0 || samples == 0 {
        return Interval {
            estimate,
            lo: estimate,
            hi: estimate,
            level,
        };
    }
    let mut rng = Rng::new(seed);
    let mut values: Vec<f64> = (0..samples)
        .filter_map(|_| {
            let picks: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
            f1_opt(docs, picks.into_iter(), label)
        })
        .collect();
    if values.is_empty() {
        return Interval {
            estimate,
            lo: estimate,
            hi: estimate,
            level,
        };
    }
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Interval {
        estimate,
        lo: quantile(&values, tail),
        hi: quantile(&values, 1.0 - tail),
        level,
    }
}

/// The paired bootstrap test of two systems scored on the same documents.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedTest {
    /// F1 of `a` minus F1 of `b` on all the documents.
    pub delta: f64,
    /// Resamples (the same documents for both) in which the difference has the observed
    /// sign, strictly: how often `a` stays ahead (or behind, when `delta < 0`).
    pub same_sign: f64,
    /// One-sided p-value: the share of resamples where the difference vanishes or turns
    /// (`1 - same_sign`); 1 when `delta` is 0. Below 0.05: larger than the noise.
    pub p_value: f64,
}

/// Paired bootstrap (Koehn 2004): resample the documents, score both systems on each resample.
/// `a` and `b` hold the counts of the same documents in the same order. Resamples in which
/// neither system has a gold span or a prediction of the label are left out.
pub fn paired_bootstrap(
    a: &[DocCounts],
    b: &[DocCounts],
    label: Option<&str>,
    samples: usize,
    seed: u64,
) -> Result<PairedTest, crate::EvalError> {
    if a.len() != b.len() {
        return Err(crate::EvalError::LengthMismatch {
            gold: a.len(),
            pred: b.len(),
        });
    }
    let n = a.len();
    let delta = f1_of(a, 0..n, label) - f1_of(b, 0..n, label);
    if n == 0 || samples == 0 || delta == 0.0 {
        return Ok(PairedTest {
            delta,
            same_sign: 0.0,
            p_value: 1.0,
        });
    }
    let mut rng = Rng::new(seed);
    let (mut same, mut valid) = (0usize, 0usize);
    for _ in 0..samples {
        let picks: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let fa = f1_opt(a, picks.iter().copied(), label);
        let fb = f1_opt(b, picks.iter().copied(), label);
        if fa.is_none() && fb.is_none() {
            continue; // neither has the label in this resample
        }
        valid += 1;
        if (fa.unwrap_or(0.0) - fb.unwrap_or(0.0)) * delta > 0.0 {
            same += 1;
        }
    }
    let same_sign = if valid == 0 {
        0.0
    } else {
        same as f64 / valid as f64
    };
    Ok(PairedTest {
        delta,
        same_sign,
        p_value: 1.0 - same_sign,
    })
}

/// Mean and sample standard deviation (n - 1; 0 for fewer than two values).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
    pub n: usize,
}

/// The mean and spread of a score over folds (or rounds).
pub fn mean_sd(xs: &[f64]) -> MeanSd {
    let n = xs.len();
    if n == 0 {
        return MeanSd {
            mean: 0.0,
            sd: 0.0,
            n,
        };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let sd = if n < 2 {
        0.0
    } else {
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    MeanSd { mean, sd, n }
}

/// Scores of several folds (or runs), each as mean ± sd.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldSummary {
    pub folds: usize,
    /// Micro precision, recall and F1.
    pub micro: PrfSpread,
    /// Macro precision, recall and F1 (each fold's macro average, then their mean).
    pub macro_avg: PrfSpread,
    /// Per label, over the folds whose report has the label (gold or predicted there): `n`
    /// says how many.
    pub per_label: BTreeMap<String, PrfSpread>,
}

/// Precision, recall and F1, each as mean ± sd.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrfSpread {
    pub precision: MeanSd,
    pub recall: MeanSd,
    pub f1: MeanSd,
}

impl PrfSpread {
    fn of(xs: &[(f64, f64, f64)]) -> Self {
        let col = |f: fn(&(f64, f64, f64)) -> f64| mean_sd(&xs.iter().map(f).collect::<Vec<_>>());
        PrfSpread {
            precision: col(|x| x.0),
            recall: col(|x| x.1),
            f1: col(|x| x.2),
        }
    }
}

/// The mean and spread of each score over the reports of several folds.
pub fn aggregate(reports: &[crate::Report]) -> FoldSummary {
    let prf = |p: &crate::Prf| (p.precision, p.recall, p.f1);
    let micro: Vec<_> = reports.iter().map(|r| prf(&r.micro)).collect();
    let macro_avg: Vec<_> = reports.iter().map(|r| prf(&r.macro_avg)).collect();
    let mut labels: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for r in reports {
        for (l, s) in &r.per_label {
            labels
                .entry(l.clone())
                .or_default()
                .push((s.precision, s.recall, s.f1));
        }
    }
    FoldSummary {
        folds: reports.len(),
        micro: PrfSpread::of(&micro),
        macro_avg: PrfSpread::of(&macro_avg),
        per_label: labels
            .into_iter()
            .map(|(l, v)| (l, PrfSpread::of(&v)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(gold: &[(usize, usize, &str)], pred: &[(usize, usize, &str)]) -> DocScoreInput {
        let t =
            |v: &[(usize, usize, &str)]| v.iter().map(|&(s, e, l)| (s, e, l.to_string())).collect();
        DocScoreInput {
            gold: t(gold),
            pred: t(pred),
        }
    }

    #[test]
    fn fold_mean_and_sample_sd() {
        let m = mean_sd(&[0.8, 0.9, 1.0]);
        assert!((m.mean - 0.9).abs() < 1e-12 && (m.sd - 0.1).abs() < 1e-12 && m.n == 3);
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, sd sqrt(32/7)
        let m = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!((m.mean - 5.0).abs() < 1e-12 && (m.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_sd(&[0.7]).sd, 0.0);
        assert_eq!(mean_sd(&[]).mean, 0.0);
    }

    #[test]
    fn folds_aggregate_by_hand() {
        // fold 1: A tp 1 fp 1 (P 1/2, R 1, F1 2/3); fold 2: A tp 1 (1, 1, 1), B fn 1 (0, 0, 0)
        let r1 = crate::score(&[doc(&[(0, 1, "A")], &[(0, 1, "A"), (2, 3, "A")])]);
        let r2 = crate::score(&[doc(&[(0, 1, "A"), (4, 5, "B")], &[(0, 1, "A")])]);
        let s = aggregate(&[r1, r2]);
        assert_eq!(s.folds, 2);
        let close = |m: MeanSd, mean: f64, sd: f64, n: usize| {
            assert!(
                (m.mean - mean).abs() < 1e-12 && (m.sd - sd).abs() < 1e-12 && m.n == n,
                "{m:?} vs {mean} {sd} {n}"
            )
        };
        let half_diff_sd = |a: f64, b: f64| (a - b).abs() / 2f64.sqrt();
        // micro F1: 2/3 and 2*1/(2+1) = 2/3: no spread; micro P 1/2 and 1
        close(s.micro.f1, 2.0 / 3.0, 0.0, 2);
        close(s.micro.precision, 0.75, half_diff_sd(0.5, 1.0), 2);
        close(s.micro.recall, 0.75, half_diff_sd(1.0, 0.5), 2);
        // macro F1: 2/3 in fold 1, (1 + 0) / 2 in fold 2
        close(
            s.macro_avg.f1,
            (2.0 / 3.0 + 0.5) / 2.0,
            half_diff_sd(2.0 / 3.0, 0.5),
            2,
        );
        close(
            s.per_label["A"].f1,
            (2.0 / 3.0 + 1.0) / 2.0,
            half_diff_sd(2.0 / 3.0, 1.0),
            2,
        );
        // B is only in fold 2
        close(s.per_label["B"].f1, 0.0, 0.0, 1);
        assert_eq!(aggregate(&[]).micro.f1.n, 0);
    }

    #[test]
    fn counts_per_document_and_label() {
        let d = doc_counts(&[doc(
            &[(0, 3, "A"), (5, 9, "B")],
            &[(0, 3, "A"), (5, 8, "B")],
        )]);
        assert_eq!(d[0].get(Some("A")), (1, 0, 0));
        assert_eq!(d[0].get(Some("B")), (0, 1, 1));
        assert_eq!(d[0].get(None), (1, 1, 1));
        assert_eq!(d[0].get(Some("C")), (0, 0, 0));
    }

    #[test]
    fn bootstrap_of_identical_documents_has_no_spread() {
        // every document: tp 1, fp 1 -> any resample has F1 = 2 / 3
        let docs = doc_counts(&vec![doc(&[(0, 1, "A")], &[(0, 1, "A"), (2, 3, "A")]); 10]);
        let iv = bootstrap_f1(&docs, None, 500, 0.95, 1);
        assert!((iv.estimate - 2.0 / 3.0).abs() < 1e-12);
        assert!((iv.lo - 2.0 / 3.0).abs() < 1e-12 && (iv.hi - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_of_two_documents_matches_the_exact_distribution() {
        // A: one tp; B: one fp. Resamples of 2: AA (F1 1) 1/4, AB or BA (2/3) 1/2, BB (0) 1/4:
        // the 2.5% quantile is 0, the 97.5% is 1, the mean 7/12.
        let docs = doc_counts(&[
            doc(&[(0, 1, "A")], &[(0, 1, "A")]),
            doc(&[], &[(0, 1, "A")]),
        ]);
        let iv = bootstrap_f1(&docs, None, 20_000, 0.95, 7);
        assert!((iv.estimate - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((iv.lo, iv.hi), (0.0, 1.0));
        let mut rng = Rng::new(7);
        let mean = (0..20_000)
            .map(|_| f1_of(&docs, [rng.below(2), rng.below(2)].into_iter(), None))
            .sum::<f64>()
            / 20_000.0;
        assert!((mean - 7.0 / 12.0).abs() < 0.01, "{mean}");
        // at 50%, the interval is the middle of the distribution: 2/3 on both sides
        let iv = bootstrap_f1(&docs, None, 20_000, 0.5, 7);
        assert!((iv.lo - 2.0 / 3.0).abs() < 1e-12 && (iv.hi - 2.0 / 3.0).abs() < 1e-12);
        // the same seed, the same interval
        assert_eq!(
            bootstrap_f1(&docs, None, 999, 0.9, 3),
            bootstrap_f1(&docs, None, 999, 0.9, 3)
        );
    }

    #[test]
    fn paired_bootstrap_on_hand_made_systems() {
        let gold = [(0, 1, "A")];
        // a finds every entity, b none: a is ahead in every resample
        let a = doc_counts(&vec![doc(&gold, &gold); 8]);
        let b = doc_counts(&vec![doc(&gold, &[]); 8]);
        let t = paired_bootstrap(&a, &b, None, 1000, 1).unwrap();
        assert_eq!((t.delta, t.same_sign, t.p_value), (1.0, 1.0, 0.0));
        let t = paired_bootstrap(&b, &a, None, 1000, 1).unwrap();
        assert_eq!((t.delta, t.p_value), (-1.0, 0.0));
        // the same system: no difference, p = 1
        let t = paired_bootstrap(&a, &a, None, 1000, 1).unwrap();
        assert_eq!((t.delta, t.p_value), (0.0, 1.0));
        // a better on 1 document of 2, worse on none: a resample keeps a ahead unless it
        // picks only the tied document (1/4), so p is about 1/4
        let a = doc_counts(&[doc(&gold, &gold), doc(&gold, &gold)]);
        let b = doc_counts(&[doc(&gold, &[]), doc(&gold, &gold)]);
        let t = paired_bootstrap(&a, &b, None, 20_000, 5).unwrap();
        assert!((t.p_value - 0.25).abs() < 0.01, "{t:?}");
        assert!(paired_bootstrap(&a, &b[..1], None, 10, 1).is_err());
    }

    #[test]
    fn resamples_without_the_label_do_not_count_as_zero() {
        // the label is in 1 document of 10, found exactly: F1 1 in every resample that has it
        let mut v = vec![doc(&[(0, 1, "B")], &[(0, 1, "B")]); 9];
        v.push(doc(&[(0, 1, "A")], &[(0, 1, "A")]));
        let iv = bootstrap_f1(&doc_counts(&v), Some("A"), 1000, 0.95, 2);
        assert_eq!((iv.estimate, iv.lo, iv.hi), (1.0, 1.0, 1.0));
    }
}
