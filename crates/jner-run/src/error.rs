use std::path::{Path, PathBuf};

/// Errors of the file layer; each names the path it is about.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The path is fine to read but its content or state is not what it must be.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl RunError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        RunError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub fn invalid(path: &Path, message: impl Into<String>) -> Self {
        RunError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, RunError>;
