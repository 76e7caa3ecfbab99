//! File safety for everything jner writes, in one place.
//!
//! - [`atomic`]: a file or a folder is written under a unique temporary name created
//!   exclusively in the same folder (a planted link there makes the creation fail instead of
//!   being followed), fsynced, then renamed over the target: a reader sees the old version or
//!   the new one, never half of one. Temp entries left by dead processes are removed.
//! - [`digest`]: sha256 of weight files, recorded in a model folder's `jner.json` and checked
//!   at load.
//! - [`run`]: the training run folder. One run per folder (another run's folder is refused
//!   unless `--overwrite` or `--resume` says otherwise), a lock so two processes never write
//!   into one folder, the run's identity (`run.json`) against which `--resume` is checked, the
//!   per-epoch record (`metrics.jsonl`) and the model folders (`best/`, `final/`,
//!   `checkpoint-epoch-N/`). Every backend's training loop writes through it.

pub mod atomic;
pub mod digest;
mod error;
pub mod run;

pub use error::{Result, RunError};
pub use run::{PendingRun, RunDir, RunMode, RunPlan};
