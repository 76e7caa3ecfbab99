//! Finding a model given by name: a local folder, or a Hugging Face hub id (`org/name`, with
//! an optional `@revision`) that is taken from the local hub cache or, when online,
//! downloaded into it with `hf-hub`.
//!
//! The environment is read as the Python `huggingface_hub` reads it: the cache is
//! `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`; `HF_HUB_OFFLINE=1`
//! (or `TRANSFORMERS_OFFLINE=1`) forbids network access; `HF_ENDPOINT` changes the server;
//! `HF_TOKEN` (else the token file `huggingface-cli login` writes) authenticates gated models.

use std::path::{Path, PathBuf};

use crate::{Result, TorchError};

/// Files of a model folder: all of `REQUIRED`, and the first present of `WEIGHTS`.
const REQUIRED: [&str; 2] = ["config.json", "tokenizer.json"];
const WEIGHTS: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];
/// Fetched when the repository has them (SpanMarker copies them into its checkpoints).
const OPTIONAL: [&str; 3] = [
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
];

/// Where and how hub ids are resolved; [`HubSettings::from_env`] reads the usual variables.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// The hub cache (`models--org--name/{blobs,refs,snapshots}` folders).
    pub cache_dir: Option<PathBuf>,
    /// The server, e.g. a mirror; `None` is the public hub.
    pub endpoint: Option<String>,
    /// Never touch the network; only the cache is read.
    pub offline: bool,
    pub token: Option<String>,
    /// Show download progress bars.
    pub progress: bool,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl HubSettings {
    pub fn from_env() -> Self {
        let cache_dir = env_nonempty("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| env_nonempty("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
            });
        HubSettings {
            cache_dir,
            endpoint: env_nonempty("HF_ENDPOINT"),
            offline: env_flag("HF_HUB_OFFLINE") || env_flag("TRANSFORMERS_OFFLINE"),
            token: env_nonempty("HF_TOKEN"),
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }
}

/// A hub id split into repository and revision; `None` when `name` cannot be one.
pub fn parse_hub_id(name: &str) -> Option<(&str, &str)> {
    let (repo, revision) = name.split_once('@').unwrap_or((name, "main"));
    let (org, model) = repo.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (ok(org) && ok(model) && !revision.is_empty()).then_some((repo, revision))
}

/// Resolves a model name with the environment's settings; see [`resolve_model_dir_with`].
pub fn resolve_model_dir(name_or_path: &str) -> Result<PathBuf> {
    resolve_model_dir_with(name_or_path, &HubSettings::from_env())
}

/// An existing folder is used as is. A hub id is looked up in the cache; when some of its
/// files are missing there and `settings.offline` is false they are downloaded. The result
/// is a folder with config.json, tokenizer.json and the weights.
pub fn resolve_model_dir_with(name_or_path: &str, settings: &HubSettings) -> Result<PathBuf> {
    let p = PathBuf::from(name_or_path);
    if p.is_dir() {
        return Ok(p);
    }
    let Some((repo, revision)) = parse_hub_id(name_or_path) else {
        return Err(TorchError::Missing {
            what: format!("model folder `{name_or_path}`"),
            path: p,
            hint: "Give a folder with config.json, model.safetensors (or pytorch_model.bin) \
                   and tokenizer.json (scripts/fetch-minilm.sh puts all-MiniLM-L6-v2 into \
                   models/all-MiniLM-L6-v2), or a hub id such as \
                   sentence-transformers/all-MiniLM-L6-v2."
                .into(),
        });
    };
    let first = repo.split('/').next().unwrap_or_default();
    if Path::new(first).is_dir() {
        // `models/x` where `models/` is a local folder: a missing folder, not a hub id
        return Err(TorchError::Missing {
            what: format!("model folder `{name_or_path}`"),
            path: p,
            hint: "Run scripts/fetch-minilm.sh for models/all-MiniLM-L6-v2, or give another \
                   folder with config.json, the weights and tokenizer.json."
                .into(),
        });
    }
    if let Some(dir) = cached_snapshot(settings, repo, revision) {
        return Ok(dir);
    }
    if settings.offline {
        return Err(TorchError::Missing {
            what: format!("hub model `{name_or_path}` (offline mode)"),
            path: settings.cache_dir.clone().unwrap_or_default(),
            hint: "HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set and the model is not \
                   complete in the hub cache: unset it to download, or pass a local folder."
                .into(),
        });
    }
    download(settings, repo, revision).map_err(|e| {
        TorchError::invalid(format!(
            "could not fetch `{name_or_path}` from the hub ({e}). Offline? Pass a local \
             folder with config.json, the weights and tokenizer.json instead."
        ))
    })
}

/// `models--org--name/snapshots/<commit>` when it holds a complete model.
fn cached_snapshot(settings: &HubSettings, repo: &str, revision: &str) -> Option<PathBuf> {
    let base = settings
        .cache_dir
        .as_ref()?
        .join(format!("models--{}", repo.replace('/', "--")));
    let commit = std::fs::read_to_string(base.join("refs").join(revision))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| revision.to_string());
    let dir = base.join("snapshots").join(commit);
    is_complete(&dir).then_some(dir)
}

fn is_complete(dir: &Path) -> bool {
    REQUIRED.iter().all(|f| dir.join(f).is_file()) && WEIGHTS.iter().any(|f| dir.join(f).is_file())
}

fn download(
    settings: &HubSettings,
    repo: &str,
    revision: &str,
) -> std::result::Result<PathBuf, String> {
    use hf_hub::api::sync::ApiBuilder;
    let mut builder = match &settings.cache_dir {
        Some(dir) => ApiBuilder::from_cache(hf_hub::Cache::new(dir.clone())),
        None => ApiBuilder::new(),
    }
    .with_progress(settings.progress);
    if let Some(e) = &settings.endpoint {
        builder = builder.with_endpoint(e.trim_end_matches('/').to_string());
    }
    if settings.token.is_some() {
        builder = builder.with_token(settings.token.clone());
    }
    let api = builder.build().map_err(|e| e.to_string())?;
    let repo = api.repo(hf_hub::Repo::with_revision(
        repo.to_string(),
        hf_hub::RepoType::Model,
        revision.to_string(),
    ));
    let mut dir = None;
    for f in REQUIRED {
        let path = repo.get(f).map_err(|e| format!("{f}: {e}"))?;
        dir = path.parent().map(Path::to_path_buf);
    }
    let mut last_err = String::new();
    let mut have_weights = false;
    for f in WEIGHTS {
        match repo.get(f) {
            Ok(_) => {
                have_weights = true;
                break;
            }
            Err(e) => last_err = format!("{f}: {e}"),
        }
    }
    if !have_weights {
        return Err(format!(
            "no model.safetensors or pytorch_model.bin ({last_err})"
        ));
    }
    for f in OPTIONAL {
        let _ = repo.get(f); // absent in many repositories
    }
    let dir = dir.ok_or("the hub cache returned no folder")?;
    if !is_complete(&dir) {
        return Err(format!(
            "{}: files of different revisions; clear this model from the hub cache",
            dir.display()
        ));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline(cache: &Path) -> HubSettings {
        HubSettings {
            cache_dir: Some(cache.to_path_buf()),
            endpoint: None,
            offline: true,
            token: None,
            progress: false,
        }
    }

    #[test]
    fn parses_hub_ids() {
        assert_eq!(parse_hub_id("org/name"), Some(("org/name", "main")));
        assert_eq!(parse_hub_id("org/name@v1.0"), Some(("org/name", "v1.0")));
        assert_eq!(parse_hub_id("models/x/y"), None);
        assert_eq!(parse_hub_id("name"), None);
        assert_eq!(parse_hub_id("../x"), None);
        assert_eq!(parse_hub_id("org/name@"), None);
    }

    #[test]
    fn finds_complete_models_in_the_cache_offline() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("models--org--tiny");
        std::fs::create_dir_all(base.join("refs")).unwrap();
        std::fs::write(base.join("refs/main"), "abc123\n").unwrap();
        let snap = base.join("snapshots/abc123");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("config.json"), "{}").unwrap();
        let s = offline(tmp.path());
        // incomplete (no tokenizer, no weights): not found, and offline says so
        let err = resolve_model_dir_with("org/tiny", &s)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("offline mode") && err.contains("HF_HUB_OFFLINE"),
            "{err}"
        );
        std::fs::write(snap.join("tokenizer.json"), "{}").unwrap();
        std::fs::write(snap.join("pytorch_model.bin"), "").unwrap();
        assert_eq!(resolve_model_dir_with("org/tiny", &s).unwrap(), snap);
        assert_eq!(resolve_model_dir_with("org/tiny@abc123", &s).unwrap(), snap);
        let err = resolve_model_dir_with("org/absent", &s)
            .unwrap_err()
            .to_string();
        assert!(err.contains("org/absent"), "{err}");
        // a folder path wins; a path that is neither folder nor id names what to pass
        let folder = tmp.path().to_str().unwrap();
        assert_eq!(resolve_model_dir_with(folder, &s).unwrap(), tmp.path());
        let err = resolve_model_dir_with("no/such/folder", &s)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fetch-minilm.sh"), "{err}");
    }
}
