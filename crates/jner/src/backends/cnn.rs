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
    foreign: |_, _| Ok(None),
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
    vectors(args)?;
    config(args, BACKEND.epochs, BACKEND.lr).map(|_| ())
}

/// The run's configuration: the defaults, the common flags, then each `--set KEY=VALUE`.
fn config(args: &TrainArgs, epochs: usize, lr: f32) -> Result<jner_cnn::CnnConfig> {
    let cfg = jner_cnn::CnnConfig {
        epochs,
        batch_size: args.batch_size,
        dropout: args.dropout,
        seed: args.split.seed,
        learn_rate: lr,
        threads: args.threads.max(1),
        vectors: vectors(args)?,
        ..Default::default()
    };
    let cfg = match &args.init {
        None => cfg,
        Some(dir) => {
            let p = jner_cnn::pretrain::read_config(dir)?.cnn;
            jner_cnn::CnnConfig {
                width: p.width,
                rows: p.rows,
                n_hashes: p.n_hashes,
                maxout_pieces: p.maxout_pieces,
                depth: p.depth,
                window: p.window,
                attention_heads: p.attention_heads,
                attention_window: p.attention_window,
                vectors_width: p.vectors_width,
                init: Some(dir.clone()),
                ..cfg
            }
        }
    };
    let cfg = apply_overrides(cfg, &args.set)?;
    cfg.validate().map_err(|e| anyhow::anyhow!("--set: {e}"))?;
    Ok(cfg)
}

/// `KEY=VALUE` overrides on the config's JSON form: the key must be a field, the value JSON
/// of that field's type (a bare word is read as a string).
pub fn apply_overrides(cfg: jner_cnn::CnnConfig, sets: &[String]) -> Result<jner_cnn::CnnConfig> {
    if sets.is_empty() {
        return Ok(cfg);
    }
    let mut v = serde_json::to_value(&cfg)?;
    let fields = v.as_object_mut().expect("CnnConfig is a JSON object");
    for s in sets {
        let Some((key, raw)) = s.split_once('=') else {
            bail!("--set {s}: expected KEY=VALUE, e.g. --set window=2");
        };
        let key = key.trim();
        if !fields.contains_key(key) {
            let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
            known.sort_unstable();
            bail!(
                "--set {s}: the cnn backend has no setting `{key}`; settings: {}",
                known.join(", ")
            );
        }
        let value = serde_json::from_str(raw.trim())
            .unwrap_or_else(|_| serde_json::Value::String(raw.trim().to_string()));
        let old = fields.insert(key.to_string(), value).unwrap_or_default();
        let probe: Result<jner_cnn::CnnConfig, _> =
            serde_json::from_value(serde_json::Value::Object(fields.clone()));
        if let Err(e) = probe {
            bail!("--set {s}: {e} (the current value is {old})");
        }
    }
    Ok(serde_json::from_value(v)?)
}

fn train(plan: TrainPlan, run: jner_run::PendingRun) -> Result<()> {
    let args = plan.args;
    let out = run.root().to_path_buf();
    let cfg = config(args, plan.epochs, plan.lr)?;
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

fn load(dir: &Path, device: &str) -> Result<Box<dyn Recognizer>> {
    anyhow::ensure!(
        device == "cpu",
        "{}: a cnn model runs on the CPU only (device {device:?} asked for; use cpu)",
        dir.display()
    );
    Ok(Box::new(jner_cnn::CnnModel::load(dir)?))
}

#[cfg(test)]
mod tests {
    use super::apply_overrides;
    use jner_cnn::CnnConfig;

    fn set(v: &[&str]) -> anyhow::Result<CnnConfig> {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        apply_overrides(CnnConfig::default(), &v)
    }

    #[test]
    fn overrides_set_fields_by_name() {
        let c = set(&[
            "window=2",
            "depth = 4",
            "rows=[1,2,3,4]",
            "use_averages=false",
        ])
        .unwrap();
        assert_eq!(
            (c.window, c.depth, c.rows, c.use_averages),
            (2, 4, [1, 2, 3, 4], false)
        );
        assert_eq!(c.width, CnnConfig::default().width);
    }

    #[test]
    fn overrides_name_what_is_wrong() {
        let e = set(&["windw=2"]).unwrap_err().to_string();
        assert!(
            e.contains("no setting `windw`") && e.contains("window"),
            "{e}"
        );
        let e = set(&["window=two"]).unwrap_err().to_string();
        assert!(e.starts_with("--set window=two: invalid type"), "{e}");
        let e = set(&["window"]).unwrap_err().to_string();
        assert!(e.contains("expected KEY=VALUE"), "{e}");
    }
}
