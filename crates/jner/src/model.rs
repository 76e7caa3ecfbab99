//! Loading a model folder as a [`Recognizer`], whatever its backend: `jner.json` says which.

use std::path::Path;

use anyhow::{bail, Context, Result};
use jner_corpus::Recognizer;

/// [`load_recognizer_with`] with the weight files verified.
pub fn load_recognizer(dir: &Path) -> Result<Box<dyn Recognizer>> {
    load_recognizer_with(dir, true)
}

/// Loads a model folder; with `verify`, every weight file `jner.json` records a sha256 for is
/// checked against it first (a damaged or swapped file is an error, not a model that labels
/// every token).
pub fn load_recognizer_with(dir: &Path, verify: bool) -> Result<Box<dyn Recognizer>> {
    let meta = dir.join("jner.json");
    if !meta.is_file() {
        if let Some(r) = load_span_marker_checkpoint(dir)? {
            return Ok(r);
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
    let backend = v.get("backend").and_then(|b| b.as_str()).unwrap_or("");
    match backend {
        "cnn" => Ok(Box::new(jner_cnn::CnnModel::load(dir)?)),
        #[cfg(feature = "torch")]
        "spanmarker" => Ok(jner_torch::load_recognizer(dir)?),
        #[cfg(not(feature = "torch"))]
        "spanmarker" => bail!(
            "{}: a spanmarker model; this jner was built without libtorch (build with --features torch, see the README)",
            dir.display()
        ),
        "gliner" => bail!("{}: a gliner model; this build of jner has no gliner backend yet", dir.display()),
        other => bail!("{}: unknown backend {other:?}", meta.display()),
    }
}

/// A checkpoint the Python `span_marker` library saved (a folder, or a hub id when built with
/// libtorch): `config.json` with `"model_type": "span-marker"` and no `jner.json`.
fn load_span_marker_checkpoint(path: &Path) -> Result<Option<Box<dyn Recognizer>>> {
    let is_span_marker = |dir: &Path| {
        std::fs::read_to_string(dir.join("config.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v.get("model_type").and_then(|m| m.as_str()) == Some("span-marker"))
    };
    #[cfg(feature = "torch")]
    {
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            match jner_torch::hub::parse_hub_id(&path.to_string_lossy()) {
                Some(_) => jner_torch::hub::resolve_model_dir(&path.to_string_lossy())?,
                None => return Ok(None),
            }
        };
        if is_span_marker(&dir) {
            return Ok(Some(jner_torch::load_recognizer(&dir)?));
        }
        Ok(None)
    }
    #[cfg(not(feature = "torch"))]
    {
        if path.is_dir() && is_span_marker(path) {
            bail!(
                "{}: a span_marker checkpoint; this jner was built without libtorch (build with --features torch, see the README)",
                path.display()
            );
        }
        Ok(None)
    }
}
