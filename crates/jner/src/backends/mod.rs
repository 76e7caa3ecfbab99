//! The backends, listed once. Each entry says how to train one, how to load its model
//! folders (and checkpoints its Python library saved), and its defaults; `train`, `eval`,
//! `predict` (and later `serve`) only go through this table. A new backend is a module here
//! and one line in [`ALL`].

use std::path::Path;

use anyhow::Result;
use jner_corpus::split::Split;
use jner_corpus::Recognizer;
use serde_json::Value;

use crate::cli::TrainArgs;

mod cnn;
pub use cnn::apply_overrides as cnn_overrides;
mod gliner;
mod spanmarker;

/// Every backend, the default first.
pub const ALL: &[&Backend] = &[&cnn::BACKEND, &spanmarker::BACKEND, &gliner::BACKEND];

/// A loaded model.
pub type Loaded = Box<dyn Recognizer>;

/// What `train` resolved from the arguments and the backend's defaults.
pub struct TrainPlan<'a> {
    pub args: &'a TrainArgs,
    pub split: &'a Split,
    pub epochs: usize,
    pub lr: f32,
    /// What goes into the run's identity and the model's `jner.json`.
    pub meta: Value,
}

/// One backend.
pub struct Backend {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// Built into this binary (the libtorch backends need the `torch` feature).
    pub available: bool,
    /// The spec's defaults: epochs, learning rate, output folder.
    pub epochs: usize,
    pub lr: f32,
    pub output_dir: &'static str,
    /// Checks the backend's own arguments (`--model`, …) before anything is written.
    pub check: fn(&TrainArgs) -> Result<()>,
    /// Trains through the run folder.
    pub train: fn(TrainPlan, jner_run::PendingRun) -> Result<()>,
    /// Loads one of its model folders (`jner.json` names the backend) onto a device (`cpu`,
    /// `cuda`, `cuda:N`).
    pub load: fn(&Path, &str) -> Result<Box<dyn Recognizer>>,
    /// A folder its Python library saved, without `jner.json` (a hub id resolved when the
    /// backend can download), loaded onto a device, or `None`.
    pub foreign: fn(&Path, &str) -> Result<Option<Loaded>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Backend {
    /// The error for a backend this build lacks.
    pub fn unavailable(&self) -> anyhow::Error {
        let built: Vec<&str> = ALL.iter().filter(|b| b.available).map(|b| b.name).collect();
        anyhow::anyhow!(
            "the {} backend needs libtorch and this jner was built without it (backends built in: {}). Build with: eval \"$(scripts/libtorch.sh)\" && cargo build --release -p jner --features torch",
            self.name,
            built.join(", ")
        )
    }
}

/// `--backend` parser: a name or alias.
pub fn parse(s: &str) -> std::result::Result<&'static Backend, String> {
    ALL.iter()
        .copied()
        .find(|b| b.name == s || b.aliases.contains(&s))
        .ok_or_else(|| {
            let names: Vec<String> = ALL
                .iter()
                .map(|b| {
                    if b.aliases.is_empty() {
                        b.name.to_string()
                    } else {
                        format!("{} (alias {})", b.name, b.aliases.join(", "))
                    }
                })
                .collect();
            format!("unknown backend `{s}`; backends: {}", names.join(", "))
        })
}

/// `check` of a backend without `--set` overrides.
pub fn no_overrides(args: &TrainArgs) -> Result<()> {
    if let Some(first) = args.set.first() {
        anyhow::bail!(
            "--set {first}: the {} backend takes no --set overrides (only cnn does); use its own flags",
            args.backend.name
        );
    }
    if let Some(d) = &args.init {
        anyhow::bail!(
            "--init {}: a pretrained cnn encoder; the {} backend starts from --model",
            d.display(),
            args.backend.name
        );
    }
    Ok(())
}

/// The backend a model folder's `jner.json` names.
pub fn by_name(name: &str) -> Option<&'static Backend> {
    ALL.iter().copied().find(|b| b.name == name)
}
