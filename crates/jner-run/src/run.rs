//! The training run folder: one run per folder, written only through this module.
//!
//! Layout (every backend):
//! ```text
//! run.json                the run's identity (arguments, data fingerprint, base model) and state
//! .jner-run.lock          held (advisory lock) while a process writes the run
//! train.jsonl eval.jsonl  the split (and whatever else the command writes with write_file)
//! metrics.jsonl           one line per finished epoch, rewritten atomically each epoch
//! checkpoint-epoch-N/     the model after epoch N (+ resume state, when kept)
//! best/ final/            the best epoch by eval F1; the last epoch
//! ```
//! Rules: [`RunDir::check`] decides, before anything is written, whether the folder may be
//! used ([`RunMode::New`]: missing or empty; [`RunMode::Overwrite`]: cleared first, but only
//! if it holds a jner run; [`RunMode::Resume`]: a run with the same identity). Every file and
//! model folder is written atomically ([`crate::atomic`]). Temp entries of dead runs are
//! removed when the folder is opened.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::atomic::{self, clean_stale, remove_entry, temp_owner};
use crate::{Result, RunError};

pub const RUN_FILE: &str = "run.json";
pub const LOCK_FILE: &str = ".jner-run.lock";
pub const METRICS_FILE: &str = "metrics.jsonl";
const CHECKPOINT: &str = "checkpoint-epoch-";

/// How `train` may use its output folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// The folder must be missing or empty.
    New,
    /// A folder holding a jner run is cleared, then used as new.
    Overwrite,
    /// Continue the run in the folder from its last complete checkpoint.
    Resume,
}

/// Entries that say a folder holds a jner training run (or an older jner's, which wrote no
/// `run.json`).
const RUN_MARKERS: &[&str] = &[
    RUN_FILE,
    METRICS_FILE,
    "train_report.json",
    "split.json",
    "best",
    "final",
];

/// What [`RunDir::check`] found.
#[derive(Debug)]
pub struct RunPlan {
    root: PathBuf,
    mode: RunMode,
    /// For a resume: the stored identity and the last complete checkpoint's epoch.
    resume_from: Option<usize>,
}

impl RunPlan {
    /// The epoch a resumed run continues after (`None` for a new run).
    pub fn resume_from(&self) -> Option<usize> {
        self.resume_from
    }

    /// The run to open once the backend has validated and loaded everything it needs.
    pub fn pending(self, identity: Value) -> PendingRun {
        PendingRun {
            plan: self,
            identity,
            files: Vec::new(),
        }
    }
}

/// A checked run folder, not yet written: the CLI checks arguments and data and makes the
/// plan; the backend validates its own inputs (base model, vectors), then calls
/// [`PendingRun::open`], which writes the first byte. A failure before that leaves the folder
/// as it was.
#[derive(Debug)]
pub struct PendingRun {
    plan: RunPlan,
    identity: Value,
    files: Vec<(String, Vec<u8>)>,
}

impl PendingRun {
    /// A new run in `root` (missing or empty), with no identity to check: for library users
    /// and tests.
    pub fn new_run(root: &Path) -> Result<PendingRun> {
        Ok(RunDir::check(root, RunMode::New, &Value::Null)?.pending(Value::Null))
    }

    /// A file written (atomically) right after the folder is opened.
    pub fn with_file(mut self, name: &str, bytes: Vec<u8>) -> Self {
        self.files.push((name.to_string(), bytes));
        self
    }

    pub fn root(&self) -> &Path {
        &self.plan.root
    }

    /// The epoch a resumed run continues after (`None` for a new run).
    pub fn resume_from(&self) -> Option<usize> {
        self.plan.resume_from
    }

    /// The checkpoint folder of an epoch.
    pub fn checkpoint_dir(&self, epoch: usize) -> PathBuf {
        self.plan.root.join(format!("{CHECKPOINT}{epoch}"))
    }

    /// Opens the run folder ([`RunDir::open`]) and writes the pending files.
    pub fn open(self) -> Result<RunDir> {
        let run = RunDir::open(self.plan, self.identity)?;
        for (name, bytes) in &self.files {
            run.write_file(name, bytes)?;
        }
        Ok(run)
    }
}

/// An open run folder (locked for this process).
#[derive(Debug)]
pub struct RunDir {
    root: PathBuf,
    _lock: File,
    identity: Value,
    metrics: Vec<Value>,
    resume_from: Option<usize>,
}

fn entries(root: &Path) -> Result<Vec<String>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(root).map_err(|e| RunError::io(root, e))? {
        let e = e.map_err(|e| RunError::io(root, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == LOCK_FILE || temp_owner(&name).is_some() {
            continue;
        }
        v.push(name);
    }
    v.sort();
    Ok(v)
}

/// The epochs of the complete `checkpoint-epoch-N/` folders (complete: renamed into place,
/// which happens only once every file in them is written), ascending.
pub fn checkpoints(root: &Path) -> Result<Vec<usize>> {
    let mut v: Vec<usize> = entries(root)?
        .iter()
        .filter_map(|n| n.strip_prefix(CHECKPOINT)?.parse().ok())
        .filter(|&n: &usize| root.join(format!("{CHECKPOINT}{n}")).is_dir())
        .collect();
    v.sort_unstable();
    Ok(v)
}

fn read_json(p: &Path) -> Result<Value> {
    let t = std::fs::read_to_string(p).map_err(|e| RunError::io(p, e))?;
    serde_json::from_str(&t).map_err(|e| RunError::invalid(p, format!("not valid JSON: {e}")))
}

/// The keys whose values differ between two identities (dotted paths), for the resume check.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                differences(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &p,
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{at}: was {a}, now {b}")),
        _ => {}
    }
}

impl RunDir {
    /// Checks whether `root` may hold this run, writing nothing. For a resume, `identity` must
    /// equal the stored one.
    pub fn check(root: &Path, mode: RunMode, identity: &Value) -> Result<RunPlan> {
        let meta = match std::fs::symlink_metadata(root) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(RunError::io(root, e)),
        };
        if let Some(m) = &meta {
            let is_dir = m.is_dir() || (m.is_symlink() && root.is_dir());
            if !is_dir {
                return Err(RunError::invalid(
                    root,
                    "the output folder is an existing file, not a folder",
                ));
            }
        }
        let found = if meta.is_some() {
            entries(root)?
        } else {
            Vec::new()
        };
        let is_run = found
            .iter()
            .any(|n| RUN_MARKERS.contains(&n.as_str()) || n.starts_with(CHECKPOINT));
        let plan = |resume_from| RunPlan {
            root: root.to_path_buf(),
            mode,
            resume_from,
        };
        match mode {
            RunMode::New if found.is_empty() => Ok(plan(None)),
            RunMode::New => {
                let what = if is_run {
                    "holds another training run"
                } else {
                    "is not empty"
                };
                let shown: Vec<&str> = found.iter().take(5).map(String::as_str).collect();
                Err(RunError::invalid(
                    root,
                    format!(
                        "the output folder {what} ({}{}); pass --overwrite to clear it and train anew, --resume {} to continue that run, or choose another --output-dir",
                        shown.join(", "),
                        if found.len() > 5 { ", ..." } else { "" },
                        root.display()
                    ),
                ))
            }
            RunMode::Overwrite if found.is_empty() || is_run => Ok(plan(None)),
            RunMode::Overwrite => Err(RunError::invalid(
                root,
                format!(
                    "--overwrite clears only jner run folders, and this one holds other files ({}); choose another --output-dir",
                    found.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            RunMode::Resume => {
                let run_file = root.join(RUN_FILE);
                if !run_file.is_file() {
                    return Err(RunError::invalid(
                        root,
                        "--resume: no run.json here, so this is not a run that can be resumed (runs of jner before 0.1 kept no resume state)",
                    ));
                }
                let stored = read_json(&run_file)?;
                let mut diff = Vec::new();
                differences(
                    stored.get("identity").unwrap_or(&Value::Null),
                    identity,
                    "",
                    &mut diff,
                );
                if !diff.is_empty() {
                    return Err(RunError::invalid(
                        &run_file,
                        format!(
                            "--resume: this run was started with other arguments or data: {}; resume with the same arguments, or --overwrite to start anew",
                            diff.join("; ")
                        ),
                    ));
                }
                let last = checkpoints(root)?.into_iter().last();
                Ok(plan(Some(last.unwrap_or(0))))
            }
        }
    }

    /// Opens a checked folder: creates it, takes the lock, removes dead runs' temp entries,
    /// clears it for an overwrite, and records the identity in `run.json`.
    pub fn open(plan: RunPlan, identity: Value) -> Result<RunDir> {
        let root = plan.root;
        std::fs::create_dir_all(&root).map_err(|e| RunError::io(&root, e))?;
        let lock_path = root.join(LOCK_FILE);
        // a link planted at the lock's name is removed, never opened
        if std::fs::symlink_metadata(&lock_path).is_ok_and(|m| !m.is_file()) {
            remove_entry(&lock_path);
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| RunError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(RunError::invalid(
                    &root,
                    "another jner process is writing a run in this folder right now",
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(RunError::io(&lock_path, e)),
        }
        let removed = clean_stale(&root);
        if !removed.is_empty() {
            tracing_free_note(&format!(
                "{}: removed temporary entries of interrupted runs: {}",
                root.display(),
                removed.join(", ")
            ));
        }
        let mut metrics = Vec::new();
        match plan.mode {
            RunMode::New => {
                // re-checked under the lock: another process may have written meanwhile
                let found = entries(&root)?;
                if !found.is_empty() {
                    return Err(RunError::invalid(
                        &root,
                        "the output folder was written to by another process since it was checked",
                    ));
                }
            }
            RunMode::Overwrite => {
                for name in entries(&root)? {
                    remove_entry(&root.join(name));
                }
            }
            RunMode::Resume => {
                let last = plan.resume_from.unwrap_or(0);
                metrics = read_metrics(&root.join(METRICS_FILE))?
                    .into_iter()
                    .filter(|m| m.get("epoch").and_then(Value::as_u64).unwrap_or(0) <= last as u64)
                    .collect();
                // epochs after the last complete checkpoint are done again
                for n in checkpoints(&root)? {
                    if n > last {
                        remove_entry(&root.join(format!("{CHECKPOINT}{n}")));
                    }
                }
            }
        }
        let run = RunDir {
            root,
            _lock: lock,
            identity,
            metrics,
            resume_from: plan.resume_from,
        };
        run.write_state("running")?;
        if run.resume_from.is_some() {
            run.write_metrics()?;
        }
        Ok(run)
    }

    /// A new run in `root` (missing or empty), for library users and tests.
    pub fn create(root: &Path, identity: Value) -> Result<RunDir> {
        let plan = RunDir::check(root, RunMode::New, &identity)?;
        RunDir::open(plan, identity)
    }

    fn write_state(&self, status: &str) -> Result<()> {
        let v = json!({
            "identity": self.identity,
            "status": status,
            "epochs_done": self.metrics.len(),
        });
        self.write_json(RUN_FILE, &v)
    }

    fn write_metrics(&self) -> Result<()> {
        let mut s = String::new();
        for m in &self.metrics {
            s.push_str(&m.to_string());
            s.push('\n');
        }
        self.write_file(METRICS_FILE, s.as_bytes())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The epoch this run continues after, when resumed (0: resumed with no checkpoint yet).
    pub fn resume_from(&self) -> Option<usize> {
        self.resume_from
    }

    /// The checkpoint folder of an epoch.
    pub fn checkpoint_dir(&self, epoch: usize) -> PathBuf {
        self.root.join(format!("{CHECKPOINT}{epoch}"))
    }

    /// Records kept so far (on a resume: those up to the checkpoint resumed from).
    pub fn metrics(&self) -> &[Value] {
        &self.metrics
    }

    /// Writes a file of the run atomically.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        atomic::write_file(&self.root.join(name), bytes)
    }

    pub fn write_json(&self, name: &str, v: &Value) -> Result<()> {
        let p = self.root.join(name);
        let s =
            serde_json::to_string_pretty(v).map_err(|e| RunError::invalid(&p, e.to_string()))?;
        self.write_file(name, s.as_bytes())
    }

    /// Writes a model folder of the run (`best`, `final`, `checkpoint-epoch-N`) atomically.
    pub fn save_model<E: From<RunError>>(
        &self,
        name: &str,
        fill: impl FnOnce(&Path) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        atomic::write_dir(&self.root.join(name), fill)
    }

    /// Adds one finished epoch's record (it must have an `"epoch"` field).
    pub fn record_epoch(&mut self, line: Value) -> Result<()> {
        self.metrics.push(line);
        self.write_metrics()?;
        self.write_state("running")
    }

    /// Marks the run complete.
    pub fn finish(&self) -> Result<()> {
        self.write_state("complete")
    }
}

fn read_metrics(p: &Path) -> Result<Vec<Value>> {
    let t = match std::fs::read_to_string(p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RunError::io(p, e)),
    };
    t.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| RunError::invalid(p, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// A note on stderr (this crate has no logger of its own).
fn tracing_free_note(s: &str) {
    eprintln!("note: {s}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seed: u64) -> Value {
        json!({"backend": "cnn", "train_args": {"seed": seed, "epochs": 3}})
    }

    #[test]
    fn second_run_in_one_folder_is_refused_with_the_ways_out() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("m");
        let mut r = RunDir::create(&root, id(1)).unwrap();
        r.record_epoch(json!({"epoch": 1})).unwrap();
        r.save_model::<RunError>("best", |t| {
            std::fs::write(t.join("x"), b"1").unwrap();
            Ok(())
        })
        .unwrap();
        drop(r);
        let e = RunDir::check(&root, RunMode::New, &id(2))
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds another training run"), "{e}");
        assert!(e.contains("--overwrite") && e.contains("--resume"), "{e}");
        // overwrite clears it
        let plan = RunDir::check(&root, RunMode::Overwrite, &id(2)).unwrap();
        let r = RunDir::open(plan, id(2)).unwrap();
        assert!(!root.join("best").exists());
        assert!(r.metrics().is_empty());
    }

    #[test]
    fn overwrite_never_clears_a_folder_that_is_not_a_run() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("thesis.tex"), b"years of work").unwrap();
        let e = RunDir::check(d.path(), RunMode::Overwrite, &id(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("thesis.tex"), "{e}");
        assert!(d.path().join("thesis.tex").exists());
    }

    #[test]
    fn output_folder_that_is_a_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        let e = RunDir::check(&f, RunMode::New, &id(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is an existing file"), "{e}");
    }

    #[test]
    fn two_processes_never_write_one_run() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("m");
        let _a = RunDir::create(&root, id(1)).unwrap();
        // a second open of the same folder (as a second process would) sees the lock
        let plan = RunPlan {
            root: root.clone(),
            mode: RunMode::Overwrite,
            resume_from: None,
        };
        let e = RunDir::open(plan, id(1)).unwrap_err().to_string();
        assert!(e.contains("another jner process"), "{e}");
    }

    #[test]
    fn resume_checks_identity_and_drops_epochs_after_last_checkpoint() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("m");
        let mut r = RunDir::create(&root, id(1)).unwrap();
        for epoch in 1..=3 {
            r.record_epoch(json!({"epoch": epoch})).unwrap();
            if epoch < 3 {
                r.save_model::<RunError>(&format!("checkpoint-epoch-{epoch}"), |_| Ok(()))
                    .unwrap();
            }
        }
        drop(r);
        let e = RunDir::check(&root, RunMode::Resume, &id(7))
            .unwrap_err()
            .to_string();
        assert!(e.contains("train_args.seed: was 1, now 7"), "{e}");
        let plan = RunDir::check(&root, RunMode::Resume, &id(1)).unwrap();
        assert_eq!(plan.resume_from(), Some(2));
        let r = RunDir::open(plan, id(1)).unwrap();
        assert_eq!(r.metrics().len(), 2);
        let text = std::fs::read_to_string(root.join(METRICS_FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn planted_link_at_the_lock_is_not_opened() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let root = d.path().join("m");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&victim, root.join(LOCK_FILE)).unwrap();
        let _r = RunDir::create(&root, id(1)).unwrap();
        assert!(!std::fs::symlink_metadata(root.join(LOCK_FILE))
            .unwrap()
            .is_symlink());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn resume_of_a_folder_without_run_json_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let e = RunDir::check(d.path(), RunMode::Resume, &id(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no run.json"), "{e}");
    }
}
