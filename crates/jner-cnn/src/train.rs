//! Training: gold alignment, sentence-bounded training pieces, data-parallel gradients
//! with a fixed reduction order, Adam with decoupled weight decay and per-tensor gradient
//! clipping, per-epoch evaluation on whole documents, atomic checkpoints.

use crate::config::CnnConfig;
use crate::decoder::{tag, B, I, L, O, U};
use crate::features::mix64;
use crate::model::{dims_for, featurize, CnnModel};
use crate::net::{Input, Net, StaticTable, Work};
use crate::optim::Adam;
use crate::tokenizer::{split_at_boundaries, Tokenizer};
use crate::vectors::Vectors;
use crate::{CnnError, Result};
use jner_corpus::rng::Rng;
use jner_corpus::Document;
use jner_run::PendingRun;

use crate::resume;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// How the gold spans of the training documents mapped onto tokens.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Alignment {
    pub documents: usize,
    pub tokens: usize,
    /// Gold spans seen.
    pub spans: usize,
    /// Gold spans trained on.
    pub spans_kept: usize,
    /// Gold spans that could not be represented (`spans_overlapping + spans_invalid`); goal 0.
    pub spans_lost: usize,
    /// Spans overlapping an earlier span (BILUO tags are flat).
    pub spans_overlapping: usize,
    /// Empty, out-of-range, not on character boundaries, or only separators.
    pub spans_invalid: usize,
    /// Spans with leading/trailing separators, trained on their trimmed extent.
    pub spans_trimmed: usize,
    /// Tokens that had to be split because a gold boundary fell inside them.
    pub tokens_split: usize,
}

/// Numbers of one epoch.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean token negative log-likelihood over the epoch.
    pub loss: f64,
    pub train_seconds: f64,
    /// Non-space tokens trained on.
    pub train_words: usize,
    pub train_words_per_s: f64,
    pub eval_seconds: f64,
    pub eval_words_per_s: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// What [`train`] returns (also written to `train_report.json`).
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub labels: Vec<String>,
    pub epochs: Vec<EpochReport>,
    pub best_epoch: usize,
    pub best_f1: f64,
    pub total_seconds: f64,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub train_documents: usize,
    pub train_pieces: usize,
    pub eval_documents: usize,
    pub parameters: usize,
    pub alignment: Alignment,
}

impl TrainReport {
    /// A short JSON summary: best epoch and F1, timings, speed, alignment counts.
    pub fn summary(&self) -> Value {
        let words: usize = self.epochs.iter().map(|e| e.train_words).sum();
        serde_json::json!({
            "best_epoch": self.best_epoch,
            "best_f1": self.best_f1,
            "epochs": self.epochs.len(),
            "final_loss": self.epochs.last().map(|e| e.loss),
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
            "total_seconds": self.total_seconds,
            "train_words_per_s": if self.train_seconds > 0.0 { words as f64 / self.train_seconds } else { 0.0 },
            "labels": self.labels,
            "alignment": self.alignment,
        })
    }
}

/// A training document turned into features and gold tags.
pub(crate) struct Prepared {
    pub rows: Vec<u32>,
    pub vec_rows: Vec<u32>,
    pub gold: Vec<u16>,
    pub space: Vec<bool>,
    pub sent_end: Vec<bool>,
}

/// Tokenize, split at gold boundaries and tag one document with BILUO gold tags.
pub(crate) fn align_document(
    doc: &Document,
    labels: &[String],
    al: &mut Alignment,
) -> (Vec<crate::tokenizer::Token>, Vec<u16>) {
    let text = &doc.text;
    let mut tokens = Tokenizer::new().tokenize(text);
    let valid = |s: &jner_corpus::Span| {
        s.start < s.end
            && s.end <= text.len()
            && text.is_char_boundary(s.start)
            && text.is_char_boundary(s.end)
    };
    let bounds: Vec<usize> = doc
        .spans
        .iter()
        .filter(|s| valid(s))
        .flat_map(|s| [s.start, s.end])
        .collect();
    al.tokens_split += split_at_boundaries(text, &mut tokens, &bounds);
    al.documents += 1;
    al.tokens += tokens.len();
    let mut gold = vec![O; tokens.len()];
    let mut spans: Vec<&jner_corpus::Span> = doc.spans.iter().collect();
    spans.sort_by_key(|s| (s.start, s.end));
    for s in spans {
        al.spans += 1;
        let Some(li) = labels.iter().position(|l| *l == s.label) else {
            al.spans_invalid += 1;
            al.spans_lost += 1;
            continue;
        };
        if !valid(s) {
            al.spans_invalid += 1;
            al.spans_lost += 1;
            continue;
        }
        let first = tokens.partition_point(|t| t.start < s.start);
        let mut ts = None;
        let mut te = first;
        let mut t = first;
        while t < tokens.len() && tokens[t].end <= s.end {
            if !tokens[t].is_space {
                ts.get_or_insert(t);
                te = t + 1;
            }
            t += 1;
        }
        let Some(ts) = ts else {
            al.spans_invalid += 1;
            al.spans_lost += 1;
            continue;
        };
        if gold[ts..te].iter().any(|&g| g != O) {
            al.spans_overlapping += 1;
            al.spans_lost += 1;
            continue;
        }
        if tokens[ts].start != s.start || tokens[te - 1].end != s.end {
            al.spans_trimmed += 1;
        }
        al.spans_kept += 1;
        if te - ts == 1 {
            gold[ts] = tag(li, U);
        } else {
            gold[ts] = tag(li, B);
            for g in &mut gold[ts + 1..te - 1] {
                *g = tag(li, I);
            }
            gold[te - 1] = tag(li, L);
        }
    }
    (tokens, gold)
}

fn prepare(doc: &Document, labels: &[String], model: &CnnModel, al: &mut Alignment) -> Prepared {
    let (tokens, gold) = align_document(doc, labels, al);
    let mut rows = Vec::new();
    let mut vec_rows = Vec::new();
    let mut lower = String::new();
    featurize(
        &doc.text,
        &tokens,
        &model.net.dims,
        model.vectors.as_ref(),
        &mut lower,
        &mut rows,
        &mut vec_rows,
    );
    let sent_end = tokens
        .iter()
        .map(|t| {
            let s = t.text(&doc.text);
            (t.is_space && s.contains('\n')) || matches!(s, "." | "!" | "?" | ";")
        })
        .collect();
    Prepared {
        rows,
        vec_rows,
        gold,
        space: tokens.iter().map(|t| t.is_space).collect(),
        sent_end,
    }
}

/// Cut a document into pieces of at most `max` tokens, preferring sentence ends and never
/// cutting inside a gold entity (unless an entity is longer than `max`).
pub(crate) fn pieces(p: &Prepared, max: usize) -> Vec<(usize, usize)> {
    let n = p.gold.len();
    let mut out = Vec::new();
    let mut start = 0;
    let closed = |t: usize| {
        let g = p.gold[t];
        g == O || crate::decoder::kind(g) == L || crate::decoder::kind(g) == U
    };
    while start < n {
        if n - start <= max {
            out.push((start, n));
            break;
        }
        let mut good = None;
        let mut ok = None;
        for t in start..start + max {
            if closed(t) {
                ok = Some(t + 1);
                if p.sent_end[t] && t + 1 - start >= max / 4 {
                    good = Some(t + 1);
                }
            }
        }
        let end = good.or(ok).unwrap_or(start + max);
        out.push((start, end));
        start = end;
        // skip leading space tokens of the next piece
        while start < n && p.space[start] && p.gold[start] == O {
            start += 1;
        }
    }
    out.retain(|&(a, b)| b > a);
    out
}

/// `a += b`, element-wise on `threads` threads (deterministic: disjoint ranges).
fn add_parallel(a: &mut [f32], b: &[f32], threads: usize) {
    let chunk = a.len().div_ceil(threads.max(1)).max(1 << 14);
    std::thread::scope(|sc| {
        let mut it = a.chunks_mut(chunk).zip(b.chunks(chunk));
        let first = it.next();
        for (x, y) in it {
            sc.spawn(move || x.iter_mut().zip(y).for_each(|(p, q)| *p += q));
        }
        if let Some((x, y)) = first {
            x.iter_mut().zip(y).for_each(|(p, q)| *p += q);
        }
    });
}

struct Worker {
    input: Input,
    work: Work,
    grads: Vec<f32>,
    loss: f64,
}

fn fill_input(
    inp: &mut Input,
    prepared: &[Prepared],
    pieces: &[(usize, usize, usize)],
    ids: &[usize],
    stride: usize,
) {
    inp.clear();
    for &i in ids {
        let (d, a, b) = pieces[i];
        let p = &prepared[d];
        inp.rows.extend_from_slice(&p.rows[a * stride..b * stride]);
        inp.vec_rows.extend_from_slice(&p.vec_rows[a..b]);
        inp.gold.extend_from_slice(&p.gold[a..b]);
        for t in a..b {
            inp.left.push((t - a) as u32);
            inp.right.push((b - 1 - t) as u32);
        }
        inp.n += b - a;
    }
}

/// Forward and backward of one shard. The hash-table part of `w.grads` (the first
/// `sparse_len` floats) must be zero on entry (it is cleared row by row after each step).
fn shard_run(
    net: &Net,
    vt: Option<&StaticTable>,
    w: &mut Worker,
    cfg: &CnnConfig,
    seed: u64,
    scale: f32,
    sparse_len: usize,
) {
    let dropout = cfg.dropout;
    w.grads[sparse_len..].fill(0.0);
    let mut rng = Rng::new(seed);
    let drop = (dropout > 0.0).then_some((&mut rng, dropout));
    let has_drop = drop.is_some();
    net.forward(&w.input, vt, &mut w.work, drop);
    w.loss = net.backward_smoothed(
        &w.input,
        vt,
        &mut w.work,
        &mut w.grads,
        scale,
        has_drop,
        cfg.label_smoothing,
    );
}

fn labels_of(train: &[Document]) -> Vec<String> {
    let set: BTreeSet<&str> = train
        .iter()
        .flat_map(|d| d.spans.iter().map(|s| s.label.as_str()))
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// Evaluate `model` on whole documents; returns the report and the seconds it took.
pub fn evaluate(model: &CnnModel, eval: &[Document]) -> Result<(jner_eval::Report, f64)> {
    let t0 = Instant::now();
    let texts: Vec<&str> = eval.iter().map(|d| d.text.as_str()).collect();
    let preds = model.predict_texts(&texts, 0.0);
    let secs = t0.elapsed().as_secs_f64();
    let report =
        jner_eval::score_documents(eval, &preds).map_err(|e| CnnError::Eval(e.to_string()))?;
    Ok((report, secs))
}

/// Train a model on `train`, evaluating on `eval` (whole documents) after every epoch.
/// Everything is checked and loaded (configuration, labels, vectors) before the run folder is
/// opened; then `checkpoint-epoch-N/` (if enabled), `best/`, `final/`, `metrics.jsonl` and
/// `train_report.json` are written through it ([`jner_run::RunDir`]).
pub fn train(
    train: &[Document],
    eval: &[Document],
    cfg: &CnnConfig,
    run: PendingRun,
    meta: Value,
) -> Result<TrainReport> {
    let t_start = Instant::now();
    cfg.validate()?;
    let labels = labels_of(train);
    if labels.is_empty() {
        return Err(CnnError::Data(
            "the training documents have no labelled spans".into(),
        ));
    }
    let vectors = match &cfg.vectors {
        Some(p) => Some(Vectors::read_text(p)?),
        None => None,
    };
    let dims = dims_for(cfg, labels.len(), vectors.as_ref().map_or(0, |v| v.dim));
    let mut net = Net::new(dims, cfg.seed);
    if let Some(dir) = &cfg.init {
        crate::pretrain::load_into(dir, &mut net)?;
    }
    let mut model = CnnModel::new(cfg.clone(), labels.clone(), net, vectors);
    model.meta = meta;

    // data
    let mut al = Alignment::default();
    let prepared: Vec<Prepared> = train
        .iter()
        .map(|d| prepare(d, &labels, &model, &mut al))
        .collect();
    let mut all_pieces: Vec<(usize, usize, usize)> = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        for (a, b) in pieces(p, cfg.max_piece_tokens) {
            all_pieces.push((i, a, b));
        }
    }
    let words_of = |&(d, a, b): &(usize, usize, usize)| {
        prepared[d].space[a..b].iter().filter(|s| !**s).count()
    };
    let piece_words: Vec<usize> = all_pieces.iter().map(words_of).collect();
    model.alignment = serde_json::to_value(&al).unwrap_or(Value::Null);
    tracing::info!(
        docs = train.len(),
        pieces = all_pieces.len(),
        tokens_split = al.tokens_split,
        spans_lost = al.spans_lost,
        "prepared training data"
    );

    let threads = cfg.threads.max(1);
    let n_params = model.net.params.data.len();
    let mut workers: Vec<Worker> = (0..threads)
        .map(|_| Worker {
            input: Input::default(),
            work: Work::default(),
            grads: vec![0.0; n_params],
            loss: 0.0,
        })
        .collect();
    let sparse = model.net.sparse();
    let sparse_len = sparse.len();
    let row_w = sparse.width;
    let mut mark = vec![0u32; sparse.tables.last().map_or(0, |r| r.end)];
    let mut stamp = 0u32;
    let mut touched: Vec<u32> = Vec::new();
    let mut adam = Adam::new(&model.net.params.data, cfg.use_averages, sparse);
    let mut rng = Rng::new(cfg.seed);
    let stride = dims.stride();
    let n_batches = all_pieces.len().div_ceil(cfg.batch_size);
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new((n_batches * cfg.epochs) as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} epoch {prefix} {msg} [{elapsed_precise}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );

    let mut run = run.open()?;
    let mut order: Vec<usize> = (0..all_pieces.len()).collect();
    let mut epochs = Vec::new();
    let mut best_f1 = f64::NEG_INFINITY;
    let mut best_epoch = 0;
    let (mut total_train, mut total_eval) = (0.0, 0.0);
    let mut first_epoch = 1;
    if let Some(n) = run.resume_from().filter(|&n| n > 0) {
        let dir = run.checkpoint_dir(n);
        let st = resume::load(&dir, n_params, cfg.use_averages)?;
        if st.epoch != n {
            return Err(CnnError::file(
                dir.join(resume::STATE_JSON),
                format!("records epoch {}, the folder's name says {n}", st.epoch),
            ));
        }
        model.net.params.data = st.weights;
        adam.restore(st.m, st.v, st.avg, st.t)
            .map_err(|e| CnnError::file(dir.join(resume::STATE_TENSORS), e))?;
        best_f1 = st.best_f1;
        best_epoch = st.best_epoch;
        epochs = st.epochs;
        total_train = st.train_seconds;
        total_eval = st.eval_seconds;
        // the same data order and generator state as the uninterrupted run
        for _ in 0..n {
            rng.shuffle(&mut order);
        }
        first_epoch = n + 1;
        bar.inc((n.min(cfg.epochs) * n_batches) as u64);
        tracing::info!(epoch = n, "resumed from {}", dir.display());
    }
    for epoch in first_epoch..=cfg.epochs {
        bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
        let t0 = Instant::now();
        rng.shuffle(&mut order);
        let mut epoch_loss = 0.0f64;
        let mut epoch_tokens = 0usize;
        let mut epoch_words = 0usize;
        for (bi, batch) in order.chunks(cfg.batch_size).enumerate() {
            // deterministic shard assignment: greedy by tokens, ties to the lowest shard
            let mut shards: Vec<Vec<usize>> = vec![Vec::new(); threads];
            let mut load = vec![0usize; threads];
            for &pi in batch {
                let (_, a, b) = all_pieces[pi];
                let s = (0..threads).min_by_key(|&s| (load[s], s)).unwrap_or(0);
                load[s] += b - a;
                shards[s].push(pi);
                epoch_words += piece_words[pi];
            }
            let batch_tokens: usize = load.iter().sum();
            if batch_tokens == 0 {
                continue;
            }
            epoch_tokens += batch_tokens;
            let scale = 1.0 / batch_tokens as f32;
            for (w, ids) in workers.iter_mut().zip(&shards) {
                fill_input(&mut w.input, &prepared, &all_pieces, ids, stride);
            }
            let seed_of = |s: usize| {
                mix64(cfg.seed ^ mix64(((epoch as u64) << 40) ^ ((bi as u64) << 8) ^ s as u64))
            };
            {
                let net = &model.net;
                let vt = model.vectors.as_ref().map(|v| StaticTable {
                    dim: v.dim,
                    data: &v.data,
                });
                let vt = vt.as_ref();
                let (first, rest) = workers.split_at_mut(1);
                std::thread::scope(|sc| {
                    for (k, w) in rest.iter_mut().enumerate() {
                        if w.input.n > 0 {
                            let seed = seed_of(k + 1);
                            sc.spawn(move || shard_run(net, vt, w, cfg, seed, scale, sparse_len));
                        } else {
                            w.loss = 0.0;
                        }
                    }
                    if first[0].input.n > 0 {
                        let w = &mut first[0];
                        shard_run(net, vt, w, cfg, seed_of(0), scale, sparse_len);
                    } else {
                        first[0].grads[sparse_len..].fill(0.0);
                        first[0].loss = 0.0;
                    }
                });
            }
            // hash-table rows read by this batch (sorted: the optimiser splits them by range)
            stamp = stamp.wrapping_add(1);
            if stamp == 0 {
                mark.fill(0);
                stamp = 1;
            }
            touched.clear();
            for w in &workers {
                model
                    .net
                    .touched_rows(&w.input, &mut mark, stamp, &mut touched);
            }
            touched.sort_unstable();
            // fixed-order reduction into worker 0: touched rows, then the dense tail
            let (first, rest) = workers.split_at_mut(1);
            let g0 = &mut first[0].grads;
            let mut loss = first[0].loss;
            for w in rest.iter() {
                if w.input.n > 0 {
                    for &r in &touched {
                        let o = r as usize * row_w..(r as usize + 1) * row_w;
                        for (p, q) in g0[o.clone()].iter_mut().zip(&w.grads[o]) {
                            *p += q;
                        }
                    }
                    add_parallel(&mut g0[sparse_len..], &w.grads[sparse_len..], threads);
                    loss += w.loss;
                }
            }
            epoch_loss += loss;
            let params = &mut model.net.params;
            adam.step(&mut params.data, g0, &params.tensors, &touched, cfg);
            // restore the all-zero hash-table gradients
            for w in workers.iter_mut() {
                for &r in &touched {
                    w.grads[r as usize * row_w..(r as usize + 1) * row_w].fill(0.0);
                }
            }
            let secs = t0.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4} {:.0} words/s",
                epoch_loss / epoch_tokens.max(1) as f64,
                epoch_words as f64 / secs
            ));
            bar.inc(1);
        }
        adam.flush(&mut model.net.params.data);
        let train_seconds = t0.elapsed().as_secs_f64();
        total_train += train_seconds;
        if model.net.params.data.iter().any(|v| !v.is_finite()) {
            return Err(CnnError::Data(format!(
                "training diverged (non-finite weights) in epoch {epoch}"
            )));
        }
        // evaluation (and saving) with the averaged weights when kept
        if let Some(a) = adam.avg_mut() {
            std::mem::swap(a, &mut model.net.params.data);
        }
        let (report, eval_seconds) = if eval.is_empty() {
            (None, 0.0)
        } else {
            let (r, s) = evaluate(&model, eval)?;
            (Some(r), s)
        };
        total_eval += eval_seconds;
        let eval_words: usize = eval
            .iter()
            .map(|d| {
                Tokenizer::new()
                    .tokenize(&d.text)
                    .iter()
                    .filter(|t| !t.is_space)
                    .count()
            })
            .sum();
        let (p, r, f1) = report.as_ref().map_or((0.0, 0.0, 0.0), |r| {
            (r.micro.precision, r.micro.recall, r.micro.f1)
        });
        let ep = EpochReport {
            epoch,
            loss: epoch_loss / epoch_tokens.max(1) as f64,
            train_seconds,
            train_words: epoch_words,
            train_words_per_s: epoch_words as f64 / train_seconds.max(1e-9),
            eval_seconds,
            eval_words_per_s: if eval_seconds > 0.0 {
                eval_words as f64 / eval_seconds
            } else {
                0.0
            },
            precision: p,
            recall: r,
            f1,
        };
        model.scores = report.as_ref().map_or(Value::Null, |r| {
            serde_json::to_value(r).unwrap_or(Value::Null)
        });
        let line = serde_json::json!({
            "epoch": epoch,
            "loss": ep.loss,
            "train_seconds": ep.train_seconds,
            "train_words": ep.train_words,
            "train_words_per_s": ep.train_words_per_s,
            "eval_seconds": ep.eval_seconds,
            "eval": model.scores,
        });
        run.record_epoch(line)?;
        tracing::info!(
            epoch,
            loss = ep.loss,
            f1,
            words_per_s = ep.train_words_per_s,
            "epoch done"
        );
        epochs.push(ep);
        // best/ before the checkpoint: a checkpoint never records a best/ not yet written
        if f1 > best_f1 || eval.is_empty() {
            best_f1 = f1;
            best_epoch = epoch;
            run.save_model("best", |d| model.save(d))?;
        }
        if cfg.save_checkpoints {
            // the model holds the weights evaluated (averaged, when kept); training goes on
            // from the raw ones, in the average's slot until the swap below
            let (m, v, slot, t) = adam.state();
            let (raw, avg) = match slot {
                Some(raw) => (raw, Some(model.net.params.data.as_slice())),
                None => (model.net.params.data.as_slice(), None),
            };
            run.save_model(&format!("checkpoint-epoch-{epoch}"), |d| {
                model.save(d)?;
                resume::save(
                    d,
                    epoch,
                    raw,
                    (m, v, avg, t),
                    best_f1,
                    best_epoch,
                    &epochs,
                    (total_train, total_eval),
                )
            })?;
        }
        // back to the raw weights for the next epoch (the average keeps following them)
        if let Some(a) = adam.avg_mut() {
            std::mem::swap(a, &mut model.net.params.data);
        }
    }
    bar.finish_and_clear();
    if let Some(a) = adam.take_avg() {
        model.net.params.data = a;
    }
    run.save_model("final", |d| model.save(d))?;
    let report = TrainReport {
        labels,
        epochs,
        best_epoch,
        best_f1: best_f1.max(0.0),
        total_seconds: t_start.elapsed().as_secs_f64(),
        train_seconds: total_train,
        eval_seconds: total_eval,
        train_documents: train.len(),
        train_pieces: all_pieces.len(),
        eval_documents: eval.len(),
        parameters: n_params,
        alignment: al,
    };
    let js = serde_json::to_value(&report)
        .map_err(|e| CnnError::file(run.path("train_report.json"), e.to_string()))?;
    run.write_json("train_report.json", &js)?;
    run.finish()?;
    Ok(report)
}

/// Train and return the final in-memory model as well (used by tests and examples).
pub fn train_model(
    train_docs: &[Document],
    eval: &[Document],
    cfg: &CnnConfig,
    output_dir: &Path,
    meta: Value,
) -> Result<(TrainReport, CnnModel)> {
    let r = train(
        train_docs,
        eval,
        cfg,
        PendingRun::new_run(output_dir)?,
        meta,
    )?;
    let m = CnnModel::load(&output_dir.join("final"))?;
    Ok((r, m))
}
