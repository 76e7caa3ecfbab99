//! `jner predict`: text lines or JSONL in, one JSONL line of entities per document out.

use std::io::{BufRead, BufWriter, Write};

use anyhow::{Context, Result};
use jner_corpus::{PredictOptions, Recognizer};
use serde_json::{json, Value};

use crate::cli::PredictArgs;
use crate::model::load_recognizer;

/// Documents read before each call to the model.
const CHUNK: usize = 1024;

pub fn predict(args: &PredictArgs) -> Result<()> {
    let rec = load_recognizer(&args.model)?;
    let opts = PredictOptions {
        threshold: args.threshold,
        batch_size: args.batch_size.max(1),
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
    let output: Box<dyn Write> = match &args.output {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(output);
    let mut batch: Vec<(Value, String)> = Vec::with_capacity(CHUNK);
    let mut jsonl_mode: Option<bool> = None;
    let mut docs = 0usize;
    for (n, line) in input.split(b'\n').enumerate() {
        let n = n + 1;
        let bytes = line.with_context(|| format!("reading {name}"))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{name}:{n}: not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            )
        })?;
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let text = if n == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        // JSONL when the first non-empty line is a JSON object with "text".
        if jsonl_mode.is_none() && !text.trim().is_empty() {
            jsonl_mode = Some(
                text.trim_start().starts_with('{')
                    && serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("text").is_some()),
            );
        }
        let item = if jsonl_mode == Some(true) {
            if text.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(text)
                .map_err(|e| anyhow::anyhow!("{name}:{n}: not a JSON line: {e}"))?;
            let t = v
                .get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow::anyhow!("{name}:{n}: no \"text\" string field"))?;
            (v.get("id").cloned().unwrap_or(json!(n)), t.to_string())
        } else {
            (json!(n), text.to_string())
        };
        batch.push(item);
        if batch.len() == CHUNK {
            docs += flush(rec.as_ref(), &opts, &mut batch, &mut out)?;
        }
    }
    docs += flush(rec.as_ref(), &opts, &mut batch, &mut out)?;
    out.flush()?;
    tracing::info!("predicted {docs} documents");
    Ok(())
}

fn flush(
    rec: &dyn Recognizer,
    opts: &PredictOptions,
    batch: &mut Vec<(Value, String)>,
    out: &mut impl Write,
) -> Result<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
    let preds = rec
        .predict(&texts, opts)
        .map_err(|e| anyhow::anyhow!("prediction failed: {e}"))?;
    for ((id, text), ents) in batch.iter().zip(preds) {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let byte_at = |c: usize| chars.get(c).map_or(text.len(), |x| x.0);
        let ents: Vec<Value> = ents
            .iter()
            .map(|e| json!({"start": e.start, "end": e.end, "label": e.label, "score": e.score, "text": &text[byte_at(e.start)..byte_at(e.end)]}))
            .collect();
        serde_json::to_writer(&mut *out, &json!({"id": id, "entities": ents}))?;
        out.write_all(b"\n")?;
    }
    let n = batch.len();
    batch.clear();
    Ok(n)
}
