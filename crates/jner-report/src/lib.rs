//! The report of `jner compare`: what was measured ([`Comparison`], also `report.json`), and
//! how it is shown: `report.md`, a self-contained `report.html` (inline CSS and SVG, no
//! network, no script needed to read it) and the plots as SVG and PNG.
//!
//! The numbers come from the caller (`jner compare` trains and scores); this crate only
//! renders them, so every figure in the Markdown, the HTML and the plots is a field of the
//! JSON.

use std::collections::BTreeMap;
use std::path::Path;

use jner_eval::analysis::Analysis;
use jner_eval::calibrate::CurvePoint;
use jner_eval::stats::{FoldSummary, Interval, MeanSd, PairedTest};
use jner_eval::{Prf, Report};
use serde::{Deserialize, Serialize};

mod error;
mod html;
mod markdown;
mod plots;
mod tables;

pub use error::ReportError;
pub use plots::{svg_to_png, Plot};

/// Everything `jner compare` measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    /// The command line that produced it.
    pub command: String,
    pub jner_version: String,
    /// The data and the split.
    pub protocol: Protocol,
    pub backends: Vec<BackendResult>,
    /// Every pair of backends, on the pooled evaluation documents.
    pub paired: Vec<PairedRow>,
}

/// How the backends were trained and scored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Protocol {
    /// What the data flags loaded, e.g. `../shared/data (maccrobat, corona, reviews)`.
    pub data: String,
    /// Documents per source in the corpus.
    pub sources: BTreeMap<String, usize>,
    pub documents: usize,
    /// `Some(K)`: K document-level folds, each document evaluated once; `None`: one split.
    pub folds: Option<usize>,
    pub val_split: f64,
    pub seed: u64,
    /// Which model folder of each run is scored (`final`: never selected on the held-out part).
    pub checkpoint: String,
    /// Bootstrap resamples behind the intervals and the paired tests.
    pub bootstrap: usize,
    /// Evaluation documents were subsampled to this many per fold (the same for every backend).
    pub eval_docs: Option<usize>,
    /// Worker threads given to training and inference.
    pub threads: usize,
    pub machine: String,
    /// Anything else a reader must know to read the numbers.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One backend over all folds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackendResult {
    pub name: String,
    /// `--model-for`, if given.
    pub model: Option<String>,
    pub epochs: usize,
    /// Training documents were subsampled to this many per fold (`--train-docs`).
    pub train_docs: Option<usize>,
    /// Takes label names it was not trained on (`predict --labels`).
    pub zero_shot: bool,
    pub folds: Vec<FoldResult>,
    /// Mean ± sd of the fold scores (with one split: that split, sd 0).
    pub summary: FoldSummary,
    /// Every fold's evaluation documents scored together.
    pub pooled: Report,
    /// Bootstrap intervals over the pooled documents: `micro`, then each label.
    pub intervals: BTreeMap<String, Interval>,
    /// The pooled scores of each source's documents.
    pub per_source: BTreeMap<String, Prf>,
    /// Precision and recall as each label's confidence threshold rises (pooled), and the
    /// threshold that maximises F1.
    pub curves: BTreeMap<String, Curve>,
    pub analysis: Analysis,
}

/// One fold of one backend.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoldResult {
    pub fold: usize,
    pub train_docs: usize,
    pub eval_docs: usize,
    pub report: Report,
    /// Seconds in the training loop (sum of the epochs' `train_seconds`, evaluation excluded).
    pub train_seconds: f64,
    /// Wall time of the whole `jner train` process.
    pub train_wall_seconds: f64,
    /// Peak resident memory of the `jner train` process, when the OS reports it.
    pub train_peak_rss_bytes: Option<u64>,
    /// Peak resident memory of a `jner predict` process over the evaluation documents.
    #[serde(default)]
    pub infer_peak_rss_bytes: Option<u64>,
    /// Whitespace-separated words of the evaluation texts and the seconds `predict` took on
    /// them (model loading excluded).
    pub infer_words: usize,
    pub infer_seconds: f64,
    /// Bytes of the scored model folder.
    pub model_bytes: u64,
    /// Each epoch's training loss and held-out micro F1, from the run's `metrics.jsonl`.
    pub epochs: Vec<EpochPoint>,
}

/// One line of a run's `metrics.jsonl`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct EpochPoint {
    pub epoch: usize,
    pub loss: f64,
    pub f1: Option<f64>,
}

/// A label's precision-recall curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Curve {
    pub points: Vec<CurvePoint>,
    /// The point of highest F1.
    pub best: CurvePoint,
}

/// The paired bootstrap of two backends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PairedRow {
    pub a: String,
    pub b: String,
    /// `micro`, then each label either has.
    pub tests: BTreeMap<String, PairedTest>,
}

impl BackendResult {
    /// Mean ± sd over folds of a per-fold number.
    pub fn over_folds(&self, f: impl Fn(&FoldResult) -> f64) -> MeanSd {
        let v: Vec<f64> = self.folds.iter().map(f).collect();
        jner_eval::stats::mean_sd(&v)
    }

    /// Inference words per second, over all folds' evaluation texts.
    pub fn words_per_s(&self) -> f64 {
        let w: usize = self.folds.iter().map(|f| f.infer_words).sum();
        let s: f64 = self.folds.iter().map(|f| f.infer_seconds).sum();
        if s > 0.0 {
            w as f64 / s
        } else {
            0.0
        }
    }

    /// The highest peak memory of its training processes.
    pub fn peak_rss(&self) -> Option<u64> {
        self.folds
            .iter()
            .filter_map(|f| f.train_peak_rss_bytes)
            .max()
    }

    /// The highest peak memory of its `jner predict` processes.
    pub fn infer_peak_rss(&self) -> Option<u64> {
        self.folds
            .iter()
            .filter_map(|f| f.infer_peak_rss_bytes)
            .max()
    }

    /// The largest of its model folders.
    pub fn model_bytes(&self) -> u64 {
        self.folds.iter().map(|f| f.model_bytes).max().unwrap_or(0)
    }
}

impl Comparison {
    /// Every label scored by any backend, sorted.
    pub fn labels(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .backends
            .iter()
            .flat_map(|b| b.pooled.per_label.keys().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Every source of the evaluation documents, sorted.
    pub fn sources(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .backends
            .iter()
            .flat_map(|b| b.per_source.keys().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The report's plots.
    pub fn plots(&self) -> Result<Vec<Plot>, ReportError> {
        plots::all(self)
    }

    /// The Markdown report; plots are linked as `plots/NAME.svg`.
    pub fn to_markdown(&self, plots: &[Plot]) -> String {
        markdown::render(self, plots)
    }

    /// The self-contained HTML report, plots inline.
    pub fn to_html(&self, plots: &[Plot]) -> String {
        html::render(self, plots)
    }

    /// Writes `report.json`, `report.md`, `report.html` and `plots/` (SVG and PNG) into
    /// `dir`: everything is rendered first, then each file is written to a temporary file and
    /// renamed (the plots folder as a whole).
    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        let plots = self.plots()?;
        let mut png = Vec::with_capacity(plots.len());
        for p in &plots {
            png.push(
                svg_to_png(&p.svg).map_err(|e| ReportError::Plot(format!("{}: {e}", p.name)))?,
            );
        }
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| ReportError::Plot(format!("report.json: {e}")))?;
        let md = self.to_markdown(&plots);
        let html = self.to_html(&plots);
        jner_run::atomic::write_dir::<ReportError>(&dir.join("plots"), |d| {
            for (p, png) in plots.iter().zip(&png) {
                let svg = d.join(format!("{}.svg", p.name));
                std::fs::write(&svg, &p.svg).map_err(|e| ReportError::io(&svg, e))?;
                let f = d.join(format!("{}.png", p.name));
                std::fs::write(&f, png).map_err(|e| ReportError::io(&f, e))?;
            }
            Ok(())
        })?;
        for (name, text) in [
            ("report.json", json.as_str()),
            ("report.md", md.as_str()),
            ("report.html", html.as_str()),
        ] {
            jner_run::atomic::write_file(&dir.join(name), text.as_bytes())?;
        }
        Ok(())
    }
}

/// `0.8123` as `81.2`.
pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

/// A mean ± sd of a fraction, in percent.
pub(crate) fn pct_sd(m: &MeanSd) -> String {
    if m.n > 1 {
        format!("{} ± {}", pct(m.mean), pct(m.sd))
    } else {
        pct(m.mean)
    }
}

/// Bytes as MiB with one decimal.
pub(crate) fn mib(b: u64) -> String {
    format!("{:.1}", b as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests;
