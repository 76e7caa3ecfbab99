//! The one interface every backend implements; `eval`, `predict` and `serve` only hold this.

use serde::{Deserialize, Serialize};

/// An entity found in one text, in Unicode **character** offsets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub label: String,
    /// Confidence in `[0, 1]`.
    pub score: f32,
}

impl Entity {
    pub fn new(start: usize, end: usize, label: impl Into<String>, score: f32) -> Self {
        Entity {
            start,
            end,
            label: label.into(),
            score,
        }
    }
}

/// Options shared by every backend's prediction.
#[derive(Clone, Debug)]
pub struct PredictOptions {
    /// Entities scoring at or below this are dropped; `None`: the backend's default (0 for
    /// `cnn` and `spanmarker`, which keep their best label per span; 0.5 for `gliner`).
    pub threshold: Option<f32>,
    /// Texts per batch.
    pub batch_size: usize,
    /// Labels to look for. A zero-shot backend ([`Recognizer::zero_shot`]) takes any names;
    /// the others only a subset of [`Recognizer::labels`] (their output is restricted to it).
    /// `None`: the model's own labels.
    pub labels: Option<Vec<String>>,
    /// Span backends that can: allow an entity inside another (never crossing ones).
    pub nested: bool,
    /// Span backends that can: allow one span to carry several labels.
    pub multi_label: bool,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            threshold: None,
            batch_size: 64,
            labels: None,
            nested: false,
            multi_label: false,
        }
    }
}

/// Why [`restrict_labels`] refused a label list.
#[derive(Debug, thiserror::Error)]
#[error("this model cannot look for {unknown:?}: it only knows {known:?} and does not take new labels (the gliner backend does)")]
pub struct UnknownLabels {
    pub unknown: Vec<String>,
    pub known: Vec<String>,
}

/// For backends with a fixed label set: checks `opts.labels` against `known` and drops the
/// entities of other labels from `preds`.
pub fn restrict_labels(
    opts: &PredictOptions,
    known: &[String],
    preds: &mut [Vec<Entity>],
) -> Result<(), UnknownLabels> {
    let Some(wanted) = &opts.labels else {
        return Ok(());
    };
    let unknown: Vec<String> = wanted
        .iter()
        .filter(|l| !known.contains(l))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(UnknownLabels {
            unknown,
            known: known.to_vec(),
        });
    }
    for p in preds.iter_mut() {
        p.retain(|e| wanted.contains(&e.label));
    }
    Ok(())
}

/// A trained model that finds entities in texts.
pub trait Recognizer: Send + Sync {
    /// The labels this model predicts (for a zero-shot model: those it was trained on, its
    /// default prompt).
    fn labels(&self) -> &[String];
    /// Whether it takes label names it was not trained on ([`PredictOptions::labels`]).
    fn zero_shot(&self) -> bool {
        false
    }
    /// How many encoder passes (windows) `text` takes under `opts`: 1 for a model that reads
    /// a text of any length at once (`cnn`); more where a transformer's subword limit cuts a
    /// long text into overlapping windows (never truncating it).
    fn windows(&self, _text: &str, _opts: &PredictOptions) -> usize {
        1
    }
    /// Worker threads for the following predictions (`jner predict --threads`, `jner serve
    /// --threads`); a backend without its own pool ignores it.
    fn set_threads(&mut self, _threads: usize) {}
    /// The threshold [`PredictOptions::threshold`] `None` stands for. Predicting with a
    /// lower one and then dropping what scores at or below this gives the same entities
    /// (decoding is greedy by score), which is how precision-recall curves see below it.
    fn default_threshold(&self) -> f32 {
        0.0
    }
    /// Entities of each text, sorted by start.
    fn predict(
        &self,
        texts: &[&str],
        opts: &PredictOptions,
    ) -> Result<Vec<Vec<Entity>>, Box<dyn std::error::Error + Send + Sync>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_label_backends_restrict_or_refuse() {
        let known = vec!["A".to_string(), "B".to_string()];
        let e = |l: &str| Entity {
            start: 0,
            end: 1,
            label: l.into(),
            score: 1.0,
        };
        let mut preds = vec![vec![e("A"), e("B")]];
        restrict_labels(&PredictOptions::default(), &known, &mut preds).unwrap();
        assert_eq!(preds[0].len(), 2);
        let opts = PredictOptions {
            labels: Some(vec!["B".into()]),
            ..Default::default()
        };
        restrict_labels(&opts, &known, &mut preds).unwrap();
        assert_eq!(preds[0], vec![e("B")]);
        let opts = PredictOptions {
            labels: Some(vec!["medication".into()]),
            ..Default::default()
        };
        let err = restrict_labels(&opts, &known, &mut preds)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("medication") && err.contains("gliner"),
            "{err}"
        );
    }
}
