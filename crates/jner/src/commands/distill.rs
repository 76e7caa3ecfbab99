//! `jner distill`: a teacher model (any backend) labels unlabeled texts, and a student (the
//! `cnn` by default) trains on the gold training documents plus the teacher's documents.
//!
//! * The teacher's entities become spans where their score reaches `--teacher-threshold`
//!   (thresholded labels: the cnn's BILUO tagger trains on hard tags), restricted to the labels
//!   the gold training documents carry (and `--labels`), and with `--consistent`, every other
//!   occurrence of a found surface form labelled the same way.
//! * Gold is never overridden: an unlabeled text that is also a gold training document is
//!   left out. The evaluation documents are never seen: an unlabeled text equal to one of
//!   them (after case folding and whitespace collapsing) is left out too.
//! * The teacher's documents go into the run folder (`silver.jsonl`) and the counts into the
//!   run's identity (`jner.json`, `run.json`), next to the teacher's path.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use jner_corpus::offsets::CharIndex;
use jner_corpus::split::Split;
use jner_corpus::{Document, PredictOptions, Span};
use serde::Serialize;

use crate::cli::DistillArgs;

/// What the teacher contributed.
#[derive(Clone, Debug, Serialize)]
pub struct Silver {
    pub teacher: PathBuf,
    pub unlabeled: Vec<PathBuf>,
    pub threshold: f32,
    pub consistent: bool,
    pub texts_read: usize,
    /// Left out: equal to an evaluation document.
    pub texts_in_eval: usize,
    /// Left out: equal to a gold training document.
    pub texts_in_train: usize,
    pub documents: usize,
    pub spans: usize,
    pub spans_below_threshold: usize,
    #[serde(skip)]
    pub docs: Vec<Document>,
}

/// Case-folded, whitespace-collapsed text: what "the same document" means here.
fn normal(t: &str) -> String {
    t.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn distill(args: DistillArgs) -> Result<()> {
    anyhow::ensure!(
        args.teacher_threshold.is_finite() && (0.0..=1.0).contains(&args.teacher_threshold),
        "--teacher-threshold must be in [0, 1], got {}",
        args.teacher_threshold
    );
    // the teacher and the texts first: a bad path fails before any training input is read
    let teacher = crate::model::load_recognizer_with(&args.teacher, true)
        .with_context(|| format!("--teacher {}", args.teacher.display()))?;
    let texts = super::texts::read_texts(&args.unlabeled)?;
    anyhow::ensure!(
        !texts.is_empty(),
        "--unlabeled: no texts in {:?}",
        args.unlabeled
    );
    let DistillArgs {
        teacher: teacher_dir,
        unlabeled,
        teacher_threshold,
        consistent,
        train,
    } = args;
    let opts = Opts {
        teacher: teacher_dir,
        unlabeled,
        teacher_threshold,
        consistent,
        batch_size: train.batch_size,
    };
    let make = |split: &Split, labels: &[String]| -> Result<Silver> {
        silver(&opts, teacher.as_ref(), &texts, split, labels)
    };
    super::train::train_with(train, Some(&make))
}

/// The teacher's side of [`DistillArgs`].
struct Opts {
    teacher: PathBuf,
    unlabeled: Vec<PathBuf>,
    teacher_threshold: f32,
    consistent: bool,
    batch_size: usize,
}

fn silver(
    args: &Opts,
    teacher: &dyn jner_corpus::Recognizer,
    texts: &[String],
    split: &Split,
    labels: &[String],
) -> Result<Silver> {
    let eval: HashSet<String> = split.eval.iter().map(|d| normal(&d.text)).collect();
    let train: HashSet<String> = split.train.iter().map(|d| normal(&d.text)).collect();
    let mut out = Silver {
        teacher: args.teacher.clone(),
        unlabeled: args.unlabeled.clone(),
        threshold: args.teacher_threshold,
        consistent: args.consistent,
        texts_read: texts.len(),
        texts_in_eval: 0,
        texts_in_train: 0,
        documents: 0,
        spans: 0,
        spans_below_threshold: 0,
        docs: Vec::new(),
    };
    let mut keep: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for t in texts {
        let n = normal(t);
        if eval.contains(&n) {
            out.texts_in_eval += 1;
        } else if train.contains(&n) {
            out.texts_in_train += 1;
        } else if !n.is_empty() && seen.insert(n) {
            keep.push(t);
        }
    }
    let teacher_labels = teacher.labels().to_vec();
    // a zero-shot teacher is asked for the student's labels; a fixed one for those it shares
    let ask: Vec<String> = if teacher.zero_shot() {
        labels.to_vec()
    } else {
        labels
            .iter()
            .filter(|l| teacher_labels.contains(l))
            .cloned()
            .collect()
    };
    anyhow::ensure!(
        !ask.is_empty(),
        "--teacher {}: it knows none of the student's labels {labels:?} (it has {teacher_labels:?})",
        args.teacher.display()
    );
    let opts = PredictOptions {
        labels: Some(ask),
        batch_size: args.batch_size.max(1),
        ..Default::default()
    };
    eprintln!(
        "teacher {}: labelling {} unlabeled texts ({} left out as evaluation documents, {} as gold training documents)",
        args.teacher.display(),
        keep.len(),
        out.texts_in_eval,
        out.texts_in_train
    );
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(keep.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    for (ci, chunk) in keep.chunks(256).enumerate() {
        let preds = teacher
            .predict(chunk, &opts)
            .map_err(|e| anyhow::anyhow!("--teacher {}: {e}", args.teacher.display()))?;
        for (k, (text, mut ents)) in chunk.iter().zip(preds).enumerate() {
            let before = ents.len();
            ents.retain(|e| e.score >= args.teacher_threshold);
            out.spans_below_threshold += before - ents.len();
            if args.consistent {
                jner_corpus::consistency::propagate(text, &mut ents);
            }
            let idx = CharIndex::new(text);
            let mut doc = Document::new(
                format!("silver/{}", ci * 256 + k + 1),
                "silver",
                text.to_string(),
            );
            for e in ents {
                if let (Some(s), Some(t)) = (idx.to_byte(e.start), idx.to_byte(e.end)) {
                    doc.spans.push(Span::new(s, t, e.label));
                }
            }
            out.spans += doc.spans.len();
            out.docs.push(doc);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    out.documents = out.docs.len();
    eprintln!(
        "teacher: {} documents, {} spans (score >= {}), {} below the threshold",
        out.documents, out.spans, out.threshold, out.spans_below_threshold
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_document_ignores_case_and_spacing() {
        assert_eq!(super::normal("  My Son\n loves  it "), "my son loves it");
    }
}
