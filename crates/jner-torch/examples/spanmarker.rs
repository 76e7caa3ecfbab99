//! A small driver for the SpanMarker backend until the `jner` CLI wires it in; the bench
//! scripts use it.
//!
//! ```text
//! spanmarker train   --model ENCODER_DIR --train T.jsonl [--eval E.jsonl] --out DIR
//!                    [--epochs N] [--batch N] [--lr X] [--threads N] [--device cpu|cuda]
//!                    [--max-docs N] [--seed N] [--model-max-length N] [--entity-max-length N]
//! spanmarker predict --model MODEL_DIR --input DOCS.jsonl [--threads N]   (JSONL on stdout)
//! spanmarker eval    --model MODEL_DIR --input DOCS.jsonl [--threads N]   (report JSON)
//! spanmarker resave  --model MODEL_DIR --out DIR   (load, then save in jner's layout)
//! ```
//! Documents are jner JSONL (`{"id","text","spans":[{"start","end","label"}]}`, characters).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use jner_corpus::jsonl::read_jsonl;
use jner_torch::spanmarker::{parse_device, train, SpanMarkerConfig, SpanMarkerModel};

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let cmd = args
        .next()
        .ok_or("usage: spanmarker train|predict|eval --flag value …")?;
    let mut flags = HashMap::new();
    while let Some(k) = args.next() {
        let k = k
            .strip_prefix("--")
            .ok_or(format!("expected --flag, got {k}"))?
            .to_string();
        let v = args.next().ok_or(format!("--{k} needs a value"))?;
        flags.insert(k, v);
    }
    let get = |k: &str| flags.get(k).cloned();
    let need = |k: &str| get(k).ok_or(format!("--{k} is required"));
    if let Some(t) = get("threads") {
        tch::set_num_threads(t.parse()?);
    }
    match cmd.as_str() {
        "train" => {
            let mut cfg = SpanMarkerConfig::new(need("model")?);
            if let Some(v) = get("epochs") {
                cfg.epochs = v.parse()?;
            }
            if let Some(v) = get("batch") {
                cfg.batch_size = v.parse()?;
            }
            if let Some(v) = get("lr") {
                cfg.learning_rate = v.parse()?;
            }
            if let Some(v) = get("seed") {
                cfg.seed = v.parse()?;
            }
            if let Some(v) = get("model-max-length") {
                cfg.model_max_length = v.parse()?;
            }
            if let Some(v) = get("entity-max-length") {
                cfg.entity_max_length = v.parse()?;
            }
            if let Some(v) = get("device") {
                cfg.device = parse_device(&v)?;
            }
            cfg.threads = get("threads").map(|t| t.parse()).transpose()?;
            let mut train_docs = read_jsonl(&PathBuf::from(need("train")?))?;
            let mut eval_docs = match get("eval") {
                Some(p) => read_jsonl(&PathBuf::from(p))?,
                None => Vec::new(),
            };
            if let Some(n) = get("max-docs") {
                let n: usize = n.parse()?;
                train_docs.truncate(n);
                eval_docs.truncate(n);
            }
            let out = PathBuf::from(need("out")?);
            let run = jner_run::PendingRun::new_run(&out)?;
            let report = train(&train_docs, &eval_docs, &cfg, run, serde_json::json!({}))?;
            println!("{}", serde_json::to_string(&report)?);
        }
        "predict" | "eval" => {
            let model = SpanMarkerModel::load(&PathBuf::from(need("model")?))?;
            let docs = read_jsonl(&PathBuf::from(need("input")?))?;
            let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
            let t0 = std::time::Instant::now();
            let preds = model.predict_texts(&texts, 16, 0.0)?;
            let secs = t0.elapsed().as_secs_f64();
            if cmd == "predict" {
                for (d, p) in docs.iter().zip(&preds) {
                    println!("{}", serde_json::json!({"id": d.id, "entities": p}));
                }
            } else {
                let report = jner_eval::score_documents(&docs, &preds)?;
                println!(
                    "{}",
                    serde_json::json!({"seconds": secs, "f1": report.f1(), "report": report})
                );
            }
        }
        "resave" => {
            let model = SpanMarkerModel::load(&PathBuf::from(need("model")?))?;
            model.save(
                &PathBuf::from(need("out")?),
                serde_json::json!({"resaved": true}),
            )?;
        }
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spanmarker: {e}");
            ExitCode::FAILURE
        }
    }
}
