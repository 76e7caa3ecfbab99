//! Anonymization of entities found in a text: the operators of `jner redact` and of
//! `POST /v1/redact` (`replace` with optional consistent numbering, `mask`, `remove`, `keep`,
//! keyed `hash`, reversible `encrypt`), one deterministic rule for overlapping entities, an
//! optional merge of adjacent ones, and per-request allow and deny lists.
//!
//! Offsets are Unicode characters everywhere, as in the rest of jner.

mod error;
pub mod keys;
pub mod lists;
pub mod operator;
pub mod redact;

pub use error::Error;
pub use keys::Keys;
pub use lists::{DenyPattern, Lists, Pattern};
pub use operator::{Operator, Policy};
pub use redact::{redact, restore, Item, Redacted};

#[cfg(test)]
mod props;
