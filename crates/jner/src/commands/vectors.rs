//! `jner vectors`: static word vectors trained on raw text (skip-gram), for the cnn backend's
//! `--model FILE`. Writes the vectors (word2vec text format) and, beside them, `FILE.json`
//! with the settings, the vocabulary size and each epoch's loss; both atomically.

use anyhow::Result;
use jner_cnn::skipgram::{train_vectors, SkipGramConfig};
use serde_json::json;

use crate::cli::VectorsArgs;

pub fn vectors(args: &VectorsArgs) -> Result<()> {
    let cfg = SkipGramConfig {
        dim: args.dim,
        window: args.window,
        negative: args.negative,
        min_count: args.min_count,
        epochs: args.epochs,
        lr: args.lr,
        sample: args.sample,
        seed: args.seed,
    };
    cfg.validate()?;
    let sidecar = {
        let mut s = args.output.clone().into_os_string();
        s.push(".json");
        std::path::PathBuf::from(s)
    };
    let texts = super::texts::read_texts(&args.input)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let words: usize = refs.iter().map(|t| t.split_whitespace().count()).sum();
    eprintln!(
        "training {}-dimensional vectors on {} texts ({words} words), {} epochs",
        cfg.dim,
        refs.len(),
        cfg.epochs
    );
    let mut epochs = Vec::new();
    let v = train_vectors(&refs, &cfg, |e| {
        eprintln!(
            "epoch {}: loss {:.4} over {} pairs, {:.1}s",
            e.epoch, e.loss, e.pairs, e.seconds
        );
        epochs.push(e.clone());
    })?;
    let report = json!({
        "config": cfg,
        "inputs": args.input,
        "texts": refs.len(),
        "words": words,
        "vocabulary": v.len(),
        "epochs": epochs,
        "jner_version": env!("CARGO_PKG_VERSION"),
    });
    jner_run::atomic::write_file(&args.output, &v.to_text())?;
    jner_run::atomic::write_file(&sidecar, &serde_json::to_vec_pretty(&report)?)?;
    eprintln!(
        "{} words × {} dims in {} (settings in {})",
        v.len(),
        v.dim,
        args.output.display(),
        sidecar.display()
    );
    Ok(())
}
