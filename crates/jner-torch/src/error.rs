//! Errors of the libtorch backends; each tells what to do next where we can.

use std::path::PathBuf;

pub type Result<T, E = TorchError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    #[error("libtorch: {0}")]
    Tch(#[from] tch::TchError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("{what} not found at {path}. {hint}")]
    Missing {
        what: String,
        path: PathBuf,
        hint: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl From<jner_run::RunError> for TorchError {
    fn from(e: jner_run::RunError) -> Self {
        match e {
            jner_run::RunError::Io { path, source } => TorchError::Io { path, source },
            e @ jner_run::RunError::Invalid { .. } => TorchError::Invalid(e.to_string()),
        }
    }
}

impl TorchError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TorchError::Io {
            path: path.into(),
            source,
        }
    }
    pub fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        TorchError::Json {
            path: path.into(),
            source,
        }
    }
    pub fn tokenizer(e: impl std::fmt::Display) -> Self {
        TorchError::Tokenizer(e.to_string())
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        TorchError::Invalid(msg.into())
    }
}

/// Read and parse a JSON file, naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| TorchError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TorchError::json(path, e))
}

/// Write pretty JSON, naming the file in errors.
pub fn write_json<T: serde::Serialize>(path: &std::path::Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| TorchError::json(path, e))?;
    std::fs::write(path, text + "\n").map_err(|e| TorchError::io(path, e))
}
