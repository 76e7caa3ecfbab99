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

/// Options shared by every backend's prediction.
#[derive(Clone, Debug)]
pub struct PredictOptions {
    /// Entities scoring below this are dropped.
    pub threshold: f32,
    /// Texts per batch.
    pub batch_size: usize,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            threshold: 0.0,
            batch_size: 64,
        }
    }
}

/// A trained model that finds entities in texts.
pub trait Recognizer: Send + Sync {
    /// The labels this model predicts.
    fn labels(&self) -> &[String];
    /// Entities of each text, sorted by start.
    fn predict(
        &self,
        texts: &[&str],
        opts: &PredictOptions,
    ) -> Result<Vec<Vec<Entity>>, Box<dyn std::error::Error + Send + Sync>>;
}
