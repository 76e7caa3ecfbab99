//! `jner train`: the same data preparation for every backend (load, split by document,
//! oversample the training part, write the split), then the backend's training loop.

use std::path::PathBuf;

use anyhow::Result;
use jner_corpus::split::Split;
use jner_corpus::{fingerprint, jsonl};
use serde_json::json;

use jner_run::{RunDir, RunMode};

use super::data::{make_split, split_files, split_summary};
use crate::backends::TrainPlan;
use crate::cli::TrainArgs;

pub fn train(args: TrainArgs) -> Result<()> {
    train_with(args, None)
}

/// Makes the teacher's documents (`jner distill`) once the split and the student's labels are
/// known.
pub type SilverFn<'a> = dyn Fn(&Split, &[String]) -> Result<super::distill::Silver> + 'a;

/// [`train`], with the teacher's documents added to the training part when `silver` is given.
pub fn train_with(args: TrainArgs, silver: Option<&SilverFn>) -> Result<()> {
    let backend = args.backend;
    validate(&args)?;
    let (epochs, lr) = (backend.epochs, backend.lr);
    let epochs = args.epochs.unwrap_or(epochs);
    let lr = args.lr.unwrap_or(lr);
    let out = run_folder(&args);
    let mode = match (&args.resume, args.overwrite) {
        (Some(_), _) => RunMode::Resume,
        (None, true) => RunMode::Overwrite,
        (None, false) => RunMode::New,
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
    let mut split = split;
    if let Some(keep) = &args.labels {
        anyhow::ensure!(
            keep.iter().all(|l| !l.trim().is_empty()),
            "--labels {keep:?}: empty label name"
        );
        // a withheld label is neither learned nor scored in this run's evaluation
        for d in split.train.iter_mut().chain(split.eval.iter_mut()) {
            d.spans.retain(|s| keep.contains(&s.label));
        }
        anyhow::ensure!(
            split.train.iter().any(|d| !d.spans.is_empty()),
            "--labels {keep:?}: no training span has one of these labels"
        );
    }
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
    let mut files = files;
    let distill = match silver {
        None => None,
        Some(make) => {
            let labels: std::collections::BTreeSet<&str> = split
                .train
                .iter()
                .flat_map(|d| d.spans.iter().map(|s| s.label.as_str()))
                .collect();
            let labels: Vec<String> = labels.into_iter().map(str::to_string).collect();
            let s = make(&split, &labels)?;
            files.push(("silver.jsonl", jsonl::jsonl_bytes(&s.docs).into_bytes()));
            split.train.extend(s.docs.iter().cloned());
            Some(serde_json::to_value(&s)?)
        }
    };
    let meta = json!({
        "backend": backend.name,
        "distill": distill,
        "corpus_fingerprint": corpus_fp,
        "data": source,
        "split": {"mode": args.split.split_mode, "seed": args.split.seed, "val_split": args.split.val_split, "minor_oversample": args.split.minor_oversample},
        "train_args": {"epochs": epochs, "batch_size": args.batch_size, "lr": lr, "lr_others": args.lr_others, "loss_alpha": args.loss_alpha, "loss_gamma": args.loss_gamma, "labels": args.labels, "dropout": args.dropout, "seed": args.split.seed, "threads": args.threads, "model": args.model, "entity_max_length": args.entity_max_length, "model_max_length": args.model_max_length, "window_group": args.window_group, "set": args.set, "init": args.init},
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

    (backend.train)(
        TrainPlan {
            args: &args,
            split: &split,
            epochs,
            lr,
            meta,
        },
        run,
    )
}

/// The run folder `train` writes: `--resume DIR`, else `--output-dir`, else the backend's
/// default (`spacy_model`, ...).
pub fn run_folder(args: &TrainArgs) -> PathBuf {
    match (&args.resume, &args.output_dir) {
        (Some(d), _) | (None, Some(d)) => d.clone(),
        (None, None) => PathBuf::from(args.backend.output_dir),
    }
}

/// The checks `train` makes before anything is written: the backend is built in, the numbers
/// are in range, the backend's own arguments (the base model, `--set`) are valid.
pub fn validate(args: &TrainArgs) -> Result<()> {
    let b = args.backend;
    if !b.available {
        return Err(b.unavailable());
    }
    check_numbers(
        args,
        args.epochs.unwrap_or(b.epochs),
        args.lr.unwrap_or(b.lr),
    )?;
    (b.check)(args)
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
