//! `jner predict`: text lines or JSONL in, one JSONL line of entities per document out,
//! streamed in chunks (constant memory for inputs of any size).
//!
//! The output file is written under a temporary name and renamed when every document is
//! done, so a failure (bad line 2, a model error) leaves an existing file as it was; an
//! output that is the input file is refused before anything is read.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use jner_corpus::offsets::CharIndex;
use jner_corpus::{Entity, PredictOptions, Recognizer};
use jner_redact::Lists;
use serde_json::json;

use super::stream::{self, Doc, Reader};
use crate::cli::PredictArgs;
use crate::model::load_named_on;

pub fn predict(args: &PredictArgs) -> Result<()> {
    stream::check_paths(args.input.as_deref(), args.output.as_deref())?;
    let det = Detector::new(args, BTreeMap::new(), Lists::default())?;
    let mut reader = Reader::open(args.input.as_deref(), args.format)?;
    let docs = stream::write_to(args.output.as_deref(), |out| {
        det.run(&mut reader, |doc, ents| {
            serde_json::to_writer(
                &mut *out,
                &json!({"id": doc.id, "entities": entities_json(&doc.text, &ents)}),
            )?;
            out.write_all(b"\n")?;
            Ok(())
        })
    })?;
    match &args.output {
        Some(p) => tracing::info!("predicted {docs} documents into {}", p.display()),
        None => tracing::info!("predicted {docs} documents"),
    }
    Ok(())
}

/// Entities as JSON objects with their text (offsets are characters; one pass over the text
/// maps them to bytes).
pub fn entities_json(text: &str, ents: &[Entity]) -> Vec<serde_json::Value> {
    let idx = CharIndex::new(text);
    let at = |c: usize| idx.to_byte(c).unwrap_or(text.len());
    ents.iter()
        .map(|e| {
            let (a, b) = (at(e.start), at(e.end));
            json!({"start": e.start, "end": e.end, "label": e.label, "score": e.score, "text": &text[a..b.max(a)]})
        })
        .collect()
}

/// The model and everything applied to its output: per-label thresholds, allow and deny
/// lists, then `--consistent` (the order of `jner serve`).
pub struct Detector {
    rec: Box<dyn Recognizer>,
    opts: PredictOptions,
    consistent: bool,
    label_thresholds: BTreeMap<String, f32>,
    lists: Lists,
}

/// Checks a score flag's value.
pub fn check_score(flag: &str, t: f32) -> Result<()> {
    anyhow::ensure!(
        t.is_finite() && (0.0..=1.0).contains(&t),
        "{flag} must be a number in [0, 1], got {t}"
    );
    Ok(())
}

/// Refuses labels a fixed-label model does not know, naming them (`model` names the model).
pub fn check_labels(rec: &dyn Recognizer, labels: Option<&[String]>, model: &str) -> Result<()> {
    let Some(labels) = labels else {
        return Ok(());
    };
    if rec.zero_shot() {
        return Ok(());
    }
    let unknown: Vec<&String> = labels
        .iter()
        .filter(|l| !rec.labels().contains(l))
        .collect();
    anyhow::ensure!(
        unknown.is_empty(),
        "--labels: {model} cannot look for {unknown:?}: it only knows {:?} and does not take new labels (the gliner backend does)",
        rec.labels()
    );
    Ok(())
}

impl Detector {
    /// Checks the flags, then loads the model (so a bad flag fails before a slow load).
    pub fn new(
        args: &PredictArgs,
        label_thresholds: BTreeMap<String, f32>,
        lists: Lists,
    ) -> Result<Self> {
        if let Some(t) = args.threshold {
            check_score("--threshold", t)?;
        }
        let labels = match &args.labels {
            None => None,
            Some(s) => {
                let l: Vec<String> = s
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect();
                anyhow::ensure!(!l.is_empty(), "--labels {s:?} names no label");
                Some(l)
            }
        };
        if args.threads == Some(0) {
            anyhow::bail!("--threads must be at least 1");
        }
        let (_, mut rec) = load_named_on(&args.model, !args.no_verify, &args.device)?;
        if let Some(n) = args.threads {
            rec.set_threads(n);
        }
        // checked here too so the error comes before any input is read
        check_labels(
            rec.as_ref(),
            labels.as_deref(),
            &args.model.display().to_string(),
        )?;
        Ok(Detector {
            rec,
            opts: PredictOptions {
                threshold: args.threshold,
                batch_size: args.batch_size.max(1),
                labels,
                nested: args.nested,
                multi_label: args.multi_label,
            },
            consistent: args.consistent,
            label_thresholds,
            lists,
        })
    }

    /// The entities of each document.
    pub fn detect(&self, docs: &[Doc]) -> Result<Vec<Vec<Entity>>> {
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        let mut preds = self
            .rec
            .predict(&texts, &self.opts)
            .map_err(|e| anyhow::anyhow!("prediction failed: {e}"))?;
        for (doc, ents) in docs.iter().zip(preds.iter_mut()) {
            if !self.label_thresholds.is_empty() {
                ents.retain(|e| {
                    self.label_thresholds
                        .get(&e.label)
                        .is_none_or(|t| e.score >= *t)
                });
            }
            self.lists.apply(&doc.text, ents);
            if self.consistent {
                jner_corpus::consistency::propagate(&doc.text, ents);
            }
        }
        Ok(preds)
    }

    /// Streams every document of `reader` through the model, chunk by chunk, into `emit`;
    /// returns how many there were.
    pub fn run(
        &self,
        reader: &mut Reader,
        mut emit: impl FnMut(&Doc, Vec<Entity>) -> Result<()>,
    ) -> Result<usize> {
        let mut batch = Vec::new();
        let mut docs = 0;
        while reader.next_chunk(&mut batch)? {
            let preds = self.detect(&batch)?;
            for (doc, ents) in batch.iter().zip(preds) {
                emit(doc, ents).with_context(|| format!("{}:{}", reader.name, doc.line))?;
            }
            docs += batch.len();
        }
        Ok(docs)
    }
}
