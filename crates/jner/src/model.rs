//! Loading a model folder as a [`Recognizer`], whatever its backend: `jner.json` says which;
//! a folder a backend's Python library saved is recognised by that backend.

use std::path::Path;

use anyhow::{bail, Context, Result};
use jner_corpus::Recognizer;

use crate::backends;

/// [`load_recognizer_with`] with the weight files verified.
pub fn load_recognizer(dir: &Path) -> Result<Box<dyn Recognizer>> {
    load_recognizer_with(dir, true)
}

/// Loads a model folder; with `verify`, every weight file `jner.json` records a sha256 for is
/// checked against it first (a damaged or swapped file is an error, not a model that labels
/// every token).
pub fn load_recognizer_with(dir: &Path, verify: bool) -> Result<Box<dyn Recognizer>> {
    load_named(dir, verify).map(|(_, r)| r)
}

/// [`load_recognizer_with`], also naming the backend that loaded it.
pub fn load_named(dir: &Path, verify: bool) -> Result<(&'static str, Box<dyn Recognizer>)> {
    let meta = dir.join("jner.json");
    if !meta.is_file() {
        for b in backends::ALL {
            if let Some(r) = (b.foreign)(dir)? {
                return Ok((b.name, r));
            }
        }
    }
    let raw = std::fs::read_to_string(&meta).with_context(|| {
        format!(
            "{} is not a jner model folder (no readable jner.json); pass e.g. spacy_model/best",
            dir.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&raw).with_context(|| format!("{}: invalid JSON", meta.display()))?;
    if verify {
        let n = jner_run::digest::verify_dir(dir, &v)?;
        if n == 0 {
            tracing::warn!(
                "{}: no sha256 recorded (a model from an older jner); its weights are not verified",
                meta.display()
            );
        }
    }
    let name = v.get("backend").and_then(|b| b.as_str()).unwrap_or("");
    let Some(b) = backends::by_name(name) else {
        bail!("{}: unknown backend {name:?}", meta.display());
    };
    if !b.available {
        return Err(b
            .unavailable()
            .context(format!("{}: a {} model", dir.display(), b.name)));
    }
    Ok((b.name, (b.load)(dir)?))
}
