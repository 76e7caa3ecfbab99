//! `cnn` (alias `spacy`): the pure-Rust CPU model.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use jner_corpus::Recognizer;

use super::{Backend, TrainPlan};
use crate::cli::TrainArgs;

pub const BACKEND: Backend = Backend {
    name: "cnn",
    aliases: &["spacy"],
    available: true,
    epochs: 10,
    lr: 0.001,
    output_dir: "spacy_model",
    check,
    train,
    load,
    foreign: |_| Ok(None),
};

fn vectors(args: &TrainArgs) -> Result<Option<PathBuf>> {
    match &args.model {
        None => Ok(None),
        Some(m) => {
            let p = PathBuf::from(m);
            if !p.is_file() {
                bail!("--model {m}: the cnn backend takes a word-vector file (word2vec/fastText text format); {m} is not a file. spaCy packages such as en_core_sci_lg cannot be loaded; leave --model out to train from scratch");
            }
            Ok(Some(p))
        }
    }
}

fn check(args: &TrainArgs) -> Result<()> {
    vectors(args).map(|_| ())
}

fn train(plan: TrainPlan, run: jner_run::PendingRun) -> Result<()> {
    let args = plan.args;
    let out = run.root().to_path_buf();
    let cfg = jner_cnn::CnnConfig {
        epochs: plan.epochs,
        batch_size: args.batch_size,
        dropout: args.dropout,
        seed: args.split.seed,
        learn_rate: plan.lr,
        threads: args.threads.max(1),
        vectors: vectors(args)?,
        ..Default::default()
    };
    let report = jner_cnn::train(&plan.split.train, &plan.split.eval, &cfg, run, plan.meta)?;
    eprintln!(
        "best epoch {} (micro F1 {:.4}); {} parameters; training {:.1}s, evaluation {:.1}s; gold spans {} seen, {} lost in alignment",
        report.best_epoch,
        report.best_f1,
        report.parameters,
        report.train_seconds,
        report.eval_seconds,
        report.alignment.spans,
        report.alignment.spans_lost
    );
    eprintln!(
        "models in {}: best/ (highest F1), final/, checkpoint-epoch-N/; metrics.jsonl",
        out.display()
    );
    Ok(())
}

fn load(dir: &Path) -> Result<Box<dyn Recognizer>> {
    Ok(Box::new(jner_cnn::CnnModel::load(dir)?))
}
