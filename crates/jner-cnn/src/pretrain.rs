//! `jner pretrain`: the cnn's encoder (hash embeddings, static-vector projection and the
//! window layers) learns from raw text before it learns tags; `jner train --init DIR` then
//! starts from it.
//!
//! The objective is spaCy's `characters` objective (`spacy pretrain`: predict the first and
//! last `n` UTF-8 bytes of each word, one 256-way softmax per byte position), made a masked
//! objective: a random `mask_rate` of the words are hidden from the network (80% replaced by a
//! mask token, 10% by another word of the batch, 10% left as they are, as in BERT), and only
//! those are predicted. Without the mask the word's own PREFIX/SUFFIX embeddings would give
//! the answer away and the window layers would learn nothing about context.
//!
//! The output layer of the network is the objective's (`2·n·256` logits per token) and is
//! thrown away; `pretrained/` holds every other tensor, `pretrain.json` the architecture they
//! belong to. One thread, one seed: the same text and settings give the same weights.

use std::path::Path;
use std::time::Instant;

use jner_corpus::rng::Rng;
use jner_run::PendingRun;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::CnnConfig;
use crate::decoder::O;
use crate::features::{keys, mix64, rows_of};
use crate::model::{dims_for, featurize, read_tensors, write_safetensors};
use crate::net::{Input, Net, StaticTable, Work};
use crate::optim::Adam;
use crate::tokenizer::Tokenizer;
use crate::train::{pieces, Prepared};
use crate::vectors::Vectors;
use crate::{CnnError, Result};

/// The file naming what a pretrained folder holds.
pub const PRETRAIN_JSON: &str = "pretrain.json";
/// The encoder's weights.
pub const WEIGHTS: &str = "tok2vec.safetensors";
const FORMAT_VERSION: u64 = 1;
/// The text the mask token's features are hashed from (no real word looks like it).
const MASK: &str = "\u{1}jner-mask\u{1}";

/// Settings of a pretraining run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PretrainConfig {
    /// The architecture, the optimiser, epochs, batch size, pieces, dropout, seed, vectors.
    pub cnn: CnnConfig,
    /// Bytes predicted from each end of a word.
    pub n_characters: usize,
    /// Share of the words hidden and predicted.
    pub mask_rate: f32,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            cnn: CnnConfig::default(),
            n_characters: 3,
            mask_rate: 0.15,
        }
    }
}

impl PretrainConfig {
    pub fn validate(&self) -> Result<()> {
        self.cnn.validate()?;
        if self.n_characters == 0 || self.n_characters > 8 {
            return Err(CnnError::Config("n_characters must be in 1..=8".into()));
        }
        if !(self.mask_rate > 0.0 && self.mask_rate < 1.0) {
            return Err(CnnError::Config("mask_rate must be in (0, 1)".into()));
        }
        Ok(())
    }
    fn n_out(&self) -> usize {
        2 * self.n_characters * 256
    }
}

/// The byte targets of a word: its first and last `n` bytes, lower-cased, 0 where it is
/// shorter.
fn targets(word: &str, n: usize, out: &mut Vec<u8>) {
    let low = word.to_lowercase();
    let b = low.as_bytes();
    for i in 0..n {
        out.push(b.get(i).copied().unwrap_or(0));
    }
    for i in 0..n {
        // the i-th of the last n bytes; 0 before the start of a short word
        out.push((b.len() + i).checked_sub(n).map_or(0, |j| b[j]));
    }
}

/// One epoch's numbers (a `metrics.jsonl` line).
#[derive(Clone, Debug, Serialize)]
pub struct PretrainEpoch {
    pub epoch: usize,
    /// Mean cross-entropy per predicted byte.
    pub loss: f64,
    /// Share of predicted bytes whose most likely value is right.
    pub accuracy: f64,
    pub masked_words: usize,
    pub train_words: usize,
    pub train_seconds: f64,
    pub train_words_per_s: f64,
}

/// Pretrains on `texts` through the run folder: `metrics.jsonl` per epoch, `final/` (and
/// `checkpoint-epoch-N/` when `save_checkpoints`) with `pretrain.json` and the weights.
pub fn pretrain(
    texts: &[&str],
    cfg: &PretrainConfig,
    run: PendingRun,
) -> Result<Vec<PretrainEpoch>> {
    cfg.validate()?;
    let c = &cfg.cnn;
    let vectors = match &c.vectors {
        Some(p) => Some(Vectors::read_text(p)?),
        None => None,
    };
    let mut dims = dims_for(c, 0, vectors.as_ref().map_or(0, |v| v.dim));
    dims.n_tags = cfg.n_out();
    let mut net = Net::new(dims, c.seed);
    let nc = cfg.n_characters;
    let stride = dims.stride();

    // the texts as features, byte targets and pieces
    let tok = Tokenizer::new();
    let mut docs: Vec<(Prepared, Vec<u8>)> = Vec::new();
    let mut lower = String::new();
    for t in texts {
        let tokens = tok.tokenize(t);
        if tokens.iter().all(|k| k.is_space) {
            continue;
        }
        let (mut rows, mut vec_rows) = (Vec::new(), Vec::new());
        featurize(
            t,
            &tokens,
            &dims,
            vectors.as_ref(),
            &mut lower,
            &mut rows,
            &mut vec_rows,
        );
        let mut tg = Vec::with_capacity(tokens.len() * 2 * nc);
        for k in &tokens {
            targets(k.text(t), nc, &mut tg);
        }
        let sent_end = tokens
            .iter()
            .map(|k| {
                let s = k.text(t);
                (k.is_space && s.contains('\n')) || matches!(s, "." | "!" | "?" | ";")
            })
            .collect();
        let p = Prepared {
            rows,
            vec_rows,
            gold: vec![O; tokens.len()],
            space: tokens.iter().map(|k| k.is_space).collect(),
            sent_end,
        };
        docs.push((p, tg));
    }
    if docs.is_empty() {
        return Err(CnnError::Data("pretrain: the texts hold no words".into()));
    }
    let mut all: Vec<(usize, usize, usize)> = Vec::new();
    for (i, (p, _)) in docs.iter().enumerate() {
        for (a, b) in pieces(p, c.max_piece_tokens) {
            all.push((i, a, b));
        }
    }
    let mut mask_rows = vec![0u32; stride];
    rows_of(
        &keys(MASK, false),
        &dims.rows,
        dims.n_hashes,
        &mut mask_rows,
    );

    let sparse = net.sparse();
    let sparse_len = sparse.len();
    let row_w = sparse.width;
    let mut mark = vec![0u32; sparse.tables.last().map_or(0, |r| r.end)];
    let mut stamp = 0u32;
    let mut touched: Vec<u32> = Vec::new();
    let mut adam = Adam::new(&net.params.data, c.use_averages, sparse);
    let mut grads = vec![0f32; net.params.data.len()];
    let mut rng = Rng::new(c.seed);
    let mut inp = Input::default();
    let mut work = Work::default();
    let mut masked: Vec<(usize, usize, usize)> = Vec::new(); // (token in batch, document, token)
    let mut order: Vec<usize> = (0..all.len()).collect();
    let n_batches = all.len().div_ceil(c.batch_size);
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new((n_batches * c.epochs) as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut run = run.open()?;
    let mut report = Vec::new();
    let n_out = cfg.n_out();
    let vt_own = vectors.as_ref().map(|v| StaticTable {
        dim: v.dim,
        data: &v.data,
    });
    let vt = vt_own.as_ref();
    for epoch in 1..=c.epochs {
        let t0 = Instant::now();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut right, mut predicted) = (0f64, 0usize, 0usize);
        let (mut masked_words, mut words) = (0usize, 0usize);
        for (bi, batch) in order.chunks(c.batch_size).enumerate() {
            inp.clear();
            masked.clear();
            let mut brng = Rng::new(mix64(c.seed ^ mix64(((epoch as u64) << 40) ^ bi as u64)));
            for &pi in batch {
                let (d, a, b) = all[pi];
                let p = &docs[d].0;
                let base = inp.n;
                inp.rows.extend_from_slice(&p.rows[a * stride..b * stride]);
                inp.vec_rows.extend_from_slice(&p.vec_rows[a..b]);
                inp.gold.extend(std::iter::repeat_n(0u16, b - a));
                for t in a..b {
                    inp.left.push((t - a) as u32);
                    inp.right.push((b - 1 - t) as u32);
                    if !p.space[t] {
                        words += 1;
                        if brng.next_f32() < cfg.mask_rate {
                            masked.push((base + t - a, d, t));
                        }
                    }
                }
                inp.n += b - a;
            }
            if masked.is_empty() {
                continue;
            }
            masked_words += masked.len();
            for &(ti, _, _) in &masked {
                let r = brng.next_f32();
                if r < 0.8 {
                    inp.rows[ti * stride..(ti + 1) * stride].copy_from_slice(&mask_rows);
                    inp.vec_rows[ti] = u32::MAX;
                } else if r < 0.9 {
                    let other = brng.below(inp.n);
                    let (src, dst) = (other * stride, ti * stride);
                    let row: Vec<u32> = inp.rows[src..src + stride].to_vec();
                    inp.rows[dst..dst + stride].copy_from_slice(&row);
                    inp.vec_rows[ti] = inp.vec_rows[other];
                }
            }
            grads[sparse_len..].fill(0.0);
            let mut drng = Rng::new(mix64(
                c.seed ^ 0x5eed ^ mix64(((epoch as u64) << 40) ^ bi as u64),
            ));
            let drop = (c.dropout > 0.0).then_some((&mut drng, c.dropout));
            let has_drop = drop.is_some();
            net.forward(&inp, vt, &mut work, drop);
            let scale = 1.0 / (masked.len() * 2 * nc) as f32;
            let (mut bl, mut br) = (0f64, 0usize);
            let loss = net.backward_custom(
                &inp,
                vt,
                &mut work,
                &mut grads,
                has_drop,
                |logits, _, dl| {
                    dl.fill(0.0);
                    for &(ti, d, t) in masked.iter() {
                        let tg = &docs[d].1[t * 2 * nc..(t + 1) * 2 * nc];
                        for (k, &g) in tg.iter().enumerate() {
                            let o = ti * n_out + k * 256;
                            let row = &logits[o..o + 256];
                            let (mut arg, mut m) = (0usize, f32::NEG_INFINITY);
                            for (j, &v) in row.iter().enumerate() {
                                if v > m {
                                    m = v;
                                    arg = j;
                                }
                            }
                            br += (arg == g as usize) as usize;
                            let dst = &mut dl[o..o + 256];
                            let mut s = 0f32;
                            for (x, &v) in dst.iter_mut().zip(row) {
                                *x = (v - m).exp();
                                s += *x;
                            }
                            let inv = 1.0 / s;
                            bl -= ((dst[g as usize] * inv).max(1e-30) as f64).ln();
                            for x in dst.iter_mut() {
                                *x *= inv * scale;
                            }
                            dst[g as usize] -= scale;
                        }
                    }
                    bl
                },
            );
            loss_sum += loss;
            right += br;
            predicted += masked.len() * 2 * nc;
            stamp = stamp.wrapping_add(1);
            if stamp == 0 {
                mark.fill(0);
                stamp = 1;
            }
            touched.clear();
            net.touched_rows(&inp, &mut mark, stamp, &mut touched);
            touched.sort_unstable();
            adam.step(
                &mut net.params.data,
                &mut grads,
                &net.params.tensors,
                &touched,
                c,
            );
            for &r in &touched {
                grads[r as usize * row_w..(r as usize + 1) * row_w].fill(0.0);
            }
            bar.set_message(format!("loss {:.3}", loss_sum / predicted.max(1) as f64));
            bar.inc(1);
        }
        adam.flush(&mut net.params.data);
        if net.params.data.iter().any(|v| !v.is_finite()) {
            return Err(CnnError::Data(format!(
                "pretraining diverged (non-finite weights) in epoch {epoch}"
            )));
        }
        let secs = t0.elapsed().as_secs_f64();
        let ep = PretrainEpoch {
            epoch,
            loss: loss_sum / predicted.max(1) as f64,
            accuracy: right as f64 / predicted.max(1) as f64,
            masked_words,
            train_words: words,
            train_seconds: secs,
            train_words_per_s: words as f64 / secs.max(1e-9),
        };
        bar.suspend(|| {
            eprintln!(
                "epoch {epoch}: loss {:.4}, byte accuracy {:.3}, {:.0} words/s",
                ep.loss, ep.accuracy, ep.train_words_per_s
            )
        });
        run.record_epoch(serde_json::to_value(&ep).unwrap_or(Value::Null))?;
        // saved with the averaged weights when kept (as training does), then training goes on
        // from the raw ones
        if let Some(a) = adam.avg_mut() {
            std::mem::swap(a, &mut net.params.data);
        }
        let last = epoch == c.epochs;
        let save = |d: &Path| save(d, cfg, &net, vectors.as_ref(), &ep);
        if c.save_checkpoints && !last {
            run.save_model(&format!("checkpoint-epoch-{epoch}"), save)?;
        }
        if last {
            run.save_model("final", save)?;
        }
        if let Some(a) = adam.avg_mut() {
            std::mem::swap(a, &mut net.params.data);
        }
        report.push(ep);
    }
    bar.finish_and_clear();
    run.write_json(
        "pretrain_report.json",
        &json!({"epochs": report, "config": cfg}),
    )?;
    run.finish()?;
    Ok(report)
}

fn save(
    dir: &Path,
    cfg: &PretrainConfig,
    net: &Net,
    vectors: Option<&Vectors>,
    ep: &PretrainEpoch,
) -> Result<()> {
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = net
        .params
        .tensors
        .iter()
        .filter(|t| !t.name.starts_with("out."))
        .map(|t| {
            let bytes = net.params.data[t.offset..t.offset + t.len]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            (t.name.clone(), t.shape.clone(), bytes)
        })
        .collect();
    write_safetensors(&dir.join(WEIGHTS), &tensors)?;
    let mut desc = json!({
        "format": "jner-cnn-pretrain",
        "format_version": FORMAT_VERSION,
        "config": cfg,
        "vectors": vectors.map(|v| json!({"words": v.len(), "dim": v.dim})),
        "epoch": ep,
    });
    desc[jner_run::digest::DIGESTS_KEY] = jner_run::digest::digest_files(dir, &[WEIGHTS])?;
    let p = dir.join(PRETRAIN_JSON);
    let js = serde_json::to_string_pretty(&desc).map_err(|e| CnnError::file(&p, e.to_string()))?;
    std::fs::write(&p, js).map_err(|e| CnnError::io(&p, e))
}

/// The configuration a pretrained folder was made with (for the student to take its
/// architecture from).
pub fn read_config(dir: &Path) -> Result<PretrainConfig> {
    let p = dir.join(PRETRAIN_JSON);
    let text = std::fs::read_to_string(&p).map_err(|e| {
        CnnError::file(&p, format!("cannot read it ({e}): --init takes a folder `jner pretrain` wrote (its final/ or checkpoint-epoch-N/)"))
    })?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| CnnError::file(&p, format!("malformed JSON: {e}")))?;
    if v.get("format").and_then(Value::as_str) != Some("jner-cnn-pretrain") {
        return Err(CnnError::file(
            &p,
            "not a jner pretrain folder (\"format\" is not \"jner-cnn-pretrain\")",
        ));
    }
    if v.get("format_version").and_then(Value::as_u64) != Some(FORMAT_VERSION) {
        return Err(CnnError::file(
            &p,
            format!("unsupported format_version (this build reads {FORMAT_VERSION})"),
        ));
    }
    let cfg: PretrainConfig =
        serde_json::from_value(v.get("config").cloned().unwrap_or(Value::Null))
            .map_err(|e| CnnError::file(&p, format!("bad \"config\": {e}")))?;
    cfg.validate()
        .map_err(|e| CnnError::file(&p, e.to_string()))?;
    Ok(cfg)
}

/// Copies a pretrained encoder into `net` (everything but the output layer). The
/// architecture must be the one it was pretrained with; each difference is named.
pub fn load_into(dir: &Path, net: &mut Net) -> Result<()> {
    let pc = read_config(dir)?;
    let p = dir.join(PRETRAIN_JSON);
    let mut want = dims_for(&pc.cnn, 0, 0);
    let have = net.dims;
    want.n_tags = have.n_tags;
    let mut diffs = Vec::new();
    let pairs = [
        ("width", want.width, have.width),
        ("maxout_pieces", want.pieces, have.pieces),
        ("depth", want.depth, have.depth),
        ("window", want.window, have.window),
        ("attention_heads", want.heads, have.heads),
        ("attention_window", want.att_window, have.att_window),
        ("n_hashes", want.n_hashes, have.n_hashes),
    ];
    for (name, a, b) in pairs {
        if a != b {
            diffs.push(format!("{name} {a} (pretrained) vs {b}"));
        }
    }
    if want.rows != have.rows {
        diffs.push(format!(
            "rows {:?} (pretrained) vs {:?}",
            want.rows, have.rows
        ));
    }
    if pc.cnn.vectors.is_some() != (have.vec_dim > 0) {
        diffs.push(if have.vec_dim > 0 {
            "static vectors: pretrained without them, trained with them".into()
        } else {
            "static vectors: pretrained with them (pass the same file with --model), trained without".into()
        });
    }
    if !diffs.is_empty() {
        return Err(CnnError::file(
            &p,
            format!(
                "the pretrained encoder does not fit this model: {}",
                diffs.join("; ")
            ),
        ));
    }
    let pw = dir.join(WEIGHTS);
    let desc: Value = std::fs::read_to_string(&p)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    jner_run::digest::verify_dir(dir, &desc).map_err(|e| CnnError::file(&pw, e.to_string()))?;
    let bytes = std::fs::read(&pw).map_err(|e| CnnError::io(&pw, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| CnnError::file(&pw, format!("corrupted safetensors file: {e}")))?;
    read_tensors(&st, &pw, net, |name| !name.starts_with("out."))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_targets_of_long_and_short_words() {
        let mut v = Vec::new();
        targets("Baby", 3, &mut v);
        assert_eq!(v, b"bababy");
        v.clear();
        targets("He", 3, &mut v);
        assert_eq!(v, [b'h', b'e', 0, 0, b'h', b'e']);
    }

    fn tiny() -> PretrainConfig {
        PretrainConfig {
            cnn: CnnConfig {
                width: 16,
                depth: 2,
                rows: [500, 100, 200, 200],
                epochs: 4,
                batch_size: 4,
                save_checkpoints: false,
                ..Default::default()
            },
            mask_rate: 0.3,
            ..Default::default()
        }
    }

    #[test]
    fn pretraining_learns_and_initialises_a_tagger() {
        let texts: Vec<String> = (0..60)
            .map(|i| format!("my son number {i} loves the stroller . my wife likes the car seat ."))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let d = tempfile::tempdir().unwrap();
        let cfg = tiny();
        let run = PendingRun::new_run(&d.path().join("pt")).unwrap();
        let rep = pretrain(&refs, &cfg, run).unwrap();
        assert_eq!(rep.len(), 4);
        assert!(rep[3].loss < rep[0].loss - 0.3, "{rep:?}");
        assert!(rep[3].accuracy > rep[0].accuracy);
        let dir = d.path().join("pt/final");
        assert_eq!(read_config(&dir).unwrap(), cfg);

        // a tagger of the same architecture takes every tensor but the output layer
        let mut tcfg = cfg.cnn.clone();
        tcfg.init = Some(dir.clone());
        let mut net = Net::new(dims_for(&tcfg, 2, 0), 7);
        let fresh = net.clone();
        load_into(&dir, &mut net).unwrap();
        let st_bytes = std::fs::read(dir.join(WEIGHTS)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&st_bytes).unwrap();
        for t in &net.params.tensors {
            let got = &net.params.data[t.offset..t.offset + t.len];
            if t.name.starts_with("out.") {
                assert_eq!(got, &fresh.params.data[t.offset..t.offset + t.len]);
            } else {
                let want: Vec<f32> = st
                    .tensor(&t.name)
                    .unwrap()
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                assert_eq!(got, &want[..], "{}", t.name);
            }
        }
        // another architecture is refused with each difference named
        let mut other = cfg.cnn.clone();
        other.width = 32;
        other.window = 2;
        let mut net = Net::new(dims_for(&other, 2, 0), 7);
        let e = load_into(&dir, &mut net).unwrap_err().to_string();
        assert!(
            e.contains("width 16 (pretrained) vs 32") && e.contains("window 1 (pretrained) vs 2"),
            "{e}"
        );
        // a damaged weights file is caught by its digest
        let mut bytes = std::fs::read(dir.join(WEIGHTS)).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(dir.join(WEIGHTS), bytes).unwrap();
        let mut net = Net::new(dims_for(&tcfg, 2, 0), 7);
        let e = load_into(&dir, &mut net).unwrap_err().to_string();
        assert!(e.contains(WEIGHTS), "{e}");
    }
}
