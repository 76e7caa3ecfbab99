//! Errors of the scorer: each names the file and line, or the document, at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of a JSONL file is malformed, lacks a field, or does not fit the other file.
    /// `line` counts from 1.
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// `score_documents` was given a different number of prediction lists than documents.
    #[error(
        "{gold} gold documents but {pred} prediction lists; \
         pass one (possibly empty) list of entities per document, in the same order"
    )]
    LengthMismatch { gold: usize, pred: usize },
    /// A gold span's byte offsets cannot be turned into character offsets.
    #[error("document {id}: gold span {start}..{end} ({label}): {reason}")]
    GoldSpan {
        id: String,
        start: usize,
        end: usize,
        label: String,
        reason: String,
    },
}

impl EvalError {
    pub(crate) fn line(path: &std::path::Path, line: usize, message: impl Into<String>) -> Self {
        EvalError::Line {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}
