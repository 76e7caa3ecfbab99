//! Hugging Face model folders: `config.json`, weights (`model.safetensors` or
//! `pytorch_model.bin`) and `tokenizer.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tch::{nn, Kind, Tensor};
use tokenizers::Tokenizer;

use crate::{Result, TorchError};

/// Where a model name points: an existing folder is used as is; a hub id (`org/name`) is
/// looked up in the local Hugging Face cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`), as an offline `from_pretrained` would. Nothing is downloaded.
pub fn resolve_model_dir(name_or_path: &str) -> Result<PathBuf> {
    let p = PathBuf::from(name_or_path);
    if p.is_dir() {
        return Ok(p);
    }
    if let Some(dir) = hub_cache_snapshot(name_or_path) {
        return Ok(dir);
    }
    Err(TorchError::Missing {
        what: format!("model folder `{name_or_path}`"),
        path: p,
        hint: "Give the path of a folder with config.json, model.safetensors (or \
               pytorch_model.bin) and tokenizer.json, e.g. run scripts/fetch-minilm.sh and \
               pass models/all-MiniLM-L6-v2; hub ids are only found in the local Hugging \
               Face cache."
            .into(),
    })
}

/// The cache folder of the Hugging Face hub, following the Python library's variables.
pub fn hub_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("HF_HUB_CACHE") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("HF_HOME") {
        return Some(PathBuf::from(d).join("hub"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
}

/// `models--org--name/snapshots/<ref>` of a cached hub model (`org/name[@revision]`).
fn hub_cache_snapshot(id: &str) -> Option<PathBuf> {
    let (repo, revision) = id.split_once('@').unwrap_or((id, "main"));
    let (org, name) = repo.split_once('/')?;
    if org.is_empty() || name.is_empty() || name.contains('/') {
        return None;
    }
    let base = hub_cache_dir()?.join(format!("models--{org}--{name}"));
    let commit = std::fs::read_to_string(base.join("refs").join(revision))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| revision.to_string());
    let dir = base.join("snapshots").join(commit);
    dir.join("config.json").is_file().then_some(dir)
}

/// The weights file of a folder: `model.safetensors`, else `pytorch_model.bin`.
pub fn weights_file(dir: &Path) -> Result<PathBuf> {
    for name in ["model.safetensors", "pytorch_model.bin"] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(TorchError::Missing {
        what: "model.safetensors or pytorch_model.bin".into(),
        path: dir.to_path_buf(),
        hint: "The folder must hold the model weights.".into(),
    })
}

/// Reads all tensors of a weights file (safetensors, or PyTorch's zip pickle `.bin`), as f32
/// on the CPU.
pub fn read_weights(path: &Path) -> Result<HashMap<String, Tensor>> {
    let list = if path.extension().and_then(|e| e.to_str()) == Some("safetensors") {
        Tensor::read_safetensors(path)?
    } else {
        Tensor::loadz_multi(path)?
    };
    Ok(list
        .into_iter()
        .map(|(k, t)| {
            let t = if t.is_floating_point() {
                t.to_kind(Kind::Float)
            } else {
                t
            };
            (k, t)
        })
        .collect())
}

/// Names under which a checkpoint may store our variable `name` (relative to the encoder).
fn candidates(name: &str) -> Vec<String> {
    let mut out = vec![name.to_string(), format!("bert.{name}")];
    // Old TF-converted checkpoints call LayerNorm weights gamma/beta.
    if let Some(stem) = name.strip_suffix("LayerNorm.weight") {
        out.push(format!("{stem}LayerNorm.gamma"));
        out.push(format!("bert.{stem}LayerNorm.gamma"));
    }
    if let Some(stem) = name.strip_suffix("LayerNorm.bias") {
        out.push(format!("{stem}LayerNorm.beta"));
        out.push(format!("bert.{stem}LayerNorm.beta"));
    }
    out
}

/// What [`load_encoder_weights`] did.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: usize,
    /// Variables left as initialised (only the pooler is allowed to be missing).
    pub missing: Vec<String>,
    /// Embedding matrices that were larger than the checkpoint's (added tokens): the extra
    /// rows keep their initialisation.
    pub resized: Vec<String>,
}

/// Copies a checkpoint's encoder weights into the variables of `vs` whose names start with
/// `prefix` (e.g. `"encoder."`), accepting checkpoint names with or without a `bert.` prefix.
/// A missing weight is an error, except the pooler's.
pub fn load_encoder_weights(
    vs: &nn::VarStore,
    prefix: &str,
    weights: &HashMap<String, Tensor>,
) -> Result<LoadReport> {
    let mut report = LoadReport::default();
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().filter(|k| k.starts_with(prefix)).collect();
    names.sort();
    for full in names {
        let var = &vars[full];
        let rel = &full[prefix.len()..];
        let found = candidates(rel)
            .into_iter()
            .chain(std::iter::once(full.clone()))
            .find_map(|c| weights.get(&c));
        let Some(src) = found else {
            if rel.starts_with("pooler.") {
                report.missing.push(full.clone());
                continue;
            }
            return Err(TorchError::invalid(format!(
                "the checkpoint has no weight for `{rel}` (nor `bert.{rel}`); is it a BERT model?"
            )));
        };
        let (vsz, ssz) = (var.size(), src.size());
        tch::no_grad(|| -> Result<()> {
            let mut var = var.shallow_clone();
            if vsz == ssz {
                var.copy_(&src.to_device(var.device()));
            } else if vsz.len() == 2 && ssz.len() == 2 && vsz[1] == ssz[1] && vsz[0] > ssz[0] {
                // Added tokens: their rows keep the model's random init, as SpanMarker's
                // `resize_token_embeddings(..., mean_resizing=False)` does.
                let n = ssz[0];
                var.narrow(0, 0, n).copy_(&src.to_device(var.device()));
                report.resized.push(full.clone());
            } else {
                return Err(TorchError::invalid(format!(
                    "`{rel}` has shape {ssz:?} in the checkpoint but the model expects {vsz:?}"
                )));
            }
            Ok(())
        })?;
        report.loaded += 1;
    }
    Ok(report)
}

/// Loads `tokenizer.json` with its truncation and padding switched off (callers window and
/// pad themselves).
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    if !path.is_file() {
        return Err(TorchError::Missing {
            what: "tokenizer.json".into(),
            path: path.to_path_buf(),
            hint: "Only fast (tokenizer.json) tokenizers are supported; save one with \
                   transformers' AutoTokenizer(...).save_pretrained(folder)."
                .into(),
        });
    }
    let mut tok = Tokenizer::from_file(path).map_err(TorchError::tokenizer)?;
    tok.with_truncation(None).map_err(TorchError::tokenizer)?;
    tok.with_padding(None);
    Ok(tok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hub_ids_in_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("models--org--tiny");
        std::fs::create_dir_all(base.join("refs")).unwrap();
        std::fs::write(base.join("refs/main"), "abc123\n").unwrap();
        let snap = base.join("snapshots/abc123");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("config.json"), "{}").unwrap();
        // the only test that touches this variable
        std::env::set_var("HF_HUB_CACHE", tmp.path());
        assert_eq!(resolve_model_dir("org/tiny").unwrap(), snap);
        assert_eq!(resolve_model_dir("org/tiny@abc123").unwrap(), snap);
        let err = resolve_model_dir("org/absent").unwrap_err().to_string();
        assert!(err.contains("fetch-minilm.sh"), "{err}");
        // a folder path wins
        assert_eq!(
            resolve_model_dir(tmp.path().to_str().unwrap()).unwrap(),
            tmp.path()
        );
    }
}
