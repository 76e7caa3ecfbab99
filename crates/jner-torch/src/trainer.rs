//! What the libtorch training loops share: the progress bar, the one line per epoch, and the
//! trainer state a checkpoint keeps beside the model and the optimizer (so a resumed run goes
//! on where the interrupted one stopped).

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::{Result, TorchError};

/// The trainer's state in a checkpoint folder (beside the model and `optimizer.safetensors`).
pub const STATE_FILE: &str = "trainer_state.json";

/// Threads and seeds for a run: libtorch's intra-op threads (`None` leaves its default), its
/// global generator (initial weights), and this thread's dropout stream.
pub fn begin(threads: Option<usize>, seed: u64) {
    if let Some(n) = threads {
        tch::set_num_threads(n as i32);
    }
    tch::manual_seed(seed as i64);
    crate::dropout::set_seed(seed);
}

/// The labels to train: those given, else those of the training documents, sorted; none is an
/// error.
pub fn labels(given: Option<&[String]>, train: &[jner_corpus::Document]) -> Result<Vec<String>> {
    let labels: Vec<String> = match given {
        Some(l) => l.to_vec(),
        None => train
            .iter()
            .flat_map(|d| d.spans.iter().map(|s| s.label.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    if labels.is_empty() {
        return Err(TorchError::invalid("the training documents have no spans"));
    }
    Ok(labels)
}

/// A bar over the run's optimizer steps on stderr, or a hidden one.
pub fn progress(total_steps: usize, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total_steps as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} steps (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// An epoch's summary line: above the bar, or plain on stderr when it is not a terminal.
pub fn say(pb: &ProgressBar, show: bool, line: String) {
    if !pb.is_hidden() {
        pb.println(line);
    } else if show {
        eprintln!("{line}");
    }
}

/// Appends an epoch's metrics to the run's `metrics.jsonl`.
pub fn record<T: serde::Serialize>(run: &mut jner_run::RunDir, m: &T) -> Result<()> {
    let v = serde_json::to_value(m).map_err(|e| TorchError::json(run.path("metrics.jsonl"), e))?;
    Ok(run.record_epoch(v)?)
}

/// Whether an epoch's evaluation beats the best so far (ties keep the earlier epoch); if so
/// it becomes the best.
pub fn improves(
    best_f1: &mut Option<f64>,
    best_epoch: &mut Option<usize>,
    eval: &jner_eval::Report,
    epoch: usize,
) -> bool {
    let f1 = eval.f1();
    if matches!(*best_f1, Some(b) if b >= f1) {
        return false;
    }
    *best_f1 = Some(f1);
    *best_epoch = Some(epoch);
    true
}

/// Where training stood after an epoch: optimizer steps taken, where the dropout stream is,
/// the best evaluation so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainerState {
    pub step: usize,
    pub dropout_calls: u64,
    pub best_f1: Option<f64>,
    pub best_epoch: Option<usize>,
}

impl TrainerState {
    /// The state now (the dropout stream of this thread).
    pub fn now(step: usize, best_f1: Option<f64>, best_epoch: Option<usize>) -> Self {
        TrainerState {
            step,
            dropout_calls: crate::dropout::state().1,
            best_f1,
            best_epoch,
        }
    }

    /// Writes `trainer_state.json` into a checkpoint folder (the best F1 also as its bits, so
    /// a resumed run compares exactly).
    pub fn write(&self, dir: &Path, epoch: usize) -> Result<()> {
        crate::error::write_json(
            &dir.join(STATE_FILE),
            &json!({
                "epoch": epoch,
                "step": self.step,
                "dropout_calls": self.dropout_calls,
                "best_f1": self.best_f1,
                "best_f1_bits": self.best_f1.map(|f| format!("{:016x}", f.to_bits())),
                "best_epoch": self.best_epoch,
            }),
        )
    }

    /// Reads a checkpoint's `trainer_state.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(STATE_FILE);
        let v: Value = crate::error::read_json(&path)?;
        let bad = |k: &str| TorchError::invalid(format!("{}: \"{k}\" missing", path.display()));
        Ok(TrainerState {
            step: v["step"].as_u64().ok_or_else(|| bad("step"))? as usize,
            dropout_calls: v["dropout_calls"]
                .as_u64()
                .ok_or_else(|| bad("dropout_calls"))?,
            best_f1: v["best_f1_bits"]
                .as_str()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .map(f64::from_bits),
            best_epoch: v["best_epoch"].as_u64().map(|e| e as usize),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let s = TrainerState {
            step: 41,
            dropout_calls: 7,
            best_f1: Some(0.1 + 0.2),
            best_epoch: Some(3),
        };
        s.write(dir.path(), 3).unwrap();
        assert_eq!(TrainerState::read(dir.path()).unwrap(), s);
        std::fs::write(dir.path().join(STATE_FILE), "{}").unwrap();
        let e = TrainerState::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("\"step\" missing"), "{e}");
    }
}
