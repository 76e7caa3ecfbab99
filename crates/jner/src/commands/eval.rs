//! `jner eval`: score predictions against gold, or a model on its evaluation documents.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jner_corpus::{jsonl, PredictOptions};

use crate::cli::EvalArgs;
use crate::model::load_recognizer;

pub fn eval(args: &EvalArgs) -> Result<()> {
    let report = match (&args.gold, &args.pred, &args.model) {
        (Some(gold), Some(pred), None) => jner_eval::score_jsonl_files(gold, pred)?,
        (_, _, Some(model)) => {
            let gold_path = match &args.data {
                Some(p) => p.clone(),
                None => find_eval_jsonl(model)?,
            };
            let gold = jsonl::read_jsonl(&gold_path)?;
            let rec = load_recognizer(model)?;
            let texts: Vec<&str> = gold.iter().map(|d| d.text.as_str()).collect();
            let pred = rec
                .predict(&texts, &PredictOptions::default())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("predicting with {}", model.display()))?;
            eprintln!(
                "scored {} on {} documents of {}",
                model.display(),
                gold.len(),
                gold_path.display()
            );
            jner_eval::score_documents(&gold, &pred)?
        }
        _ => bail!("give --gold FILE --pred FILE, or --model DIR [--data FILE]"),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

/// The evaluation documents of the run a model folder came from: `eval.jsonl` in the folder
/// or in its parent (the training run's `--output-dir`).
fn find_eval_jsonl(model: &Path) -> Result<PathBuf> {
    for dir in [Some(model), model.parent()].into_iter().flatten() {
        let p = dir.join("eval.jsonl");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "no eval.jsonl in {} or its parent folder; pass the gold documents with --data FILE",
        model.display()
    )
}
