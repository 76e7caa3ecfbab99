//! `jner train`: the same data preparation for every backend (load, split by document,
//! oversample the training part, write the split), then the backend's training loop.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use jner_corpus::split::Split;
use jner_corpus::{fingerprint, jsonl};
use serde_json::json;

use super::data::{make_split, write_split};
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
    let out: PathBuf = args
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(dir));
    anyhow::ensure!(epochs > 0, "--epochs must be at least 1");
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(
        (0.0..1.0).contains(&args.dropout),
        "--dropout must be in [0, 1)"
    );

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
    let (split, corpus_fp, source) = match (&args.train_jsonl, &args.eval_jsonl) {
        (Some(t), Some(e)) => {
            let s = Split {
                train: jsonl::read_jsonl(t)?,
                eval: jsonl::read_jsonl(e)?,
            };
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            jsonl::write_jsonl(&out.join("train.jsonl"), &s.train)?;
            jsonl::write_jsonl(&out.join("eval.jsonl"), &s.eval)?;
            let mut all = s.train.clone();
            all.extend(s.eval.iter().cloned());
            (
                s,
                fingerprint(&all),
                json!({"train_jsonl": t, "eval_jsonl": e}),
            )
        }
        _ => {
            let corpus = args.data.load()?;
            let fp = fingerprint(&corpus.documents);
            let (s, added) = make_split(&corpus.documents, &args.split);
            write_split(&out, &s, &args.split, added, &fp)?;
            (
                s,
                fp,
                json!({"demo": args.data.demo, "data_dir": args.data.data_dir, "corona": args.data.corona, "csv": args.data.csv, "no_maccrobat": args.data.no_maccrobat, "no_corona": args.data.no_corona, "no_csv": args.data.no_csv}),
            )
        }
    };
    anyhow::ensure!(!split.train.is_empty(), "no training documents");
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
        "train_args": {"epochs": epochs, "batch_size": args.batch_size, "lr": lr, "dropout": args.dropout, "seed": args.split.seed, "threads": args.threads, "model": args.model},
        "jner_version": env!("CARGO_PKG_VERSION"),
    });

    #[cfg(feature = "torch")]
    if args.backend == Backend::Spanmarker {
        return train_spanmarker(&args, &split, &out, epochs, lr, meta);
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
    let report = jner_cnn::train(&split.train, &split.eval, &cfg, &out, meta)?;
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
    out: &std::path::Path,
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
    let report = jner_torch::spanmarker::train(&split.train, &split.eval, &cfg, out, meta)?;
    eprintln!(
        "best epoch {:?} (micro F1 {:?}); models in {}: best/, final/; metrics.jsonl",
        report.best_epoch,
        report.best_f1,
        out.display()
    );
    Ok(())
}
