//! Errors of the cnn backend. Every error about a file names the file (and the line where
//! there is one); nothing in this crate panics on bad input.

use std::path::PathBuf;

/// Everything that can go wrong while training, saving, loading or predicting.
#[derive(Debug, thiserror::Error)]
pub enum CnnError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid data: {0}")]
    Data(String),
    #[error("evaluation failed: {0}")]
    Eval(String),
}

impl CnnError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CnnError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        CnnError::File {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<jner_run::RunError> for CnnError {
    fn from(e: jner_run::RunError) -> Self {
        match e {
            jner_run::RunError::Io { path, source } => CnnError::Io { path, source },
            jner_run::RunError::Invalid { path, message } => CnnError::File { path, message },
        }
    }
}

pub type Result<T, E = CnnError> = std::result::Result<T, E>;
