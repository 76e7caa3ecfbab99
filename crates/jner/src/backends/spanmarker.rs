//! `spanmarker`: a BERT-family encoder with SpanMarker's head (libtorch).

use std::path::Path;

use anyhow::Result;
use jner_corpus::Recognizer;

use super::{Backend, TrainPlan};
#[cfg(feature = "torch")]
use crate::cli::TrainArgs;

pub const BACKEND: Backend = Backend {
    name: "spanmarker",
    aliases: &[],
    available: cfg!(feature = "torch"),
    epochs: 5,
    lr: 5e-5,
    output_dir: "spanmarker_finetuned",
    check: super::no_overrides,
    train,
    load,
    foreign,
};

/// The default encoder (the spec's).
#[cfg(feature = "torch")]
const DEFAULT_MODEL: &str = "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext";

#[cfg(feature = "torch")]
fn train(plan: TrainPlan, run: jner_run::PendingRun) -> Result<()> {
    let args: &TrainArgs = plan.args;
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| DEFAULT_MODEL.to_string());
    let mut cfg = jner_torch::SpanMarkerConfig::new(model);
    cfg.epochs = plan.epochs;
    cfg.batch_size = args.batch_size;
    cfg.learning_rate = f64::from(plan.lr);
    cfg.entity_max_length = args.entity_max_length;
    cfg.model_max_length = args.model_max_length;
    cfg.seed = args.split.seed;
    cfg.threads = Some(args.threads.max(1));
    cfg.window_group = args.window_group;
    cfg.device = jner_torch::spanmarker::parse_device(&super::gliner::device_arg(args))?;
    let out = run.root().to_path_buf();
    let report =
        jner_torch::spanmarker::train(&plan.split.train, &plan.split.eval, &cfg, run, plan.meta)?;
    eprintln!(
        "best epoch {:?} (micro F1 {:?}); models in {}: best/, final/; metrics.jsonl",
        report.best_epoch,
        report.best_f1,
        out.display()
    );
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn train(_: TrainPlan, _: jner_run::PendingRun) -> Result<()> {
    Err(BACKEND.unavailable())
}

#[cfg(feature = "torch")]
fn load(dir: &Path, device: &str) -> Result<Box<dyn Recognizer>> {
    let device = jner_torch::spanmarker::parse_device(device)?;
    Ok(Box::new(jner_torch::SpanMarkerModel::load_on(dir, device)?))
}

#[cfg(not(feature = "torch"))]
fn load(_: &Path, _: &str) -> Result<Box<dyn Recognizer>> {
    Err(BACKEND.unavailable())
}

fn is_span_marker(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("model_type").and_then(|m| m.as_str()) == Some("span-marker"))
}

/// A checkpoint `span_marker` saved: `config.json` with `"model_type": "span-marker"`.
fn foreign(path: &Path, device: &str) -> Result<Option<Box<dyn Recognizer>>> {
    let Some(dir) = super::gliner::local_or_hub(path)? else {
        return Ok(None);
    };
    if !is_span_marker(&dir) {
        return Ok(None);
    }
    if !BACKEND.available {
        return Err(BACKEND
            .unavailable()
            .context(format!("{}: a span_marker checkpoint", path.display())));
    }
    load(&dir, device).map(Some)
}
