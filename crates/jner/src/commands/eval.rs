//! `jner eval`: score predictions against gold, or a model on its evaluation documents.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jner_corpus::{jsonl, PredictOptions};

use crate::calibrated;
use crate::cli::EvalArgs;
use crate::model::load_raw;

pub fn eval(args: &EvalArgs) -> Result<()> {
    let (inputs, texts) = match (&args.gold, &args.pred, &args.model) {
        (Some(gold), Some(pred), None) => {
            let inputs = jner_eval::jsonl_inputs_files(gold, pred)?;
            let texts = match args.errors {
                Some(_) => jner_eval::jsonl_gold_texts(gold)?,
                None => Vec::new(),
            };
            (inputs, texts)
        }
        (_, _, Some(model)) => {
            let gold_path = match &args.data {
                Some(p) => p.clone(),
                None => find_eval_jsonl(model)?,
            };
            let gold = jsonl::read_jsonl(&gold_path)?;
            let (_, rec, stored) = load_raw(model, true)?;
            let texts: Vec<&str> = gold.iter().map(|d| d.text.as_str()).collect();
            let mut pred = rec
                .predict(&texts, &PredictOptions::default())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("predicting with {}", model.display()))?;
            let thresholds = if args.calibrate {
                calibrate(model, &gold, &gold_path, &pred)?
            } else {
                stored
            };
            for ents in &mut pred {
                calibrated::keep_above(ents, &thresholds);
            }
            eprintln!(
                "scored {} on {} documents of {}",
                model.display(),
                gold.len(),
                gold_path.display()
            );
            let texts = gold
                .iter()
                .map(|d| (d.id.clone(), Some(d.text.clone())))
                .collect();
            (jner_eval::document_inputs(&gold, &pred)?, texts)
        }
        _ => bail!("give --gold FILE --pred FILE, or --model DIR [--data FILE]"),
    };
    let report = jner_eval::score(&inputs);
    let intervals = (args.bootstrap > 0).then(|| bootstrap(&inputs, &report, args));
    let analysis = args
        .errors
        .map(|n| jner_eval::analysis::analyze(&inputs, &texts, n));
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(obj) = v.as_object_mut() {
            if let Some(iv) = &intervals {
                obj.insert("bootstrap".into(), serde_json::to_value(iv)?);
            }
            if let Some(a) = &analysis {
                obj.insert("analysis".into(), serde_json::to_value(a)?);
            }
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", report.to_table());
        if let Some(iv) = &intervals {
            println!(
                "\n95% bootstrap intervals of F1 ({} resamples of the {} documents, seed {}):",
                args.bootstrap, report.documents, args.seed
            );
            for (name, i) in &iv.f1 {
                println!("  {name:<18} {:.4}  [{:.4}, {:.4}]", i.estimate, i.lo, i.hi);
            }
        }
        if let Some(a) = &analysis {
            print!("\n{}", a.to_text());
        }
    }
    Ok(())
}

/// `--calibrate`: the thresholds that maximise each label's F1 on `gold`, stored in the
/// model's `jner.json` (written whole to a temporary file, then renamed over it).
fn calibrate(
    model: &Path,
    gold: &[jner_corpus::Document],
    gold_path: &Path,
    pred: &[Vec<jner_corpus::Entity>],
) -> Result<std::collections::BTreeMap<String, f32>> {
    let inputs = jner_eval::document_inputs(gold, pred)?;
    let docs: Vec<jner_eval::calibrate::ScoredDoc> = inputs
        .into_iter()
        .zip(pred)
        .map(|(i, p)| jner_eval::calibrate::ScoredDoc {
            gold: i.gold,
            pred: p
                .iter()
                .map(|e| ((e.start, e.end, e.label.clone()), e.score))
                .collect(),
        })
        .collect();
    let cal = jner_eval::calibrate::calibrate(&docs);
    let json = model.join("jner.json");
    let mut meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?,
    )
    .with_context(|| format!("{}: invalid JSON", json.display()))?;
    let Some(obj) = meta.as_object_mut() else {
        bail!("{}: not a JSON object", json.display());
    };
    let thresholds: std::collections::BTreeMap<String, f32> =
        cal.iter().map(|(l, c)| (l.clone(), c.threshold)).collect();
    obj.insert(calibrated::KEY.into(), serde_json::to_value(&thresholds)?);
    obj.insert(
        "calibration".into(),
        serde_json::json!({
            "data": gold_path.display().to_string(),
            "documents": gold.len(),
            "labels": cal.iter().map(|(l, c)| (l.clone(), serde_json::json!({
                "threshold": c.threshold, "f1_before": c.before.f1, "f1_after": c.after.f1,
                "precision_after": c.after.precision, "recall_after": c.after.recall,
            }))).collect::<serde_json::Map<_, _>>(),
        }),
    );
    jner_run::atomic::write_file(&json, serde_json::to_string_pretty(&meta)?.as_bytes())?;
    eprintln!(
        "calibrated on {} documents of {} (their scores below are optimistic: the thresholds were chosen on them); stored in {}:",
        gold.len(),
        gold_path.display(),
        json.display()
    );
    for (l, c) in &cal {
        eprintln!(
            "  {l:<18} threshold {:.4}  F1 {:.4} -> {:.4}  (P {:.4} R {:.4})",
            c.threshold, c.before.f1, c.after.f1, c.after.precision, c.after.recall
        );
    }
    Ok(thresholds)
}

/// The bootstrap intervals of `jner eval --bootstrap N`.
#[derive(serde::Serialize)]
struct Intervals {
    samples: usize,
    seed: u64,
    /// `micro`, then each label of the report.
    f1: Vec<(String, jner_eval::stats::Interval)>,
}

fn bootstrap(
    inputs: &[jner_eval::DocScoreInput],
    report: &jner_eval::Report,
    args: &EvalArgs,
) -> Intervals {
    use jner_eval::stats::{bootstrap_f1, doc_counts};
    let docs = doc_counts(inputs);
    let one = |label: Option<&str>| bootstrap_f1(&docs, label, args.bootstrap, 0.95, args.seed);
    let mut f1 = vec![("micro".to_string(), one(None))];
    f1.extend(report.per_label.keys().map(|l| (l.clone(), one(Some(l)))));
    Intervals {
        samples: args.bootstrap,
        seed: args.seed,
        f1,
    }
}

/// The evaluation documents of the run a model folder came from: `eval.jsonl` in the folder
/// or in its parent (the training run's `--output-dir`).
fn find_eval_jsonl(model: &Path) -> Result<PathBuf> {
    for dir in [Some(model), model.parent()].into_iter().flatten() {
        let p = dir.join("eval.jsonl");
        if p.is_file() {
            same_run(model, dir)?;
            return Ok(p);
        }
    }
    bail!(
        "no eval.jsonl in {} or its parent folder; pass the gold documents with --data FILE",
        model.display()
    )
}

/// Refuses to score a model on a run folder's eval.jsonl when the model was trained on another
/// split (its `jner.json` records the data fingerprint and split of its run; the folder's
/// `run.json` those of the folder's run): its scores would count documents it trained on.
fn same_run(model: &Path, run_dir: &Path) -> Result<()> {
    let read = |p: &Path| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    let (Some(m), Some(r)) = (
        read(&model.join("jner.json")),
        read(&run_dir.join(jner_run::run::RUN_FILE)),
    ) else {
        return Ok(()); // older folders record neither: nothing to compare
    };
    // the cnn backend keeps the run's identity in "meta", spanmarker in "meta.user"
    let meta = m.get("meta").map(|v| v.get("user").unwrap_or(v));
    let id = r.get("identity");
    for key in ["corpus_fingerprint", "split"] {
        let (a, b) = (meta.and_then(|v| v.get(key)), id.and_then(|v| v.get(key)));
        if let (Some(a), Some(b)) = (a, b) {
            if a != b {
                bail!(
                    "{} was trained on another split than {}'s eval.jsonl ({key} differs: {a} vs {b}); its score there would count documents it was trained on. Pass the right gold documents with --data FILE",
                    model.display(),
                    run_dir.display()
                );
            }
        }
    }
    Ok(())
}
