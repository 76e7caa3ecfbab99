//! Integration tests on the real data in `../shared/data` (override with `JNER_DATA`).
//!
//! Every number asserted here was derived independently by `independent_counts.py` in this
//! folder (standard-library Python, written separately from the Rust readers), whose output
//! on the shared data is:
//!   maccrobat {'age_minor': 22, 'documents': 200, 'sex_absorbed': 15, 'pronouns': 141,
//!              'noun_phrases': 61, 'docs_injected': 21}
//!             {'MedicalCondition': 4735, 'ClinicalProcedure': 5607, 'ClinicalEvent': 626,
//!              'MinorChild': 224}
//!   corona 31 {'MedicalCondition': 118}
//!   reviews {'rows': 600, 'documents': 482, 'skipped': 86, 'excluded_medical': 32}
//!           {'MinorChild': 1383, 'GenderIndication': 61}
//! The raw counts also agree with `shared/data/SOURCES.md` (25,189 T lines, 44 discontinuous,
//! Age 206, Sex 191; Corona2: MedicalCondition 134, Medicine 94, Pathogen 67).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use jner_corpus::rules::AgeRule;
use jner_corpus::sources::{load, SourcesConfig};
use jner_corpus::split::{oversample_minor, split_documents};

fn data_dir() -> PathBuf {
    std::env::var_os("JNER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn config() -> SourcesConfig {
    let d = data_dir();
    assert!(
        d.is_dir(),
        "shared data not found at {} (set JNER_DATA)",
        d.display()
    );
    SourcesConfig {
        maccrobat: Some(d.join("maccrobat")),
        corona: Some(d.join("corona/Corona2.json")),
        csv: Some(d.join("reviews/mydata.csv")),
        age_rule: AgeRule::Units,
    }
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn counts_match_the_independent_script() {
    let c = load(&config()).unwrap();
    let r = &c.report;
    assert!(
        r.warnings.is_empty(),
        "{:?}",
        &r.warnings[..r.warnings.len().min(5)]
    );
    assert_eq!(
        r.documents,
        counts(&[("corona", 31), ("maccrobat", 200), ("reviews", 482)])
    );
    assert_eq!(
        r.spans["maccrobat"],
        counts(&[
            ("MedicalCondition", 4735),
            ("ClinicalProcedure", 5607),
            ("ClinicalEvent", 626),
            ("MinorChild", 224)
        ])
    );
    assert_eq!(r.spans["corona"], counts(&[("MedicalCondition", 118)]));
    assert_eq!(
        r.spans["reviews"],
        counts(&[("MinorChild", 1383), ("GenderIndication", 61)])
    );

    let b = r.maccrobat.as_ref().unwrap();
    assert_eq!(
        (b.t_lines, b.discontinuous_spans, b.age_spans, b.sex_spans),
        (25189, 44, 206, 191)
    );
    assert_eq!(
        (
            b.age_spans_minor,
            b.sex_spans_absorbed,
            b.documents_with_minor
        ),
        (22, 15, 21)
    );
    assert_eq!(
        (
            b.pronouns_injected,
            b.noun_phrases_injected,
            b.documents_with_injections
        ),
        (141, 61, 21)
    );

    let cs = r.corona.as_ref().unwrap();
    assert_eq!(cs.annotations_by_tag["MedicalCondition"], 134);
    assert_eq!(cs.annotations_by_tag["Medicine"], 94);
    assert_eq!(cs.annotations_by_tag["Pathogen"], 67);

    let v = r.reviews.as_ref().unwrap();
    assert_eq!(
        (
            v.rows,
            v.rows_excluded_medical,
            v.rows_skipped_unlabelled,
            v.documents
        ),
        (600, 32, 86, 482)
    );
}

#[test]
fn the_spec_age_rule_selects_the_same_spans_here() {
    // MACCROBAT2020's month ages are 3, 13 and 14 months: both rules call them minors.
    let mut cfg = config();
    cfg.age_rule = AgeRule::Spec;
    cfg.corona = None;
    cfg.csv = None;
    let c = load(&cfg).unwrap();
    assert_eq!(c.report.maccrobat.unwrap().age_spans_minor, 22);
}

#[test]
fn offsets_are_characters_not_bytes() {
    // 168 of the 200 texts have non-ASCII characters; a span read with byte offsets would
    // not match its surface text and be rejected with a warning. None is.
    let mut cfg = config();
    cfg.corona = None;
    cfg.csv = None;
    let c = load(&cfg).unwrap();
    let non_ascii = c.documents.iter().filter(|d| !d.text.is_ascii()).count();
    assert_eq!(non_ascii, 168);
    assert_eq!(c.report.maccrobat.unwrap().spans_rejected, 0);
}

#[test]
fn split_shares_no_document_and_oversamples_train_only() {
    let c = load(&config()).unwrap();
    let mut s = split_documents(&c.documents, 0.1, 42);
    // Stratified: round(10%) of each source: 20 maccrobat, 3 corona, 48 reviews.
    assert_eq!(s.eval.len(), 20 + 3 + 48);
    let added = oversample_minor(&mut s.train, 2);
    assert!(added > 0);
    let train: HashSet<&str> = s
        .train
        .iter()
        .map(|d| d.id.split('~').next().unwrap())
        .collect();
    assert!(s.eval.iter().all(|d| !train.contains(d.id.as_str())));
    assert_eq!(train.len() + s.eval.len(), c.documents.len());
}
