//! End-to-end tests of the `jner` binary on the shared data and the built-in demo corpus.

use std::path::PathBuf;

mod common;
use common::{fails, jner, ok};

fn data() -> PathBuf {
    std::env::var_os("JNER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn data_flags() -> Vec<String> {
    let d = data();
    vec![
        "--data-dir".into(),
        d.join("maccrobat").display().to_string(),
        "--corona".into(),
        d.join("corona/Corona2.json").display().to_string(),
        "--csv".into(),
        d.join("reviews/mydata.csv").display().to_string(),
    ]
}

/// The MiniLM encoder of scripts/fetch-minilm.sh, or `None` (the test is skipped) when it was
/// not fetched; with JNER_REQUIRE_MINILM set (CI), a missing encoder fails the test.
#[cfg(feature = "torch")]
fn minilm() -> Option<PathBuf> {
    let enc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2");
    if enc.join("model.safetensors").is_file() {
        return Some(enc);
    }
    assert!(
        std::env::var_os("JNER_REQUIRE_MINILM").is_none(),
        "{} has no model.safetensors; run scripts/fetch-minilm.sh",
        enc.display()
    );
    eprintln!("SKIPPED: no MiniLM encoder at {}", enc.display());
    None
}

fn with_data<'a>(head: &[&'a str], flags: &'a [String]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend(flags.iter().map(String::as_str));
    v
}

#[test]
fn stats_on_the_shared_data() {
    let f = data_flags();
    let out = ok(&with_data(&["data", "stats"], &f));
    // Numbers checked independently, see crates/jner-corpus/tests/shared_data.rs.
    assert!(out.contains("total         713              4853              5607               626              1607                61   12754"), "{out}");
    assert!(
        out.contains("Age spans 206: kept as MinorChild (under 18) 22, in 21 documents"),
        "{out}"
    );
    assert!(
        out.contains("pronouns 141, noun phrases 61, in 21 documents"),
        "{out}"
    );
    assert!(out.contains("excluded for medical_col 32"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&with_data(&["data", "stats", "--json"], &f))).unwrap();
    assert_eq!(json["reviews"]["rows_excluded_medical"], 32);
}

#[test]
fn missing_sources_are_clear_errors_and_can_be_left_out() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.csv");
    let d = data();
    let mac = d.join("maccrobat").display().to_string();
    let cor = d.join("corona/Corona2.json").display().to_string();
    let o = jner(&[
        "data",
        "stats",
        "--data-dir",
        &mac,
        "--corona",
        &cor,
        "--csv",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nope.csv") && err.contains("--no-csv"),
        "{err}"
    );
    let out = ok(&[
        "data",
        "stats",
        "--data-dir",
        &mac,
        "--corona",
        &cor,
        "--no-csv",
    ]);
    assert!(!out.contains("Reviews CSV"));
    let out = ok(&[
        "data",
        "stats",
        "--data-dir",
        &mac,
        "--no-corona",
        "--no-csv",
    ]);
    assert!(out.contains("maccrobat     200"), "{out}");
}

#[test]
fn split_and_export_never_share_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let f = data_flags();
    let dir = tmp.path().join("split");
    ok(&with_data(
        &["data", "split", "--output-dir", dir.to_str().unwrap()],
        &f,
    ));
    let ids = |name: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let train: std::collections::HashSet<String> = ids("train.jsonl")
        .iter()
        .map(|i| i.split('~').next().unwrap().to_string())
        .collect();
    let eval = ids("eval.jsonl");
    assert_eq!(eval.len(), 71);
    assert!(eval.iter().all(|i| !train.contains(i)));
    assert_eq!(train.len() + eval.len(), 713);
    for f in ["train.json", "eval.json", "split.json"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let gl: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval.json")).unwrap()).unwrap();
    assert_eq!(gl.as_array().unwrap().len(), 71);

    let all = tmp.path().join("all.jsonl");
    ok(&with_data(
        &["data", "export", "--output", all.to_str().unwrap()],
        &f,
    ));
    assert_eq!(std::fs::read_to_string(&all).unwrap().lines().count(), 713);
    // Scoring the gold against itself is perfect.
    let rep: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        "--gold",
        all.to_str().unwrap(),
        "--pred",
        all.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(rep["micro"]["f1"], 1.0);
    assert_eq!(rep["micro"]["tp"], 12754);
}

#[test]
fn folds_partition_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    ok(&[
        "data",
        "split",
        "--demo",
        "--folds",
        "3",
        "--output-dir",
        tmp.path().to_str().unwrap(),
    ]);
    let mut n = 0;
    for k in 1..=3 {
        n += std::fs::read_to_string(tmp.path().join(format!("fold-{k}/eval.jsonl")))
            .unwrap()
            .lines()
            .count();
    }
    assert_eq!(n, 29);
}

#[test]
fn demo_trains_predicts_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("model");
    let o = out.to_str().unwrap();
    ok(&["train", "--demo", "--epochs", "2", "--output-dir", o]);
    for p in [
        "best/jner.json",
        "final/jner.json",
        "checkpoint-epoch-1/jner.json",
        "checkpoint-epoch-2/jner.json",
        "metrics.jsonl",
        "eval.jsonl",
        "train.jsonl",
        "train.json",
        "eval.json",
    ] {
        assert!(out.join(p).is_file(), "missing {p}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );

    let input = tmp.path().join("in.txt");
    std::fs::write(
        &input,
        "A 7-year-old boy had fever.\n\nCafé – 38.5°C \u{7} control\n",
    )
    .unwrap();
    let pred = ok(&[
        "predict",
        "--model",
        &format!("{o}/best"),
        "--input",
        input.to_str().unwrap(),
    ]);
    let lines: Vec<serde_json::Value> = pred
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["entities"].as_array().unwrap().len(), 0);

    let rep: serde_json::Value =
        serde_json::from_str(&ok(&["eval", "--model", &format!("{o}/best"), "--json"])).unwrap();
    assert!(rep["documents"].as_u64().unwrap() > 0);
    // bootstrap intervals: micro first (its estimate the report's), then every label
    let b: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        "--model",
        &format!("{o}/best"),
        "--json",
        "--bootstrap",
        "200",
    ]))
    .unwrap();
    // error analysis: its classes add up to the report's counts
    let e: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        "--model",
        &format!("{o}/best"),
        "--json",
        "--errors",
        "2",
    ]))
    .unwrap();
    let a = &e["analysis"];
    let sum = |k: &str| -> u64 {
        a["per_label"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v[k].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("exact"), rep["micro"]["tp"].as_u64().unwrap());
    let fp = ["boundary", "confused", "spurious", "duplicate"]
        .map(sum)
        .iter()
        .sum::<u64>();
    assert_eq!(fp, rep["micro"]["fp"].as_u64().unwrap());
    assert_eq!(
        sum("missed") + sum("partial"),
        rep["micro"]["fn"].as_u64().unwrap()
    );
    for x in a["examples"].as_array().unwrap() {
        assert!(x["context"].as_str().unwrap().contains("[["), "{x}");
    }
    let f1 = b["bootstrap"]["f1"].as_array().unwrap();
    assert_eq!(f1.len(), 1 + rep["per_label"].as_object().unwrap().len());
    assert_eq!(f1[0][0], "micro");
    assert_eq!(f1[0][1]["estimate"], rep["micro"]["f1"]);
    for x in f1 {
        let (lo, hi) = (x[1]["lo"].as_f64().unwrap(), x[1]["hi"].as_f64().unwrap());
        assert!(0.0 <= lo && lo <= hi && hi <= 1.0, "{x}");
    }

    let o2 = jner(&["predict", "--model", tmp.path().to_str().unwrap()]);
    assert_eq!(o2.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o2.stderr).contains("jner.json"));
}

#[cfg(not(feature = "torch"))]
#[test]
fn backends_without_a_build_say_so() {
    for b in ["gliner", "spanmarker"] {
        let o = jner(&["train", "--backend", b, "--demo"]);
        assert_eq!(o.status.code(), Some(2));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains(&format!("the {b} backend needs libtorch"))
                && e.contains("backends built in: cnn"),
            "{e}"
        );
    }
    let o = jner(&["train", "--backend", "crf", "--demo"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cnn (alias spacy), spanmarker, gliner"));
}

/// A cnn model runs on the CPU: `--device cuda` is refused by name, before any input is read.
#[test]
fn cnn_models_refuse_a_gpu_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    let m = m.to_str().unwrap();
    ok(&["train", "--demo", "--epochs", "1", "--output-dir", m]);
    for d in ["cuda", "cuda:1"] {
        let e = fails(&["predict", "--model", &format!("{m}/final"), "--device", d]);
        assert!(
            e.contains("a cnn model runs on the CPU only") && e.contains(d),
            "{e}"
        );
    }
}

/// A backend with a fixed label set takes a subset of its labels and refuses new ones by name.
#[test]
fn fixed_label_backends_refuse_new_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m");
    let o = out.to_str().unwrap();
    ok(&["train", "--demo", "--epochs", "1", "--output-dir", o]);
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, "My son had a fever after the surgery.\n").unwrap();
    let model = format!("{o}/final");
    let only = ok(&[
        "predict",
        "--model",
        &model,
        "--input",
        input.to_str().unwrap(),
        "--labels",
        "MinorChild",
    ]);
    let v: serde_json::Value = serde_json::from_str(only.lines().next().unwrap()).unwrap();
    assert!(v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["label"] == "MinorChild"));
    let bad = jner(&[
        "predict",
        "--model",
        &model,
        "--input",
        input.to_str().unwrap(),
        "--labels",
        "medication",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        e.contains("medication") && e.contains("does not take new labels"),
        "{e}"
    );
}

/// `jner train --backend gliner` fine-tunes a GLiNER checkpoint (the library-made tiny fixture)
/// for an epoch on the demo corpus; the run has the library's layout plus jner's files;
/// `predict` takes labels never trained (zero-shot) and loads the folder without `jner.json`
/// as a plain gliner checkpoint; `eval --model` scores it.
#[cfg(feature = "torch")]
#[test]
fn gliner_fine_tunes_a_checkpoint_and_takes_new_labels() {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../jner-torch/tests/fixtures/gliner/deberta");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("g");
    let o = out.to_str().unwrap();
    ok(&[
        "train",
        "--backend",
        "gliner",
        "--model",
        base.to_str().unwrap(),
        "--demo",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--output-dir",
        o,
    ]);
    for p in [
        "final/gliner_config.json",
        "final/model.safetensors",
        "final/tokenizer.json",
        "final/jner.json",
        "checkpoint-epoch-1/optimizer.safetensors",
        "checkpoint-epoch-1/trainer_state.json",
        "metrics.jsonl",
        "train.json",
        "eval.json",
    ] {
        assert!(out.join(p).is_file(), "missing {p}");
    }
    let input = tmp.path().join("in.txt");
    std::fs::write(
        &input,
        "My daughter takes 5 mg of ibuprofen twice a day.\nNo entities here.\n",
    )
    .unwrap();
    let model = format!("{o}/final");
    for labels in [None, Some("medication,dosage")] {
        let mut a = vec![
            "predict",
            "--model",
            &model,
            "--input",
            input.to_str().unwrap(),
            "--threshold",
            "0.1",
        ];
        if let Some(l) = labels {
            a.extend(["--labels", l]);
        }
        let pred = ok(&a);
        let lines: Vec<serde_json::Value> = pred
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        if let Some(l) = labels {
            let allowed: Vec<&str> = l.split(',').collect();
            for e in lines.iter().flat_map(|v| v["entities"].as_array().unwrap()) {
                assert!(allowed.contains(&e["label"].as_str().unwrap()), "{e}");
            }
        }
    }
    // the same folder without jner.json is a gliner checkpoint
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    for f in std::fs::read_dir(&model).unwrap() {
        let f = f.unwrap();
        if f.file_name() != "jner.json" {
            std::fs::copy(f.path(), plain.join(f.file_name())).unwrap();
        }
    }
    let input_path = input.to_str().unwrap();
    let person = |m: &str, device: &str| {
        jner(&[
            "predict",
            "--model",
            m,
            "--input",
            input_path,
            "--labels",
            "person",
            "--threshold",
            "0.2",
            "--device",
            device,
        ])
    };
    let stdout = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let a = stdout(person(&model, "cpu"));
    let b = stdout(person(plain.to_str().unwrap(), "cpu"));
    assert_eq!(a, b);
    // `--device cuda`: on a machine without CUDA a clear error; with one, the CPU's entities
    let cuda = person(&model, "cuda");
    if cuda.status.success() {
        let got: Vec<serde_json::Value> = String::from_utf8_lossy(&cuda.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let want: Vec<serde_json::Value> = a
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let spans = |v: &[serde_json::Value]| -> Vec<(u64, u64, String)> {
            v.iter()
                .flat_map(|d| d["entities"].as_array().unwrap().clone())
                .map(|e| {
                    let s = |k: &str| e[k].as_u64().unwrap();
                    (
                        s("start"),
                        s("end"),
                        e["label"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(spans(&got), spans(&want));
    } else {
        let e = String::from_utf8_lossy(&cuda.stderr);
        assert!(e.contains("libtorch sees 0 CUDA device(s)"), "{e}");
    }
    let rep: serde_json::Value =
        serde_json::from_str(&ok(&["eval", "--model", &format!("{o}/final"), "--json"])).unwrap();
    assert!(rep["documents"].as_u64().unwrap() > 0);
}

/// `jner train --backend spanmarker` end to end with the real MiniLM encoder (one epoch on a
/// few demo documents), then `predict` loads the run's `final/` both as a jner model and, with
/// `jner.json` removed, as a plain `span_marker` checkpoint (what the Python library saves):
/// the same predictions. Needs `scripts/fetch-minilm.sh` (CI sets `JNER_REQUIRE_MINILM=1`).
#[cfg(feature = "torch")]
#[test]
fn spanmarker_trains_and_loads_span_marker_checkpoints() {
    let Some(enc) = minilm() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs.jsonl");
    std::fs::write(
        &docs,
        concat!(
            r#"{"id":"a","text":"My son (8) had a fever.","spans":[{"start":0,"end":6,"label":"MinorChild"},{"start":17,"end":22,"label":"MedicalCondition"}]}"#,
            "\n",
            r#"{"id":"b","text":"She underwent an appendectomy.","spans":[{"start":17,"end":29,"label":"ClinicalProcedure"}]}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = tmp.path().join("run");
    let (d, e, o) = (
        docs.to_str().unwrap(),
        enc.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    ok(&[
        "train",
        "--backend",
        "spanmarker",
        "--model",
        e,
        "--train-jsonl",
        d,
        "--eval-jsonl",
        d,
        "--epochs",
        "1",
        "--lr",
        "1e-3",
        "--output-dir",
        o,
    ]);
    let model = out.join("final");
    let m = model.to_str().unwrap();
    let with_meta = ok(&["predict", "--model", m, "--input", d]);
    assert_eq!(with_meta.lines().count(), 2, "{with_meta}");
    std::fs::remove_file(model.join("jner.json")).unwrap();
    let plain = ok(&["predict", "--model", m, "--input", d]);
    assert_eq!(plain, with_meta);
}

/// `vectors`, `pretrain`, `train --init` and `distill` on the demo corpus, end to end.
#[test]
fn vectors_pretrain_init_and_distill() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |s: &str| tmp.path().join(s).to_str().unwrap().to_string();
    ok(&["data", "export", "--demo", "--output", &p("docs.jsonl")]);
    let n_docs = std::fs::read_to_string(p("docs.jsonl"))
        .unwrap()
        .lines()
        .count();

    ok(&[
        "vectors",
        "--input",
        &p("docs.jsonl"),
        "--output",
        &p("v.txt"),
        "--dim",
        "8",
        "--epochs",
        "2",
        "--min-count",
        "1",
    ]);
    let v = std::fs::read_to_string(p("v.txt")).unwrap();
    let (head, rest) = v.split_once('\n').unwrap();
    let (count, dim) = head.split_once(' ').unwrap();
    assert_eq!(dim, "8");
    assert_eq!(rest.lines().count(), count.parse::<usize>().unwrap());
    assert!(rest.lines().all(|l| l.split(' ').count() == 9));
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("v.txt.json")).unwrap()).unwrap();
    assert_eq!(side["epochs"].as_array().unwrap().len(), 2);

    ok(&[
        "pretrain",
        "--input",
        &p("docs.jsonl"),
        "--output-dir",
        &p("pt"),
        "--epochs",
        "2",
        "--set",
        "width=16",
        "--set",
        "depth=2",
    ]);
    assert!(tmp.path().join("pt/final/tok2vec.safetensors").is_file());
    let lines = std::fs::read_to_string(p("pt/metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);
    let again = fails(&[
        "pretrain",
        "--input",
        &p("docs.jsonl"),
        "--output-dir",
        &p("pt"),
    ]);
    assert!(again.contains("--overwrite"), "{again}");

    ok(&[
        "train",
        "--demo",
        "--epochs",
        "1",
        "--init",
        &p("pt/final"),
        "--output-dir",
        &p("m"),
    ]);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("m/final/jner.json")).unwrap()).unwrap();
    assert_eq!(
        meta["config"]["width"], 16,
        "the architecture comes from the pretrained folder"
    );
    assert_eq!(meta["config"]["depth"], 2);
    assert_eq!(meta["config"]["init"], p("pt/final"));
    let err = fails(&[
        "train",
        "--demo",
        "--epochs",
        "1",
        "--init",
        &p("pt/final"),
        "--set",
        "width=32",
        "--output-dir",
        &p("m2"),
    ]);
    assert!(err.contains("width 16 (pretrained) vs 32"), "{err}");
    assert!(
        !tmp.path().join("m2").exists(),
        "nothing written for a refused run"
    );
    let err = fails(&[
        "train",
        "--demo",
        "--init",
        &p("m/final"),
        "--output-dir",
        &p("m3"),
    ]);
    assert!(
        err.contains("pretrain.json") && err.contains("jner pretrain"),
        "{err}"
    );

    // the teacher labels the corpus's own texts (all of them gold: left out) and two new ones
    std::fs::write(
        p("new.txt"),
        "My son loves it.\nThe 3-year-old girl had a fever.\n",
    )
    .unwrap();
    ok(&[
        "distill",
        "--demo",
        "--epochs",
        "1",
        "--teacher",
        &p("m/final"),
        "--unlabeled",
        &p("docs.jsonl"),
        "--unlabeled",
        &p("new.txt"),
        "--output-dir",
        &p("s"),
    ]);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("s/final/jner.json")).unwrap()).unwrap();
    let d = &run["meta"]["distill"];
    assert_eq!(d["texts_read"], n_docs + 2, "{d}");
    let eval_docs = std::fs::read_to_string(p("s/eval.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(d["texts_in_eval"], eval_docs, "{d}");
    assert_eq!(d["texts_in_train"], n_docs - eval_docs, "{d}");
    assert_eq!(d["documents"], 2, "{d}");
    let silver = std::fs::read_to_string(p("s/silver.jsonl")).unwrap();
    assert_eq!(silver.lines().count(), 2);
    assert!(silver.contains("My son loves it."));
}

/// `eval --calibrate` stores per-label thresholds in the model's jner.json; predict applies
/// them unless --threshold is given; a damaged value is an error naming the file and field.
#[test]
fn calibrated_thresholds_are_stored_and_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m");
    let o = out.to_str().unwrap();
    ok(&["train", "--demo", "--epochs", "20", "--output-dir", o]);
    let best = format!("{o}/best");
    let before: serde_json::Value =
        serde_json::from_str(&ok(&["eval", "--model", &best, "--json"])).unwrap();
    let after: serde_json::Value =
        serde_json::from_str(&ok(&["eval", "--model", &best, "--json", "--calibrate"])).unwrap();
    // per label, the chosen cut is never worse than keeping everything
    for (l, s) in after["per_label"].as_object().unwrap() {
        let b = before["per_label"][l]["f1"].as_f64().unwrap();
        assert!(s["f1"].as_f64().unwrap() >= b - 1e-12, "{l}");
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("best/jner.json")).unwrap())
            .unwrap();
    let th = meta["thresholds"].as_object().unwrap();
    assert!(!th.is_empty());
    // a later eval uses the stored thresholds: the same scores without --calibrate
    let again: serde_json::Value =
        serde_json::from_str(&ok(&["eval", "--model", &best, "--json"])).unwrap();
    assert_eq!(again["micro"], after["micro"]);
    // predict: every entity above its label's threshold; --threshold 0 keeps them all
    let input = tmp.path().join("in.txt");
    let eval_texts: Vec<String> = std::fs::read_to_string(out.join("eval.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .replace('\n', " ")
        })
        .collect();
    std::fs::write(&input, eval_texts.join("\n")).unwrap();
    let i = input.to_str().unwrap();
    let count = |args: &[&str]| -> usize {
        ok(args)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                for e in v["entities"].as_array().unwrap() {
                    if !args.contains(&"--threshold") {
                        let t = th
                            .get(e["label"].as_str().unwrap())
                            .map_or(0.0, |t| t.as_f64().unwrap());
                        assert!(e["score"].as_f64().unwrap() > t, "{e}");
                    }
                }
                v["entities"].as_array().unwrap().len()
            })
            .sum()
    };
    let calibrated = count(&["predict", "--model", &best, "-i", i]);
    let all = count(&["predict", "--model", &best, "-i", i, "--threshold", "0"]);
    assert!(calibrated <= all);
    // a damaged threshold is refused by name
    let mut bad = meta.clone();
    bad["thresholds"]["MinorChild"] = serde_json::json!(7);
    std::fs::write(out.join("best/jner.json"), bad.to_string()).unwrap();
    let e = fails(&["predict", "--model", &best, "-i", i]);
    assert!(
        e.contains("jner.json") && e.contains("thresholds") && e.contains("MinorChild"),
        "{e}"
    );
}

/// `jner eval --gold --pred --json`: a `compare` fold's predictions scored anew.
fn rescore(gold: &std::path::Path, pred: &std::path::Path) -> serde_json::Value {
    let out = ok(&[
        "eval",
        "--gold",
        gold.to_str().unwrap(),
        "--pred",
        pred.to_str().unwrap(),
        "--json",
    ]);
    serde_json::from_str(&out).unwrap()
}

/// `compare` on the demo corpus: every fold's score in report.json is what `jner eval` gives
/// for that fold's saved predictions, the folds partition the corpus, the spread is the fold
/// scores' mean and sd, and the report's files are all there.
#[test]
fn compare_scores_every_fold_with_the_shared_scorer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let o = out.to_str().unwrap();
    ok(&[
        "compare",
        "--demo",
        "--backends",
        "cnn",
        "--folds",
        "2",
        "--epochs-for",
        "cnn=3",
        "--bootstrap",
        "200",
        "--threads",
        "1",
        "--output-dir",
        o,
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let b = &report["backends"][0];
    assert_eq!(b["name"], "cnn");
    assert_eq!(b["zero_shot"], false);
    let mut ids = std::collections::BTreeSet::new();
    let mut f1s = Vec::new();
    let mut tp = 0;
    for k in 1..=2 {
        let gold = out.join(format!("folds/fold-{k}/eval.jsonl"));
        let pred = out.join(format!("predictions/cnn/fold-{k}.jsonl"));
        let scored = rescore(&gold, &pred);
        let fold = &b["folds"][k - 1];
        assert_eq!(fold["report"]["micro"], scored["micro"], "fold {k}");
        assert_eq!(fold["report"]["per_label"], scored["per_label"], "fold {k}");
        f1s.push(scored["micro"]["f1"].as_f64().unwrap());
        tp += scored["micro"]["tp"].as_u64().unwrap();
        for line in std::fs::read_to_string(&gold).unwrap().lines() {
            let id = serde_json::from_str::<serde_json::Value>(line).unwrap()["id"].clone();
            assert!(ids.insert(id.to_string()), "{id} is held out twice");
        }
        assert!(out
            .join(format!("runs/cnn/fold-{k}/final/jner.json"))
            .is_file());
        assert!(fold["train_peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
        assert!(fold["infer_peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
        assert!(fold["model_bytes"].as_u64().unwrap() > 0);
        assert_eq!(fold["epochs"].as_array().unwrap().len(), 3);
    }
    assert_eq!(ids.len(), 29, "every demo document is held out once");
    assert_eq!(b["pooled"]["micro"]["tp"].as_u64().unwrap(), tp);
    let mean = (f1s[0] + f1s[1]) / 2.0;
    let sd = (f1s[0] - f1s[1]).abs() / 2f64.sqrt();
    let s = &b["summary"]["micro"]["f1"];
    assert!((s["mean"].as_f64().unwrap() - mean).abs() < 1e-12, "{s}");
    assert!((s["sd"].as_f64().unwrap() - sd).abs() < 1e-12, "{s}");
    for f in [
        "report.md",
        "report.html",
        "plots/f1_per_label.svg",
        "plots/f1_per_label.png",
        "plots/learning_loss.svg",
        "plots/learning_f1.png",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| cnn (3 epochs) |"), "{md}");

    // --render writes the same report again from report.json alone
    std::fs::remove_file(out.join("report.md")).unwrap();
    std::fs::remove_dir_all(out.join("plots")).unwrap();
    ok(&["compare", "--render", o]);
    assert_eq!(std::fs::read_to_string(out.join("report.md")).unwrap(), md);
    assert!(out.join("plots/f1_per_label.png").is_file());

    // a second run into the same folder is refused, and leaves it as it was
    let before = std::fs::read(out.join("report.json")).unwrap();
    let e = fails(&["compare", "--demo", "--folds", "2", "--output-dir", o]);
    assert!(
        e.contains("is not empty") && e.contains("--overwrite"),
        "{e}"
    );
    assert_eq!(std::fs::read(out.join("report.json")).unwrap(), before);
}

/// Bad `compare` flags are refused before anything is written.
#[test]
fn compare_checks_every_flag_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let o = out.to_str().unwrap();
    for (args, msg) in [
        (
            vec!["--model-for", "gliner=x"],
            "gliner is not in --backends",
        ),
        (
            vec!["--epochs-for", "cnn=0"],
            "--epochs-for cnn=0: expected a positive whole number",
        ),
        (vec!["--epochs-for", "cnn"], "expected BACKEND=VALUE"),
        (
            vec!["--train-arg", "cnn=--bogus"],
            "unexpected argument '--bogus'",
        ),
        (
            vec!["--train-arg", "cnn=--set=windw=2"],
            "no setting `windw`",
        ),
        (vec!["--backends", "cnn,spacy"], "cnn is listed twice"),
        (vec!["--folds", "1"], "--folds needs at least 2 folds"),
    ] {
        let mut v = vec!["compare", "--demo", "--output-dir", o];
        v.extend(args);
        let e = fails(&v);
        assert!(e.contains(msg), "{v:?}: {e}");
        assert!(!out.exists(), "{v:?} wrote {}", out.display());
    }
}

/// `compare` with the libtorch backends on a few demo documents: all three on the same
/// held-out documents, gliner's scored predictions at its default threshold and its curves
/// below it, a paired test for every pair.
#[cfg(feature = "torch")]
#[test]
fn compare_runs_the_transformer_backends() {
    let Some(enc) = minilm() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let e = enc.to_str().unwrap();
    let (sm, gl) = (format!("spanmarker={e}"), format!("gliner={e}"));
    ok(&[
        "compare",
        "--demo",
        "--backends",
        "cnn,spanmarker,gliner",
        "--model-for",
        &sm,
        "--model-for",
        &gl,
        "--epochs-for",
        "spanmarker=1",
        "--epochs-for",
        "gliner=1",
        "--train-docs",
        "spanmarker=6",
        "--train-docs",
        "gliner=6",
        "--eval-docs",
        "5",
        "--val-split",
        "0.3",
        "--bootstrap",
        "100",
        "--threads",
        "2",
        "--output-dir",
        out.to_str().unwrap(),
    ]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let names: Vec<&str> = r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cnn", "spanmarker", "gliner"]);
    let zero_shot: Vec<bool> = r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["zero_shot"].as_bool().unwrap())
        .collect();
    assert_eq!(zero_shot, [false, false, true]);
    assert_eq!(r["backends"][1]["folds"][0]["train_docs"], 6);
    assert_eq!(r["paired"].as_array().unwrap().len(), 3);
    let gold = out.join("folds/fold-1/eval.jsonl");
    assert_eq!(std::fs::read_to_string(&gold).unwrap().lines().count(), 5);
    for (i, name) in names.iter().enumerate() {
        let pred = out.join(format!("predictions/{name}/fold-1.jsonl"));
        let scored = rescore(&gold, &pred);
        assert_eq!(
            r["backends"][i]["folds"][0]["report"]["micro"], scored["micro"],
            "{name}"
        );
        if *name == "gliner" {
            for line in std::fs::read_to_string(&pred).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                for ent in v["entities"].as_array().unwrap() {
                    assert!(ent["score"].as_f64().unwrap() > 0.5, "{ent}");
                }
            }
        }
    }
    // a fresh GLiNER scores every span above 0: its curves reach below the 0.5 default
    let curves = r["backends"][2]["curves"].as_object().unwrap();
    assert!(!curves.is_empty());
    let lowest = curves
        .values()
        .flat_map(|c| c["points"].as_array().unwrap().iter())
        .map(|p| p["threshold"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!(lowest < 0.5, "{lowest}");
}
