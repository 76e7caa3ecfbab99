//! The three sources and how they are loaded together: each reader applies its own rules,
//! then the shared span hygiene runs on every document.

pub mod brat;
pub mod corona;
pub mod reviews;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::rules::{clean_spans, AgeRule, HygieneCounts};
use crate::{Document, Result};

pub use brat::BratStats;
pub use corona::CoronaStats;
pub use reviews::ReviewStats;

/// Which sources to read, and from where. `None` leaves a source out.
#[derive(Clone, Debug, Default)]
pub struct SourcesConfig {
    pub maccrobat: Option<PathBuf>,
    pub corona: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    pub age_rule: AgeRule,
}

/// Everything the readers and rules did, for `jner data stats`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    pub maccrobat: Option<BratStats>,
    pub corona: Option<CoronaStats>,
    pub reviews: Option<ReviewStats>,
    /// Span hygiene per source.
    pub hygiene: BTreeMap<String, HygieneCounts>,
    /// Final spans per source and label.
    pub spans: BTreeMap<String, BTreeMap<String, usize>>,
    /// Documents per source.
    pub documents: BTreeMap<String, usize>,
    /// Counted warnings with file and line.
    pub warnings: Vec<String>,
}

/// A loaded corpus: every document of every source once, rules applied.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub documents: Vec<Document>,
    pub report: LoadReport,
}

/// Applies span hygiene to documents and records the counts and the final spans.
pub fn finish(docs: &mut [Document], report: &mut LoadReport) {
    for d in docs.iter_mut() {
        let (spans, c) = clean_spans(&d.text, std::mem::take(&mut d.spans));
        d.spans = spans;
        report.hygiene.entry(d.source.clone()).or_default().add(&c);
        *report.documents.entry(d.source.clone()).or_default() += 1;
        let per = report.spans.entry(d.source.clone()).or_default();
        for s in &d.spans {
            *per.entry(s.label.clone()).or_default() += 1;
        }
    }
}

/// Reads the configured sources, applies every rule, and returns the corpus.
pub fn load(cfg: &SourcesConfig) -> Result<Corpus> {
    let mut report = LoadReport::default();
    let mut documents = Vec::new();
    if let Some(dir) = &cfg.maccrobat {
        let mut st = BratStats::default();
        documents.extend(brat::read_maccrobat(
            dir,
            cfg.age_rule,
            &mut st,
            &mut report.warnings,
        )?);
        report.maccrobat = Some(st);
    }
    if let Some(path) = &cfg.corona {
        let mut st = CoronaStats::default();
        documents.extend(corona::read_corona(path, &mut st, &mut report.warnings)?);
        report.corona = Some(st);
    }
    if let Some(path) = &cfg.csv {
        let mut st = ReviewStats::default();
        documents.extend(reviews::read_reviews(path, &mut st, &mut report.warnings)?);
        report.reviews = Some(st);
    }
    finish(&mut documents, &mut report);
    Ok(Corpus { documents, report })
}
