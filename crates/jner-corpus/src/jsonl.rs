//! JSONL import and export of documents: one `{"id","source","text","spans":[{"start","end",
//! "label"}]}` per line, offsets in Unicode characters. Files are written to a temporary
//! path and renamed, so an interrupted write never leaves half a file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::read_utf8;
use crate::offsets::CharIndex;
use crate::{CorpusError, Document, Result, Span};

#[derive(Serialize, Deserialize)]
struct JsonSpan {
    start: usize,
    end: usize,
    label: String,
}

#[derive(Serialize, Deserialize)]
struct JsonDoc {
    id: String,
    #[serde(default = "imported")]
    source: String,
    text: String,
    #[serde(default)]
    spans: Vec<JsonSpan>,
}

fn imported() -> String {
    "imported".into()
}

/// One document as a JSON line (character offsets).
pub fn to_json_line(d: &Document) -> String {
    let ix = CharIndex::new(&d.text);
    let spans = d
        .spans
        .iter()
        .map(|s| JsonSpan {
            start: ix.to_char(s.start).unwrap_or(0),
            end: ix.to_char(s.end).unwrap_or(0),
            label: s.label.clone(),
        })
        .collect();
    let j = JsonDoc {
        id: d.id.clone(),
        source: d.source.clone(),
        text: d.text.clone(),
        spans,
    };
    serde_json::to_string(&j).expect("documents always serialise")
}

/// Writes `content` to `path` through a unique temporary file in the same folder, fsynced
/// and renamed ([`jner_run::atomic`]).
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    Ok(jner_run::atomic::write_file(path, content)?)
}

/// Writes documents as JSONL.
pub fn write_jsonl(path: &Path, docs: &[Document]) -> Result<()> {
    write_atomic(path, jsonl_bytes(docs).as_bytes())
}

/// Why a label is refused, if it is.
fn check_label(label: &str, known_only: bool) -> std::result::Result<(), String> {
    use crate::labels::ALL;
    if label.trim().is_empty() {
        return Err("empty label".into());
    }
    if ALL.contains(&label) {
        return Ok(());
    }
    if let Some(k) = ALL.iter().find(|k| k.eq_ignore_ascii_case(label.trim())) {
        return Err(format!(
            "label {label:?}: labels are case-sensitive, did you mean {k:?}?"
        ));
    }
    if known_only {
        return Err(format!(
            "unknown label {label:?} (jner's labels: {}; --allow-new-labels trains on others too)",
            ALL.join(", ")
        ));
    }
    Ok(())
}

/// Documents as JSONL text, in memory.
pub fn jsonl_bytes(docs: &[Document]) -> String {
    let mut out = String::new();
    for d in docs {
        out.push_str(&to_json_line(d));
        out.push('\n');
    }
    out
}

/// Reads documents from JSONL (blank lines skipped); errors name the file, line and field.
/// An empty label, or one of jner's labels in another case (`minorchild`), is an error.
pub fn read_jsonl(path: &Path) -> Result<Vec<Document>> {
    read_jsonl_with(path, false)
}

/// [`read_jsonl`], and with `known_only` every label must be one of [`crate::labels::ALL`].
pub fn read_jsonl_with(path: &Path, known_only: bool) -> Result<Vec<Document>> {
    let raw = read_utf8(path)?;
    parse_jsonl(&raw, path, known_only)
}

/// Parses JSONL documents; `path` only names the source in errors.
pub fn parse_jsonl(raw: &str, path: &Path, known_only: bool) -> Result<Vec<Document>> {
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    let mut out = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (n, line) in raw.lines().enumerate() {
        let n = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let j: JsonDoc = serde_json::from_str(line)
            .map_err(|e| CorpusError::line(path, n, format!("not a document line: {e}")))?;
        if !ids.insert(j.id.clone()) {
            return Err(CorpusError::line(
                path,
                n,
                format!("id {:?} appears twice", j.id),
            ));
        }
        let ix = CharIndex::new(&j.text);
        let mut d = Document::new(j.id, j.source, j.text);
        for (k, s) in j.spans.into_iter().enumerate() {
            let (Some(bs), Some(be)) = (ix.to_byte(s.start), ix.to_byte(s.end)) else {
                return Err(CorpusError::line(
                    path,
                    n,
                    format!(
                        "spans[{k}]: offsets {}-{} past the end of the text ({} characters)",
                        s.start,
                        s.end,
                        ix.char_len()
                    ),
                ));
            };
            if bs >= be {
                return Err(CorpusError::line(
                    path,
                    n,
                    format!("spans[{k}]: empty or reversed span {}-{}", s.start, s.end),
                ));
            }
            check_label(&s.label, known_only)
                .map_err(|m| CorpusError::line(path, n, format!("spans[{k}]: {m}")))?;
            d.spans.push(Span::new(bs, be, s.label));
        }
        d.sort_spans();
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_non_ascii() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/docs.jsonl");
        let mut d = Document::new("x/1", "demo", "Fièvre – fever at 38.5°C");
        let s = d.text.find("fever").unwrap();
        d.spans.push(Span::new(s, s + 5, "MedicalCondition"));
        write_jsonl(&p, std::slice::from_ref(&d)).unwrap();
        let line = std::fs::read_to_string(&p).unwrap();
        assert!(line.contains("\"start\":9,\"end\":14"), "{line}");
        assert_eq!(read_jsonl(&p).unwrap(), vec![d]);
        assert!(!dir.path().join("a/docs.jsonl.tmp").exists());
    }

    #[test]
    fn errors_name_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.jsonl");
        std::fs::write(&p, "{\"id\":\"a\",\"text\":\"abc\"}\n\n{\"id\":\"b\",\"text\":\"abc\",\"spans\":[{\"start\":1,\"end\":9,\"label\":\"X\"}]}\n").unwrap();
        let e = read_jsonl(&p).unwrap_err().to_string();
        assert!(e.contains("bad.jsonl:3:") && e.contains("spans[0]"), "{e}");
        std::fs::write(&p, "{\"id\":\"a\"}\n").unwrap();
        let e = read_jsonl(&p).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("text"), "{e}");
        std::fs::write(&p, b"{\"id\":\"a\",\"text\":\"\xff\"}\n").unwrap();
        assert!(read_jsonl(&p).unwrap_err().to_string().contains("UTF-8"));
    }
}
