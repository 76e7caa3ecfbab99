//! Static word vectors trained on raw text: skip-gram with negative sampling (word2vec's SGNS,
//! Mikolov et al. 2013), over the cnn's own tokens, lower-cased, so that [`crate::Vectors`]
//! finds every word the way the model will look it up.
//!
//! The recipe is word2vec's: frequent words sub-sampled (keep probability
//! `(sqrt(f/t) + 1)·t/f`), a window drawn uniformly from `1..=window` per centre word,
//! `negative` noise words from the unigram distribution raised to 3/4, SGD with a learning
//! rate decaying linearly to `lr·1e-4`, input vectors initialised in `±0.5/dim` and output
//! vectors at zero. One thread and one seed: the same text and settings give the same file.

use std::collections::HashMap;

use jner_corpus::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::tokenizer::Tokenizer;
use crate::{CnnError, Result, Vectors};

/// Settings of a skip-gram run (written next to the vectors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkipGramConfig {
    pub dim: usize,
    pub window: usize,
    pub negative: usize,
    /// Words seen fewer times are left out.
    pub min_count: usize,
    pub epochs: usize,
    pub lr: f32,
    /// Sub-sampling threshold `t` (0: off).
    pub sample: f64,
    pub seed: u64,
}

impl Default for SkipGramConfig {
    fn default() -> Self {
        SkipGramConfig {
            dim: 100,
            window: 5,
            negative: 5,
            min_count: 3,
            epochs: 10,
            lr: 0.025,
            sample: 1e-3,
            seed: 42,
        }
    }
}

impl SkipGramConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(CnnError::Config(m.to_string()));
        if self.dim == 0 || self.dim > crate::config::MAX_WIDTH {
            return bad("vectors: dim must be in 1..=4096");
        }
        if self.window == 0 || self.window > 64 {
            return bad("vectors: window must be in 1..=64");
        }
        if self.negative == 0 || self.negative > 64 {
            return bad("vectors: negative must be in 1..=64");
        }
        if self.epochs == 0 || self.epochs > 10_000 {
            return bad("vectors: epochs must be in 1..=10000");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("vectors: lr must be > 0");
        }
        if !(self.sample >= 0.0 && self.sample.is_finite()) {
            return bad("vectors: sample must be >= 0");
        }
        Ok(())
    }
}

/// What one epoch did.
#[derive(Clone, Debug, Serialize)]
pub struct SkipGramEpoch {
    pub epoch: usize,
    /// Mean negative-sampling loss per (centre, context) pair.
    pub loss: f64,
    pub pairs: u64,
    pub seconds: f64,
}

/// The vocabulary of `texts`: lower-cased non-space tokens seen at least `min_count` times,
/// most frequent first (ties by the word), with their counts.
pub fn vocabulary(texts: &[&str], min_count: usize) -> Vec<(String, u64)> {
    let tok = Tokenizer::new();
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut toks = Vec::new();
    for t in texts {
        tok.tokenize_into(t, &mut toks);
        for k in toks.iter().filter(|k| !k.is_space) {
            *counts.entry(k.text(t).to_lowercase()).or_default() += 1;
        }
    }
    let mut v: Vec<(String, u64)> = counts
        .into_iter()
        .filter(|(_, c)| *c as usize >= min_count.max(1))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Trains vectors on `texts`; `on_epoch` sees each epoch's numbers as they come.
pub fn train_vectors(
    texts: &[&str],
    cfg: &SkipGramConfig,
    mut on_epoch: impl FnMut(&SkipGramEpoch),
) -> Result<Vectors> {
    cfg.validate()?;
    let vocab = vocabulary(texts, cfg.min_count);
    if vocab.len() < 2 {
        return Err(CnnError::Data(format!(
            "vectors: only {} word(s) occur at least {} times; give more text or a lower min_count",
            vocab.len(),
            cfg.min_count
        )));
    }
    let index: HashMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, (w, _))| (w.as_str(), i as u32))
        .collect();
    // the corpus as word ids, one sentence per text (words outside the vocabulary dropped)
    let tok = Tokenizer::new();
    let mut toks = Vec::new();
    let mut sents: Vec<Vec<u32>> = Vec::with_capacity(texts.len());
    for t in texts {
        tok.tokenize_into(t, &mut toks);
        let ids: Vec<u32> = toks
            .iter()
            .filter(|k| !k.is_space)
            .filter_map(|k| index.get(k.text(t).to_lowercase().as_str()).copied())
            .collect();
        if ids.len() > 1 {
            sents.push(ids);
        }
    }
    let total: u64 = vocab.iter().map(|(_, c)| c).sum();
    let keep: Vec<f64> = vocab
        .iter()
        .map(|(_, c)| {
            if cfg.sample <= 0.0 {
                return 1.0;
            }
            let f = *c as f64 / total as f64;
            (((f / cfg.sample).sqrt() + 1.0) * cfg.sample / f).min(1.0)
        })
        .collect();
    // noise table: unigram^0.75
    let table_len = 1_000_000usize.max(vocab.len() * 10);
    let weights: Vec<f64> = vocab.iter().map(|(_, c)| (*c as f64).powf(0.75)).collect();
    let wsum: f64 = weights.iter().sum();
    let mut table = Vec::with_capacity(table_len);
    let mut acc = 0.0;
    let mut w = 0usize;
    for i in 0..table_len {
        while w + 1 < weights.len()
            && (i as f64 + 0.5) / table_len as f64 > (acc + weights[w]) / wsum
        {
            acc += weights[w];
            w += 1;
        }
        table.push(w as u32);
    }

    let (n, d) = (vocab.len(), cfg.dim);
    let mut rng = Rng::new(cfg.seed);
    let mut input: Vec<f32> = (0..n * d)
        .map(|_| (rng.next_f32() - 0.5) / d as f32)
        .collect();
    let mut output = vec![0f32; n * d];
    let planned: u64 = sents.iter().map(|s| s.len() as u64).sum::<u64>() * cfg.epochs as u64;
    let mut done = 0u64;
    let mut grad = vec![0f32; d];
    let mut kept = Vec::new();
    for epoch in 1..=cfg.epochs {
        let t0 = std::time::Instant::now();
        let (mut loss, mut pairs) = (0f64, 0u64);
        for s in &sents {
            kept.clear();
            kept.extend(s.iter().copied().filter(|&w| {
                let k = keep[w as usize];
                k >= 1.0 || (rng.next_f32() as f64) < k
            }));
            for (i, &centre) in kept.iter().enumerate() {
                let lr = (cfg.lr * (1.0 - done as f32 / planned.max(1) as f32)).max(cfg.lr * 1e-4);
                done += 1;
                let b = 1 + rng.below(cfg.window);
                let lo = i.saturating_sub(b);
                let hi = (i + b + 1).min(kept.len());
                for (j, &ctx) in kept.iter().enumerate().take(hi).skip(lo) {
                    if j == i {
                        continue;
                    }
                    // the context word's input vector predicts the centre word (and noise)
                    let vi = ctx as usize * d;
                    grad.iter_mut().for_each(|g| *g = 0.0);
                    for k in 0..=cfg.negative {
                        let (target, label) = if k == 0 {
                            (centre, 1.0f32)
                        } else {
                            let t = table[rng.below(table.len())];
                            if t == centre {
                                continue;
                            }
                            (t, 0.0)
                        };
                        let vo = target as usize * d;
                        let dot: f32 = (0..d).map(|x| input[vi + x] * output[vo + x]).sum();
                        let p = sigmoid(dot);
                        loss -= if label > 0.5 {
                            (p.max(1e-7) as f64).ln()
                        } else {
                            ((1.0 - p).max(1e-7) as f64).ln()
                        };
                        let g = lr * (label - p);
                        for x in 0..d {
                            grad[x] += g * output[vo + x];
                            output[vo + x] += g * input[vi + x];
                        }
                    }
                    for x in 0..d {
                        input[vi + x] += grad[x];
                    }
                    pairs += 1;
                }
            }
        }
        on_epoch(&SkipGramEpoch {
            epoch,
            loss: loss / pairs.max(1) as f64,
            pairs,
            seconds: t0.elapsed().as_secs_f64(),
        });
    }
    let words = vocab.into_iter().map(|(w, _)| w).collect();
    Vectors::from_parts(words, input, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        // two families of words that share contexts only within the family
        let mut rng = Rng::new(7);
        let a = ["son", "daughter", "toddler"];
        let b = ["husband", "wife", "partner"];
        (0..400)
            .map(|_| {
                if rng.below(2) == 0 {
                    let w = a[rng.below(3)];
                    format!("my {w} loves the stroller and the {w} naps in the car seat")
                } else {
                    let w = b[rng.below(3)];
                    format!("my {w} assembled the crib while the {w} read the manual at work")
                }
            })
            .collect()
    }

    fn cos(v: &Vectors, a: &str, b: &str) -> f32 {
        let mut buf = String::new();
        let (i, j) = (
            v.lookup(a, &mut buf).unwrap() as usize,
            v.lookup(b, &mut buf).unwrap() as usize,
        );
        let (x, y) = (
            &v.data[i * v.dim..(i + 1) * v.dim],
            &v.data[j * v.dim..(j + 1) * v.dim],
        );
        let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
        let n = |z: &[f32]| z.iter().map(|p| p * p).sum::<f32>().sqrt();
        dot / (n(x) * n(y))
    }

    #[test]
    fn words_in_shared_contexts_end_up_close() {
        let texts = corpus();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let cfg = SkipGramConfig {
            dim: 16,
            epochs: 5,
            ..Default::default()
        };
        let mut losses = Vec::new();
        let v = train_vectors(&refs, &cfg, |e| losses.push(e.loss)).unwrap();
        assert!(losses.last().unwrap() < &losses[0], "{losses:?}");
        let within = cos(&v, "son", "daughter").min(cos(&v, "husband", "wife"));
        let across = cos(&v, "son", "wife").max(cos(&v, "daughter", "husband"));
        assert!(within > across + 0.2, "within {within}, across {across}");
        // deterministic
        let w = train_vectors(&refs, &cfg, |_| {}).unwrap();
        assert_eq!(v.data, w.data);
        assert_eq!(v.words[0], "the");
    }

    #[test]
    fn too_little_text_is_an_error() {
        let e = train_vectors(&["one word"], &SkipGramConfig::default(), |_| {}).unwrap_err();
        assert!(
            e.to_string()
                .contains("only 0 word(s) occur at least 3 times"),
            "{e}"
        );
    }
}
