//! Error analysis: per label, what became of its predictions and gold spans (exact matches,
//! boundary errors, label confusions, spurious entities, misses), the span confusion matrix,
//! and a few examples of each error in context. The classes are the scorer's own
//! ([`crate::score`]), so the counts add up to its tp, fp and fn.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::score::{classify, Outcome};
use crate::DocScoreInput;

/// Row and column of the confusion matrix for "no span at these bounds".
pub const NONE: &str = "(none)";

/// What became of one label's predictions and gold spans.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelErrors {
    /// Predictions equal to a gold span (tp).
    pub exact: usize,
    /// Predictions overlapping a gold span of this label with other bounds.
    pub boundary: usize,
    /// Predictions at the bounds of a gold span of another label.
    pub confused: usize,
    /// Predictions touching no gold span of this label and no gold bounds.
    pub spurious: usize,
    /// Repeated predictions of an already matched gold span.
    pub duplicate: usize,
    /// Gold spans no prediction touches (same bounds, or overlap with this label).
    pub missed: usize,
    /// Gold spans found in part (other bounds, or another label at these bounds).
    pub partial: usize,
}

impl LabelErrors {
    fn count_mut(&mut self, kind: &str) -> &mut usize {
        match kind {
            "exact" => &mut self.exact,
            "boundary" => &mut self.boundary,
            "confused" => &mut self.confused,
            "spurious" => &mut self.spurious,
            "duplicate" => &mut self.duplicate,
            "missed" => &mut self.missed,
            _ => &mut self.partial,
        }
    }
}

/// One error in its context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The label of the triple (the predicted one for a prediction).
    pub label: String,
    /// `boundary`, `confused`, `spurious`, `duplicate`, `missed` or `partial`.
    pub kind: String,
    /// The document's id, or its position when it has none.
    pub doc: String,
    /// Character offsets of the triple.
    pub start: usize,
    pub end: usize,
    /// Up to 40 characters on each side, the triple in `[[...]]`, line breaks as spaces.
    pub context: String,
    /// `confused`: the gold label at these bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold_label: Option<String>,
}

/// The analysis of a set of documents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    pub per_label: BTreeMap<String, LabelErrors>,
    /// Gold label (or [`NONE`]) → predicted label (or [`NONE`]) → count: exact matches on
    /// the diagonal; a prediction at the bounds of a gold span of another label under that
    /// gold label; a prediction at no gold bounds in the [`NONE`] row; a gold span at no
    /// predicted bounds in the [`NONE`] column.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// The first `per_kind` examples of each label and kind, in document order.
    pub examples: Vec<Example>,
}

fn context(text: &str, start: usize, end: usize) -> String {
    const SIDE: usize = 40;
    let chars: Vec<char> = text.chars().collect();
    let (s, e) = (
        start.min(chars.len()),
        end.min(chars.len()).max(start.min(chars.len())),
    );
    let flat = |c: &[char]| -> String {
        c.iter()
            .map(|&ch| {
                if ch == '\n' || ch == '\r' || ch == '\t' {
                    ' '
                } else {
                    ch
                }
            })
            .collect()
    };
    let lo = s.saturating_sub(SIDE);
    let hi = (e + SIDE).min(chars.len());
    format!(
        "{}{}[[{}]]{}{}",
        if lo > 0 { "…" } else { "" },
        flat(&chars[lo..s]),
        flat(&chars[s..e]),
        flat(&chars[e..hi]),
        if hi < chars.len() { "…" } else { "" }
    )
}

/// Analyses `docs`; `texts` gives each document's (id, text) for the examples (a document
/// without text gets none). `per_kind` bounds the examples of each label and kind.
pub fn analyze(
    docs: &[DocScoreInput],
    texts: &[(String, Option<String>)],
    per_kind: usize,
) -> Analysis {
    let mut a = Analysis::default();
    let mut shown: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    for (i, doc) in docs.iter().enumerate() {
        let (id, text) = texts
            .get(i)
            .map_or((i.to_string(), None), |(id, t)| (id.clone(), t.as_deref()));
        // predictions at gold bounds, to know which gold spans a prediction has the bounds of
        let pred_bounds: std::collections::HashSet<(usize, usize)> =
            doc.pred.iter().map(|(s, e, _)| (*s, *e)).collect();
        classify(doc, |(s, e, label), outcome| {
            let le = a.per_label.entry(label.clone()).or_default();
            // the kind, the gold label at these bounds, and the confusion cell (gold, pred)
            let (kind, gold_label, cell): (&'static str, Option<&str>, Option<(&str, &str)>) =
                match outcome {
                    Outcome::Match => ("exact", None, Some((label, label))),
                    Outcome::WrongLabel(g) => ("confused", Some(g), Some((g, label))),
                    Outcome::WrongBoundary => ("boundary", None, Some((NONE, label))),
                    Outcome::Spurious => ("spurious", None, Some((NONE, label))),
                    Outcome::Duplicate => ("duplicate", None, Some((NONE, label))),
                    Outcome::Missed => ("missed", None, Some((label, NONE))),
                    // a prediction at these bounds was counted (under this gold label)
                    Outcome::Partial => (
                        "partial",
                        None,
                        (!pred_bounds.contains(&(*s, *e))).then_some((label.as_str(), NONE)),
                    ),
                };
            *le.count_mut(kind) += 1;
            if let Some((g, p)) = cell {
                *a.confusion
                    .entry(g.to_string())
                    .or_default()
                    .entry(p.to_string())
                    .or_insert(0) += 1;
            }
            if kind == "exact" {
                return;
            }
            let n = shown.entry((label.clone(), kind)).or_insert(0);
            if let Some(t) = text.filter(|_| *n < per_kind) {
                *n += 1;
                a.examples.push(Example {
                    label: label.clone(),
                    kind: kind.to_string(),
                    doc: id.clone(),
                    start: *s,
                    end: *e,
                    context: context(t, *s, *e),
                    gold_label: gold_label.map(str::to_string),
                });
            }
        });
    }
    a
}

/// The widest of `names` in characters, at least `min`.
fn width<'a>(names: impl Iterator<Item = &'a String>, min: usize) -> usize {
    names.map(|n| n.chars().count()).max().unwrap_or(0).max(min)
}

impl Analysis {
    /// Plain text: the per-label table, the confusion matrix, then the examples.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let w = width(self.per_label.keys(), 6);
        let _ = writeln!(
            out,
            "{:<w$}  {:>5}  {:>8}  {:>8}  {:>8}  {:>9}  {:>6}  {:>7}",
            "label", "exact", "boundary", "confused", "spurious", "duplicate", "missed", "partial"
        );
        for (l, e) in &self.per_label {
            let _ = writeln!(
                out,
                "{l:<w$}  {:>5}  {:>8}  {:>8}  {:>8}  {:>9}  {:>6}  {:>7}",
                e.exact, e.boundary, e.confused, e.spurious, e.duplicate, e.missed, e.partial
            );
        }
        let mut cols: Vec<&String> = self.confusion.values().flat_map(|r| r.keys()).collect();
        cols.sort();
        cols.dedup();
        let rows: Vec<&String> = self.confusion.keys().collect();
        let cw = width(cols.iter().copied(), 4);
        let rw = width(rows.iter().copied(), 9);
        let _ = write!(
            out,
            "\nconfusion (rows gold, columns predicted)\n{:<rw$}",
            ""
        );
        for c in &cols {
            let _ = write!(out, "  {c:>cw$}");
        }
        out.push('\n');
        for r in rows {
            let _ = write!(out, "{r:<rw$}");
            for c in &cols {
                let n = self.confusion[r].get(*c).copied().unwrap_or(0);
                let _ = write!(out, "  {n:>cw$}");
            }
            out.push('\n');
        }
        if !self.examples.is_empty() {
            out.push_str("\nexamples\n");
            for x in &self.examples {
                let extra = x
                    .gold_label
                    .as_ref()
                    .map_or(String::new(), |g| format!(" (gold {g})"));
                let _ = writeln!(
                    out,
                    "{} {}{extra} [{}]: {}",
                    x.label, x.kind, x.doc, x.context
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: usize, e: usize, l: &str) -> (usize, usize, String) {
        (s, e, l.to_string())
    }

    #[test]
    fn every_kind_on_a_hand_made_document() {
        // text:   "my son Tom has asthma and a cough"
        //          0123456789012345678901234567890123
        let text = "my son Tom has asthma and a cough";
        let doc = DocScoreInput {
            gold: vec![
                t(3, 6, "Child"),
                t(7, 10, "Name"),
                t(15, 21, "Cond"),
                t(28, 33, "Cond"),
            ],
            pred: vec![
                t(3, 6, "Child"),  // exact
                t(3, 6, "Child"),  // duplicate
                t(7, 10, "Child"), // confused: gold Name
                t(11, 21, "Cond"), // boundary
                t(0, 2, "Cond"),   // spurious
            ],
        };
        let a = analyze(
            std::slice::from_ref(&doc),
            &[("d1".into(), Some(text.into()))],
            5,
        );
        let c = &a.per_label["Child"];
        assert_eq!((c.exact, c.duplicate, c.confused), (1, 1, 1));
        let d = &a.per_label["Cond"];
        assert_eq!((d.boundary, d.spurious, d.missed, d.partial), (1, 1, 1, 1));
        let n = &a.per_label["Name"];
        assert_eq!((n.partial, n.missed), (1, 0));
        // the matrix: Child exact; Name predicted as Child; Cond "asthma" (partial, no
        // prediction at its bounds) and "cough" (missed) under (none); three predictions at
        // no gold bounds
        assert_eq!(a.confusion["Child"]["Child"], 1);
        assert_eq!(a.confusion["Name"]["Child"], 1);
        assert!(!a.confusion["Name"].contains_key(NONE));
        assert_eq!(a.confusion["Cond"][NONE], 2);
        assert_eq!(a.confusion[NONE]["Child"], 1);
        assert_eq!(a.confusion[NONE]["Cond"], 2);
        let kinds: Vec<(&str, &str)> = a
            .examples
            .iter()
            .map(|x| (x.label.as_str(), x.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Child", "duplicate"),
                ("Child", "confused"),
                ("Cond", "boundary"),
                ("Cond", "spurious"),
                ("Name", "partial"),
                ("Cond", "partial"),
                ("Cond", "missed"),
            ]
        );
        let confused = &a.examples[1];
        assert_eq!(confused.gold_label.as_deref(), Some("Name"));
        assert_eq!(confused.context, "my son [[Tom]] has asthma and a cough");
        assert!(a.to_text().contains("Child confused (gold Name) [d1]"));
        // the counts are the scorer's
        let r = crate::score(std::slice::from_ref(&doc));
        assert_eq!(
            r.per_label["Child"].fp,
            c.duplicate + c.confused + c.boundary + c.spurious
        );
        assert_eq!(r.per_label["Cond"].fn_, d.missed + d.partial);
    }

    #[test]
    fn examples_are_bounded_and_contexts_clipped() {
        let text = format!("{}x{}", "a\n".repeat(30), "b".repeat(60));
        let docs: Vec<DocScoreInput> = (0..4)
            .map(|_| DocScoreInput {
                gold: vec![],
                pred: vec![t(60, 61, "X")],
            })
            .collect();
        let texts: Vec<(String, Option<String>)> = (0..4)
            .map(|i| (format!("d{i}"), Some(text.clone())))
            .collect();
        let a = analyze(&docs, &texts, 2);
        assert_eq!(a.per_label["X"].spurious, 4);
        assert_eq!(a.examples.len(), 2);
        let c = &a.examples[0].context;
        assert!(
            c.starts_with('…') && c.ends_with('…') && !c.contains('\n'),
            "{c}"
        );
        assert!(c.contains("[[x]]"));
        // without texts: counts, no examples
        assert!(analyze(&docs, &[], 2).examples.is_empty());
    }
}
