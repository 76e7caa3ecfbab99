//! Training GLiNER: windows of the training documents, per-batch label prompts with negative
//! labels (what keeps the model reading the prompt, so it still takes new labels by name),
//! binary cross-entropy over span × label summed as the library does, AdamW with the encoder
//! and the rest ("others") at their own learning rates (no decay on biases and LayerNorms),
//! linear warm-up and decay, gradient clipping; per-epoch scoring of whole evaluation
//! documents with `jner_eval`; `best/`, `final/`, `checkpoint-epoch-N/` and `metrics.jsonl`
//! through the run folder.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use crate::trainer::TrainerState;
use serde::Serialize;
use serde_json::{json, Value};
use tch::{Device, Tensor};

use super::data::{build_item, collate, windows, Item, Prompt, TokText};
use super::decode::DecodeMode;
use super::model::{load_strict, GlinerModel, CONFIG_FILE, DEFAULT_THRESHOLD};
use super::net::{loss, span_mask, GlinerNet, LossOptions, HEAD_NO_DECAY_GROUP};
use crate::bert::NO_DECAY_GROUP;
use crate::optim::AdamW;
use crate::spanmarker::train::{device_name, lr_factor};
use crate::{Result, TorchError};
use jner_corpus::rng::Rng;
use jner_corpus::Document;

/// Every training choice, recorded in the model's `jner.json`.
#[derive(Clone, Debug, Serialize)]
pub struct GlinerTrainConfig {
    /// A GLiNER checkpoint to fine-tune, or a plain encoder for a fresh model (folder or hub
    /// id).
    pub model: String,
    /// Entity labels; `None`: those of the training documents, sorted.
    pub labels: Option<Vec<String>>,
    pub epochs: usize,
    /// Windows per optimiser step.
    pub batch_size: usize,
    /// The encoder's learning rate.
    pub lr: f64,
    /// Everything else's ("others": projection, LSTM, span and prompt layers).
    pub lr_others: f64,
    pub weight_decay: f64,
    pub weight_decay_others: f64,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    pub loss: LossOptions,
    /// Labels per training prompt (the model's `max_types` when `None`).
    pub max_types: Option<usize>,
    /// Negative labels per gold span, drawn up to this ratio (the model's when `None`).
    pub max_neg_type_ratio: Option<usize>,
    /// Words per window (the model's `max_len` when `None`).
    pub max_len: Option<usize>,
    pub seed: u64,
    pub threads: Option<usize>,
    pub eval_batch_size: usize,
    #[serde(serialize_with = "ser_device")]
    pub device: Device,
    pub progress: bool,
}

fn ser_device<S: serde::Serializer>(d: &Device, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&device_name(*d))
}

impl GlinerTrainConfig {
    /// The spec's defaults (10 epochs, batch 8, lr 3e-5) and the v2.1 recipe's others lr
    /// 5e-5; weight decay 0.01, warm-up 10 %, clipping 1.0.
    pub fn new(model: impl Into<String>) -> Self {
        GlinerTrainConfig {
            model: model.into(),
            labels: None,
            epochs: 10,
            batch_size: 8,
            lr: 3e-5,
            lr_others: 5e-5,
            weight_decay: 0.01,
            weight_decay_others: 0.01,
            warmup_ratio: 0.1,
            max_grad_norm: 1.0,
            loss: LossOptions::default(),
            max_types: None,
            max_neg_type_ratio: None,
            max_len: None,
            seed: 42,
            threads: None,
            eval_batch_size: 8,
            device: Device::Cpu,
            progress: true,
        }
    }
}

/// One epoch's line of `metrics.jsonl`.
#[derive(Clone, Debug, Serialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub loss: f64,
    pub train_seconds: f64,
    pub train_words: usize,
    pub train_words_per_s: f64,
    pub eval_seconds: f64,
    pub eval: Option<jner_eval::Report>,
}

/// What [`train`] returns.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub epochs: Vec<EpochMetrics>,
    pub best_epoch: Option<usize>,
    pub best_f1: Option<f64>,
    pub labels: Vec<String>,
    /// Training windows (encoder inputs per epoch).
    pub train_windows: usize,
    /// Gold spans longer than `max_width` words (not learnable, skipped).
    pub skipped_too_long: usize,
    /// Gold spans whose ends are not word boundaries (learned as the words they touch).
    pub misaligned: usize,
    pub fresh_model: bool,
    pub seconds: f64,
}

/// A training window: its words and gold spans `(start, end inclusive, label)`, window-local.
struct Example {
    text: usize,
    window: (usize, usize),
    gold: Vec<(usize, usize, String)>,
}

/// Gold spans of a document as word spans (inclusive), widened to the words they touch.
fn gold_words(
    d: &Document,
    t: &TokText,
    max_width: usize,
    skipped: &mut usize,
    misaligned: &mut usize,
) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for s in &d.spans {
        let first = t.words.partition_point(|w| w.1 <= s.start);
        let last = t.words.partition_point(|w| w.0 < s.end);
        if first >= last {
            *skipped += 1;
            continue;
        }
        let (a, b) = (first, last - 1);
        if t.words[a].0 != s.start || t.words[b].1 != s.end {
            *misaligned += 1;
        }
        if b - a + 1 > max_width {
            *skipped += 1;
            continue;
        }
        out.push((a, b, s.label.clone()));
    }
    out
}

/// The labels of each example's prompt for one batch (the library's
/// `batch_generate_class_mappings`): the batch's gold labels are the pool of negatives; an
/// example gets its gold labels plus `len(gold)·r` of the pool (`r` drawn from
/// `0..=max_neg_type_ratio`), shuffled, at most `max_types`. An example without gold spans gets
/// a random non-empty subset of `all` (the library would give it no label at all, so it would
/// teach nothing).
fn sample_types(
    golds: &[&[(usize, usize, String)]],
    all: &[String],
    max_types: usize,
    max_neg_ratio: usize,
    rng: &mut Rng,
) -> Vec<Vec<String>> {
    let mut pool: Vec<String> = golds
        .iter()
        .flat_map(|g| g.iter().map(|s| s.2.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    rng.shuffle(&mut pool);
    pool.truncate(100);
    golds
        .iter()
        .map(|g| {
            let mut types: Vec<String> = Vec::new();
            let push = |l: &String, types: &mut Vec<String>| {
                if !types.contains(l) {
                    types.push(l.clone());
                }
            };
            for s in g.iter() {
                push(&s.2, &mut types);
            }
            if g.is_empty() {
                let mut a = all.to_vec();
                rng.shuffle(&mut a);
                let n = 1 + rng.below(a.len().max(1));
                for l in a.iter().take(n) {
                    push(l, &mut types);
                }
            } else {
                let r = rng.below(max_neg_ratio + 1);
                for l in pool.iter().take(g.len() * r) {
                    push(l, &mut types);
                }
            }
            rng.shuffle(&mut types);
            types.truncate(max_types.max(1));
            types
        })
        .collect()
}

/// Whole-document scores with `jner_eval` at the default threshold.
pub fn evaluate(
    model: &GlinerModel,
    docs: &[Document],
    labels: &[String],
    batch_size: usize,
) -> Result<jner_eval::Report> {
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let preds = model.predict_texts(
        &texts,
        labels,
        DEFAULT_THRESHOLD,
        DecodeMode::default(),
        batch_size,
    )?;
    jner_eval::score_documents(docs, &preds).map_err(|e| TorchError::invalid(e.to_string()))
}

/// Trains (or fine-tunes) a GLiNER model on `train`, scoring `eval` after every epoch. The run
/// folder is opened only once the model is loaded and the data prepared.
pub fn train(
    train: &[Document],
    eval: &[Document],
    cfg: &GlinerTrainConfig,
    run: jner_run::PendingRun,
    meta: Value,
) -> Result<TrainReport> {
    let started = Instant::now();
    crate::trainer::begin(cfg.threads, cfg.seed);
    let labels = crate::trainer::labels(cfg.labels.as_deref(), train)?;
    let dir = crate::hub::resolve_model_dir(&cfg.model)?;
    let fresh = !dir.join(CONFIG_FILE).is_file();
    let mut model = if fresh {
        GlinerModel::from_encoder(&dir, &cfg.model, &labels, cfg.device)?
    } else {
        let mut m = GlinerModel::load_on(&dir, cfg.device)?;
        m.labels = labels.clone();
        m
    };
    if let Some(n) = cfg.max_len {
        model.config.max_len = n.max(1);
    }
    let max_types = cfg.max_types.unwrap_or(model.config.max_types).max(1);
    let neg_ratio = cfg
        .max_neg_type_ratio
        .unwrap_or(model.config.max_neg_type_ratio);
    let k = model.config.max_width;

    // windows sized for the longest prompt a batch can have: all the labels
    let full_prompt = Prompt::new(model.tokenizer(), &labels, model.specials())?;
    let budget = model
        .reading
        .max_tokens
        .saturating_sub(model.specials().n_special() + full_prompt.ids.len());
    if budget < 8 {
        return Err(TorchError::invalid(format!(
            "the {} labels' prompt takes {} of the encoder's {} tokens: no room for text",
            labels.len(),
            full_prompt.ids.len(),
            model.reading.max_tokens
        )));
    }
    let (mut skipped, mut misaligned) = (0, 0);
    let mut toks = Vec::with_capacity(train.len());
    let mut examples = Vec::new();
    for (ti, d) in train.iter().enumerate() {
        let t = model.tokenize(&d.text)?;
        let gold = gold_words(d, &t, k, &mut skipped, &mut misaligned);
        let counts: Vec<usize> = t.pieces.iter().map(Vec::len).collect();
        for w in windows(&counts, model.config.max_len, budget, k) {
            let g = gold
                .iter()
                .filter(|s| s.0 >= w.0 && s.1 < w.1)
                .map(|s| (s.0 - w.0, s.1 - w.0, s.2.clone()))
                .collect();
            examples.push(Example {
                text: ti,
                window: w,
                gold: g,
            });
        }
        toks.push(t);
    }
    if examples.is_empty() {
        return Err(TorchError::invalid("the training documents have no words"));
    }
    let train_words: usize = toks.iter().map(|t| t.words.len()).sum();

    let mut run = run.open()?;

    let bs = cfg.batch_size.max(1);
    let steps_per_epoch = examples.len().div_ceil(bs);
    let total_steps = steps_per_epoch * cfg.epochs;
    let warmup = (cfg.warmup_ratio * total_steps as f64).ceil() as usize;
    let others_mult = cfg.lr_others / cfg.lr;
    let mut opt = model.with_net(|net| {
        AdamW::grouped(&net.vs, cfg.lr, |name, group| {
            let no_decay = group == NO_DECAY_GROUP || group == HEAD_NO_DECAY_GROUP;
            if GlinerNet::is_encoder_weight(name) {
                (1.0, if no_decay { 0.0 } else { cfg.weight_decay })
            } else {
                (
                    others_mult,
                    if no_decay {
                        0.0
                    } else {
                        cfg.weight_decay_others
                    },
                )
            }
        })
    });

    let pb = crate::trainer::progress(total_steps, cfg.progress);
    let mut report = TrainReport {
        epochs: Vec::new(),
        best_epoch: None,
        best_f1: None,
        labels: labels.clone(),
        train_windows: examples.len(),
        skipped_too_long: skipped,
        misaligned,
        fresh_model: fresh,
        seconds: 0.0,
    };
    let mut step = 0;
    let mut first_epoch = 1;
    if let Some(n) = run.resume_from().filter(|&n| n > 0) {
        let dir = run.checkpoint_dir(n);
        let state = TrainerState::read(&dir)?;
        model.with_net(|net| -> Result<()> {
            let w = dir.join("model.safetensors");
            load_strict(&net.vs, &crate::hf::read_weights(&w)?, &w)
        })?;
        opt.load(&dir)?;
        step = state.step;
        crate::dropout::set_state((cfg.seed, state.dropout_calls));
        report.best_f1 = state.best_f1;
        report.best_epoch = state.best_epoch;
        first_epoch = n + 1;
        pb.inc((step as u64).min(total_steps as u64));
    }
    let dev = model.device();
    for epoch in first_epoch..=cfg.epochs {
        let t0 = Instant::now();
        // one stream per epoch, so a resumed run draws what the uninterrupted one would
        let mut rng = Rng::new(cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut order: Vec<usize> = (0..examples.len()).collect();
        rng.shuffle(&mut order);
        let mut loss_sum = 0.0;
        for idx in order.chunks(bs) {
            let exs: Vec<&Example> = idx.iter().map(|&i| &examples[i]).collect();
            let golds: Vec<&[(usize, usize, String)]> =
                exs.iter().map(|e| e.gold.as_slice()).collect();
            let types = sample_types(&golds, &labels, max_types, neg_ratio, &mut rng);
            let mut items: Vec<Item> = Vec::with_capacity(exs.len());
            for (e, ty) in exs.iter().zip(&types) {
                let prompt = Prompt::new(model.tokenizer(), ty, model.specials())?;
                items.push(build_item(
                    &toks[e.text],
                    e.window,
                    &prompt,
                    model.specials(),
                ));
            }
            let refs: Vec<&Item> = items.iter().collect();
            let batch = collate(&refs, model.specials().pad);
            let (w, c) = (batch.w, batch.c);
            let mut target = vec![0f32; exs.len() * w * k * c];
            for (r, (e, ty)) in exs.iter().zip(&types).enumerate() {
                for (a, b, l) in &e.gold {
                    if let Some(ci) = ty.iter().position(|t| t == l) {
                        target[((r * w + a) * k + (b - a)) * c + ci] = 1.0;
                    }
                }
            }
            let shape = [exs.len() as i64, w as i64, k as i64, c as i64];
            let target = Tensor::from_slice(&target).view(shape).to_device(dev);
            let smask = span_mask(&batch.lengths, w, k, dev);
            let cmask = Tensor::from_slice(&batch.class_mask)
                .view([exs.len() as i64, 1, 1, c as i64])
                .to_device(dev);
            let mask = smask.unsqueeze(-1) * cmask;
            opt.set_lr(cfg.lr * lr_factor(step, warmup, total_steps));
            opt.zero_grad();
            let l = model.with_net(|net| {
                let logits = net.logits(&batch, true);
                let l = loss(&logits, &target, &mask, cfg.loss);
                l.backward();
                l.double_value(&[])
            });
            if cfg.max_grad_norm > 0.0 {
                opt.clip_grad_norm(cfg.max_grad_norm);
            }
            opt.step();
            loss_sum += l;
            step += 1;
            pb.set_message(format!("epoch {epoch}/{} loss {l:.3}", cfg.epochs));
            pb.inc(1);
        }
        let train_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let eval_report = if eval.is_empty() {
            None
        } else {
            Some(evaluate(&model, eval, &labels, cfg.eval_batch_size)?)
        };
        let m = EpochMetrics {
            epoch,
            loss: loss_sum / steps_per_epoch.max(1) as f64,
            train_seconds,
            train_words,
            train_words_per_s: train_words as f64 / train_seconds.max(1e-9),
            eval_seconds: t1.elapsed().as_secs_f64(),
            eval: eval_report,
        };
        crate::trainer::record(&mut run, &m)?;
        let line = match &m.eval {
            Some(r) => format!("epoch {epoch}: loss {:.3}, eval F1 {:.4}", m.loss, r.f1()),
            None => format!("epoch {epoch}: loss {:.3}", m.loss),
        };
        crate::trainer::say(&pb, cfg.progress, line);
        if let Some(r) = &m.eval {
            if crate::trainer::improves(&mut report.best_f1, &mut report.best_epoch, r, epoch) {
                let meta = model_meta(&meta, cfg, epoch, Some(r));
                run.save_model("best", |d| model.save(d, meta))?;
            }
        }
        let state = TrainerState::now(step, report.best_f1, report.best_epoch);
        let meta_ck = model_meta(&meta, cfg, epoch, m.eval.as_ref());
        run.save_model(&format!("checkpoint-epoch-{epoch}"), |d: &Path| {
            model.save(d, meta_ck)?;
            opt.save(d)?;
            state.write(d, epoch)
        })?;
        report.epochs.push(m);
    }
    pb.finish_and_clear();
    let last = report.epochs.last().and_then(|m| m.eval.as_ref());
    let final_meta = model_meta(&meta, cfg, cfg.epochs, last);
    run.save_model("final", |d| model.save(d, final_meta))?;
    report.seconds = started.elapsed().as_secs_f64();
    run.finish()?;
    Ok(report)
}

fn model_meta(
    meta: &Value,
    cfg: &GlinerTrainConfig,
    epoch: usize,
    eval: Option<&jner_eval::Report>,
) -> Value {
    json!({"user": meta, "config": cfg, "epoch": epoch, "eval": eval})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sampling_keeps_gold_adds_negatives_and_caps() {
        let all: Vec<String> = ["A", "B", "C", "D"].iter().map(|s| s.to_string()).collect();
        let g1 = vec![(0, 0, "A".to_string()), (2, 3, "B".to_string())];
        let g2 = vec![(1, 1, "C".to_string())];
        let g3: Vec<(usize, usize, String)> = vec![];
        let mut rng = Rng::new(7);
        for _ in 0..50 {
            let t = sample_types(&[&g1, &g2, &g3], &all, 25, 1, &mut rng);
            assert!(t[0].contains(&"A".into()) && t[0].contains(&"B".into()));
            assert!(t[1].contains(&"C".into()));
            assert!(
                !t[2].is_empty(),
                "an example without spans still gets labels"
            );
            for ty in &t {
                let set: BTreeSet<_> = ty.iter().collect();
                assert_eq!(set.len(), ty.len(), "no duplicates");
                assert!(ty.iter().all(|l| all.contains(l)));
            }
            let capped = sample_types(&[&g1], &all, 1, 1, &mut rng);
            assert_eq!(capped[0].len(), 1);
        }
    }
}
