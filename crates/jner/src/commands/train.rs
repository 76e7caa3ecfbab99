//! `jner train`: the same data preparation for every backend (load, split by document,
//! oversample the training part, write the split), then the backend's training loop.

use std::path::PathBuf;

use anyhow::{bail, Result};
use jner_corpus::split::Split;
use jner_corpus::{fingerprint, jsonl};
use serde_json::json;

use jner_run::{RunDir, RunMode};

use super::data::{make_split, split_files, split_summary};
use crate::cli::{Backend, TrainArgs};

/// The spec's defaults per backend: (epochs, learning rate, output folder).
fn defaults(b: Backend) -> (usize, f32, &'static str) {
    match b {
        Backend::Cnn => (10, 0.001, "spacy_model"),
        Backend::Spanmarker => (5, 5e-5, "spanmarker_finetuned"),
        Backend::Gliner => (10, 3e-5, "gliner_finetuned"),
    }
}

pub fn train(args: TrainArgs) -> Result<()> {
    match args.backend {
        Backend::Cnn => {}
        #[cfg(feature = "torch")]
        Backend::Spanmarker => {}
        #[cfg(not(feature = "torch"))]
        Backend::Spanmarker => bail!(
            "the spanmarker backend needs libtorch and this jner was built without it; available backends: cnn (alias spacy). Build with: eval \"$(scripts/libtorch.sh)\" && cargo build --release -p jner --features torch"
        ),
        Backend::Gliner => bail!(
            "the gliner backend is not in this build yet; available backends: cnn (alias spacy){}",
            if cfg!(feature = "torch") { ", spanmarker" } else { "" }
        ),
    }
    let (epochs, lr, dir) = defaults(args.backend);
    let epochs = args.epochs.unwrap_or(epochs);
    let lr = args.lr.unwrap_or(lr);
    let (out, mode) = match &args.resume {
        Some(d) => (d.clone(), RunMode::Resume),
        None => (
            args.output_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(dir)),
            if args.overwrite {
                RunMode::Overwrite
            } else {
                RunMode::New
            },
        ),
    };
    check_numbers(&args, epochs, lr)?;

    // Check the base model before anything is written.
    let vectors = match &args.model {
        _ if args.backend != Backend::Cnn => None,
        None => None,
        Some(m) => {
            let p = PathBuf::from(m);
            if !p.is_file() {
                bail!("--model {m}: the cnn backend takes a word-vector file (word2vec/fastText text format); {m} is not a file. spaCy packages such as en_core_sci_lg cannot be loaded; leave --model out to train from scratch");
            }
            Some(p)
        }
    };
    let (split, corpus_fp, source, files) = match (&args.train_jsonl, &args.eval_jsonl) {
        (Some(t), Some(e)) => {
            let known_only = !args.allow_new_labels;
            let s = Split {
                train: jsonl::read_jsonl_with(t, known_only)?,
                eval: jsonl::read_jsonl_with(e, known_only)?,
            };
            anyhow::ensure!(
                !s.train.is_empty(),
                "{}: no training documents (the file has no document lines)",
                t.display()
            );
            let mut all = s.train.clone();
            all.extend(s.eval.iter().cloned());
            let files = vec![
                ("train.jsonl", jsonl::jsonl_bytes(&s.train).into_bytes()),
                ("eval.jsonl", jsonl::jsonl_bytes(&s.eval).into_bytes()),
            ];
            (
                s,
                fingerprint(&all),
                json!({"train_jsonl": t, "eval_jsonl": e}),
                files,
            )
        }
        _ => {
            let corpus = args.data.load()?;
            show_data_warnings(&corpus.report.warnings);
            anyhow::ensure!(
                !corpus.documents.is_empty(),
                "no training documents: the sources ({}) hold no documents",
                args.data.describe()
            );
            let fp = fingerprint(&corpus.documents);
            let (s, added) = make_split(&corpus.documents, &args.split);
            let files = split_files(&s, &args.split, added, &fp)?;
            eprintln!("{}", split_summary(&out, &s, added));
            (
                s,
                fp,
                json!({"demo": args.data.demo, "data_dir": args.data.data_dir, "corona": args.data.corona, "csv": args.data.csv, "no_maccrobat": args.data.no_maccrobat, "no_corona": args.data.no_corona, "no_csv": args.data.no_csv, "age_rule": format!("{:?}", args.data.age_rule)}),
                files,
            )
        }
    };
    anyhow::ensure!(
        !split.train.is_empty(),
        "no training documents after the split (--val-split {} leaves none for training)",
        args.split.val_split
    );
    if split.eval.is_empty() {
        tracing::warn!(
            "no evaluation documents (--val-split {}): best/ will follow the last epoch",
            args.split.val_split
        );
    }
    let meta = json!({
        "backend": args.backend,
        "corpus_fingerprint": corpus_fp,
        "data": source,
        "split": {"mode": args.split.split_mode, "seed": args.split.seed, "val_split": args.split.val_split, "minor_oversample": args.split.minor_oversample},
        "train_args": {"epochs": epochs, "batch_size": args.batch_size, "lr": lr, "dropout": args.dropout, "seed": args.split.seed, "threads": args.threads, "model": args.model, "entity_max_length": args.entity_max_length, "model_max_length": args.model_max_length, "window_group": args.window_group},
        "jner_version": env!("CARGO_PKG_VERSION"),
    });
    // the run folder is checked now and opened by the backend once its own inputs are loaded
    let plan = RunDir::check(&out, mode, &meta)?;
    if let Some(n) = plan.resume_from() {
        eprintln!("{}: resuming after epoch {n}", out.display());
    }
    let mut run = plan.pending(meta.clone());
    for (name, bytes) in files {
        run = run.with_file(name, bytes);
    }

    #[cfg(feature = "torch")]
    if args.backend == Backend::Spanmarker {
        return train_spanmarker(&args, &split, run, epochs, lr, meta);
    }
    let cfg = jner_cnn::CnnConfig {
        epochs,
        batch_size: args.batch_size,
        dropout: args.dropout,
        seed: args.split.seed,
        learn_rate: lr,
        threads: args.threads.max(1),
        vectors,
        ..Default::default()
    };
    let report = jner_cnn::train(&split.train, &split.eval, &cfg, run, meta)?;
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

/// The spanmarker backend: a BERT-family encoder (`--model`: a Hugging Face folder, or a hub
/// id, taken from the hub cache or downloaded when online) with SpanMarker's head.
#[cfg(feature = "torch")]
fn train_spanmarker(
    args: &TrainArgs,
    split: &Split,
    run: jner_run::PendingRun,
    epochs: usize,
    lr: f32,
    meta: serde_json::Value,
) -> Result<()> {
    let model = args.model.clone().unwrap_or_else(|| {
        "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext".to_string()
    });
    let mut cfg = jner_torch::SpanMarkerConfig::new(model);
    cfg.epochs = epochs;
    cfg.batch_size = args.batch_size;
    cfg.learning_rate = f64::from(lr);
    cfg.entity_max_length = args.entity_max_length;
    cfg.model_max_length = args.model_max_length;
    cfg.seed = args.split.seed;
    cfg.threads = Some(args.threads.max(1));
    cfg.window_group = args.window_group;
    let device = if args.use_gpu {
        "cuda"
    } else {
        args.device.as_str()
    };
    cfg.device = jner_torch::spanmarker::parse_device(device)?;
    let out = run.root().to_path_buf();
    let report = jner_torch::spanmarker::train(&split.train, &split.eval, &cfg, run, meta)?;
    eprintln!(
        "best epoch {:?} (micro F1 {:?}); models in {}: best/, final/; metrics.jsonl",
        report.best_epoch,
        report.best_f1,
        out.display()
    );
    Ok(())
}

/// The numeric arguments, each checked by name (NaN and infinities included).
fn check_numbers(args: &TrainArgs, epochs: usize, lr: f32) -> Result<()> {
    anyhow::ensure!(epochs > 0, "--epochs must be at least 1");
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(
        lr.is_finite() && lr > 0.0,
        "--lr must be a positive number, got {lr}"
    );
    anyhow::ensure!(
        args.dropout.is_finite() && (0.0..1.0).contains(&args.dropout),
        "--dropout must be in [0, 1), got {}",
        args.dropout
    );
    let v = args.split.val_split;
    anyhow::ensure!(
        v.is_finite() && (0.0..1.0).contains(&v),
        "--val-split must be in [0, 1), got {v}"
    );
    anyhow::ensure!(
        (1..=MAX_THREADS).contains(&args.threads),
        "--threads must be between 1 and {MAX_THREADS}, got {}",
        args.threads
    );
    anyhow::ensure!(
        args.entity_max_length >= 1,
        "--entity-max-length must be at least 1"
    );
    anyhow::ensure!(
        args.model_max_length >= 8,
        "--model-max-length must be at least 8 tokens"
    );
    Ok(())
}

/// More worker threads than this is a typo, not a machine.
const MAX_THREADS: usize = 1024;

/// The readers' warnings (skipped brat lines, phrases not found), as `jner data stats` lists
/// them: the first few, and how to see all.
fn show_data_warnings(warnings: &[String]) {
    const SHOWN: usize = 5;
    for w in warnings.iter().take(SHOWN) {
        tracing::warn!("{w}");
    }
    if warnings.len() > SHOWN {
        tracing::warn!(
            "{} more data warnings; `jner data stats --all-warnings` with the same data flags lists them all",
            warnings.len() - SHOWN
        );
    }
}
