//! `jner predict`: text lines or JSONL in, one JSONL line of entities per document out.
//!
//! The output file is written under a temporary name and renamed when every document is
//! done, so a failure (bad line 2, a model error) leaves an existing file as it was; an
//! output that is the input file is refused before anything is read.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use jner_corpus::{PredictOptions, Recognizer};
use jner_run::atomic::AtomicFile;
use serde_json::{json, Value};

use crate::cli::{InputFormat, PredictArgs};
use crate::model::load_recognizer_with;

/// Documents read before each call to the model.
const CHUNK: usize = 1024;
/// ... or fewer, once they hold this many bytes of text (a file of long lines).
const CHUNK_BYTES: usize = 8 << 20;

pub fn predict(args: &PredictArgs) -> Result<()> {
    if let Some(t) = args.threshold {
        anyhow::ensure!(
            t.is_finite() && (0.0..=1.0).contains(&t),
            "--threshold must be a number in [0, 1], got {t}"
        );
    }
    let labels = match &args.labels {
        None => None,
        Some(s) => {
            let l: Vec<String> = s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect();
            anyhow::ensure!(!l.is_empty(), "--labels {s:?} names no label");
            Some(l)
        }
    };
    if let (Some(i), Some(o)) = (&args.input, &args.output) {
        if same_file(i, o) {
            bail!(
                "--output {} is the input file: predictions would destroy it; write them to another file",
                o.display()
            );
        }
    }
    let rec = load_recognizer_with(&args.model, !args.no_verify)?;
    if labels.is_some() && !rec.zero_shot() {
        // checked here too so the error comes before any input is read
        let unknown: Vec<&String> = labels
            .iter()
            .flatten()
            .filter(|l| !rec.labels().contains(l))
            .collect();
        anyhow::ensure!(
            unknown.is_empty(),
            "--labels: {} cannot look for {unknown:?}: it only knows {:?} and does not take new labels (the gliner backend does)",
            args.model.display(),
            rec.labels()
        );
    }
    let opts = PredictOptions {
        threshold: args.threshold,
        batch_size: args.batch_size.max(1),
        labels,
        nested: args.nested,
        multi_label: args.multi_label,
    };
    let input: Box<dyn BufRead> = match &args.input {
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let name = args
        .input
        .as_ref()
        .map_or("<stdin>".to_string(), |p| p.display().to_string());
    let mut jsonl_mode: Option<bool> = match args.format {
        InputFormat::Text => Some(false),
        InputFormat::Jsonl => Some(true),
        InputFormat::Auto => args
            .input
            .as_ref()
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .filter(|e| matches!(e.to_ascii_lowercase().as_str(), "jsonl" | "ndjson"))
            .map(|_| true),
    };
    let job = Job {
        rec: rec.as_ref(),
        opts: &opts,
        consistent: args.consistent,
    };
    match &args.output {
        Some(p) => {
            let mut f = AtomicFile::create(p)?;
            let docs = run(&job, input, &name, &mut jsonl_mode, &mut f)?;
            f.commit()?;
            tracing::info!("predicted {docs} documents into {}", p.display());
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let docs = run(&job, input, &name, &mut jsonl_mode, &mut out)?;
            out.flush()?;
            tracing::info!("predicted {docs} documents");
        }
    }
    Ok(())
}

/// Whether two paths name one file (the same device and inode; a link or another spelling
/// of the path included). A missing output is never the input.
fn same_file(a: &Path, b: &Path) -> bool {
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

/// The model and what to do with its output.
struct Job<'a> {
    rec: &'a dyn Recognizer,
    opts: &'a PredictOptions,
    /// `--consistent`: see `jner_corpus::consistency`.
    consistent: bool,
}

fn run(
    job: &Job,
    input: Box<dyn BufRead>,
    name: &str,
    jsonl_mode: &mut Option<bool>,
    out: &mut impl Write,
) -> Result<usize> {
    let mut batch: Vec<(Value, String)> = Vec::with_capacity(CHUNK);
    let mut batch_bytes = 0usize;
    let mut docs = 0usize;
    for (n, line) in input.split(b'\n').enumerate() {
        let n = n + 1;
        let bytes = line.with_context(|| format!("reading {name}"))?;
        let mut text = String::from_utf8(bytes).map_err(|e| {
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
        if jsonl_mode.is_none() && !text.trim().is_empty() {
            *jsonl_mode = Some(
                text.trim_start().starts_with('{')
                    && serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok()
                    && text.trim_end().ends_with('}'),
            );
        }
        let item = if *jsonl_mode == Some(true) {
            if text.trim().is_empty() {
                continue;
            }
            let mut v: Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{name}:{n}: not a JSON line: {e}"))?;
            drop(text);
            let id = v.get("id").cloned().unwrap_or(json!(n));
            let t = match v.get_mut("text").map(Value::take) {
                Some(Value::String(t)) => t,
                _ => bail!(
                    "{name}:{n}: no \"text\" string field (JSONL input needs {{\"id\", \"text\"}} on every line; --format text reads each line as plain text)"
                ),
            };
            (id, t)
        } else {
            (json!(n), text)
        };
        batch_bytes += item.1.len();
        batch.push(item);
        if batch.len() == CHUNK || batch_bytes >= CHUNK_BYTES {
            docs += flush(job, &mut batch, out)?;
            batch_bytes = 0;
        }
    }
    docs += flush(job, &mut batch, out)?;
    Ok(docs)
}

fn flush(job: &Job, batch: &mut Vec<(Value, String)>, out: &mut impl Write) -> Result<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
    let preds = job
        .rec
        .predict(&texts, job.opts)
        .map_err(|e| anyhow::anyhow!("prediction failed: {e}"))?;
    for ((id, text), mut ents) in batch.iter().zip(preds) {
        if job.consistent {
            jner_corpus::consistency::propagate(text, &mut ents);
        }
        // entity offsets are in characters: one pass over the text maps them to bytes
        let mut bounds: Vec<usize> = ents.iter().flat_map(|e| [e.start, e.end]).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let mut byte_of = std::collections::HashMap::with_capacity(bounds.len());
        let mut it = bounds.iter().peekable();
        for (ci, (bi, _)) in text.char_indices().enumerate() {
            while it.peek().is_some_and(|&&c| c == ci) {
                byte_of.insert(ci, bi);
                it.next();
            }
            if it.peek().is_none() {
                break;
            }
        }
        let at = |c: usize| byte_of.get(&c).copied().unwrap_or(text.len());
        let ents: Vec<Value> = ents
            .iter()
            .map(|e| json!({"start": e.start, "end": e.end, "label": e.label, "score": e.score, "text": &text[at(e.start)..at(e.end)]}))
            .collect();
        serde_json::to_writer(&mut *out, &json!({"id": id, "entities": ents}))?;
        out.write_all(b"\n")?;
    }
    let n = batch.len();
    batch.clear();
    Ok(n)
}
