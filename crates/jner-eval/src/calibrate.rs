//! Per-label confidence thresholds: for each label, the cut of its predictions' scores that
//! maximises its F1 on the given documents, and the precision-recall curve over the cuts.
//!
//! A threshold `t` keeps the entities scoring above `t` (as `--threshold` does). The cuts
//! tried keep the top-k predictions of the label by score for every k (at most [`MAX_CUTS`]
//! of them, evenly spaced in k); ties in F1 go to the lower threshold (more recall).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::Prf;
use crate::{DocScoreInput, Triple};

/// Cuts tried per label at the most.
pub const MAX_CUTS: usize = 200;

/// One document: gold triples, and predicted triples with their scores.
#[derive(Clone, Debug, Default)]
pub struct ScoredDoc {
    pub gold: Vec<Triple>,
    pub pred: Vec<(Triple, f32)>,
}

/// One point of a label's curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub threshold: f32,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The calibration of one label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelCalibration {
    /// Keep this label's entities scoring above it.
    pub threshold: f32,
    /// With every prediction kept, and with the threshold.
    pub before: Prf,
    pub after: Prf,
    /// Every cut tried, by threshold descending (recall rising).
    pub curve: Vec<CurvePoint>,
}

/// The label's P/R/F1 when its predictions scoring at or below `t` are dropped.
fn label_prf(docs: &[ScoredDoc], label: &str, t: Option<f32>) -> Prf {
    let inputs: Vec<DocScoreInput> = docs
        .iter()
        .map(|d| DocScoreInput {
            gold: d.gold.iter().filter(|g| g.2 == label).cloned().collect(),
            pred: d
                .pred
                .iter()
                .filter(|(p, s)| p.2 == label && t.is_none_or(|t| *s > t))
                .map(|(p, _)| p.clone())
                .collect(),
        })
        .collect();
    crate::score(&inputs).micro
}

/// The best threshold of every label that has predictions.
pub fn calibrate(docs: &[ScoredDoc]) -> BTreeMap<String, LabelCalibration> {
    let mut scores: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    for d in docs {
        for ((_, _, l), s) in &d.pred {
            scores.entry(l.as_str()).or_default().push(*s);
        }
    }
    let mut out = BTreeMap::new();
    for (label, mut s) in scores {
        s.sort_by(|a, b| b.total_cmp(a));
        s.dedup();
        // keeping the top k distinct scores: threshold s[k] (the next one), or 0 for all
        let m = s.len();
        let ks: Vec<usize> = if m <= MAX_CUTS {
            (1..=m).collect()
        } else {
            let mut v: Vec<usize> = (1..=MAX_CUTS).map(|i| (i * m).div_ceil(MAX_CUTS)).collect();
            v.dedup();
            v
        };
        let curve: Vec<CurvePoint> = ks
            .iter()
            .map(|&k| {
                let t = if k < m { s[k] } else { 0.0 };
                let p = label_prf(docs, label, Some(t));
                CurvePoint {
                    threshold: t,
                    precision: p.precision,
                    recall: p.recall,
                    f1: p.f1,
                }
            })
            .collect();
        // the highest F1; ties to the lower threshold (the later point)
        let best = curve
            .iter()
            .fold(None::<&CurvePoint>, |b, c| match b {
                Some(b) if b.f1 > c.f1 => Some(b),
                _ => Some(c),
            })
            .copied()
            .expect("a label with predictions has a cut");
        out.insert(
            label.to_string(),
            LabelCalibration {
                threshold: best.threshold,
                before: label_prf(docs, label, None),
                after: label_prf(docs, label, Some(best.threshold)),
                curve,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: usize, e: usize, l: &str) -> Triple {
        (s, e, l.to_string())
    }

    #[test]
    fn the_threshold_that_maximises_f1_by_hand() {
        // label A: gold at 0, 10, 20; predictions 0 (0.9, right), 5 (0.8, wrong),
        // 10 (0.6, right), 30 (0.3, wrong), 40 (0.2, wrong)
        // F1 = 2tp / (2tp + fp + fn): top 1: 2/(2+0+2) = 1/2; top 2: 2/(2+1+2) = 2/5;
        // top 3: 4/(4+1+1) = 2/3; top 4: 4/(4+2+1) = 4/7; all 5: 4/(4+3+1) = 1/2.
        // Best: top 3, threshold 0.3 (the next score).
        let docs = [ScoredDoc {
            gold: vec![t(0, 1, "A"), t(10, 11, "A"), t(20, 21, "A")],
            pred: vec![
                (t(0, 1, "A"), 0.9),
                (t(5, 6, "A"), 0.8),
                (t(10, 11, "A"), 0.6),
                (t(30, 31, "A"), 0.3),
                (t(40, 41, "A"), 0.2),
                (t(50, 51, "B"), 0.5),
            ],
        }];
        let c = calibrate(&docs);
        let a = &c["A"];
        assert_eq!(a.threshold, 0.3);
        assert!((a.after.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.before.f1 - 0.5).abs() < 1e-12);
        let f1s: Vec<f64> = a.curve.iter().map(|p| p.f1).collect();
        let want = [0.5, 0.4, 2.0 / 3.0, 4.0 / 7.0, 0.5];
        assert!(
            f1s.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{f1s:?}"
        );
        assert_eq!(a.curve.last().unwrap().threshold, 0.0);
        // B has no gold: every cut scores 0, the tie goes to keeping everything (0)
        assert_eq!(c["B"].threshold, 0.0);
        assert!(!c.contains_key("C"));
    }

    #[test]
    fn many_scores_are_cut_at_most_max_cuts_times() {
        let pred: Vec<(Triple, f32)> = (0..1000)
            .map(|i| (t(i, i + 1, "A"), i as f32 / 1000.0 + 0.0001))
            .collect();
        let gold: Vec<Triple> = (500..1000).map(|i| t(i, i + 1, "A")).collect();
        let c = calibrate(&[ScoredDoc { gold, pred }]);
        let a = &c["A"];
        assert!(a.curve.len() <= MAX_CUTS);
        // the 500 right ones are the highest: the best cut keeps exactly them
        assert!((a.after.f1 - 1.0).abs() < 1e-12, "{:?}", a.after);
    }
}
