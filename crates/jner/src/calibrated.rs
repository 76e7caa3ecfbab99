//! Per-label thresholds stored in a model folder by `jner eval --calibrate` (`"thresholds"`
//! in `jner.json`), applied to every prediction unless the caller gives a threshold of its
//! own (`predict --threshold`, `"threshold"` in a `serve` request).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use jner_corpus::{Entity, PredictOptions, Recognizer};

/// The key in `jner.json`.
pub const KEY: &str = "thresholds";

/// The thresholds a model folder's `jner.json` records, checked (label → score in [0, 1]).
pub fn read(meta: &serde_json::Value, json: &Path) -> Result<BTreeMap<String, f32>> {
    let Some(v) = meta.get(KEY) else {
        return Ok(BTreeMap::new());
    };
    let Some(obj) = v.as_object() else {
        bail!(
            "{}: \"{KEY}\" must be an object of label: score",
            json.display()
        );
    };
    obj.iter()
        .map(|(l, t)| match t.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => Ok((l.clone(), x as f32)),
            _ => bail!(
                "{}: \"{KEY}\".{l}: a number in [0, 1], got {t}",
                json.display()
            ),
        })
        .collect()
}

/// A model whose entities of a label are kept only above that label's threshold.
pub struct Calibrated {
    pub inner: Box<dyn Recognizer>,
    pub thresholds: BTreeMap<String, f32>,
}

impl Recognizer for Calibrated {
    fn labels(&self) -> &[String] {
        self.inner.labels()
    }
    fn zero_shot(&self) -> bool {
        self.inner.zero_shot()
    }
    fn windows(&self, text: &str, opts: &PredictOptions) -> usize {
        self.inner.windows(text, opts)
    }
    fn set_threads(&mut self, threads: usize) {
        self.inner.set_threads(threads)
    }
    fn default_threshold(&self) -> f32 {
        self.inner.default_threshold()
    }
    fn predict(
        &self,
        texts: &[&str],
        opts: &PredictOptions,
    ) -> Result<Vec<Vec<Entity>>, Box<dyn std::error::Error + Send + Sync>> {
        let mut out = self.inner.predict(texts, opts)?;
        if opts.threshold.is_none() {
            for ents in &mut out {
                keep_above(ents, &self.thresholds);
            }
        }
        Ok(out)
    }
}

/// Drops the entities at or below their label's threshold (labels without one stay).
pub fn keep_above(ents: &mut Vec<Entity>, thresholds: &BTreeMap<String, f32>) {
    ents.retain(|e| thresholds.get(&e.label).is_none_or(|t| e.score > *t));
}
