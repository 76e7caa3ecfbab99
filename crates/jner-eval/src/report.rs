//! [`Report`]: the scores, serialisable to JSON and printable as a plain table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::score::Counts;

/// Everything the scorer found. See the crate documentation for the definitions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Report {
    /// Number of documents scored.
    pub documents: usize,
    /// One entry per label with support > 0 or at least one prediction, sorted by label.
    pub per_label: BTreeMap<String, LabelScore>,
    /// P/R/F1 on tp, fp and fn summed over all labels.
    pub micro: Prf,
    /// Unweighted mean of the per-label P, R and F1 over the labels in `per_label`;
    /// its counts are the totals.
    pub macro_avg: Prf,
    pub errors: ErrorBreakdown,
}

/// The scores of one label.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LabelScore {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// Number of gold spans of this label (`tp + fn`).
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Precision, recall and F1 with the counts they came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
}

/// What went wrong, summed over all documents and labels.
/// `duplicate + wrong_label + wrong_boundary + spurious` is the number of false positives,
/// `missed + partial` the number of false negatives.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBreakdown {
    /// False positives identical to a gold span whose copies were all already matched.
    pub duplicate: usize,
    /// False positives with the start and end of a gold span but another label.
    pub wrong_label: usize,
    /// False positives overlapping a gold span of the same label.
    pub wrong_boundary: usize,
    /// All other false positives.
    pub spurious: usize,
    /// False negatives that no prediction touches: none has the same start and end,
    /// none of the same label overlaps.
    pub missed: usize,
    /// False negatives found in part: a prediction has the same start and end with another
    /// label, or overlaps with the same label.
    pub partial: usize,
}

/// `num / den`, with 0/0 defined as 0.
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn prf(tp: usize, fp: usize, fn_: usize) -> Prf {
    Prf {
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        // Equal to 2PR / (P + R) whenever P + R > 0, and exact in the counts.
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        tp,
        fp,
        fn_,
    }
}

impl Report {
    pub(crate) fn from_counts(
        documents: usize,
        counts: BTreeMap<String, Counts>,
        errors: ErrorBreakdown,
    ) -> Report {
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        let per_label: BTreeMap<String, LabelScore> = counts
            .into_iter()
            .map(|(label, c)| {
                tp += c.tp;
                fp += c.fp;
                fn_ += c.fn_;
                let p = prf(c.tp, c.fp, c.fn_);
                let score = LabelScore {
                    tp: c.tp,
                    fp: c.fp,
                    fn_: c.fn_,
                    support: c.tp + c.fn_,
                    precision: p.precision,
                    recall: p.recall,
                    f1: p.f1,
                };
                (label, score)
            })
            .collect();
        let n = per_label.len();
        let mean = |f: fn(&LabelScore) -> f64| {
            if n == 0 {
                0.0
            } else {
                per_label.values().map(f).sum::<f64>() / n as f64
            }
        };
        let macro_avg = Prf {
            precision: mean(|s| s.precision),
            recall: mean(|s| s.recall),
            f1: mean(|s| s.f1),
            tp,
            fp,
            fn_,
        };
        Report {
            documents,
            micro: prf(tp, fp, fn_),
            macro_avg,
            per_label,
            errors,
        }
    }

    /// Micro F1, the one number runs are compared by.
    pub fn f1(&self) -> f64 {
        self.micro.f1
    }

    /// A plain text table: one row per label (label, P, R, F1, support, tp, fp, fn), then the
    /// micro and macro rows, then the error breakdown. Scores are fractions with 4 decimals.
    pub fn to_table(&self) -> String {
        const HEADER: [&str; 8] = ["label", "P", "R", "F1", "support", "tp", "fp", "fn"];
        let num = |x: f64| format!("{x:.4}");
        let mut rows: Vec<[String; 8]> = Vec::new();
        for (label, s) in &self.per_label {
            rows.push([
                label.clone(),
                num(s.precision),
                num(s.recall),
                num(s.f1),
                s.support.to_string(),
                s.tp.to_string(),
                s.fp.to_string(),
                s.fn_.to_string(),
            ]);
        }
        let m = &self.micro;
        let micro = [
            "micro".to_string(),
            num(m.precision),
            num(m.recall),
            num(m.f1),
            (m.tp + m.fn_).to_string(),
            m.tp.to_string(),
            m.fp.to_string(),
            m.fn_.to_string(),
        ];
        let a = &self.macro_avg;
        let macro_row = [
            "macro".to_string(),
            num(a.precision),
            num(a.recall),
            num(a.f1),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ];

        let mut widths = HEADER.map(|h| h.chars().count());
        for row in rows.iter().chain([&micro, &macro_row]) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 8]| {
            let mut s = format!("{:<w$}", cells[0], w = widths[0]);
            for (cell, w) in cells.iter().zip(widths).skip(1) {
                let _ = write!(s, "  {cell:>w$}");
            }
            s.trim_end().to_string() + "\n"
        };

        let mut out = format!(
            "{} document{}\n",
            self.documents,
            if self.documents == 1 { "" } else { "s" }
        );
        out += &line(&HEADER.map(String::from));
        for row in &rows {
            out += &line(row);
        }
        let total_width = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        out += &"-".repeat(total_width);
        out += "\n";
        out += &line(&micro);
        out += &line(&macro_row);
        let e = &self.errors;
        let _ = writeln!(
            out,
            "errors: fp {} (wrong_label {}, wrong_boundary {}, spurious {}, duplicate {}); \
             fn {} (missed {}, partial {})",
            m.fp,
            e.wrong_label,
            e.wrong_boundary,
            e.spurious,
            e.duplicate,
            m.fn_,
            e.missed,
            e.partial
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{score, DocScoreInput, Report};

    fn sample() -> Report {
        // MedicalCondition: gold 0..5, 10..20; pred 0..5 (tp), 10..15 (wrong_boundary)
        //   → tp 1, fp 1, fn 1 (partial) → P 1/2, R 1/2, F1 2/(2+1+1) = 0.5.
        // MinorChild: gold 30..35, pred 30..35 → tp 1 → 1, 1, 1.
        // Micro: tp 2, fp 1, fn 1 → P 2/3, R 2/3, F1 4/6 = 0.6667. Macro F1 (0.5 + 1)/2 = 0.75.
        let t = |s: usize, e: usize, l: &str| (s, e, l.to_string());
        score(&[DocScoreInput {
            gold: vec![
                t(0, 5, "MedicalCondition"),
                t(10, 20, "MedicalCondition"),
                t(30, 35, "MinorChild"),
            ],
            pred: vec![
                t(0, 5, "MedicalCondition"),
                t(10, 15, "MedicalCondition"),
                t(30, 35, "MinorChild"),
            ],
        }])
    }

    #[test]
    fn table_has_every_row_aligned() {
        let table = sample().to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "1 document");
        assert!(lines[1].starts_with("label "), "{table}");
        for h in ["P", "R", "F1", "support", "tp", "fp", "fn"] {
            assert!(lines[1].split_whitespace().any(|c| c == h), "{table}");
        }
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            [
                "MedicalCondition",
                "0.5000",
                "0.5000",
                "0.5000",
                "2",
                "1",
                "1",
                "1"
            ]
        );
        assert_eq!(
            lines[3].split_whitespace().collect::<Vec<_>>(),
            [
                "MinorChild",
                "1.0000",
                "1.0000",
                "1.0000",
                "1",
                "1",
                "0",
                "0"
            ]
        );
        assert!(lines[4].chars().all(|c| c == '-'), "{table}");
        assert_eq!(
            lines[5].split_whitespace().collect::<Vec<_>>(),
            ["micro", "0.6667", "0.6667", "0.6667", "3", "2", "1", "1"]
        );
        assert_eq!(
            lines[6].split_whitespace().collect::<Vec<_>>(),
            ["macro", "0.7500", "0.7500", "0.7500"]
        );
        assert!(lines[7].starts_with("errors: fp 1 "), "{table}");
        assert!(lines[7].contains("wrong_boundary 1"), "{table}");
        assert!(lines[7].contains("partial 1"), "{table}");
        // Columns line up: the header, label rows and micro row have the same width.
        let width = lines[1].len();
        for l in [lines[2], lines[3], lines[4], lines[5]] {
            assert_eq!(l.len(), width, "{table}");
        }
        assert!(table.lines().all(|l| l == l.trim_end()));
    }

    #[test]
    fn table_of_an_empty_report() {
        let table = score(&[]).to_table();
        assert!(table.starts_with("0 documents\n"), "{table}");
        assert!(table.contains("micro"), "{table}");
    }

    #[test]
    fn json_round_trip_names_fn() {
        let r = sample();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["per_label"]["MedicalCondition"]["fn"], 1);
        assert_eq!(json["micro"]["fn"], 1);
        assert!(json["micro"].get("fn_").is_none());
        assert_eq!(json["errors"]["wrong_boundary"], 1);
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }
}
