//! Loading a model folder as a [`Recognizer`], whatever its backend: `jner.json` says which;
//! a folder a backend's Python library saved is recognised by that backend. Thresholds that
//! `jner eval --calibrate` stored apply to its predictions ([`calibrated`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use jner_corpus::Recognizer;

use crate::{backends, calibrated};

/// Loads a model folder; with `verify`, every weight file `jner.json` records a sha256 for is
/// checked against it first (a damaged or swapped file is an error, not a model that labels
/// every token).
pub fn load_recognizer_with(dir: &Path, verify: bool) -> Result<Box<dyn Recognizer>> {
    load_named(dir, verify).map(|(_, r)| r)
}

/// [`load_recognizer_with`], also naming the backend that loaded it.
pub fn load_named(dir: &Path, verify: bool) -> Result<(&'static str, Box<dyn Recognizer>)> {
    load_named_on(dir, verify, "cpu")
}

/// [`load_named`] onto a device: `cpu`, `cuda` or `cuda:N` (the libtorch backends; a cnn
/// model runs on the CPU only).
pub fn load_named_on(
    dir: &Path,
    verify: bool,
    device: &str,
) -> Result<(&'static str, Box<dyn Recognizer>)> {
    let (name, rec, thresholds) = load_raw_on(dir, verify, device)?;
    if thresholds.is_empty() {
        return Ok((name, rec));
    }
    Ok((
        name,
        Box::new(calibrated::Calibrated {
            inner: rec,
            thresholds,
        }),
    ))
}

/// A backend's name, its model, and the thresholds the folder records (not applied).
pub type Raw = (&'static str, Box<dyn Recognizer>, BTreeMap<String, f32>);

/// The model as its backend loads it, and the thresholds its folder records.
pub fn load_raw(dir: &Path, verify: bool) -> Result<Raw> {
    load_raw_on(dir, verify, "cpu")
}

/// [`load_raw`] onto a device.
pub fn load_raw_on(dir: &Path, verify: bool, device: &str) -> Result<Raw> {
    let meta = dir.join("jner.json");
    if !meta.is_file() {
        for b in backends::ALL {
            if let Some(r) = (b.foreign)(dir, device)? {
                return Ok((b.name, r, BTreeMap::new()));
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
    let thresholds = calibrated::read(&v, &meta)?;
    Ok((b.name, (b.load)(dir, device)?, thresholds))
}
