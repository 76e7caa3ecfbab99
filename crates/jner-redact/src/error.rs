use thiserror::Error;

/// Why a redaction, a restore or a key could not be made. Messages never quote the text.
#[derive(Debug, Error)]
pub enum Error {
    /// An entity whose offsets do not fit the text (index into the entity list).
    #[error("entity {index}: offsets {start}..{end} do not fit a text of {len} characters")]
    Span {
        index: usize,
        start: usize,
        end: usize,
        len: usize,
    },
    /// `hash` or `encrypt` asked for, and no key was configured.
    #[error("the {operator} operator needs a key (jner serve/redact --key-file FILE)")]
    NoKey { operator: &'static str },
    #[error("key: {0}")]
    Key(String),
    /// A list entry that does not compile or names nothing (`field` is e.g. `allow[2].regex`).
    #[error("{field}: {reason}")]
    Pattern { field: String, reason: String },
    /// An operator specification that does not parse (`--operator LABEL=SPEC`).
    #[error("operator {spec:?}: {reason}")]
    Operator { spec: String, reason: String },
    /// A restore item that does not match the text, or a token that does not decrypt.
    #[error("item {index}: {reason}")]
    Restore { index: usize, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
