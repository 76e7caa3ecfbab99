//! Raw text for `vectors` and `pretrain`: JSONL files (a `"text"` field per line, as
//! `jner data export` and the unlabeled reviews have) or plain text (one document a line).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The documents of every file, in order. A JSONL file is recognised by its extension
/// (`.jsonl`, `.ndjson`) or by a first non-empty line that starts with `{`; a JSONL line that
/// is not an object with a string `"text"` is an error naming the file and the line.
pub fn read_texts(paths: &[PathBuf]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in paths {
        read_one(p, &mut out)?;
    }
    Ok(out)
}

fn read_one(path: &Path, out: &mut Vec<String>) -> Result<()> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let raw = String::from_utf8(raw).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        anyhow::anyhow!("{}:{line}: not valid UTF-8", path.display())
    })?;
    let by_ext = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jsonl" | "ndjson"));
    let jsonl = by_ext
        || raw
            .lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_start().starts_with('{'));
    for (i, line) in raw.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if !jsonl {
            out.push(line.to_string());
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("{}:{}: malformed JSON: {e}", path.display(), i + 1))?;
        match v.get("text") {
            Some(serde_json::Value::String(t)) => out.push(t.clone()),
            Some(_) => bail!("{}:{}: \"text\" is not a string", path.display(), i + 1),
            None => bail!("{}:{}: no \"text\" field", path.display(), i + 1),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_and_plain_text() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.txt");
        std::fs::write(&a, "one line\n\n{not json at first}\n").unwrap();
        let b = d.path().join("b.data");
        std::fs::write(&b, "{\"text\": \"x\"}\n\n{\"id\": 1, \"text\": \"y\"}\n").unwrap();
        let t = read_texts(std::slice::from_ref(&b)).unwrap();
        assert_eq!(t, ["x", "y"]);
        // a plain file whose first line is not an object stays plain
        assert_eq!(
            read_texts(&[a]).unwrap(),
            ["one line", "{not json at first}"]
        );
        std::fs::write(&b, "{\"text\": \"x\"}\n{\"id\": 2}\n").unwrap();
        let e = read_texts(std::slice::from_ref(&b))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("b.data:2: no \"text\" field"), "{e}");
        std::fs::write(&b, "{\"text\": \"x\"}\n{\"text\": 3\n").unwrap();
        let e = read_texts(&[b]).unwrap_err().to_string();
        assert!(e.contains("b.data:2: malformed JSON"), "{e}");
    }
}
