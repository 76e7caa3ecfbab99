//! The report's tables, built once and rendered by both the Markdown and the HTML writer.

use crate::{mib, pct, pct_sd, BackendResult, Comparison};

/// A table of text cells; the first column is a row header.
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn strings<const N: usize>(v: [&str; N]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// F1 with its spread: mean ± sd over folds, or the bootstrap interval on one split.
fn f1_cell(c: &Comparison, b: &BackendResult, label: Option<&str>) -> String {
    if c.protocol.folds.is_some() {
        return match label {
            None => pct_sd(&b.summary.micro.f1),
            Some(l) => b
                .summary
                .per_label
                .get(l)
                .map_or("–".into(), |s| pct_sd(&s.f1)),
        };
    }
    match b.intervals.get(label.unwrap_or("micro")) {
        Some(i) if i.hi > i.lo => format!("{} [{}, {}]", pct(i.estimate), pct(i.lo), pct(i.hi)),
        Some(i) => pct(i.estimate),
        None => label
            .and_then(|l| b.pooled.per_label.get(l))
            .map_or("–".into(), |s| pct(s.f1)),
    }
}

/// The spec's comparison table, measured.
pub(crate) fn summary(c: &Comparison) -> Table {
    let spread = if c.protocol.folds.is_some() {
        "mean ± sd over folds"
    } else {
        "95% bootstrap interval"
    };
    let header = vec![
        "backend".into(),
        format!("micro F1 ({spread})"),
        "micro P".into(),
        "micro R".into(),
        "macro F1".into(),
        "training s".into(),
        "inference words/s".into(),
        "training peak MiB".into(),
        "inference peak MiB".into(),
        "model MiB".into(),
        "unseen labels".into(),
    ];
    let rows = c
        .backends
        .iter()
        .map(|b| {
            let train = b.over_folds(|f| f.train_seconds);
            vec![
                describe(b),
                f1_cell(c, b, None),
                pct_sd(&b.summary.micro.precision),
                pct_sd(&b.summary.micro.recall),
                pct_sd(&b.summary.macro_avg.f1),
                if train.n > 1 {
                    format!("{:.1} ± {:.1}", train.mean, train.sd)
                } else {
                    format!("{:.1}", train.mean)
                },
                format!("{:.0}", b.words_per_s()),
                b.peak_rss().map_or("–".into(), mib),
                b.infer_peak_rss().map_or("–".into(), mib),
                mib(b.model_bytes()),
                if b.zero_shot { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    Table { header, rows }
}

/// A backend's name, with its base model, epochs and training subsample.
fn describe(b: &BackendResult) -> String {
    let mut s = b.name.clone();
    let mut extra = Vec::new();
    if let Some(m) = &b.model {
        extra.push(m.clone());
    }
    extra.push(format!("{} epochs", b.epochs));
    if let Some(n) = b.train_docs {
        extra.push(format!("{n} training docs"));
    }
    s.push_str(&format!(" ({})", extra.join(", ")));
    s
}

/// F1 (P / R) per label and backend, pooled counts' support.
pub(crate) fn per_label(c: &Comparison) -> Table {
    let mut header = strings(["label", "support"]);
    header.extend(c.backends.iter().map(|b| format!("{} F1", b.name)));
    header.extend(c.backends.iter().map(|b| format!("{} P / R", b.name)));
    let rows = c
        .labels()
        .iter()
        .map(|l| {
            let support = c
                .backends
                .iter()
                .filter_map(|b| b.pooled.per_label.get(l))
                .map(|s| s.support)
                .max()
                .unwrap_or(0);
            let mut row = vec![l.clone(), support.to_string()];
            row.extend(c.backends.iter().map(|b| f1_cell(c, b, Some(l))));
            row.extend(c.backends.iter().map(|b| {
                b.pooled.per_label.get(l).map_or("–".into(), |s| {
                    format!("{} / {}", pct(s.precision), pct(s.recall))
                })
            }));
            row
        })
        .collect();
    Table { header, rows }
}

/// Micro F1 (P / R) of each source's documents.
pub(crate) fn per_source(c: &Comparison) -> Table {
    let mut header = strings(["source"]);
    header.extend(c.backends.iter().map(|b| format!("{} F1 (P / R)", b.name)));
    let rows = c
        .sources()
        .iter()
        .map(|s| {
            let mut row = vec![s.clone()];
            row.extend(c.backends.iter().map(|b| {
                b.per_source.get(s).map_or("–".into(), |p| {
                    format!("{} ({} / {})", pct(p.f1), pct(p.precision), pct(p.recall))
                })
            }));
            row
        })
        .collect();
    Table { header, rows }
}

/// The paired bootstrap of every pair: micro, then each label.
pub(crate) fn paired(c: &Comparison) -> Table {
    let header = strings([
        "A vs B",
        "scope",
        "F1 A − B (points)",
        "p (one-sided)",
        "verdict",
    ]);
    let mut rows = Vec::new();
    for p in &c.paired {
        let mut keys: Vec<&String> = p.tests.keys().collect();
        keys.sort_by_key(|k| (k.as_str() != "micro", k.as_str()));
        for k in keys {
            let t = &p.tests[k];
            let verdict = if t.delta == 0.0 {
                "equal".to_string()
            } else if t.p_value < 0.05 {
                format!(
                    "{} better, beyond the noise",
                    if t.delta > 0.0 { &p.a } else { &p.b }
                )
            } else {
                "within the noise".to_string()
            };
            rows.push(vec![
                format!("{} vs {}", p.a, p.b),
                k.clone(),
                format!("{:+.1}", 100.0 * t.delta),
                format!("{:.3}", t.p_value),
                verdict,
            ]);
        }
    }
    Table { header, rows }
}

/// What became of each label's predictions and gold spans.
pub(crate) fn errors(b: &BackendResult) -> Table {
    let header = strings([
        "label",
        "exact",
        "boundary",
        "confused",
        "spurious",
        "duplicate",
        "missed",
        "partial",
    ]);
    let rows = b
        .analysis
        .per_label
        .iter()
        .map(|(l, e)| {
            vec![
                l.clone(),
                e.exact.to_string(),
                e.boundary.to_string(),
                e.confused.to_string(),
                e.spurious.to_string(),
                e.duplicate.to_string(),
                e.missed.to_string(),
                e.partial.to_string(),
            ]
        })
        .collect();
    Table { header, rows }
}

/// Rows gold, columns predicted.
pub(crate) fn confusion(b: &BackendResult) -> Table {
    let m = &b.analysis.confusion;
    let mut cols: Vec<&String> = m.values().flat_map(|r| r.keys()).collect();
    cols.sort();
    cols.dedup();
    let mut header = vec!["gold \\ predicted".to_string()];
    header.extend(cols.iter().map(|c| c.to_string()));
    let rows = m
        .iter()
        .map(|(r, row)| {
            let mut v = vec![r.clone()];
            v.extend(
                cols.iter()
                    .map(|c| row.get(*c).copied().unwrap_or(0).to_string()),
            );
            v
        })
        .collect();
    Table { header, rows }
}

/// Resources per fold.
pub(crate) fn folds(c: &Comparison) -> Table {
    let header = strings([
        "backend",
        "fold",
        "train docs",
        "eval docs",
        "micro F1",
        "training s (wall)",
        "inference words/s",
        "training peak MiB",
    ]);
    let mut rows = Vec::new();
    for b in &c.backends {
        for f in &b.folds {
            rows.push(vec![
                b.name.clone(),
                f.fold.to_string(),
                f.train_docs.to_string(),
                f.eval_docs.to_string(),
                pct(f.report.micro.f1),
                format!("{:.1} ({:.1})", f.train_seconds, f.train_wall_seconds),
                if f.infer_seconds > 0.0 {
                    format!("{:.0}", f.infer_words as f64 / f.infer_seconds)
                } else {
                    "–".into()
                },
                f.train_peak_rss_bytes.map_or("–".into(), mib),
            ]);
        }
    }
    Table { header, rows }
}

/// The protocol, as sentences.
pub(crate) fn protocol(c: &Comparison) -> Vec<String> {
    let p = &c.protocol;
    let sources: Vec<String> = p.sources.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let mut v = vec![
        format!(
            "Data: {} ({} documents: {}).",
            p.data,
            p.documents,
            sources.join(", ")
        ),
        match p.folds {
            Some(k) => format!(
                "Split: {k} document-level folds (seed {}); every document is evaluated once, by the model that did not train on it. Spread: sample sd over the folds.",
                p.seed
            ),
            None => format!(
                "Split: one document-level split, {:.0}% of the documents held out (seed {}). Intervals: 95% percentile bootstrap over documents ({} resamples).",
                100.0 * p.val_split,
                p.seed,
                p.bootstrap
            ),
        },
        format!(
            "Scored: the `{}/` model of each run (never `best/`, which is chosen on the held-out documents), by jner's one scorer: exact (start, end, label) matches on character offsets; every label with gold or predicted spans counts in macro F1.",
            p.checkpoint
        ),
        format!(
            "Paired bootstrap: {} resamples of the pooled held-out documents, the same for both backends (Koehn 2004); p < 0.05 is called beyond the noise.",
            p.bootstrap
        ),
        format!(
            "Speed: training seconds are the training loop's (per-epoch evaluation excluded); inference words/s are whitespace words of the held-out texts over the seconds of `predict` (model loading excluded), {} thread(s); peak memory is the maximum resident set of the `jner train` process, and of a `jner predict` process over the held-out documents (whose output is the predictions file). Machine: {}.",
            p.threads, p.machine
        ),
    ];
    v.extend(p.notes.iter().cloned());
    if let Some(n) = p.eval_docs {
        v.push(format!(
            "Held-out documents were subsampled to {n} per fold (the same documents for every backend)."
        ));
    }
    v
}
