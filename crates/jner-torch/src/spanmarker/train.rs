//! Training SpanMarker: AdamW (no decay on biases and LayerNorms), linear warmup then decay,
//! gradient clipping, per-epoch scoring with `jner_eval`, `best/` and `final/` model folders,
//! `metrics.jsonl`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};
use tch::Device;

use super::data::{byte_span_to_words, Layout, Sample, TokDoc};
use super::model::SpanMarkerModel;
use crate::bert::NO_DECAY_GROUP;
use crate::optim::AdamW;

use crate::trainer::TrainerState;
pub use crate::trainer::STATE_FILE;
use crate::{Result, TorchError};
use jner_corpus::rng::Rng;
use jner_corpus::Document;

/// Every training choice, recorded in the model's `jner.json`.
#[derive(Clone, Debug, Serialize)]
pub struct SpanMarkerConfig {
    /// Encoder folder (config.json, model.safetensors or pytorch_model.bin, tokenizer.json).
    pub model: PathBuf,
    /// Entity labels; `None`: those of the training documents, sorted.
    pub labels: Option<Vec<String>>,
    pub epochs: usize,
    /// Samples (window × span chunk) per optimiser step.
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    pub entity_max_length: usize,
    pub model_max_length: usize,
    pub marker_max_length: usize,
    /// A training batch is run forward and backward in parts of at least this many marker
    /// pairs, gradients accumulated (same update, less memory); 0 = the whole batch at once.
    pub micro_batch_pairs: usize,
    /// How many samples of one window are kept together when shuffling (they share the
    /// text's encoding in a batch): 1 shuffles samples one by one like the library (the most
    /// varied batches), 0 keeps whole windows together (fastest).
    pub window_group: usize,
    pub seed: u64,
    /// libtorch intra-op threads; `None` leaves libtorch's default.
    pub threads: Option<usize>,
    /// Samples per forward pass when scoring.
    pub eval_batch_size: usize,
    #[serde(serialize_with = "ser_device")]
    pub device: Device,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

fn ser_device<S: serde::Serializer>(d: &Device, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&device_name(*d))
}

/// `cpu` or `cuda[:N]`.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(0) => "cuda".into(),
        Device::Cuda(n) => format!("cuda:{n}"),
        Device::Mps => "mps".into(),
        Device::Vulkan => "vulkan".into(),
        _ => "cpu".into(),
    }
}

/// Parses `cpu`, `cuda`, `cuda:N`; errors when CUDA is asked for but not available.
pub fn parse_device(s: &str) -> Result<Device> {
    let d = match s {
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda(0),
        _ => match s.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(n) => Device::Cuda(n),
            None => {
                return Err(TorchError::invalid(format!(
                    "unknown device `{s}` (use cpu, cuda or cuda:N)"
                )))
            }
        },
    };
    if let Device::Cuda(n) = d {
        if !tch::Cuda::is_available() || n >= tch::Cuda::device_count() as usize {
            return Err(TorchError::invalid(format!(
                "device `{s}` asked for but libtorch sees {} CUDA device(s); use --device cpu",
                tch::Cuda::device_count()
            )));
        }
    }
    Ok(d)
}

impl SpanMarkerConfig {
    /// The defaults of the brief: 5 epochs, batch 8, lr 5e-5, spans of up to 8 words,
    /// 256 text tokens, 128 marker pairs, AdamW weight decay 0.01, 10 % warmup, clip 1.0.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        SpanMarkerConfig {
            model: model.into(),
            labels: None,
            epochs: 5,
            batch_size: 8,
            learning_rate: 5e-5,
            weight_decay: 0.01,
            warmup_ratio: 0.1,
            max_grad_norm: 1.0,
            entity_max_length: 8,
            model_max_length: 256,
            marker_max_length: 128,
            micro_batch_pairs: 512,
            window_group: 1,
            seed: 42,
            threads: None,
            eval_batch_size: 16,
            device: Device::Cpu,
            progress: true,
        }
    }
    pub fn layout(&self) -> Layout {
        Layout {
            model_max_length: self.model_max_length,
            marker_max_length: self.marker_max_length,
            entity_max_length: self.entity_max_length,
        }
    }
}

/// One epoch's line of `metrics.jsonl`.
#[derive(Clone, Debug, Serialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub loss: f64,
    pub train_seconds: f64,
    pub train_words: usize,
    pub train_words_per_s: f64,
    /// Median wall time of one optimizer step (collate, forward, backward, clip, update).
    pub step_seconds_median: f64,
    pub eval_seconds: f64,
    /// `null` when there are no eval documents.
    pub eval: Option<jner_eval::Report>,
}

/// What [`train`] returns.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub epochs: Vec<EpochMetrics>,
    /// 1-based epoch of `best/`, when there were eval documents.
    pub best_epoch: Option<usize>,
    pub best_f1: Option<f64>,
    pub labels: Vec<String>,
    pub train_samples: usize,
    /// Gold spans longer than `entity_max_length` words (not learnable, skipped).
    pub skipped_too_long: usize,
    /// Gold spans whose ends are not word boundaries (learned as the words they touch).
    pub misaligned: usize,
    pub seconds: f64,
}

/// Gold word spans of a document: `(start_word, end_word) → class id`.
pub fn gold_word_spans(
    doc: &Document,
    td: &TokDoc,
    label_ids: &HashMap<String, i64>,
    max_span: usize,
    skipped: &mut usize,
    misaligned: &mut usize,
) -> HashMap<(usize, usize), i64> {
    let mut out = HashMap::new();
    for sp in &doc.spans {
        let Some(&id) = label_ids.get(&sp.label) else {
            continue;
        };
        let Some((s, e)) = byte_span_to_words(&td.words, sp.start, sp.end) else {
            *skipped += 1;
            continue;
        };
        if td.words[s].0 != sp.start || td.words[e - 1].1 != sp.end {
            *misaligned += 1;
        }
        if e - s > max_span {
            *skipped += 1;
            continue;
        }
        out.insert((s, e), id);
    }
    out
}

/// `jner_eval` over whole documents.
pub fn evaluate(
    model: &SpanMarkerModel,
    docs: &[Document],
    batch_size: usize,
) -> Result<jner_eval::Report> {
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let preds = model.predict_texts(&texts, batch_size, 0.0)?;
    jner_eval::score_documents(docs, &preds).map_err(|e| TorchError::invalid(e.to_string()))
}

/// HF `get_linear_schedule_with_warmup`: factor of the base lr at optimiser step `step`.
pub fn lr_factor(step: usize, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        step as f64 / warmup.max(1) as f64
    } else {
        ((total - step.min(total)) as f64 / (total - warmup).max(1) as f64).max(0.0)
    }
}

/// Trains a SpanMarker model on `train`, scores `eval` after every epoch, and writes `best/`,
/// `final/` and `metrics.jsonl` through the run folder, which is opened only once the encoder
/// is loaded and the data prepared. `meta` goes into `jner.json` (with the config and the
/// scores added).
pub fn train(
    train: &[Document],
    eval: &[Document],
    cfg: &SpanMarkerConfig,
    run: jner_run::PendingRun,
    meta: Value,
) -> Result<TrainReport> {
    let started = Instant::now();
    crate::trainer::begin(cfg.threads, cfg.seed);
    let labels = crate::trainer::labels(cfg.labels.as_deref(), train)?;
    let encoder_dir = crate::hub::resolve_model_dir(&cfg.model.to_string_lossy())?;
    let model = SpanMarkerModel::from_encoder(&encoder_dir, &labels, cfg.layout(), cfg.device)?;
    let label_ids: HashMap<String, i64> = model
        .id2label()
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), i as i64))
        .collect();

    let (mut skipped, mut misaligned) = (0, 0);
    let mut docs = Vec::with_capacity(train.len());
    let mut golds = Vec::with_capacity(train.len());
    for d in train {
        let td = model.tokenize(&d.text)?;
        golds.push(gold_word_spans(
            d,
            &td,
            &label_ids,
            cfg.entity_max_length,
            &mut skipped,
            &mut misaligned,
        ));
        docs.push(td);
    }
    let train_words: usize = docs.iter().map(|d| d.words.len()).sum();
    let samples: Vec<Sample> = model.samples(&docs, Some(&golds));
    if samples.is_empty() {
        return Err(TorchError::invalid("the training documents have no words"));
    }
    drop(docs);

    // everything is loaded and checked: the first write into the run folder
    let mut run = run.open()?;

    let bs = cfg.batch_size.max(1);
    let steps_per_epoch = samples.len().div_ceil(bs);
    let total_steps = steps_per_epoch * cfg.epochs;
    let warmup = (cfg.warmup_ratio * total_steps as f64).ceil() as usize;
    let mut opt = {
        let net = model.net.lock().expect("model lock");
        AdamW::new(&net.vs, cfg.learning_rate, cfg.weight_decay, NO_DECAY_GROUP)
    };

    let pb = crate::trainer::progress(total_steps, cfg.progress);

    let mut rng = Rng::new(cfg.seed);
    // Shuffled units: up to `window_group` consecutive samples of one window (a batch encodes
    // a window's text once for all its samples in the batch). 1 shuffles samples one by one,
    // as the library does. Steps per epoch stay ceil(samples / batch).
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        match groups.last_mut() {
            Some(g)
                if samples[g[0]].doc == s.doc
                    && samples[g[0]].window == s.window
                    && (cfg.window_group == 0 || g.len() < cfg.window_group) =>
            {
                g.push(i)
            }
            _ => groups.push(vec![i]),
        }
    }
    let mut order: Vec<usize> = Vec::with_capacity(samples.len());
    let mut report = TrainReport {
        epochs: Vec::new(),
        best_epoch: None,
        best_f1: None,
        labels: labels.clone(),
        train_samples: samples.len(),
        skipped_too_long: skipped,
        misaligned,
        seconds: 0.0,
    };
    let mut step = 0;
    let mut first_epoch = 1;
    if let Some(n) = run.resume_from().filter(|&n| n > 0) {
        let dir = run.checkpoint_dir(n);
        let state = TrainerState::read(&dir)?;
        {
            let net = model.net.lock().expect("model lock");
            crate::spanmarker::model::load_exact(
                &net.vs,
                &crate::hf::read_weights(&dir.join("model.safetensors"))?,
            )?;
        }
        opt.load(&dir)?;
        step = state.step;
        crate::dropout::set_state((cfg.seed, state.dropout_calls));
        report.best_f1 = state.best_f1;
        report.best_epoch = state.best_epoch;
        for _ in 0..n {
            rng.shuffle(&mut groups);
        }
        first_epoch = n + 1;
        pb.inc((step as u64).min(total_steps as u64));
    }
    for epoch in first_epoch..=cfg.epochs {
        let t0 = Instant::now();
        rng.shuffle(&mut groups);
        order.clear();
        order.extend(groups.iter().flatten());
        let mut loss_sum = 0.0;
        let mut step_times = Vec::with_capacity(steps_per_epoch);
        for idx in order.chunks(bs) {
            let ts = Instant::now();
            let batch_samples: Vec<&Sample> = idx.iter().map(|&i| &samples[i]).collect();
            let total_pairs: usize = batch_samples.iter().map(|s| s.spans.len()).sum();
            opt.set_lr(cfg.learning_rate * lr_factor(step, warmup, total_steps));
            let net = model.net.lock().expect("model lock");
            opt.zero_grad();
            // Gradient accumulation over parts of the batch: the same mean loss and gradient
            // as one pass, with the activations of one part alive at a time.
            let mut l = 0.0;
            for part in micro_batches(&batch_samples, cfg.micro_batch_pairs) {
                let n: usize = part.iter().map(|s| s.spans.len()).sum();
                let loss = net.loss(&model.collate(part), true) * (n as f64 / total_pairs as f64);
                loss.backward();
                l += loss.double_value(&[]);
            }
            if cfg.max_grad_norm > 0.0 {
                opt.clip_grad_norm(cfg.max_grad_norm);
            }
            opt.step();
            drop(net);
            step_times.push(ts.elapsed().as_secs_f64());
            loss_sum += l;
            step += 1;
            pb.set_message(format!("epoch {epoch}/{} loss {l:.4}", cfg.epochs));
            pb.inc(1);
        }
        let train_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let eval_report = if eval.is_empty() {
            None
        } else {
            Some(evaluate(&model, eval, cfg.eval_batch_size)?)
        };
        let m = EpochMetrics {
            epoch,
            loss: loss_sum / steps_per_epoch.max(1) as f64,
            train_seconds,
            train_words,
            train_words_per_s: train_words as f64 / train_seconds.max(1e-9),
            step_seconds_median: median(&mut step_times),
            eval_seconds: t1.elapsed().as_secs_f64(),
            eval: eval_report,
        };
        crate::trainer::record(&mut run, &m)?;
        let line = match &m.eval {
            Some(r) => format!("epoch {epoch}: loss {:.4}, eval F1 {:.4}", m.loss, r.f1()),
            None => format!("epoch {epoch}: loss {:.4}", m.loss),
        };
        crate::trainer::say(&pb, cfg.progress, line);
        if let Some(r) = &m.eval {
            if crate::trainer::improves(&mut report.best_f1, &mut report.best_epoch, r, epoch) {
                let meta = model_meta(&meta, cfg, epoch, Some(r));
                run.save_model("best", |d| model.save(d, meta))?;
            }
        }
        // the checkpoint: the model, the optimizer's moments and step, where the dropout
        // stream is; the data order is replayed from the seed on a resume
        let state = TrainerState::now(step, report.best_f1, report.best_epoch);
        let meta_ck = model_meta(&meta, cfg, epoch, m.eval.as_ref());
        run.save_model(&format!("checkpoint-epoch-{epoch}"), |d| {
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

/// Consecutive runs of samples with at least `pairs` marker pairs each (the last may have
/// fewer); `pairs == 0` keeps the batch whole.
fn micro_batches<'a, 'b>(samples: &'b [&'a Sample], pairs: usize) -> Vec<&'b [&'a Sample]> {
    if pairs == 0 {
        return vec![samples];
    }
    let mut out = Vec::new();
    let (mut start, mut n) = (0, 0);
    for (i, s) in samples.iter().enumerate() {
        n += s.spans.len();
        if n >= pairs {
            out.push(&samples[start..=i]);
            start = i + 1;
            n = 0;
        }
    }
    if start < samples.len() {
        out.push(&samples[start..]);
    }
    out
}

fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn model_meta(
    meta: &Value,
    cfg: &SpanMarkerConfig,
    epoch: usize,
    eval: Option<&jner_eval::Report>,
) -> Value {
    json!({
        "user": meta,
        "config": cfg,
        "epoch": epoch,
        "eval": eval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_warmup_then_decay() {
        let f = |s| lr_factor(s, 10, 100);
        assert_eq!(f(0), 0.0);
        assert_eq!(f(5), 0.5);
        assert_eq!(f(10), 1.0);
        assert_eq!(f(55), 0.5);
        assert_eq!(f(100), 0.0);
        assert_eq!(lr_factor(0, 0, 4), 1.0);
    }

    #[test]
    fn devices() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert!(parse_device("gpu").is_err());
        if !tch::Cuda::is_available() {
            let e = parse_device("cuda").unwrap_err().to_string();
            assert!(e.contains("--device cpu"), "{e}");
        }
        assert_eq!(device_name(Device::Cuda(1)), "cuda:1");
    }

    #[test]
    fn micro_batches_cover_the_batch_in_order() {
        let sample = |pairs: usize| Sample {
            doc: 0,
            window: 0,
            input_ids: vec![1, 2],
            start_positions: vec![0; pairs],
            end_positions: vec![0; pairs],
            spans: vec![(0, 1); pairs],
            labels: vec![],
        };
        let samples: Vec<Sample> = [300, 300, 100, 600, 50].map(sample).to_vec();
        let refs: Vec<&Sample> = samples.iter().collect();
        let sizes = |pairs| {
            micro_batches(&refs, pairs)
                .iter()
                .map(|p| p.iter().map(|s| s.spans.len()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(512), [vec![300, 300], vec![100, 600], vec![50]]);
        assert_eq!(sizes(0), [vec![300, 300, 100, 600, 50]]);
        assert_eq!(
            sizes(1),
            [[300], [300], [100], [600], [50]].map(|a| a.to_vec())
        );
    }
}
