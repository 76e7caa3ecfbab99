//! `jner compare`: every backend trained and scored on the same documents, then one report.
//!
//! ```text
//! OUT/folds/fold-K/{train,eval}.jsonl     the split (one fold-1 without --folds)
//! OUT/runs/BACKEND/fold-K/               each `jner train` run (final/ is scored)
//! OUT/predictions/BACKEND/fold-K.jsonl   its predictions on the held-out documents
//! OUT/report.{md,html,json}, OUT/plots/  the report (jner-report)
//! ```
//!
//! Each training run is a `jner train` process of this same binary (so its peak memory is its
//! own, measured with `wait4`); its `final/` model is then loaded here, timed on the held-out
//! texts and scored with the shared scorer. Every flag of every run is parsed and checked
//! before the first file is written.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use jner_corpus::rng::Rng;
use jner_corpus::split::{self, Split};
use jner_corpus::{jsonl, Document, Entity, PredictOptions};
use jner_eval::stats::{self, DocCounts};
use jner_eval::DocScoreInput;
use jner_report::{BackendResult, Comparison, Curve, EpochPoint, FoldResult, PairedRow, Protocol};

use super::data::make_split;
use crate::backends::Backend;
use crate::cli::{Cli, Command, CompareArgs, SplitMode, TrainArgs};

/// One backend's plan: its name and the `train` flags of its runs (without the per-fold
/// data and output flags).
struct Plan {
    backend: &'static Backend,
    flags: Vec<String>,
    model: Option<String>,
    epochs: usize,
    train_docs: Option<usize>,
}

pub fn compare(args: &CompareArgs) -> Result<()> {
    if let Some(dir) = &args.render {
        return render(dir);
    }
    let plans = plans(args)?;
    let out = &args.output_dir;
    check_output(out, args.overwrite)?;
    let corpus = args.data.load()?;
    anyhow::ensure!(
        !corpus.documents.is_empty(),
        "no documents: the sources ({}) hold none",
        args.data.describe()
    );
    let splits = splits(&corpus.documents, args)?;
    // every run's flags parse and pass train's checks with a stand-in data path
    for p in &plans {
        let probe = train_args(
            p,
            Path::new("train.jsonl"),
            Path::new("eval.jsonl"),
            out,
            args,
        )?;
        super::train::validate(&probe).with_context(|| format!("--backends {}", p.backend.name))?;
    }

    let mut results: Vec<(BackendResult, Vec<Vec<Entity>>)> = Vec::new();
    let mut pooled_gold: Vec<Document> = Vec::new();
    for s in &splits {
        pooled_gold.extend(s.eval.iter().cloned());
    }
    for (k, s) in splits.iter().enumerate() {
        let dir = out.join("folds").join(format!("fold-{}", k + 1));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        jsonl::write_atomic(
            &dir.join("train.jsonl"),
            jsonl::jsonl_bytes(&s.train).as_bytes(),
        )?;
        jsonl::write_atomic(
            &dir.join("eval.jsonl"),
            jsonl::jsonl_bytes(&s.eval).as_bytes(),
        )?;
    }
    for p in &plans {
        let mut folds = Vec::new();
        let mut preds = Predictions {
            scored: Vec::new(),
            curves: Vec::new(),
            zero_shot: false,
        };
        for (k, s) in splits.iter().enumerate() {
            let (fold, pred) = run_fold(p, k + 1, s, args)?;
            folds.push(fold);
            preds.scored.extend(pred.scored);
            preds.curves.extend(pred.curves);
            preds.zero_shot |= pred.zero_shot;
        }
        let summary = summarise(p, folds, &pooled_gold, &preds, args)?;
        results.push((summary, preds.scored));
    }
    let paired = paired(&results, &pooled_gold, args)?;
    let comparison = Comparison {
        command: command_line(),
        jner_version: env!("CARGO_PKG_VERSION").into(),
        protocol: protocol(&corpus.documents, args),
        backends: results.into_iter().map(|(b, _)| b).collect(),
        paired,
    };
    comparison
        .write(out)
        .with_context(|| format!("writing the report into {}", out.display()))?;
    eprintln!(
        "report: {} ({} and report.json, plots/)",
        out.join("report.html").display(),
        out.join("report.md").display()
    );
    Ok(())
}

/// `--render DIR`: the report files again from `DIR/report.json`.
fn render(dir: &Path) -> Result<()> {
    let path = dir.join("report.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let c: Comparison = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a jner compare report", path.display()))?;
    c.write(dir)
        .with_context(|| format!("writing the report into {}", dir.display()))?;
    eprintln!(
        "report: {} rendered from {}",
        dir.join("report.html").display(),
        path.display()
    );
    Ok(())
}

/// `BACKEND=VALUE` pairs of a per-backend flag, checked against the chosen backends.
fn per_backend(
    flag: &str,
    items: &[String],
    chosen: &[&'static Backend],
) -> Result<Vec<(&'static Backend, String)>> {
    items
        .iter()
        .map(|it| {
            let Some((name, value)) = it.split_once('=') else {
                bail!("{flag} {it}: expected BACKEND=VALUE");
            };
            let b = crate::backends::parse(name.trim())
                .map_err(|e| anyhow::anyhow!("{flag} {it}: {e}"))?;
            if !chosen.iter().any(|c| std::ptr::eq(*c, b)) {
                bail!("{flag} {it}: {} is not in --backends", b.name);
            }
            Ok((b, value.to_string()))
        })
        .collect()
}

fn plans(args: &CompareArgs) -> Result<Vec<Plan>> {
    let mut chosen: Vec<&'static Backend> = Vec::new();
    for b in &args.backends {
        if chosen.iter().any(|c| std::ptr::eq(*c, *b)) {
            bail!("--backends: {} is listed twice", b.name);
        }
        if !b.available {
            return Err(b.unavailable());
        }
        chosen.push(b);
    }
    anyhow::ensure!(!chosen.is_empty(), "--backends: name at least one backend");
    if let Some(k) = args.folds {
        anyhow::ensure!(k >= 2, "--folds needs at least 2 folds, got {k}");
        anyhow::ensure!(
            args.split.split_mode == SplitMode::Jner,
            "--folds works with --split-mode jner only"
        );
    }
    anyhow::ensure!(args.threads >= 1, "--threads must be at least 1");
    anyhow::ensure!(args.eval_docs != Some(0), "--eval-docs must be at least 1");
    let models = per_backend("--model-for", &args.model_for, &chosen)?;
    let epochs = per_backend("--epochs-for", &args.epochs_for, &chosen)?;
    let docs = per_backend("--train-docs", &args.train_docs, &chosen)?;
    let extra = per_backend("--train-arg", &args.train_args, &chosen)?;
    let number = |flag: &str, b: &Backend, v: &str| -> Result<usize> {
        match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("{flag} {}={v}: expected a positive whole number", b.name),
        }
    };
    chosen
        .iter()
        .map(|b| {
            let of = |v: &[(&'static Backend, String)]| -> Option<String> {
                v.iter()
                    .rev()
                    .find(|(x, _)| std::ptr::eq(*x, *b))
                    .map(|(_, s)| s.clone())
            };
            let e = of(&epochs)
                .map(|v| number("--epochs-for", b, &v))
                .transpose()?
                .unwrap_or(b.epochs);
            let n = of(&docs)
                .map(|v| number("--train-docs", b, &v))
                .transpose()?;
            let model = of(&models);
            let mut flags = vec![
                "--backend".to_string(),
                b.name.to_string(),
                "--epochs".into(),
                e.to_string(),
                "--threads".into(),
                args.threads.to_string(),
                "--seed".into(),
                args.split.seed.to_string(),
            ];
            if let Some(m) = &model {
                flags.extend(["--model".to_string(), m.clone()]);
            }
            for (x, f) in &extra {
                if std::ptr::eq(*x, *b) {
                    flags.push(f.clone());
                }
            }
            Ok(Plan {
                backend: b,
                flags,
                model,
                epochs: e,
                train_docs: n,
            })
        })
        .collect()
}

/// The output folder must be new or empty, unless `--overwrite`; never a link.
fn check_output(out: &Path, overwrite: bool) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Err(_) => Ok(()),
        Ok(m) if m.file_type().is_symlink() => {
            bail!(
                "--output-dir {}: a symbolic link; give a real folder",
                out.display()
            )
        }
        Ok(m) if !m.is_dir() => bail!("--output-dir {}: not a folder", out.display()),
        Ok(_) => {
            let empty = std::fs::read_dir(out)
                .with_context(|| format!("reading {}", out.display()))?
                .next()
                .is_none();
            if !empty && !overwrite {
                bail!(
                    "--output-dir {} is not empty (a previous comparison?); pass --overwrite to retrain its runs and rewrite its report, or choose another folder",
                    out.display()
                );
            }
            Ok(())
        }
    }
}

/// The folds, or the one split, with the training parts oversampled as `train` does.
fn splits(docs: &[Document], args: &CompareArgs) -> Result<Vec<Split>> {
    let mut v = match args.folds {
        Some(k) => {
            anyhow::ensure!(
                docs.len() >= k,
                "--folds {k}: only {} documents",
                docs.len()
            );
            let mut folds = split::kfold(docs, k, args.split.seed);
            for s in &mut folds {
                split::oversample_minor(&mut s.train, args.split.minor_oversample);
            }
            folds
        }
        None => vec![make_split(docs, &args.split).0],
    };
    for (i, s) in v.iter_mut().enumerate() {
        anyhow::ensure!(
            !s.eval.is_empty() && !s.train.is_empty(),
            "fold {}: {} training and {} held-out documents; raise --val-split or give more data",
            i + 1,
            s.train.len(),
            s.eval.len()
        );
        if let Some(n) = args.eval_docs {
            s.eval = sample(&s.eval, n, args.split.seed ^ (i as u64 + 1));
        }
    }
    Ok(v)
}

/// `n` documents drawn without replacement (seeded), in their original order.
fn sample(docs: &[Document], n: usize, seed: u64) -> Vec<Document> {
    if n >= docs.len() {
        return docs.to_vec();
    }
    let mut idx: Vec<usize> = (0..docs.len()).collect();
    Rng::new(seed).shuffle(&mut idx);
    let mut keep = idx[..n].to_vec();
    keep.sort_unstable();
    keep.into_iter().map(|i| docs[i].clone()).collect()
}

/// The document an oversampled copy (`ID~copyN`) was made from: its own id otherwise.
fn original_id(id: &str) -> &str {
    match id.rfind("~copy") {
        Some(i) if id[i + 5..].chars().all(|c| c.is_ascii_digit()) && i + 5 < id.len() => &id[..i],
        _ => id,
    }
}

/// The distinct documents of a training part (oversampled copies left out).
fn distinct(docs: &[Document]) -> Vec<&Document> {
    docs.iter().filter(|d| original_id(&d.id) == d.id).collect()
}

/// `n` distinct documents of a training part (seeded), with the oversampled copies of those
/// drawn, so a sample keeps the MinorChild oversampling of the whole.
fn sample_distinct(docs: &[Document], n: usize, seed: u64) -> Vec<Document> {
    let originals: Vec<Document> = distinct(docs).into_iter().cloned().collect();
    let keep: std::collections::HashSet<String> = sample(&originals, n, seed)
        .into_iter()
        .map(|d| d.id)
        .collect();
    docs.iter()
        .filter(|d| keep.contains(original_id(&d.id)))
        .cloned()
        .collect()
}

/// The `jner train` flags of one run, parsed as the CLI parses them.
fn train_args(
    p: &Plan,
    train: &Path,
    eval: &Path,
    out: &Path,
    args: &CompareArgs,
) -> Result<TrainArgs> {
    let argv = train_argv(p, train, eval, out, args);
    let cli =
        Cli::try_parse_from(std::iter::once(OsString::from("jner")).chain(argv.iter().cloned()))
            .map_err(|e| {
                anyhow::anyhow!(
                    "the {} runs' train flags: {}",
                    p.backend.name,
                    e.render().to_string().trim()
                )
            })?;
    match cli.command {
        Command::Train(t) => Ok(t),
        _ => bail!("internal: not a train command"),
    }
}

fn train_argv(
    p: &Plan,
    train: &Path,
    eval: &Path,
    out: &Path,
    args: &CompareArgs,
) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec!["train".into()];
    v.extend(p.flags.iter().map(OsString::from));
    v.extend([
        "--train-jsonl".into(),
        train.as_os_str().to_owned(),
        "--eval-jsonl".into(),
        eval.as_os_str().to_owned(),
        "--output-dir".into(),
        out.as_os_str().to_owned(),
    ]);
    if args.overwrite {
        v.push("--overwrite".into());
    }
    v
}

/// A fold's predictions: at the backend's default threshold (scored), and at threshold 0 for
/// the precision-recall curves (the same when the default is 0).
struct Predictions {
    scored: Vec<Vec<Entity>>,
    curves: Vec<Vec<Entity>>,
    /// The model takes labels it was not trained on.
    zero_shot: bool,
}

/// Trains one backend on one fold, predicts its held-out documents with `final/`, scores.
fn run_fold(
    p: &Plan,
    k: usize,
    s: &Split,
    args: &CompareArgs,
) -> Result<(FoldResult, Predictions)> {
    let out = &args.output_dir;
    let name = p.backend.name;
    let fold_dir = out.join("folds").join(format!("fold-{k}"));
    let eval_path = fold_dir.join("eval.jsonl");
    let (train_path, train_docs) = match p.train_docs {
        Some(n) if n < distinct(&s.train).len() => {
            let docs = sample_distinct(&s.train, n, args.split.seed ^ 0x7a11 ^ k as u64);
            let path = fold_dir.join(format!("train-{name}.jsonl"));
            jsonl::write_atomic(&path, jsonl::jsonl_bytes(&docs).as_bytes())?;
            (path, n)
        }
        _ => (fold_dir.join("train.jsonl"), distinct(&s.train).len()),
    };
    let run_dir = out.join("runs").join(name).join(format!("fold-{k}"));
    if let Some(parent) = run_dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let argv = train_argv(p, &train_path, &eval_path, &run_dir, args);
    eprintln!(
        "compare: {name}, fold {k} of {}: training on {train_docs} documents",
        args.folds.unwrap_or(1)
    );
    let exe = std::env::current_exe().context("locating the jner binary")?;
    let t0 = Instant::now();
    let child = std::process::Command::new(&exe)
        .args(&argv)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let (status, peak) = wait_peak(child)?;
    let wall = t0.elapsed().as_secs_f64();
    if !status.success() {
        bail!(
            "{name}, fold {k}: `jner train` failed ({status}); its run folder is {}",
            run_dir.display()
        );
    }
    let epochs = read_metrics(&run_dir.join(jner_run::run::METRICS_FILE))?;
    let train_seconds = epochs.iter().map(|e| e.1).sum();
    let epochs = epochs.into_iter().map(|e| e.0).collect();

    let model_dir = run_dir.join("final");
    let (_, mut rec) = crate::model::load_named(&model_dir, true)?;
    rec.set_threads(args.threads);
    let texts: Vec<&str> = s.eval.iter().map(|d| d.text.as_str()).collect();
    let words = texts.iter().map(|t| t.split_whitespace().count()).sum();
    let t0 = Instant::now();
    let mut pred: Vec<Vec<Entity>> = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        pred.extend(
            rec.predict(chunk, &PredictOptions::default())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("predicting with {}", model_dir.display()))?,
        );
    }
    let infer_seconds = t0.elapsed().as_secs_f64();
    // the precision-recall curves also look below the default threshold (gliner's 0.5):
    // predicting at 0 and cutting at the default gives the same entities as `pred`
    let floor = rec.default_threshold();
    let zero_shot = rec.zero_shot();
    let curve_pred = if floor > 0.0 {
        let opts = PredictOptions {
            threshold: Some(0.0),
            ..PredictOptions::default()
        };
        let mut all = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(64) {
            all.extend(
                rec.predict(chunk, &opts)
                    .map_err(|e| anyhow::anyhow!("{e}"))
                    .with_context(|| format!("predicting with {}", model_dir.display()))?,
            );
        }
        let cut: Vec<Vec<Entity>> = all
            .iter()
            .map(|v| v.iter().filter(|e| e.score > floor).cloned().collect())
            .collect();
        if cut == pred {
            all
        } else {
            tracing::warn!(
                "{name}, fold {k}: predictions at threshold 0 cut at {floor} differ from those at the default; the precision-recall curves start at {floor}"
            );
            pred.clone()
        }
    } else {
        pred.clone()
    };
    drop(rec); // the `jner predict` process below is measured alone
    let infer_peak = predict_process(&exe, &model_dir, &eval_path, name, k, &s.eval, &pred, args)?;
    let report = jner_eval::score_documents(&s.eval, &pred)?;
    eprintln!(
        "compare: {name}, fold {k}: micro F1 {:.4} on {} held-out documents",
        report.micro.f1,
        s.eval.len()
    );
    Ok((
        FoldResult {
            fold: k,
            train_docs,
            eval_docs: s.eval.len(),
            report,
            train_seconds,
            train_wall_seconds: wall,
            train_peak_rss_bytes: peak,
            infer_peak_rss_bytes: infer_peak,
            infer_words: words,
            infer_seconds,
            model_bytes: dir_bytes(&model_dir)?,
            epochs,
        },
        Predictions {
            scored: pred,
            curves: curve_pred,
            zero_shot,
        },
    ))
}

/// Waits for a child and reads its peak resident memory.
#[cfg(unix)]
fn wait_peak(child: std::process::Child) -> Result<(std::process::ExitStatus, Option<u64>)> {
    use std::os::unix::process::ExitStatusExt;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct, and wait4 writes
    // only into the two locals it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("waiting for `jner train`");
        }
    }
    // the child is reaped: dropping its handle neither waits nor kills
    drop(child);
    // Linux reports kilobytes, macOS bytes
    let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    let peak = u64::try_from(usage.ru_maxrss).ok().map(|kb| kb * unit);
    Ok((std::process::ExitStatus::from_raw(status), peak))
}

#[cfg(not(unix))]
fn wait_peak(mut child: std::process::Child) -> Result<(std::process::ExitStatus, Option<u64>)> {
    Ok((child.wait().context("waiting for `jner train`")?, None))
}

/// Each epoch's (loss, held-out micro F1) and its training seconds.
fn read_metrics(path: &Path) -> Result<Vec<(EpochPoint, f64)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l)
                .with_context(|| format!("{}:{}: invalid JSON", path.display(), i + 1))?;
            let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
            let epoch = v
                .get("epoch")
                .and_then(serde_json::Value::as_u64)
                .with_context(|| format!("{}:{}: no \"epoch\"", path.display(), i + 1))?;
            let f1 = v
                .get("eval")
                .and_then(|e| e.get("micro"))
                .and_then(|m| m.get("f1"))
                .and_then(serde_json::Value::as_f64);
            Ok((
                EpochPoint {
                    epoch: epoch as usize,
                    loss: num("loss").unwrap_or(f64::NAN),
                    f1,
                },
                num("train_seconds").unwrap_or(0.0),
            ))
        })
        .collect()
}

/// Bytes of the regular files under `dir` (links not followed).
fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let t = e.file_type()?;
        if t.is_dir() {
            total += dir_bytes(&e.path())?;
        } else if t.is_file() {
            total += e.metadata()?.len();
        }
    }
    Ok(total)
}

/// Runs `jner predict` on the held-out documents into `predictions/BACKEND/fold-K.jsonl`
/// (the file users get, rescorable with `jner eval --gold --pred`), measures its peak memory,
/// and checks that it found the entities this process scored.
#[allow(clippy::too_many_arguments)]
fn predict_process(
    exe: &Path,
    model: &Path,
    eval: &Path,
    name: &str,
    k: usize,
    docs: &[Document],
    pred: &[Vec<Entity>],
    args: &CompareArgs,
) -> Result<Option<u64>> {
    let dir = args.output_dir.join("predictions").join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(format!("fold-{k}.jsonl"));
    let child = std::process::Command::new(exe)
        .arg("predict")
        .arg("--model")
        .arg(model)
        .arg("--input")
        .arg(eval)
        .arg("--output")
        .arg(&file)
        .arg("--threads")
        .arg(args.threads.to_string())
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let (status, peak) = wait_peak(child)?;
    if !status.success() {
        bail!("{name}, fold {k}: `jner predict` failed ({status})");
    }
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let mut differ = 0;
    for (i, (line, (d, ents))) in text.lines().zip(docs.iter().zip(pred)).enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: invalid JSON", file.display(), i + 1))?;
        let got: Vec<(u64, u64, &str)> = v["entities"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["start"].as_u64().unwrap_or(0),
                            e["end"].as_u64().unwrap_or(0),
                            e["label"].as_str().unwrap_or(""),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want: Vec<(u64, u64, &str)> = ents
            .iter()
            .map(|e| (e.start as u64, e.end as u64, e.label.as_str()))
            .collect();
        if v["id"].as_str() != Some(d.id.as_str()) || got != want {
            differ += 1;
        }
    }
    if differ > 0 || text.lines().count() != docs.len() {
        tracing::warn!(
            "{name}, fold {k}: `jner predict` found other entities than compare scored in {differ} of {} documents ({})",
            docs.len(),
            file.display()
        );
    }
    Ok(peak)
}

/// One backend over all its folds: the fold spread, and the pooled held-out documents'
/// scores, intervals, per-source scores, precision-recall curves and error analysis.
fn summarise(
    p: &Plan,
    folds: Vec<FoldResult>,
    gold: &[Document],
    preds: &Predictions,
    args: &CompareArgs,
) -> Result<BackendResult> {
    let inputs = jner_eval::document_inputs(gold, &preds.scored)?;
    let pooled = jner_eval::score(&inputs);
    let counts = stats::doc_counts(&inputs);
    let mut intervals = BTreeMap::new();
    intervals.insert(
        "micro".to_string(),
        stats::bootstrap_f1(&counts, None, args.bootstrap, 0.95, args.split.seed),
    );
    for l in pooled.per_label.keys() {
        intervals.insert(
            l.clone(),
            stats::bootstrap_f1(&counts, Some(l), args.bootstrap, 0.95, args.split.seed),
        );
    }
    let mut by_source: BTreeMap<&str, Vec<DocScoreInput>> = BTreeMap::new();
    for (d, i) in gold.iter().zip(&inputs) {
        by_source
            .entry(d.source.as_str())
            .or_default()
            .push(i.clone());
    }
    let per_source = by_source
        .into_iter()
        .map(|(s, v)| (s.to_string(), jner_eval::score(&v).micro))
        .collect();
    let scored: Vec<jner_eval::calibrate::ScoredDoc> = inputs
        .iter()
        .zip(&preds.curves)
        .map(|(i, p)| jner_eval::calibrate::ScoredDoc {
            gold: i.gold.clone(),
            pred: p
                .iter()
                .map(|e| ((e.start, e.end, e.label.clone()), e.score))
                .collect(),
        })
        .collect();
    let curves = jner_eval::calibrate::calibrate(&scored)
        .into_iter()
        .filter_map(|(l, c)| {
            let best = *c.curve.iter().max_by(|a, b| a.f1.total_cmp(&b.f1))?;
            Some((
                l,
                Curve {
                    points: c.curve,
                    best,
                },
            ))
        })
        .collect();
    let texts: Vec<(String, Option<String>)> = gold
        .iter()
        .map(|d| (d.id.clone(), Some(d.text.clone())))
        .collect();
    let analysis = jner_eval::analysis::analyze(&inputs, &texts, args.examples);
    let reports: Vec<jner_eval::Report> = folds.iter().map(|f| f.report.clone()).collect();
    Ok(BackendResult {
        name: p.backend.name.to_string(),
        model: p.model.clone(),
        epochs: p.epochs,
        train_docs: p.train_docs,
        zero_shot: preds.zero_shot,
        summary: stats::aggregate(&reports),
        folds,
        pooled,
        intervals,
        per_source,
        curves,
        analysis,
    })
}

/// The paired bootstrap of every pair of backends on the pooled documents: micro F1 and each
/// label either scored.
fn paired(
    results: &[(BackendResult, Vec<Vec<Entity>>)],
    gold: &[Document],
    args: &CompareArgs,
) -> Result<Vec<PairedRow>> {
    let counts: Vec<Vec<DocCounts>> = results
        .iter()
        .map(|(_, p)| Ok(stats::doc_counts(&jner_eval::document_inputs(gold, p)?)))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for i in 0..results.len() {
        for j in i + 1..results.len() {
            let (a, b) = (&results[i].0, &results[j].0);
            let mut tests = BTreeMap::new();
            let t = stats::paired_bootstrap(
                &counts[i],
                &counts[j],
                None,
                args.bootstrap,
                args.split.seed,
            )?;
            tests.insert("micro".to_string(), t);
            let mut labels: Vec<&String> = a
                .pooled
                .per_label
                .keys()
                .chain(b.pooled.per_label.keys())
                .collect();
            labels.sort();
            labels.dedup();
            for l in labels {
                let t = stats::paired_bootstrap(
                    &counts[i],
                    &counts[j],
                    Some(l),
                    args.bootstrap,
                    args.split.seed,
                )?;
                tests.insert(l.clone(), t);
            }
            rows.push(PairedRow {
                a: a.name.clone(),
                b: b.name.clone(),
                tests,
            });
        }
    }
    Ok(rows)
}

fn protocol(docs: &[Document], args: &CompareArgs) -> Protocol {
    let mut sources = BTreeMap::new();
    for d in docs {
        *sources.entry(d.source.clone()).or_insert(0) += 1;
    }
    Protocol {
        data: args.data.describe(),
        sources,
        documents: docs.len(),
        folds: args.folds,
        val_split: args.split.val_split,
        seed: args.split.seed,
        checkpoint: "final".into(),
        bootstrap: args.bootstrap,
        eval_docs: args.eval_docs,
        threads: args.threads,
        machine: machine(),
        notes: if cfg!(feature = "torch") {
            vec!["This jner was built with libtorch (feature `torch`): every process it starts maps libtorch, so the peak memory of a backend that does not use it (cnn) is higher here than with a build without it.".into()]
        } else {
            Vec::new()
        },
    }
}

/// The CPU model and core count, as Linux reports them.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores available")
}

/// This process's command line, each argument quoted for a POSIX shell where needed.
fn command_line() -> String {
    let mut args = std::env::args();
    let _ = args.next();
    std::iter::once("jner".to_string())
        .chain(args.map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@+".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(n: usize) -> Vec<Document> {
        (0..n)
            .map(|i| Document::new(format!("d{i}"), "demo", format!("text {i}")))
            .collect()
    }

    #[test]
    fn samples_are_seeded_subsets_in_document_order() {
        let all = docs(20);
        let a = sample(&all, 7, 3);
        assert_eq!(a.len(), 7);
        let pos: Vec<usize> = a
            .iter()
            .map(|d| all.iter().position(|x| x.id == d.id).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
        assert_eq!(
            a.iter().map(|d| &d.id).collect::<Vec<_>>(),
            sample(&all, 7, 3).iter().map(|d| &d.id).collect::<Vec<_>>()
        );
        assert_ne!(
            a.iter().map(|d| &d.id).collect::<Vec<_>>(),
            sample(&all, 7, 4).iter().map(|d| &d.id).collect::<Vec<_>>()
        );
        assert_eq!(sample(&all, 50, 1).len(), 20);
    }

    #[test]
    fn training_samples_draw_documents_with_their_copies() {
        let mut all = docs(10);
        all.push(Document::new("d3~copy1", "demo", "text 3"));
        all.push(Document::new("d3~copy2", "demo", "text 3"));
        assert_eq!(original_id("d3~copy2"), "d3");
        assert_eq!(original_id("d3~copy"), "d3~copy");
        assert_eq!(original_id("a~copyx"), "a~copyx");
        assert_eq!(distinct(&all).len(), 10);
        for seed in 0..20 {
            let s = sample_distinct(&all, 4, seed);
            let originals = s.iter().filter(|d| !d.id.contains('~')).count();
            assert_eq!(originals, 4);
            let has3 = s.iter().any(|d| d.id == "d3");
            assert_eq!(s.len(), if has3 { 6 } else { 4 }, "seed {seed}");
        }
    }

    #[test]
    fn per_backend_values_are_checked_against_the_chosen_backends() {
        let cnn = crate::backends::parse("cnn").unwrap();
        let v = per_backend("--epochs-for", &["spacy=3".into()], &[cnn]).unwrap();
        assert!(std::ptr::eq(v[0].0, cnn) && v[0].1 == "3");
        let e = per_backend("--epochs-for", &["gliner=3".into()], &[cnn]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--epochs-for gliner=3: gliner is not in --backends"
        );
        let e = per_backend("--epochs-for", &["bert=3".into()], &[cnn]).unwrap_err();
        assert!(e.to_string().contains("unknown backend `bert`"), "{e}");
    }

    #[test]
    fn metrics_lines_give_loss_f1_and_training_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        std::fs::write(
            &p,
            concat!(
                r#"{"epoch":1,"loss":2.5,"train_seconds":3.0,"eval":{"micro":{"f1":0.25}}}"#,
                "\n",
                r#"{"epoch":2,"loss":1.5,"train_seconds":2.0,"eval":null}"#,
                "\n"
            ),
        )
        .unwrap();
        let m = read_metrics(&p).unwrap();
        assert_eq!(
            (m[0].0.epoch, m[0].0.loss, m[0].0.f1, m[0].1),
            (1, 2.5, Some(0.25), 3.0)
        );
        assert_eq!((m[1].0.f1, m[1].1), (None, 2.0));
        std::fs::write(&p, "{\"epoch\":1}\nnot json\n").unwrap();
        let e = read_metrics(&p).unwrap_err().to_string();
        assert!(e.ends_with("metrics.jsonl:2: invalid JSON"), "{e}");
    }
}
