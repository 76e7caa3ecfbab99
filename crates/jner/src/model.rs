//! Loading a model folder as a [`Recognizer`], whatever its backend: `jner.json` says which.

use std::path::Path;

use anyhow::{bail, Context, Result};
use jner_corpus::Recognizer;

pub fn load_recognizer(dir: &Path) -> Result<Box<dyn Recognizer>> {
    let meta = dir.join("jner.json");
    let raw = std::fs::read_to_string(&meta).with_context(|| {
        format!(
            "{} is not a jner model folder (no readable jner.json); pass e.g. spacy_model/best",
            dir.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&raw).with_context(|| format!("{}: invalid JSON", meta.display()))?;
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
