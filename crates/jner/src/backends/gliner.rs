//! `gliner`: GLiNER's span model (libtorch): zero-shot labels, the library's checkpoints.

use std::path::{Path, PathBuf};

use anyhow::Result;
use jner_corpus::Recognizer;

use super::{Backend, TrainPlan};
#[cfg(feature = "torch")]
use crate::cli::TrainArgs;

pub const BACKEND: Backend = Backend {
    name: "gliner",
    aliases: &[],
    available: cfg!(feature = "torch"),
    epochs: 10,
    lr: 3e-5,
    output_dir: "gliner_finetuned",
    check: super::no_overrides,
    train,
    load,
    foreign,
};

/// The spec's default checkpoint.
#[cfg(feature = "torch")]
const DEFAULT_MODEL: &str = "EmergentMethods/gliner_medium_news-v2.1";

/// `--device`, or `cuda` with `--use-gpu`.
#[cfg(feature = "torch")]
pub fn device_arg(args: &TrainArgs) -> String {
    if args.use_gpu {
        "cuda".into()
    } else {
        args.device.clone()
    }
}

/// A folder as given, or (with libtorch) a hub id resolved to its local copy; `None` for a
/// path that is neither.
pub fn local_or_hub(path: &Path) -> Result<Option<PathBuf>> {
    if path.is_dir() {
        return Ok(Some(path.to_path_buf()));
    }
    #[cfg(feature = "torch")]
    {
        let s = path.to_string_lossy();
        if jner_torch::hub::parse_hub_id(&s).is_some() {
            return Ok(Some(jner_torch::hub::resolve_model_dir(&s)?));
        }
    }
    Ok(None)
}

#[cfg(feature = "torch")]
fn train(plan: TrainPlan, run: jner_run::PendingRun) -> Result<()> {
    let args: &TrainArgs = plan.args;
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| DEFAULT_MODEL.to_string());
    let mut cfg = jner_torch::gliner::GlinerTrainConfig::new(model);
    cfg.epochs = plan.epochs;
    cfg.batch_size = args.batch_size;
    cfg.lr = f64::from(plan.lr);
    if let Some(l) = args.lr_others {
        cfg.lr_others = f64::from(l);
    }
    cfg.seed = args.split.seed;
    cfg.threads = Some(args.threads.max(1));
    cfg.device = jner_torch::spanmarker::parse_device(&device_arg(args))?;
    anyhow::ensure!(
        args.loss_alpha.is_finite() && args.loss_alpha <= 1.0,
        "--loss-alpha must be at most 1 (negative: off), got {}",
        args.loss_alpha
    );
    anyhow::ensure!(
        args.loss_gamma.is_finite() && args.loss_gamma >= 0.0,
        "--loss-gamma must be 0 or more, got {}",
        args.loss_gamma
    );
    cfg.loss = jner_torch::gliner::net::LossOptions {
        alpha: args.loss_alpha,
        gamma: args.loss_gamma,
    };
    if let Some(l) = &args.labels {
        cfg.labels = Some(l.clone());
    }
    let out = run.root().to_path_buf();
    let report =
        jner_torch::gliner::train(&plan.split.train, &plan.split.eval, &cfg, run, plan.meta)?;
    eprintln!(
        "best epoch {:?} (micro F1 {:?}); {} training windows; {} gold spans longer than max_width skipped, {} widened to word boundaries; {:.1}s; models in {}: best/, final/, checkpoint-epoch-N/; metrics.jsonl",
        report.best_epoch,
        report.best_f1,
        report.train_windows,
        report.skipped_too_long,
        report.misaligned,
        report.seconds,
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
    Ok(Box::new(jner_torch::gliner::GlinerModel::load_on(
        dir, device,
    )?))
}

#[cfg(not(feature = "torch"))]
fn load(_: &Path, _: &str) -> Result<Box<dyn Recognizer>> {
    Err(BACKEND.unavailable())
}

/// A checkpoint the `gliner` library saved (`gliner_config.json`).
fn foreign(path: &Path, device: &str) -> Result<Option<Box<dyn Recognizer>>> {
    let Some(dir) = local_or_hub(path)? else {
        return Ok(None);
    };
    if !dir.join("gliner_config.json").is_file() {
        return Ok(None);
    }
    if !BACKEND.available {
        return Err(BACKEND
            .unavailable()
            .context(format!("{}: a gliner checkpoint", path.display())));
    }
    load(&dir, device).map(Some)
}
