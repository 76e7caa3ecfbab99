//! Hugging Face model folders: `config.json`, weights (`model.safetensors` or
//! `pytorch_model.bin`) and `tokenizer.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tch::{nn, Kind, Tensor};
use tokenizers::Tokenizer;

use crate::{Result, TorchError};

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
    let mut names = vec![name.to_string()];
    // Old TF-converted checkpoints call LayerNorm weights gamma/beta.
    if let Some(stem) = name.strip_suffix("LayerNorm.weight") {
        names.push(format!("{stem}LayerNorm.gamma"));
    }
    if let Some(stem) = name.strip_suffix("LayerNorm.bias") {
        names.push(format!("{stem}LayerNorm.beta"));
    }
    let mut out = names.clone();
    for prefix in MODEL_PREFIXES {
        out.extend(names.iter().map(|n| format!("{prefix}{n}")));
    }
    out
}

/// Prefixes under which `*ForMaskedLM`/`*ForTokenClassification` checkpoints store the
/// encoder (XLM-R and CamemBERT use `roberta.` too).
const MODEL_PREFIXES: [&str; 3] = ["bert.", "roberta.", "deberta."];

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
                "the checkpoint has no weight for `{rel}` (nor `bert.{rel}`, `roberta.{rel}`); is it \
                 a BERT or RoBERTa model?"
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

/// The ids the tokenizer's post-processor puts before and after a text (`[CLS]`, `[SEP]`).
pub fn specials_around(tok: &Tokenizer) -> Result<(Vec<i64>, Vec<i64>)> {
    let enc = tok
        .encode(&["a"][..], true)
        .map_err(TorchError::tokenizer)?;
    let ids = enc.get_ids();
    let wids = enc.get_word_ids();
    let first = wids.iter().position(|w| w.is_some()).unwrap_or(ids.len());
    let last = wids
        .iter()
        .rposition(|w| w.is_some())
        .map_or(ids.len(), |p| p + 1);
    let to = |s: &[u32]| s.iter().map(|&i| i64::from(i)).collect();
    Ok((to(&ids[..first]), to(&ids[last..])))
}

/// Writes every variable of `vs` to a safetensors file, on the CPU whatever the device and
/// sorted by name (reproducible files).
pub fn write_vars(vs: &nn::VarStore, path: &Path) -> Result<()> {
    let mut named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (k, v.to_device(tch::Device::Cpu).contiguous()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::write_safetensors(&named, path)?;
    Ok(())
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
    let text = std::fs::read_to_string(path).map_err(|e| TorchError::io(path, e))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| TorchError::json(path, e))?;
    if let Some(pre) = json.get_mut("pre_tokenizer") {
        byte_level_prefix_space(pre);
    }
    let mut tok: Tokenizer = json
        .to_string()
        .parse()
        .map_err(|e| TorchError::Tokenizer(format!("{}: {e}", path.display())))?;
    tok.with_truncation(None).map_err(TorchError::tokenizer)?;
    tok.with_padding(None);
    Ok(tok)
}

/// Words are tokenized one by one (pre-split), and a byte-level BPE (RoBERTa, GPT-2) must see
/// each as preceded by a space, as `span_marker` loads tokenizers with
/// `add_prefix_space=True`; otherwise every word would get its sentence-initial pieces.
fn byte_level_prefix_space(pre: &mut serde_json::Value) {
    match pre.get("type").and_then(serde_json::Value::as_str) {
        Some("ByteLevel") => pre["add_prefix_space"] = serde_json::Value::Bool(true),
        Some("Sequence") => {
            if let Some(list) = pre
                .get_mut("pretokenizers")
                .and_then(serde_json::Value::as_array_mut)
            {
                list.iter_mut().for_each(byte_level_prefix_space);
            }
        }
        _ => {}
    }
}
