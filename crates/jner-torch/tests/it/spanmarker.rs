//! SpanMarker end to end on a tiny random BERT: training lowers the loss and reaches a stated
//! F1 on held-out documents (some longer than one window), and a saved model loads back with
//! the same predictions.

use jner_corpus::rng::Rng;
use jner_corpus::{Document, PredictOptions, Span};
use jner_torch::spanmarker::{train, SpanMarkerConfig, SpanMarkerModel};

const PEOPLE: &[&str] = &["girl", "boy", "mother"];
const CONDITIONS: &[&str] = &[
    "fever",
    "cough",
    "asthma",
    "diabetes",
    "chest pain",
    "severe cough",
];

/// Documents of 1 to `max_sentences` template sentences each, with their gold spans.
fn corpus(seed: u64, docs: usize, max_sentences: usize) -> Vec<Document> {
    let mut rng = Rng::new(seed);
    (0..docs)
        .map(|i| {
            let mut d = Document::new(format!("tiny/{seed}-{i}"), "test", "");
            let mut text = String::new();
            let sentences = 1 + rng.below(max_sentences);
            for _ in 0..sentences {
                let p = PEOPLE[rng.below(PEOPLE.len())];
                let c = CONDITIONS[rng.below(CONDITIONS.len())];
                let mut push = |t: &mut String, s: &str, label: Option<&str>| {
                    if !t.is_empty() {
                        t.push(' ');
                    }
                    let start = t.len();
                    t.push_str(s);
                    if let Some(l) = label {
                        d.spans.push(Span::new(start, t.len(), l));
                    }
                };
                match rng.below(3) {
                    0 => {
                        push(&mut text, "the", None);
                        push(&mut text, p, Some("Person"));
                        push(&mut text, "had", None);
                        push(&mut text, c, Some("Condition"));
                        push(&mut text, ".", None);
                    }
                    1 => {
                        push(&mut text, "her", None);
                        push(&mut text, p, Some("Person"));
                        push(&mut text, "was given", None);
                        push(&mut text, "surgery", Some("Procedure"));
                        push(&mut text, "after", None);
                        push(&mut text, c, Some("Condition"));
                        push(&mut text, ".", None);
                    }
                    _ => {
                        push(&mut text, "a scan showed no", None);
                        push(&mut text, c, Some("Condition"));
                        push(&mut text, ",", None);
                        push(&mut text, "one day old", None);
                        push(&mut text, ".", None);
                    }
                }
            }
            d.text = text;
            d.sort_spans();
            d
        })
        .collect()
}

fn f1(model: &SpanMarkerModel, docs: &[Document]) -> f64 {
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let preds = model.predict_texts(&texts, 8, 0.0).unwrap();
    jner_eval::score_documents(docs, &preds).unwrap().f1()
}

/// What lets a from-scratch tiny encoder learn the tiny corpus within seconds.
fn tiny_training_config(enc: &std::path::Path) -> SpanMarkerConfig {
    let mut cfg = SpanMarkerConfig::new(enc);
    cfg.epochs = 20;
    cfg.batch_size = 2;
    cfg.learning_rate = 3e-3;
    cfg.entity_max_length = 3;
    cfg.model_max_length = 48;
    cfg.marker_max_length = 32;
    cfg.progress = false;
    cfg.seed = 3;
    cfg
}

#[test]
fn trains_saves_and_loads() {
    super::common::one_thread();
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("tiny-bert");
    // From scratch, a tiny encoder learns within seconds only with a wider init and no
    // dropout (dropout itself is tested in `encoder`).
    let mut enc_cfg = super::common::tiny_config(32, 2);
    enc_cfg["initializer_range"] = serde_json::json!(0.2);
    enc_cfg["hidden_dropout_prob"] = serde_json::json!(0.0);
    enc_cfg["attention_probs_dropout_prob"] = serde_json::json!(0.0);
    super::common::write_tiny_bert_with(&enc, enc_cfg, "", 11);
    // up to 10 sentences (about 70 words): several windows of model_max_length 48 tokens
    let train_docs = corpus(1, 16, 10);
    let eval_docs = corpus(2, 6, 10);
    let cfg = tiny_training_config(&enc);
    let out = dir.path().join("run");
    // scored on the training documents: a from-scratch tiny encoder memorises them but does
    // not learn to generalise from 16 documents, so this checks the pipeline, not the model
    let report = train(
        &train_docs,
        &train_docs,
        &cfg,
        jner_run::PendingRun::new_run(&out).unwrap(),
        serde_json::json!({"test": true}),
    )
    .unwrap();
    let losses: Vec<f64> = report.epochs.iter().map(|e| e.loss).collect();
    let f1s: Vec<f64> = report
        .epochs
        .iter()
        .map(|e| e.eval.as_ref().unwrap().f1())
        .collect();
    eprintln!("losses {losses:?}\nF1 {f1s:?}");
    assert_eq!(report.labels, ["Condition", "Person", "Procedure"]);
    assert!(
        losses[0] > 3.0 * losses[losses.len() - 1],
        "loss did not fall: {losses:?}"
    );
    let best = report.best_f1.unwrap();
    assert!(best >= 0.9, "best F1 {best} < 0.9 ({f1s:?})");

    // files
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), cfg.epochs);
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
        assert!(first.get(k).is_some(), "metrics.jsonl lacks {k}");
    }
    for sub in ["best", "final"] {
        for f in [
            "jner.json",
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "added_tokens.json",
        ] {
            assert!(out.join(sub).join(f).is_file(), "{sub}/{f} missing");
        }
    }
    let jner: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("best/jner.json")).unwrap())
            .unwrap();
    assert_eq!(jner["backend"], "spanmarker");
    assert_eq!(
        jner["labels"],
        serde_json::json!(["Condition", "Person", "Procedure"])
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("final/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["model_type"], "span-marker");
    assert_eq!(config["id2label"]["0"], "O");
    // 47 tokens + 2 markers, rounded up to a multiple of 8
    assert_eq!(config["encoder"]["vocab_size"], 56);
    assert_eq!(config["entity_max_length"], 3);

    // round trip: the loaded final model scores what training measured after the last epoch
    let fin = SpanMarkerModel::load(&out.join("final")).unwrap();
    let loaded_f1 = f1(&fin, &train_docs);
    assert!(
        (loaded_f1 - f1s[f1s.len() - 1]).abs() < 1e-9,
        "{loaded_f1} vs {f1s:?}"
    );
    // and save → load again gives identical entities and scores
    let again = dir.path().join("again");
    fin.save(&again, serde_json::Value::Null).unwrap();
    let fin2 = jner_torch::load_recognizer(&again).unwrap();
    assert_eq!(fin2.labels(), ["Condition", "Person", "Procedure"]);
    let texts: Vec<&str> = eval_docs.iter().map(|d| d.text.as_str()).collect();
    let opts = PredictOptions::default();
    use jner_corpus::Recognizer;
    let a = fin.predict(&texts, &opts).unwrap();
    let b = fin2.predict(&texts, &opts).unwrap();
    assert_eq!(a, b);
    assert!(a.iter().map(Vec::len).sum::<usize>() > 0);

    // span_marker drops the top-level label maps when they equal the encoder's; still loads
    let cfg_path = again.join("config.json");
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    let m = c.as_object_mut().unwrap();
    m.remove("id2label");
    m.remove("label2id");
    std::fs::write(&cfg_path, c.to_string()).unwrap();
    let fin3 = SpanMarkerModel::load(&again).unwrap();
    assert_eq!(fin3.predict(&texts, &opts).unwrap(), a);
}

/// The shared-text forward (each window's text encoded once for all its marker pairs) is the
/// same function as SpanMarker's layout (text repeated in every sample, 4-D mask): same
/// logits and same gradients, for batches that cut windows' samples apart and join several
/// windows and documents.
#[test]
fn shared_text_forward_equals_the_masked_layout() {
    use jner_torch::spanmarker::Layout;
    use jner_torch::tch::{self, Device, Kind, Tensor};
    super::common::one_thread();
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("tiny-bert");
    super::common::write_tiny_bert(&enc, 32, 2, "", 5);
    let labels: Vec<String> = ["Condition", "Person", "Procedure"]
        .map(String::from)
        .to_vec();
    let layout = Layout {
        model_max_length: 48,
        marker_max_length: 24,
        entity_max_length: 3,
    };
    let model = SpanMarkerModel::from_encoder(&enc, &labels, layout, Device::Cpu).unwrap();
    let docs = corpus(5, 6, 10);
    let tds: Vec<_> = docs
        .iter()
        .map(|d| model.tokenize(&d.text).unwrap())
        .collect();
    let mut samples = model.samples(&tds, None);
    let mut rng = Rng::new(9);
    for s in &mut samples {
        s.labels = s.spans.iter().map(|_| rng.below(4) as i64).collect();
    }
    assert!(
        samples.iter().any(|s| s.window > 0),
        "no document spans two windows"
    );
    assert!(
        samples
            .windows(2)
            .any(|w| (w[0].doc, w[0].window) == (w[1].doc, w[1].window)),
        "no window has two samples"
    );
    model.with_net(|net| {
        for bs in [1, 2, 3, 5, samples.len()] {
            for chunk in samples.chunks(bs) {
                let refs: Vec<_> = chunk.iter().collect();
                let masked = net.logits_masked(&model.collate_masked(&refs), false);
                // with gradients (the general path) and without (the fused CPU kernel)
                let shared = net.logits(&model.collate(&refs), false);
                let fused = tch::no_grad(|| net.logits(&model.collate(&refs), false));
                for (what, x) in [("general", &shared), ("fused", &fused)] {
                    assert_eq!(x.size(), masked.size());
                    let diff = (x - &masked).abs().max().double_value(&[]);
                    assert!(diff < 1e-4, "batch {bs}, {what}: logits differ by {diff}");
                }
            }
        }
        // gradients of every parameter, over one batch of all samples
        let refs: Vec<_> = samples.iter().collect();
        let vars = net.vs.trainable_variables();
        let labels_t = Tensor::from_slice(&model.collate(&refs).labels);
        let g_shared = Tensor::run_backward(
            &[net.loss(&model.collate(&refs), false)],
            &vars,
            false,
            false,
        );
        let masked_loss = net
            .logits_masked(&model.collate_masked(&refs), false)
            .cross_entropy_for_logits(&labels_t);
        let g_masked = Tensor::run_backward(&[masked_loss], &vars, false, false);
        for (a, b) in g_shared.iter().zip(&g_masked) {
            let scale = b.abs().max().double_value(&[]).max(1e-6);
            let diff = (a - b).abs().max().double_value(&[]);
            assert!(
                diff / scale < 1e-3,
                "gradients differ: {diff} (scale {scale})"
            );
            assert_eq!(a.kind(), Kind::Float);
        }
    });
}

/// A RoBERTa-family encoder: `roberta.` weights load, default position ids start after the
/// padding index, the byte-level tokenizer sees every pre-split word with its leading space
/// (as `span_marker` loads it), and SpanMarker trains on it as on BERT.
#[test]
fn roberta_family_encoders() {
    use jner_torch::bert::{BertConfig, BertModel};
    use jner_torch::tch::{self, nn, Device, Tensor};
    super::common::one_thread();
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("tiny-roberta");
    let mut cfg_json = super::common::write_tiny_roberta(&enc, 32, 2, 11);

    // tokenizer: whole-word `Ġword` pieces, not the characters of a sentence-initial word
    let tok = jner_torch::hf::load_tokenizer(&enc.join("tokenizer.json")).unwrap();
    let e = tok.encode(&["fever", "boy", "."][..], false).unwrap();
    let want: Vec<u32> = ["Ġfever", "Ġboy", "Ġ."]
        .iter()
        .map(|t| tok.token_to_id(t).unwrap())
        .collect();
    assert_eq!(e.get_ids(), want.as_slice());

    // default positions = pad + 1 + t
    let cfg = BertConfig::from_json(&cfg_json).unwrap();
    assert_eq!(cfg.first_position(), 2);
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let m = BertModel::new(&vs.root(), &cfg);
    let ids = Tensor::from_slice(&[0i64, 10, 12, 2]).view([1, 4]);
    let pos = (Tensor::arange(4, (tch::Kind::Int64, Device::Cpu)) + 2).view([1, 4]);
    let a = m.forward(&ids, None, None, None, false);
    let b = m.forward(&ids, Some(&pos), None, None, false);
    assert!((a - b).abs().max().double_value(&[]) < 1e-6);

    // SpanMarker trains on it (same recipe as the BERT test)
    cfg_json["initializer_range"] = serde_json::json!(0.2);
    cfg_json["hidden_dropout_prob"] = serde_json::json!(0.0);
    cfg_json["attention_probs_dropout_prob"] = serde_json::json!(0.0);
    std::fs::write(enc.join("config.json"), cfg_json.to_string()).unwrap();
    super::common::write_tiny_bert_with(&enc, cfg_json, "roberta.", 11);
    std::fs::write(
        enc.join("tokenizer.json"),
        super::common::roberta_tokenizer_json().to_string(),
    )
    .unwrap();
    let docs = corpus(1, 16, 10);
    let cfg = tiny_training_config(&enc);
    let out = dir.path().join("run");
    let report = train(
        &docs,
        &docs,
        &cfg,
        jner_run::PendingRun::new_run(&out).unwrap(),
        serde_json::json!({}),
    )
    .unwrap();
    let best = report.best_f1.unwrap();
    assert!(best >= 0.9, "best F1 {best} < 0.9");
    let model = SpanMarkerModel::load(&out.join("best")).unwrap();
    assert!((f1(&model, &docs) - best).abs() < 1e-9);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("best/config.json")).unwrap())
            .unwrap();
    assert_eq!(saved["encoder"]["model_type"], "roberta");
}

/// A run interrupted after epoch 2 of 4 (checkpoints 1-2 and two metrics lines left) and
/// resumed ends with the weights of the uninterrupted run (dropout on, so the dropout stream,
/// the optimizer's moments and the data order all have to be restored).
#[test]
fn resumed_training_matches_an_uninterrupted_run() {
    use jner_run::{PendingRun, RunDir, RunMode};
    super::common::one_thread();
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("tiny-bert");
    super::common::write_tiny_bert_with(&enc, super::common::tiny_config(32, 2), "", 11);
    let docs = corpus(1, 8, 6);
    let mut cfg = tiny_training_config(&enc);
    cfg.epochs = 4;
    // One run, then its own interruption: the initial weights come from libtorch's global
    // generator, which tests running beside this one also draw from, so two separate runs
    // could start apart; once training starts no global randomness is used on the CPU.
    let b = dir.path().join("b");
    let whole = train(
        &docs,
        &docs,
        &cfg,
        PendingRun::new_run(&b).unwrap(),
        serde_json::Value::Null,
    )
    .unwrap();
    let a = dir.path().join("a");
    std::fs::create_dir_all(a.join("final")).unwrap();
    std::fs::copy(
        b.join("final/model.safetensors"),
        a.join("final/model.safetensors"),
    )
    .unwrap();
    for gone in ["checkpoint-epoch-3", "checkpoint-epoch-4", "final"] {
        std::fs::remove_dir_all(b.join(gone)).unwrap();
    }
    let m = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    let kept: String = m.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(b.join("metrics.jsonl"), kept).unwrap();
    let plan = RunDir::check(&b, RunMode::Resume, &serde_json::Value::Null).unwrap();
    assert_eq!(plan.resume_from(), Some(2));
    let resumed = train(
        &docs,
        &docs,
        &cfg,
        plan.pending(serde_json::Value::Null),
        serde_json::Value::Null,
    )
    .unwrap();
    let read = |p: &std::path::Path| -> std::collections::HashMap<String, tch::Tensor> {
        tch::Tensor::read_safetensors(p)
            .unwrap()
            .into_iter()
            .collect()
    };
    let (wa, wb) = (
        read(&a.join("final/model.safetensors")),
        read(&b.join("final/model.safetensors")),
    );
    assert_eq!(wa.len(), wb.len());
    let mut worst = 0f64;
    for (k, t) in &wa {
        let d = (t - &wb[k]).abs().max().double_value(&[]);
        assert!(d.is_finite(), "{k}: non-finite weights");
        worst = worst.max(d);
    }
    eprintln!("largest weight difference after the resume: {worst:e}");
    assert!(worst <= 1e-6, "weights differ by {worst}");
    assert_eq!(resumed.best_epoch, whole.best_epoch);
    let la: Vec<f64> = whole.epochs[2..].iter().map(|e| e.loss).collect();
    let lb: Vec<f64> = resumed.epochs.iter().map(|e| e.loss).collect();
    for (x, y) in la.iter().zip(&lb) {
        assert!(
            (x - y).abs() <= 1e-6 * x.abs().max(1.0),
            "losses {la:?} vs {lb:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(b.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}
