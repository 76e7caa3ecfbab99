//! Crate-level tests: learning on a synthetic corpus, determinism, save/load, robustness.

use crate::model::{CnnModel, Scratch, CHUNK_TOKENS};
use crate::train::{align_document, Alignment};
use crate::{train, train_model, CnnConfig};
use jner_corpus::rng::Rng;
use jner_corpus::{Document, PredictOptions, Recognizer, Span};

const CONDITIONS: &[&str] = &[
    "pneumonia",
    "sepsis",
    "type 2 diabetes",
    "hypertension",
    "acute kidney injury",
    "asthma",
    "heart failure",
    "anemia",
    "migraine",
    "COVID-19",
];
const PROCEDURES: &[&str] = &[
    "chest X-ray",
    "CT scan",
    "biopsy",
    "MRI",
    "blood transfusion",
    "appendectomy",
    "echocardiography",
    "lumbar puncture",
];
const NAMES: &[&str] = &["Smith", "Jones", "Garcia", "Chen", "Okafor", "Novak"];

/// Templated clinical-style documents with three labels. Every entity is determined by its
/// lexicon and local context, so a working tagger reaches F1 ≈ 1 on held-out documents built
/// from new combinations of the same templates and lexicons.
pub(crate) fn synthetic(n: usize, seed: u64) -> Vec<Document> {
    let mut rng = Rng::new(seed);
    let mut docs = Vec::new();
    for i in 0..n {
        let mut text = String::new();
        let mut spans = Vec::new();
        let sentences = 1 + rng.below(3);
        for _ in 0..sentences {
            let pick = |rng: &mut Rng, xs: &[&'static str]| xs[rng.below(xs.len())];
            let c = pick(&mut rng, CONDITIONS);
            let p = pick(&mut rng, PROCEDURES);
            let who = pick(&mut rng, NAMES);
            let age = 2 + rng.below(80);
            let parts: Vec<(String, Option<&str>)> = match rng.below(4) {
                0 => vec![
                    (format!("Dr. {who} saw a {age}-year-old with "), None),
                    (c.to_string(), Some("Condition")),
                    (". A ".into(), None),
                    (p.to_string(), Some("Procedure")),
                    (" was ordered.".into(), None),
                ],
                1 => vec![
                    ("The patient underwent ".into(), None),
                    (p.to_string(), Some("Procedure")),
                    (", which confirmed ".into(), None),
                    (c.to_string(), Some("Condition")),
                    (".".into(), None),
                ],
                2 => vec![
                    ("History of ".into(), None),
                    (c.to_string(), Some("Condition")),
                    (" (treated by Dr. ".into(), None),
                    (who.to_string(), Some("Person")),
                    (").".into(), None),
                ],
                _ => vec![
                    (format!("On day {age}, "), None),
                    (who.to_string(), Some("Person")),
                    (" recommended ".into(), None),
                    (p.to_string(), Some("Procedure")),
                    (" for suspected ".into(), None),
                    (c.to_string(), Some("Condition")),
                    (".".into(), None),
                ],
            };
            if !text.is_empty() {
                text.push(if rng.below(3) == 0 { '\n' } else { ' ' });
            }
            for (s, l) in parts {
                if let Some(l) = l {
                    spans.push(Span::new(text.len(), text.len() + s.len(), l));
                }
                text.push_str(&s);
            }
        }
        let mut d = Document::new(format!("syn/{i}"), "synthetic", text);
        d.spans = spans;
        docs.push(d);
    }
    docs
}

fn small_cfg() -> CnnConfig {
    CnnConfig {
        width: 48,
        rows: [1000, 200, 500, 500],
        depth: 2,
        epochs: 4,
        batch_size: 8,
        save_checkpoints: false,
        ..Default::default()
    }
}

/// Assertion threshold 0.9: the corpus is noise-free and every entity is recoverable from
/// its words and neighbours, so a correct implementation scores ≈ 1.0 after a few epochs;
/// 0.9 leaves room for the small model and short training while still failing for any
/// broken gradient, decoder or offset bug (those land far below 0.5).
#[test]
fn learns_synthetic_corpus() {
    let train_docs = synthetic(240, 1);
    let eval_docs = synthetic(60, 2);
    let dir = tempfile::tempdir().unwrap();
    let (report, model) = train_model(
        &train_docs,
        &eval_docs,
        &small_cfg(),
        dir.path(),
        serde_json::json!({"t": 1}),
    )
    .unwrap();
    assert!(
        report.best_f1 >= 0.9,
        "best F1 {} ({:?})",
        report.best_f1,
        report.epochs
    );
    eprintln!("synthetic corpus: best F1 {:.4}", report.best_f1);
    assert_eq!(report.alignment.spans_lost, 0);
    assert!(report.epochs[0].loss > report.epochs.last().unwrap().loss);
    // files of the run
    for f in [
        "metrics.jsonl",
        "train_report.json",
        "best/jner.json",
        "best/model.safetensors",
        "final/jner.json",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 4);
    let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    for k in [
        "epoch",
        "loss",
        "train_seconds",
        "train_words",
        "train_words_per_s",
        "eval_seconds",
        "eval",
    ] {
        assert!(first.get(k).is_some(), "metrics line lacks {k}");
    }
    let desc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("best/jner.json")).unwrap())
            .unwrap();
    assert_eq!(desc["backend"], "cnn");
    assert_eq!(desc["meta"]["t"], 1);
    assert!(desc["scores"]["micro"]["f1"].as_f64().is_some());
    assert_eq!(
        desc["labels"],
        serde_json::json!(["Condition", "Person", "Procedure"])
    );

    // save/load round trip: identical predictions (entities and scores)
    let texts: Vec<&str> = eval_docs.iter().map(|d| d.text.as_str()).collect();
    let before = model.predict(&texts, &PredictOptions::default()).unwrap();
    let d2 = dir.path().join("copy");
    model.save(&d2).unwrap();
    let loaded = CnnModel::load(&d2).unwrap();
    assert_eq!(loaded.parameters(), model.parameters());
    let after = loaded.predict(&texts, &PredictOptions::default()).unwrap();
    assert_eq!(before, after);
    assert!(before.iter().flatten().count() > 50);

    // robustness on odd inputs
    let long: String = "Fever and pneumonia, treated with a biopsy. ".repeat(2300);
    assert!(long.chars().count() >= 100_000);
    let odd = [
        "",
        "   ",
        "\n\n\n",
        long.as_str(),
        "Ünïcödé pneumonia — 日本語 🙂 sepsis",
        "ctrl\u{0}chars\u{7} pneumonia\u{1b}[0m",
        "a",
    ];
    let preds = model.predict(&odd, &PredictOptions::default()).unwrap();
    for (text, ents) in odd.iter().zip(&preds) {
        let n = text.chars().count();
        let chars: Vec<char> = text.chars().collect();
        for e in ents {
            assert!(e.start < e.end && e.end <= n, "{e:?}");
            assert!((0.0..=1.0).contains(&e.score));
            assert!(!chars[e.start].is_whitespace() && !chars[e.end - 1].is_whitespace());
        }
    }
    assert!(preds[0].is_empty() && preds[1].is_empty() && preds[2].is_empty());
    assert!(
        preds[3].len() > 1000,
        "long text: {} entities",
        preds[3].len()
    );
    // threshold drops low-confidence entities
    let hi = model
        .predict(
            &texts,
            &PredictOptions {
                threshold: Some(0.999),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(hi.iter().flatten().count() <= before.iter().flatten().count());
    assert!(hi.iter().flatten().all(|e| e.score >= 0.999));
}

/// Chunked prediction of a long document equals one forward pass over all of it.
#[test]
fn chunking_is_exact() {
    for heads in [0, 4] {
        chunking_is_exact_with(heads);
    }
}

/// With an attention layer the receptive field grows by its window, and the chunks' overlap
/// with it: the probabilities must still be those of one whole pass.
fn chunking_is_exact_with(heads: usize) {
    let docs = synthetic(30, 5);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_cfg();
    cfg.epochs = 1;
    cfg.attention_heads = heads;
    cfg.attention_window = 16;
    let (_, model) = train_model(&docs, &[], &cfg, dir.path(), serde_json::Value::Null).unwrap();
    let text: String = docs
        .iter()
        .map(|d| d.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
        .repeat(8);
    let mut s = Scratch::default();
    model.doc_probs(&text, &mut s);
    let n = s.tokens.len();
    assert!(n > 2 * CHUNK_TOKENS, "{n} tokens");
    let chunked = s.probs.clone();
    // single pass
    let inp = crate::net::Input {
        n,
        rows: s.rows.clone(),
        vec_rows: s.vec_rows.clone(),
        left: (0..n as u32).collect(),
        right: (0..n as u32).rev().collect(),
        ..Default::default()
    };
    let mut work = crate::net::Work::default();
    model.net.forward(&inp, None, &mut work, None);
    let k = model.net.dims.n_tags;
    let max_diff = chunked
        .iter()
        .zip(&work.probs[..n * k])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_diff < 1e-5, "heads {heads}: max diff {max_diff}");
}

#[test]
fn same_seed_same_threads_same_weights() {
    let docs = synthetic(40, 3);
    let mut cfg = small_cfg();
    cfg.epochs = 2;
    cfg.threads = 2;
    let run = |cfg: &CnnConfig| {
        let dir = tempfile::tempdir().unwrap();
        train_model(&docs, &docs[..5], cfg, dir.path(), serde_json::Value::Null)
            .unwrap()
            .1
    };
    let a = run(&cfg);
    let b = run(&cfg);
    assert_eq!(a.parameters(), b.parameters());
    cfg.seed = 43;
    let c = run(&cfg);
    assert_ne!(a.parameters(), c.parameters());
}

#[test]
fn gold_alignment_splits_tokens_and_counts() {
    let labels = vec!["A".to_string(), "B".to_string()];
    // "month" is inside "3-month-old" (split by the infix rule anyway); "IL" inside "IL-6"
    let mut d = Document::new("x", "t", "A 3-month-old had IL-6 rise and  fever");
    let il = d.text.find("IL").unwrap();
    let fever = d.text.find("fever").unwrap();
    d.spans = vec![
        Span::new(il, il + 2, "A"),           // splits "IL-6"
        Span::new(fever - 2, fever + 5, "B"), // leading separator run: trimmed
        Span::new(il, il + 4, "B"),           // overlaps the first: lost
        Span::new(5, 5, "A"),                 // empty: lost
        Span::new(2, 13, "A"),                // 3-month-old
    ];
    let mut al = Alignment::default();
    let (tokens, gold) = align_document(&d, &labels, &mut al);
    assert_eq!(al.tokens_split, 1);
    assert_eq!(al.spans, 5);
    assert_eq!(al.spans_kept, 3);
    assert_eq!(al.spans_overlapping, 1);
    assert_eq!(al.spans_invalid, 1);
    assert_eq!(al.spans_lost, 2);
    assert_eq!(al.spans_trimmed, 1);
    let texts: Vec<&str> = tokens.iter().map(|t| t.text(&d.text)).collect();
    assert!(texts.contains(&"IL") && texts.contains(&"-6"), "{texts:?}");
    assert_eq!(gold.len(), tokens.len());
    assert_eq!(gold.iter().filter(|&&g| g != 0).count(), 1 + 1 + 5);
}

#[test]
fn errors_name_files() {
    let docs = synthetic(20, 9);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_cfg();
    cfg.epochs = 1;
    train(
        &docs,
        &[],
        &cfg,
        jner_run::PendingRun::new_run(dir.path()).unwrap(),
        serde_json::Value::Null,
    )
    .unwrap();
    let m = dir.path().join("final");
    let st = m.join("model.safetensors");
    let bytes = std::fs::read(&st).unwrap();
    std::fs::write(&st, &bytes[..bytes.len() / 2]).unwrap();
    let e = CnnModel::load(&m).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    std::fs::remove_file(&st).unwrap();
    let e = CnnModel::load(&m).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    std::fs::write(m.join("jner.json"), "{not json").unwrap();
    let e = CnnModel::load(&m).unwrap_err().to_string();
    assert!(e.contains("jner.json"), "{e}");
    let e = CnnModel::load(&dir.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("jner.json"), "{e}");
    // bad vectors file during training
    let v = dir.path().join("bad.vec");
    std::fs::write(&v, "fever 1 2\ncough 1\n").unwrap();
    cfg.vectors = Some(v);
    let e = train(
        &docs,
        &[],
        &cfg,
        jner_run::PendingRun::new_run(&dir.path().join("o")).unwrap(),
        serde_json::Value::Null,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bad.vec:2"), "{e}");
    // no labels
    let e = train(
        &[Document::new("a", "b", "text")],
        &[],
        &small_cfg(),
        jner_run::PendingRun::new_run(&dir.path().join("o2")).unwrap(),
        serde_json::Value::Null,
    );
    assert!(e.is_err());
    // invalid config
    let bad = CnnConfig {
        batch_size: 0,
        ..Default::default()
    };
    assert!(train(
        &docs,
        &[],
        &bad,
        jner_run::PendingRun::new_run(&dir.path().join("o3")).unwrap(),
        serde_json::Value::Null
    )
    .is_err());
}

#[test]
fn static_vectors_train_save_load() {
    let docs = synthetic(40, 4);
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.txt");
    let mut s = String::from("5 4\n");
    for (i, w) in ["pneumonia", "sepsis", "biopsy", "mri", "smith"]
        .iter()
        .enumerate()
    {
        s.push_str(&format!(
            "{w} {} 0.5 -0.5 {}\n",
            i as f32 * 0.1,
            1.0 - i as f32 * 0.2
        ));
    }
    std::fs::write(&v, s).unwrap();
    let mut cfg = small_cfg();
    cfg.epochs = 1;
    cfg.vectors = Some(v);
    cfg.vectors_width = 16;
    let (_, model) = train_model(
        &docs,
        &docs[..5],
        &cfg,
        &dir.path().join("o"),
        serde_json::Value::Null,
    )
    .unwrap();
    assert!(dir.path().join("o/final/vectors.safetensors").exists());
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let a = model.predict_texts(&texts, 0.0);
    let re = CnnModel::load(&dir.path().join("o/final")).unwrap();
    assert_eq!(a, re.predict_texts(&texts, 0.0));
}

#[test]
fn config_serde_round_trip() {
    let c = CnnConfig {
        vectors: Some("x.vec".into()),
        ..Default::default()
    };
    let js = serde_json::to_string(&c).unwrap();
    let back: CnnConfig = serde_json::from_str(&js).unwrap();
    assert_eq!(c, back);
    let partial: CnnConfig = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
    assert_eq!(partial.epochs, 3);
    assert_eq!(partial.width, 64);
    assert_eq!(partial.depth, 3);
}

#[test]
fn segments_cover_the_text_and_cut_at_line_or_sentence_ends() {
    use crate::model::segments;
    let t = "Ab. cd ée\nfg hi! jk lm ".repeat(40) + &"ü".repeat(300);
    for max in [8, 9, 17, 64, 1000, 1 << 20] {
        let seg = segments(&t, max);
        assert_eq!(seg[0].0, 0);
        assert_eq!(seg.last().unwrap().1, t.len());
        for w in seg.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
        for &(a, b) in &seg {
            assert!(b > a && b - a <= max.max(8), "{max}: {a}..{b}");
            let _ = &t[a..b]; // char boundaries, or this panics
        }
    }
    let lines = "one two three\n".repeat(100);
    let seg = segments(&lines, 64);
    for &(_, b) in &seg[..seg.len() - 1] {
        assert!(lines[..b].ends_with('\n'));
    }
    let sentences = "One two three. ".repeat(100);
    for &(_, b) in &segments(&sentences, 64)[..1] {
        assert!(sentences[..b].ends_with(". "), "{:?}", &sentences[..b]);
    }
}

#[test]
fn long_texts_predict_by_segment_with_consistent_offsets() {
    use crate::model::{segments, SEGMENT_BYTES};
    let docs = synthetic(120, 5);
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_cfg();
    let (_, model) = train_model(&docs, &[], &cfg, dir.path(), serde_json::Value::Null).unwrap();
    let block: String = docs
        .iter()
        .map(|d| d.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let text = block.repeat(SEGMENT_BYTES / block.len() * 2 + 3);
    assert!(text.len() > 2 * SEGMENT_BYTES);
    let got = model.predict_texts(&[&text], 0.0).remove(0);
    assert!(!got.is_empty());
    // the same as predicting each segment alone, shifted by the characters before it
    let mut want = Vec::new();
    let mut before = 0;
    for (a, b) in segments(&text, SEGMENT_BYTES) {
        for mut e in model.predict_texts(&[&text[a..b]], 0.0).remove(0) {
            e.start += before;
            e.end += before;
            want.push(e);
        }
        before += text[a..b].chars().count();
    }
    assert_eq!(got, want);
    let chars: Vec<char> = text.chars().collect();
    for e in &got {
        assert!(e.start < e.end && e.end <= chars.len());
    }
}

/// A run interrupted after epoch 2 (what a crash during epoch 3 leaves: checkpoints 1-2,
/// best/, the first two metrics lines) and resumed ends with exactly the weights of the
/// uninterrupted run.
#[test]
fn resumed_run_is_bit_identical_to_an_uninterrupted_one() {
    use crate::train::TrainReport;
    use jner_run::{PendingRun, RunDir, RunMode};
    use serde_json::Value;
    let train_docs = synthetic(60, 11);
    let eval_docs = synthetic(12, 12);
    let mut cfg = small_cfg();
    cfg.epochs = 4;
    cfg.save_checkpoints = true;
    cfg.dropout = 0.2;
    cfg.threads = 2;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let whole = train(
        &train_docs,
        &eval_docs,
        &cfg,
        PendingRun::new_run(&a).unwrap(),
        Value::Null,
    )
    .unwrap();
    train(
        &train_docs,
        &eval_docs,
        &cfg,
        PendingRun::new_run(&b).unwrap(),
        Value::Null,
    )
    .unwrap();
    // the crash: epochs 3 and 4 never happened
    for gone in ["checkpoint-epoch-3", "checkpoint-epoch-4", "final"] {
        std::fs::remove_dir_all(b.join(gone)).unwrap();
    }
    std::fs::remove_file(b.join("train_report.json")).unwrap();
    let metrics = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    let two: String = metrics.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(b.join("metrics.jsonl"), two).unwrap();
    let plan = RunDir::check(&b, RunMode::Resume, &Value::Null).unwrap();
    assert_eq!(plan.resume_from(), Some(2));
    let resumed = train(
        &train_docs,
        &eval_docs,
        &cfg,
        plan.pending(Value::Null),
        Value::Null,
    )
    .unwrap();
    for f in [
        "final/model.safetensors",
        "checkpoint-epoch-4/model.safetensors",
        "checkpoint-epoch-4/trainer_state.safetensors",
        "best/model.safetensors",
    ] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs after the resume"
        );
    }
    assert_eq!(resumed.best_epoch, whole.best_epoch);
    assert_eq!(resumed.best_f1.to_bits(), whole.best_f1.to_bits());
    assert_eq!(resumed.epochs.len(), 4);
    let losses = |r: &TrainReport| {
        r.epochs
            .iter()
            .map(|e| e.loss.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&resumed), losses(&whole));
    assert_eq!(
        std::fs::read_to_string(b.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn n_params_is_what_the_network_allocates() {
    for (depth, window, vec, heads) in [
        (1, 1, 0, 0),
        (3, 1, 0, 0),
        (2, 2, 50, 0),
        (4, 0, 0, 0),
        (2, 1, 0, 4),
        (3, 2, 50, 2),
    ] {
        let mut cfg = small_cfg();
        cfg.depth = depth;
        cfg.window = window;
        cfg.attention_heads = heads;
        let dims = crate::model::dims_for(&cfg, 3, vec);
        let net = crate::net::Net::new(dims, 1);
        assert_eq!(
            dims.n_params(),
            net.params.data.len(),
            "{depth} {window} {vec} {heads}"
        );
    }
}

/// Documents whose last word's label is decided by their first word, seven words away:
/// "alpha … item" makes `item` an `A`, "beta … item" a `B`.
fn far_cue(n: usize, seed: u64) -> Vec<Document> {
    const FILL: &[&str] = &[
        "red", "green", "blue", "big", "small", "old", "new", "warm", "cold", "soft",
    ];
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let (cue, label) = if rng.below(2) == 0 {
                ("alpha", "A")
            } else {
                ("beta", "B")
            };
            let mut text = cue.to_string();
            for _ in 0..6 {
                text.push(' ');
                text.push_str(FILL[rng.below(FILL.len())]);
            }
            text.push(' ');
            let start = text.len();
            text.push_str("item");
            let end = text.len();
            text.push('.');
            let mut d = Document::new(format!("cue/{i}"), "synthetic", text);
            d.spans = vec![Span::new(start, end, label)];
            d
        })
        .collect()
}

/// The attention layer is what lets a token's tag depend on a word beyond the CNN's
/// receptive field: with depth 1 and window 1 the label of `item` is a coin toss, with an
/// attention layer over ±16 tokens it is learned.
#[test]
fn attention_sees_beyond_the_window() {
    let train = far_cue(300, 1);
    let eval = far_cue(100, 2);
    let f1 = |heads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = small_cfg();
        cfg.depth = 1;
        cfg.window = 1;
        cfg.epochs = 8;
        cfg.attention_heads = heads;
        cfg.attention_window = 16;
        let (report, model) =
            train_model(&train, &eval, &cfg, dir.path(), serde_json::Value::Null).unwrap();
        // the saved model predicts what the trained one does
        let loaded = CnnModel::load(&dir.path().join("final")).unwrap();
        let text = &eval[0].text;
        assert_eq!(
            model.predict_texts(&[text], 0.0),
            loaded.predict_texts(&[text], 0.0)
        );
        report.best_f1
    };
    let (plain, att) = (f1(0), f1(4));
    eprintln!("far cue: F1 without attention {plain:.3}, with {att:.3}");
    assert!(
        plain < 0.75,
        "the window alone should not see the cue: {plain}"
    );
    assert!(att >= 0.95, "attention should see the cue: {att}");
}
