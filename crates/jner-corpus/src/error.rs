//! Errors of the corpus crate: each names the file and the line or field at fault.

use std::path::PathBuf;

pub type Result<T, E = CorpusError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid UTF-8 (byte {offset}); save the file as UTF-8")]
    Utf8 { path: PathBuf, offset: usize },
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{what} not found at {path}. {hint}")]
    Missing {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

impl CorpusError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CorpusError::Io {
            path: path.into(),
            source,
        }
    }
    pub fn line(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        CorpusError::Line {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        CorpusError::File {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<jner_run::RunError> for CorpusError {
    fn from(e: jner_run::RunError) -> Self {
        match e {
            jner_run::RunError::Io { path, source } => CorpusError::Io { path, source },
            jner_run::RunError::Invalid { path, message } => CorpusError::File { path, message },
        }
    }
}

/// Read a file as UTF-8, with an error that names the file.
pub fn read_utf8(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| CorpusError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| CorpusError::Utf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}
