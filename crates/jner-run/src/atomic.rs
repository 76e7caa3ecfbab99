//! Atomic writes: a unique temporary entry created exclusively beside the target, fsynced,
//! then renamed over it.
//!
//! The temporary name is `.{target}.jner-tmp-{pid}-{n}`: `{pid}` lets [`clean_stale`] tell
//! the leftovers of a dead process from those of a live one, `{n}` (a per-process counter and
//! the clock) keeps two writers of one process apart. Files are created with `create_new`
//! (`O_CREAT | O_EXCL`), folders with `create_dir`: both fail on any existing entry, a
//! symbolic link included, so a link planted under a temp name is never followed (the next
//! name is tried). The final `rename` replaces a link at the target itself, never its
//! destination.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Result, RunError};

const TMP: &str = ".jner-tmp-";
const OLD: &str = ".jner-old-";
/// Names tried before giving up (each collision is a planted entry or a concurrent writer).
const TRIES: usize = 64;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| RunError::invalid(path, "not a file name (ends in `..` or `/`)"))
}

/// A fresh sibling name for `path` with `kind` (`TMP` or `OLD`).
fn sibling(path: &Path, kind: &str) -> Result<PathBuf> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Ok(folder_of(path).join(format!(
        ".{}{kind}{}-{n}{nanos:x}",
        file_name(path)?,
        std::process::id()
    )))
}

/// Flushes a folder's entry list to disk (after a rename into it). Best effort: some file
/// systems refuse to open folders for syncing.
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// A file being written under a temporary name; [`AtomicFile::commit`] renames it over the
/// target. Dropped without a commit, the temporary file is removed and the target untouched.
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file (and the target's folder when missing).
    pub fn create(target: &Path) -> Result<Self> {
        let dir = folder_of(target);
        std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
        for _ in 0..TRIES {
            let tmp = sibling(target, TMP)?;
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => {
                    return Ok(AtomicFile {
                        target: target.to_path_buf(),
                        tmp,
                        out: Some(BufWriter::new(f)),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(RunError::io(&tmp, e)),
            }
        }
        Err(RunError::invalid(
            target,
            format!("could not create a temporary file beside it in {TRIES} tries"),
        ))
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, fsyncs and renames the file over the target.
    pub fn commit(mut self) -> Result<()> {
        let out = self.out.take().expect("committed once");
        let f = out
            .into_inner()
            .map_err(|e| RunError::io(&self.tmp, e.into_error()))?;
        f.sync_all().map_err(|e| RunError::io(&self.tmp, e))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| RunError::io(&self.target, e))?;
        sync_dir(folder_of(&self.target));
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_file(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.write_all(bytes).map_err(|e| RunError::io(&f.tmp, e))?;
    f.commit()
}

/// Writes a folder atomically: `fill` writes the folder's files into a fresh, exclusively
/// created temporary folder beside `dir`; every file is then fsynced and the folder renamed
/// over `dir` (an existing `dir` is moved aside first and removed once the new one is in
/// place). When `fill` fails, the temporary folder is removed and `dir` is untouched.
pub fn write_dir<E: From<RunError>>(
    dir: &Path,
    fill: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let parent = folder_of(dir);
    std::fs::create_dir_all(parent).map_err(|e| RunError::io(parent, e))?;
    let mut tmp = None;
    for _ in 0..TRIES {
        let t = sibling(dir, TMP)?;
        match std::fs::create_dir(&t) {
            Ok(()) => {
                tmp = Some(t);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(RunError::io(&t, e).into()),
        }
    }
    let tmp =
        tmp.ok_or_else(|| RunError::invalid(dir, "could not create a temporary folder beside it"))?;
    let guard = RemoveOnDrop(Some(tmp.clone()));
    fill(&tmp)?;
    sync_tree(&tmp)?;
    let old = match std::fs::symlink_metadata(dir) {
        Ok(_) => {
            let old = sibling(dir, OLD)?;
            std::fs::rename(dir, &old).map_err(|e| RunError::io(dir, e))?;
            Some(old)
        }
        Err(_) => None,
    };
    if let Err(e) = std::fs::rename(&tmp, dir) {
        // put the previous version back
        if let Some(old) = &old {
            let _ = std::fs::rename(old, dir);
        }
        return Err(RunError::io(dir, e).into());
    }
    std::mem::forget(guard);
    sync_dir(parent);
    if let Some(old) = old {
        remove_entry(&old);
    }
    Ok(())
}

struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            remove_entry(&p);
        }
    }
}

/// fsyncs every regular file under `dir` (links are not followed) and the folders.
fn sync_tree(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| RunError::io(dir, e))? {
        let e = e.map_err(|e| RunError::io(dir, e))?;
        let p = e.path();
        let t = e.file_type().map_err(|e| RunError::io(&p, e))?;
        if t.is_dir() {
            sync_tree(&p)?;
        } else if t.is_file() {
            File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(|e| RunError::io(&p, e))?;
        }
    }
    sync_dir(dir);
    Ok(())
}

/// Removes a file, a link (never its destination) or a folder tree.
pub fn remove_entry(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

/// The process id in a temporary or moved-aside name this module (or jner before it) made:
/// `.{name}.jner-tmp-{pid}-…`, `.{name}.jner-old-{pid}-…`, and the older `.{name}.tmp-{pid}`
/// and `.{name}.old-{pid}`.
pub fn temp_owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    for marker in [TMP, OLD] {
        if let Some(i) = name.rfind(marker) {
            let rest = &name[i + marker.len()..];
            let pid = rest.split('-').next()?;
            return pid.parse().ok();
        }
    }
    for marker in [".tmp-", ".old-"] {
        if let Some(i) = name.rfind(marker) {
            let pid = &name[i + marker.len()..];
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                return pid.parse().ok();
            }
        }
    }
    None
}

/// Whether a process with this id runs now. Where that cannot be known (no `/proc`), every
/// process is taken to be alive, so nothing is removed.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes the temporary and moved-aside entries of dead processes in `dir`; returns their
/// names.
pub fn clean_stale(dir: &Path) -> Vec<String> {
    let mut removed = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return removed;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = temp_owner(&name) {
            if !alive(pid) {
                remove_entry(&e.path());
                removed.push(name);
            }
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_file_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        write_file(&p, b"one").unwrap();
        write_file(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(names(d.path()), ["a.json"]);
    }

    #[test]
    fn dropped_atomic_file_leaves_target_untouched() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        std::fs::write(&p, b"precious").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"precious");
        assert_eq!(names(d.path()), ["out.jsonl"]);
    }

    #[cfg(unix)]
    #[test]
    fn planted_link_at_a_temp_name_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim.txt");
        std::fs::write(&victim, b"keep").unwrap();
        let out = d.path().join("o");
        std::fs::create_dir(&out).unwrap();
        // plant links at the names the next writes would use if they were guessable
        for n in 0..8 {
            let guess = out.join(format!(".split.json{TMP}{}-{n}", std::process::id()));
            std::os::unix::fs::symlink(&victim, guess).unwrap();
        }
        std::os::unix::fs::symlink(&victim, out.join("split.json.tmp")).unwrap();
        write_file(&out.join("split.json"), b"{}").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(out.join("split.json")).unwrap(), b"{}");
    }

    #[cfg(unix)]
    #[test]
    fn link_at_the_target_is_replaced_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim.txt");
        std::fs::write(&victim, b"keep").unwrap();
        let p = d.path().join("train.jsonl");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write_file(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(&p).unwrap().is_symlink());
    }

    #[test]
    fn write_dir_replaces_whole_folder_or_nothing() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("best");
        write_dir::<RunError>(&m, |t| {
            std::fs::write(t.join("a"), b"1").unwrap();
            std::fs::write(t.join("stale"), b"x").unwrap();
            Ok(())
        })
        .unwrap();
        write_dir::<RunError>(&m, |t| {
            std::fs::write(t.join("a"), b"2").unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(names(&m), ["a"]);
        assert_eq!(std::fs::read(m.join("a")).unwrap(), b"2");
        let e = write_dir::<RunError>(&m, |t| {
            std::fs::write(t.join("a"), b"3").unwrap();
            Err(RunError::invalid(t, "failed half-way"))
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read(m.join("a")).unwrap(), b"2");
        assert_eq!(names(d.path()), ["best"]);
    }

    #[test]
    fn temp_owner_reads_all_name_forms() {
        assert_eq!(temp_owner(".best.jner-tmp-123-4abc"), Some(123));
        assert_eq!(temp_owner(".best.jner-old-77-0"), Some(77));
        assert_eq!(temp_owner(".best.tmp-4242"), Some(4242));
        assert_eq!(temp_owner(".final.old-9"), Some(9));
        assert_eq!(temp_owner("best"), None);
        assert_eq!(temp_owner(".best.tmp-x"), None);
        assert_eq!(temp_owner("x.tmp-12"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn interrupted_runs_temp_folders_are_cleaned() {
        let d = tempfile::tempdir().unwrap();
        // a pid above the kernel's maximum (4194304) is never alive
        std::fs::create_dir(d.path().join(".best.tmp-99999999")).unwrap();
        std::fs::create_dir(d.path().join(".final.jner-tmp-99999998-1")).unwrap();
        let mine = format!(".best.jner-tmp-{}-1", std::process::id());
        std::fs::create_dir(d.path().join(&mine)).unwrap();
        std::fs::create_dir(d.path().join("best")).unwrap();
        let removed = clean_stale(d.path());
        assert_eq!(
            removed,
            [".best.tmp-99999999", ".final.jner-tmp-99999998-1"]
        );
        let mut want = vec![mine, "best".to_string()];
        want.sort();
        assert_eq!(names(d.path()), want);
    }
}
