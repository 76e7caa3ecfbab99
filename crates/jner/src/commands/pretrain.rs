//! `jner pretrain`: the cnn encoder learns from raw text first (`jner_cnn::pretrain`); the
//! run folder is recorded like a training run (`run.json` with the settings, `metrics.jsonl`
//! per epoch, `final/`).

use anyhow::Result;
use jner_cnn::pretrain::PretrainConfig;
use jner_run::{RunDir, RunMode};
use serde_json::json;

use crate::cli::PretrainArgs;

pub fn pretrain(args: &PretrainArgs) -> Result<()> {
    if let Some(m) = &args.model {
        anyhow::ensure!(
            m.is_file(),
            "--model {}: not a file (a word-vector file in word2vec/fastText text format)",
            m.display()
        );
    }
    let cnn = jner_cnn::CnnConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learn_rate: args.lr,
        dropout: args.dropout,
        seed: args.seed,
        vectors: args.model.clone(),
        threads: 1,
        ..Default::default()
    };
    let cnn = crate::backends::cnn_overrides(cnn, &args.set)?;
    let cfg = PretrainConfig {
        cnn,
        n_characters: args.n_characters,
        mask_rate: args.mask_rate,
    };
    cfg.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(args.epochs > 0, "--epochs must be at least 1");
    let texts = super::texts::read_texts(&args.input)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let words: usize = refs.iter().map(|t| t.split_whitespace().count()).sum();
    let identity = json!({
        "command": "pretrain",
        "config": cfg,
        "inputs": args.input,
        "texts": refs.len(),
        "words": words,
        "jner_version": env!("CARGO_PKG_VERSION"),
    });
    let mode = if args.overwrite {
        RunMode::Overwrite
    } else {
        RunMode::New
    };
    let plan = RunDir::check(&args.output_dir, mode, &identity)?;
    eprintln!(
        "pretraining on {} texts ({words} words), {} epochs, one thread",
        refs.len(),
        args.epochs
    );
    let report = jner_cnn::pretrain::pretrain(&refs, &cfg, plan.pending(identity))?;
    if let Some(last) = report.last() {
        eprintln!(
            "{}: final/ after epoch {} (loss {:.4}, byte accuracy {:.3}); start training from it with `jner train --init {}`",
            args.output_dir.display(),
            last.epoch,
            last.loss,
            last.accuracy,
            args.output_dir.join("final").display()
        );
    }
    Ok(())
}
