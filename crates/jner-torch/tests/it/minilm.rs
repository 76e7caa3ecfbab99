//! Smoke test with the real all-MiniLM-L6-v2 encoder on a slice of `../shared/data`: one
//! epoch of SpanMarker training, then the saved `best/` loads and predicts valid entities.
//!
//! The encoder comes from `scripts/fetch-minilm.sh` (CI runs it through
//! `scripts/test-torch.sh`, which also sets `JNER_REQUIRE_MINILM=1` so that a missing encoder
//! fails there). Elsewhere the test says it was skipped when the encoder is absent.

use std::path::PathBuf;

use jner_corpus::rules::AgeRule;
use jner_corpus::sources::{load, SourcesConfig};
use jner_corpus::PredictOptions;
use jner_torch::spanmarker::{train, SpanMarkerConfig, SpanMarkerModel};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn one_epoch_with_minilm_on_shared_reviews() {
    let enc = std::env::var_os("JNER_MINILM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models/all-MiniLM-L6-v2"));
    if !enc.join("model.safetensors").is_file() {
        assert!(
            std::env::var_os("JNER_REQUIRE_MINILM").is_none(),
            "{} has no model.safetensors; run scripts/fetch-minilm.sh",
            enc.display()
        );
        eprintln!(
            "SKIPPED: no MiniLM encoder at {} (run scripts/fetch-minilm.sh)",
            enc.display()
        );
        return;
    }
    let data = std::env::var_os("JNER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data"));
    let corpus = load(&SourcesConfig {
        csv: Some(data.join("reviews/mydata.csv")),
        age_rule: AgeRule::Units,
        ..Default::default()
    })
    .unwrap();
    // A small slice: the shortest labelled reviews, 12 to train on and 4 to score.
    let mut docs = corpus.documents;
    docs.sort_by_key(|d| (d.text.len(), d.id.clone()));
    let train_docs = docs[..12].to_vec();
    let eval_docs = docs[12..16].to_vec();

    let mut cfg = SpanMarkerConfig::new(&enc);
    cfg.epochs = 1;
    cfg.batch_size = 4;
    cfg.progress = false;
    cfg.threads = Some(2);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let report = train(
        &train_docs,
        &eval_docs,
        &cfg,
        jner_run::PendingRun::new_run(&out).unwrap(),
        serde_json::json!({"test": "minilm"}),
    )
    .unwrap();
    assert_eq!(report.epochs.len(), 1);
    assert!(report.epochs[0].loss.is_finite() && report.epochs[0].loss > 0.0);
    assert!(report.epochs[0].eval.is_some());
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );

    let model = SpanMarkerModel::load(&out.join("best")).unwrap();
    let texts: Vec<&str> = eval_docs.iter().map(|d| d.text.as_str()).collect();
    let pred =
        jner_corpus::Recognizer::predict(&model, &texts, &PredictOptions::default()).unwrap();
    assert_eq!(pred.len(), texts.len());
    for (t, ents) in texts.iter().zip(&pred) {
        let n = t.chars().count();
        for e in ents {
            assert!(
                e.start < e.end && e.end <= n,
                "{e:?} outside a text of {n} characters"
            );
            assert!((0.0..=1.0).contains(&e.score));
        }
    }
}
