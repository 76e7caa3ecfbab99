//! `jner data stats|export|split`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use jner_corpus::sources::LoadReport;
use jner_corpus::split::{self, Split};
use jner_corpus::{fingerprint, gliner, jsonl, labels, Document};
use serde_json::json;

use crate::cli::{SplitArgs, SplitMode};
use crate::data_args::DataArgs;

pub fn stats(data: &DataArgs, as_json: bool, all_warnings: bool) -> Result<()> {
    let corpus = data.load()?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&corpus.report)?);
    } else {
        print!("{}", render_stats(&corpus.report, all_warnings));
    }
    Ok(())
}

/// The human-readable stats report.
pub fn render_stats(r: &LoadReport, all_warnings: bool) -> String {
    let mut o = String::new();
    let mut label_set: Vec<String> = labels::ALL.iter().map(|s| s.to_string()).collect();
    for per in r.spans.values() {
        for l in per.keys() {
            if !label_set.contains(l) {
                label_set.push(l.clone());
            }
        }
    }
    let _ = write!(o, "{:<10} {:>6}", "source", "docs");
    for l in &label_set {
        let _ = write!(o, " {:>17}", l);
    }
    let _ = writeln!(o, " {:>7}", "spans");
    let mut totals = vec![0usize; label_set.len() + 2];
    for (src, n) in &r.documents {
        let per = r.spans.get(src).cloned().unwrap_or_default();
        let _ = write!(o, "{src:<10} {n:>6}");
        totals[0] += n;
        let mut sum = 0;
        for (i, l) in label_set.iter().enumerate() {
            let c = per.get(l).copied().unwrap_or(0);
            sum += c;
            totals[i + 1] += c;
            let _ = write!(o, " {c:>17}");
        }
        totals[label_set.len() + 1] += sum;
        let _ = writeln!(o, " {sum:>7}");
    }
    let _ = write!(o, "{:<10} {:>6}", "total", totals[0]);
    for t in &totals[1..=label_set.len()] {
        let _ = write!(o, " {t:>17}");
    }
    let _ = writeln!(o, " {:>7}", totals[label_set.len() + 1]);

    if let Some(b) = &r.maccrobat {
        let _ = writeln!(o, "\nMACCROBAT (brat)");
        let _ = writeln!(
            o,
            "  documents {} (duplicates across releases skipped: {})",
            b.documents, b.duplicate_documents_skipped
        );
        let _ = writeln!(o, "  T lines {}: mapped to our labels {}, other types ignored {}, discontinuous {}, rejected {}", b.t_lines, b.mapped_spans, b.ignored_spans, b.discontinuous_spans, b.spans_rejected);
        let _ = writeln!(
            o,
            "  Age spans {}: kept as MinorChild (under 18) {}, in {} documents",
            b.age_spans, b.age_spans_minor, b.documents_with_minor
        );
        let _ = writeln!(
            o,
            "  Sex spans {}: absorbed into a MinorChild span {}",
            b.sex_spans, b.sex_spans_absorbed
        );
        let _ = writeln!(o, "  injected MinorChild: pronouns {}, noun phrases {}, in {} documents (skipped, overlapping an annotation: {})", b.pronouns_injected, b.noun_phrases_injected, b.documents_with_injections, b.injections_skipped_overlap);
    }
    if let Some(c) = &r.corona {
        let tags: Vec<String> = c
            .annotations_by_tag
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(o, "\nCorona2.json");
        let _ = writeln!(
            o,
            "  documents {}; annotations: {}; kept (MedicalCondition) {}; value mismatches {}",
            c.documents,
            tags.join(", "),
            c.kept,
            c.value_mismatches
        );
    }
    if let Some(v) = &r.reviews {
        let _ = writeln!(o, "\nReviews CSV");
        let _ = writeln!(o, "  rows {}: excluded for medical_col {}, skipped without minor_col/gender_col {}, empty review {}; documents {}", v.rows, v.rows_excluded_medical, v.rows_skipped_unlabelled, v.rows_empty_review, v.documents);
        let _ = writeln!(
            o,
            "  listed phrases not found in their review: {}",
            v.phrases_not_found
        );
    }
    let _ = writeln!(o, "\nSpan hygiene");
    for (src, h) in &r.hygiene {
        let _ = writeln!(o, "  {src:<10} trimmed {}, empty dropped {}, duplicates dropped {}, overlaps resolved (spans dropped) {}", h.trimmed, h.empty_dropped, h.duplicates_dropped, h.overlaps_dropped);
    }
    if !r.warnings.is_empty() {
        let shown = if all_warnings {
            r.warnings.len()
        } else {
            r.warnings.len().min(10)
        };
        let _ = writeln!(
            o,
            "\nWarnings: {} (showing {shown}; --all-warnings for every one)",
            r.warnings.len()
        );
        for w in &r.warnings[..shown] {
            let _ = writeln!(o, "  {w}");
        }
    }
    o
}

pub fn export(data: &DataArgs, output: &Path, gliner_out: Option<&Path>) -> Result<()> {
    let corpus = data.load()?;
    jsonl::write_jsonl(output, &corpus.documents)?;
    eprintln!(
        "wrote {} documents to {}",
        corpus.documents.len(),
        output.display()
    );
    if let Some(g) = gliner_out {
        let bad = gliner::write_gliner_json(g, &corpus.documents)?;
        eprintln!(
            "wrote GLiNER format to {} ({bad} spans widened to word boundaries)",
            g.display()
        );
    }
    Ok(())
}

/// Makes the split a training run or `data split` uses: documents first, then oversampling
/// of the training part (or the spec's leaky order when asked).
pub fn make_split(docs: &[Document], args: &SplitArgs) -> (Split, usize) {
    match args.split_mode {
        SplitMode::Jner => {
            let mut s = split::split_documents(docs, args.val_split, args.seed);
            let added = split::oversample_minor(&mut s.train, args.minor_oversample);
            (s, added)
        }
        SplitMode::Spec => {
            let before = docs.len();
            let s = split::spec_split(docs, args.val_split, args.seed, args.minor_oversample);
            let added = s.train.len() + s.eval.len() - before;
            (s, added)
        }
    }
}

/// The files of a split, in memory: train.jsonl, eval.jsonl, GLiNER train.json/eval.json and
/// split.json. Nothing is written here, so a training run can check everything first.
pub fn split_files(
    s: &Split,
    args: &SplitArgs,
    oversampled: usize,
    corpus_fp: &str,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let base = |d: &Document| d.id.split('~').next().unwrap_or(&d.id).to_string();
    let train_ids: BTreeSet<String> = s.train.iter().map(base).collect();
    let eval_ids: BTreeSet<String> = s.eval.iter().map(|d| d.id.clone()).collect();
    let shared = train_ids.intersection(&eval_ids).count();
    let meta = json!({
        "split_mode": args.split_mode,
        "seed": args.seed,
        "val_split": args.val_split,
        "minor_oversample": args.minor_oversample,
        "oversampled_copies": oversampled,
        "corpus_fingerprint": corpus_fp,
        "train_documents": s.train.len(),
        "eval_documents": s.eval.len(),
        "documents_in_both": shared,
        "eval_ids": eval_ids,
    });
    Ok(vec![
        ("train.jsonl", jsonl::jsonl_bytes(&s.train).into_bytes()),
        ("eval.jsonl", jsonl::jsonl_bytes(&s.eval).into_bytes()),
        ("train.json", gliner::gliner_json(&s.train).0),
        ("eval.json", gliner::gliner_json(&s.eval).0),
        ("split.json", serde_json::to_vec_pretty(&meta)?),
    ])
}

/// One line about a split, for the terminal.
pub fn split_summary(dir: &Path, s: &Split, oversampled: usize) -> String {
    let base = |d: &Document| d.id.split('~').next().unwrap_or(&d.id).to_string();
    let train_ids: BTreeSet<String> = s.train.iter().map(base).collect();
    let shared = s.eval.iter().filter(|d| train_ids.contains(&d.id)).count();
    format!(
        "{}: train {} documents ({} oversampled copies), eval {} documents, shared {}",
        dir.display(),
        s.train.len(),
        oversampled,
        s.eval.len(),
        shared
    )
}

/// Writes the split's files into `dir`, each atomically.
pub fn write_split(
    dir: &Path,
    s: &Split,
    args: &SplitArgs,
    oversampled: usize,
    corpus_fp: &str,
) -> Result<()> {
    let files = split_files(s, args, oversampled, corpus_fp)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, bytes) in files {
        jsonl::write_atomic(&dir.join(name), &bytes)?;
    }
    eprintln!("{}", split_summary(dir, s, oversampled));
    Ok(())
}

pub fn split(data: &DataArgs, args: &SplitArgs, out: &Path, folds: Option<usize>) -> Result<()> {
    let corpus = data.load()?;
    let fp = fingerprint(&corpus.documents);
    match folds {
        None => {
            let (s, added) = make_split(&corpus.documents, args);
            write_split(out, &s, args, added, &fp)
        }
        Some(k) => {
            anyhow::ensure!(k >= 2, "--folds needs at least 2 folds, got {k}");
            anyhow::ensure!(
                args.split_mode == SplitMode::Jner,
                "--folds works with --split-mode jner only"
            );
            for (i, mut s) in split::kfold(&corpus.documents, k, args.seed)
                .into_iter()
                .enumerate()
            {
                let added = split::oversample_minor(&mut s.train, args.minor_oversample);
                write_split(&out.join(format!("fold-{}", i + 1)), &s, args, added, &fp)?;
            }
            Ok(())
        }
    }
}
