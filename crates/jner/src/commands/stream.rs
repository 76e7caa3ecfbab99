//! Documents streamed from text lines or JSONL in bounded chunks (constant memory for inputs
//! of any size), and outputs written atomically: shared by `predict`, `redact` and `restore`.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use jner_run::atomic::AtomicFile;
use serde_json::{json, Value};

use crate::cli::InputFormat;

/// Documents read before each call to the model.
const CHUNK: usize = 1024;
/// ... or fewer, once they hold this many bytes of text (a file of long lines).
const CHUNK_BYTES: usize = 8 << 20;

/// One input document: its id (the JSONL `"id"`, else the line number) and the whole JSON
/// object of a JSONL line (without its `"text"`), for commands that pass fields through.
pub struct Doc {
    pub id: Value,
    pub text: String,
    pub line: usize,
    pub fields: Option<serde_json::Map<String, Value>>,
}

/// Reads documents chunk by chunk.
pub struct Reader {
    lines: std::io::Split<Box<dyn BufRead>>,
    pub name: String,
    /// `None` until the first non-empty line decides (`--format auto` without an extension).
    jsonl: Option<bool>,
    n: usize,
}

impl Reader {
    pub fn open(input: Option<&Path>, format: InputFormat) -> Result<Reader> {
        let read: Box<dyn BufRead> = match input {
            Some(p) => Box::new(std::io::BufReader::new(
                std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
            )),
            None => Box::new(std::io::stdin().lock()),
        };
        let jsonl = match format {
            InputFormat::Text => Some(false),
            InputFormat::Jsonl => Some(true),
            InputFormat::Auto => input
                .and_then(|p| p.extension())
                .and_then(|e| e.to_str())
                .filter(|e| matches!(e.to_ascii_lowercase().as_str(), "jsonl" | "ndjson"))
                .map(|_| true),
        };
        Ok(Reader {
            lines: read.split(b'\n'),
            name: input.map_or("<stdin>".to_string(), |p| p.display().to_string()),
            jsonl,
            n: 0,
        })
    }

    /// Fills `batch` (cleared first) with the next documents; false once the input is done
    /// and nothing was read.
    pub fn next_chunk(&mut self, batch: &mut Vec<Doc>) -> Result<bool> {
        batch.clear();
        let mut bytes = 0usize;
        while batch.len() < CHUNK && bytes < CHUNK_BYTES {
            let Some(doc) = self.next_doc()? else { break };
            bytes += doc.text.len();
            batch.push(doc);
        }
        Ok(!batch.is_empty())
    }

    fn next_doc(&mut self) -> Result<Option<Doc>> {
        let name = &self.name;
        loop {
            let Some(line) = self.lines.next() else {
                return Ok(None);
            };
            self.n += 1;
            let n = self.n;
            let raw = line.with_context(|| format!("reading {name}"))?;
            let mut text = String::from_utf8(raw).map_err(|e| {
                anyhow::anyhow!(
                    "{name}:{n}: not valid UTF-8 (byte {})",
                    e.utf8_error().valid_up_to()
                )
            })?;
            // in place: a long line is not copied
            if text.ends_with('\r') {
                text.pop();
            }
            if n == 1 && text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            // auto: JSONL when the first non-empty line is a JSON object
            if self.jsonl.is_none() && !text.trim().is_empty() {
                self.jsonl = Some(
                    text.trim_start().starts_with('{')
                        && serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok()
                        && text.trim_end().ends_with('}'),
                );
            }
            if self.jsonl != Some(true) {
                return Ok(Some(Doc {
                    id: json!(n),
                    text,
                    line: n,
                    fields: None,
                }));
            }
            if text.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{name}:{n}: not a JSON line: {e}"))?;
            drop(text);
            let Value::Object(mut fields) = v else {
                bail!("{name}:{n}: not a JSON object");
            };
            let text = match fields.remove("text") {
                Some(Value::String(t)) => t,
                _ => bail!(
                    "{name}:{n}: no \"text\" string field (JSONL input needs {{\"id\", \"text\"}} on every line; --format text reads each line as plain text)"
                ),
            };
            return Ok(Some(Doc {
                id: fields.get("id").cloned().unwrap_or(json!(n)),
                text,
                line: n,
                fields: Some(fields),
            }));
        }
    }
}

/// Whether two paths name one file (the same device and inode; a link or another spelling
/// of the path included). A missing output is never the input.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        },
        _ => false,
    }
}

/// Refuses an output that is the input file, before anything is read.
pub fn check_paths(input: Option<&Path>, output: Option<&Path>) -> Result<()> {
    if let (Some(i), Some(o)) = (input, output) {
        if same_file(i, o) {
            bail!(
                "--output {} is the input file: writing would destroy it; write to another file",
                o.display()
            );
        }
    }
    Ok(())
}

/// Runs `write` into `output` (a temporary file renamed over it once `write` succeeds, so a
/// failure leaves an existing file as it was) or stdout; returns what `write` returns.
pub fn write_to<T>(
    output: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    match output {
        Some(p) => {
            let mut f = AtomicFile::create(p)?;
            let r = write(&mut f)?;
            f.commit()?;
            Ok(r)
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let r = write(&mut out)?;
            out.flush()?;
            Ok(r)
        }
    }
}
