//! Regression tests of issue #9: no run mixes with another, no file is lost, bad input is a
//! clear error. Each test is named after the case it covers.

use std::path::Path;
use std::process::Output;

mod common;
use common::{fails, jner, ok};

fn train_demo(out: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["train", "--demo", "--output-dir", out.to_str().unwrap()];
    a.extend_from_slice(extra);
    jner(&a)
}

/// A demo model trained for one epoch in `tmp/m`; returns its `best/`.
fn demo_best(tmp: &Path) -> std::path::PathBuf {
    let m = tmp.join("m");
    assert!(train_demo(&m, &["--epochs", "1"]).status.success());
    m.join("best")
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                if !rel.ends_with(".jner-run.lock") {
                    v.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
    }
    v.sort();
    v
}

#[test]
fn second_train_into_a_run_folder_is_refused_and_overwrite_clears_it() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    assert!(train_demo(&m, &["--epochs", "3"]).status.success());
    let before = snapshot(&m);
    let o = train_demo(&m, &["--seed", "7", "--epochs", "1"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("holds another training run")
            && err.contains("--overwrite")
            && err.contains("--resume"),
        "{err}"
    );
    assert_eq!(snapshot(&m), before, "a refused run changed the folder");
    // --overwrite: one run only, nothing of the old one left
    assert!(
        train_demo(&m, &["--seed", "7", "--epochs", "1", "--overwrite"])
            .status
            .success()
    );
    assert!(m.join("checkpoint-epoch-1").is_dir());
    assert!(!m.join("checkpoint-epoch-2").exists());
    assert!(!m.join("checkpoint-epoch-3").exists());
    let metrics = std::fs::read_to_string(m.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 1);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "complete");
    assert_eq!(run["identity"]["split"]["seed"], 7);
}

#[test]
fn overwrite_refuses_a_folder_that_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"mine").unwrap();
    let err = fails(&[
        "train",
        "--demo",
        "--epochs",
        "1",
        "--overwrite",
        "--output-dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(
        std::fs::read(tmp.path().join("notes.txt")).unwrap(),
        b"mine"
    );
}

#[test]
fn failed_validation_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    assert!(train_demo(&m, &["--epochs", "1"]).status.success());
    let before = snapshot(&m);
    let bad_vectors = tmp.path().join("vectors.txt");
    std::fs::write(&bad_vectors, "2 3\nword 1 2\n").unwrap();
    let empty_csv = tmp.path().join("empty.csv");
    std::fs::write(&empty_csv, "").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--lr=-1"],
        vec!["--lr", "NaN"],
        vec!["--dropout", "NaN"],
        vec!["--val-split", "1.5"],
        vec!["--val-split", "NaN"],
        vec!["--threads", "0"],
        vec!["--model", bad_vectors.to_str().unwrap()],
    ];
    for extra in cases {
        let mut a = extra.clone();
        a.push("--overwrite");
        let o = train_demo(&m, &a);
        assert_eq!(o.status.code(), Some(2), "{extra:?} was accepted");
        assert_eq!(snapshot(&m), before, "{extra:?} changed the run folder");
    }
    let err = fails(&[
        "train",
        "--no-maccrobat",
        "--no-corona",
        "--csv",
        empty_csv.to_str().unwrap(),
        "--overwrite",
        "--output-dir",
        m.to_str().unwrap(),
    ]);
    assert!(err.contains("empty.csv"), "{err}");
    assert_eq!(snapshot(&m), before);
}

#[cfg(unix)]
#[test]
fn planted_link_in_the_run_folder_is_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    let o = tmp.path().join("o");
    assert!(train_demo(&o, &["--epochs", "1"]).status.success());
    for name in ["split.json.tmp", "train.jsonl.tmp", ".best.tmp-1"] {
        std::os::unix::fs::symlink(&victim, o.join(name)).unwrap();
    }
    assert!(train_demo(&o, &["--epochs", "1", "--overwrite"])
        .status
        .success());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert!(o.join("split.json").is_file());
}

#[test]
fn predict_output_equal_to_input_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let best = demo_best(tmp.path());
    let docs = tmp.path().join("docs.txt");
    std::fs::write(&docs, "A 7-year-old boy had fever.\n").unwrap();
    let d = docs.to_str().unwrap();
    let err = fails(&[
        "predict",
        "--model",
        best.to_str().unwrap(),
        "--input",
        d,
        "--output",
        d,
    ]);
    assert!(err.contains("is the input file"), "{err}");
    // another spelling of the same path
    let other = format!("{}/./docs.txt", tmp.path().display());
    fails(&[
        "predict",
        "--model",
        best.to_str().unwrap(),
        "--input",
        d,
        "--output",
        &other,
    ]);
    assert_eq!(
        std::fs::read_to_string(&docs).unwrap(),
        "A 7-year-old boy had fever.\n"
    );
}

#[test]
fn predict_failure_leaves_an_existing_output_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let best = demo_best(tmp.path());
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\":1,\"text\":\"a boy\"}\n{\"id\":2}\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    std::fs::write(&out, "earlier results\n").unwrap();
    let err = fails(&[
        "predict",
        "--model",
        best.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        err.contains("in.jsonl:2") && err.contains("\"text\""),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier results\n");
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(!names.iter().any(|n| n.contains("tmp")), "{names:?}");
}

#[test]
fn jsonl_first_line_without_text_is_an_error_not_plain_text() {
    let tmp = tempfile::tempdir().unwrap();
    let best = demo_best(tmp.path());
    let input = tmp.path().join("in.txt");
    std::fs::write(
        &input,
        "{\"id\":1,\"body\":\"my son\"}\n{\"id\":2,\"text\":\"a\"}\n",
    )
    .unwrap();
    let err = fails(&[
        "predict",
        "--model",
        best.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert!(
        err.contains("in.txt:1") && err.contains("--format text"),
        "{err}"
    );
    // asked for, the lines are plain text
    let out = ok(&[
        "predict",
        "--model",
        best.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--format",
        "text",
    ]);
    assert_eq!(out.lines().count(), 2);
}

#[test]
fn threshold_nan_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for t in ["NaN", "1.5", "-0.1", "inf"] {
        let err = fails(&[
            "predict",
            "--model",
            tmp.path().to_str().unwrap(),
            &format!("--threshold={t}"),
        ]);
        assert!(err.contains("--threshold"), "{t}: {err}");
    }
}

#[test]
fn unknown_labels_in_train_jsonl_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let e = tmp.path().join("eval.jsonl");
    std::fs::write(&e, "").unwrap();
    for (label, want) in [
        ("Banana", "unknown label \"Banana\""),
        ("", "empty label"),
        ("minorchild", "did you mean \"MinorChild\""),
    ] {
        let t = tmp.path().join("train.jsonl");
        std::fs::write(
            &t,
            format!("{{\"id\":\"a\",\"text\":\"my son\",\"spans\":[{{\"start\":3,\"end\":6,\"label\":\"{label}\"}}]}}\n"),
        )
        .unwrap();
        let out = tmp.path().join("o");
        let err = fails(&[
            "train",
            "--train-jsonl",
            t.to_str().unwrap(),
            "--eval-jsonl",
            e.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ]);
        assert!(err.contains("train.jsonl:1") && err.contains(want), "{err}");
        assert!(!out.exists(), "a refused run created its folder");
    }
}

#[test]
fn train_jsonl_with_no_documents_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("t.jsonl");
    std::fs::write(&t, "\n").unwrap();
    let err = fails(&[
        "train",
        "--train-jsonl",
        t.to_str().unwrap(),
        "--eval-jsonl",
        t.to_str().unwrap(),
        "--output-dir",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert!(
        err.contains("t.jsonl") && err.contains("no training documents"),
        "{err}"
    );
}

#[test]
fn train_shows_the_data_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("brat");
    std::fs::create_dir(&b).unwrap();
    std::fs::write(b.join("1.txt"), "A 7-year-old boy had fever and cough.").unwrap();
    std::fs::write(
        b.join("1.ann"),
        "T1\tSign_symptom 21 26\tfever\nthis line is broken\nT2\tSign_symptom 35 31\tcough\n",
    )
    .unwrap();
    let o = jner(&[
        "train",
        "--data-dir",
        b.to_str().unwrap(),
        "--no-corona",
        "--no-csv",
        "--val-split",
        "0",
        "--epochs",
        "1",
        "--output-dir",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1.ann:3: start 35 after end 31"), "{err}");
}

#[test]
fn os_errors_are_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.jsonl");
    let err = fails(&[
        "eval",
        "--gold",
        missing.to_str().unwrap(),
        "--pred",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn damaged_or_inconsistent_model_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let best = demo_best(tmp.path());
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, "A 7-year-old boy had fever.\n").unwrap();
    let predict = |dir: &Path, extra: &[&str]| {
        let mut a = vec![
            "predict",
            "--model",
            dir.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        jner(&a)
    };
    assert!(predict(&best, &[]).status.success());
    // flipped bytes in the weights
    let bad = tmp.path().join("flipped");
    copy_dir(&best, &bad);
    let st = bad.join("model.safetensors");
    let mut bytes = std::fs::read(&st).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n / 2..n / 2 + 20_000.min(n / 2)] {
        *b ^= 0x55;
    }
    std::fs::write(&st, &bytes).unwrap();
    let o = predict(&bad, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("model.safetensors") && err.contains("sha256"),
        "{err}"
    );
    // configurations out of range: named, and nothing huge allocated
    for (key, value, want) in [
        (
            "rows",
            serde_json::json!([4_000_000_000u64, 4000, 10000, 10000]),
            "rows",
        ),
        ("threads", serde_json::json!(100000), "threads"),
        ("depth", serde_json::json!(0), "depth"),
    ] {
        let d = tmp.path().join(format!("cfg-{key}"));
        copy_dir(&best, &d);
        let p = d.join("jner.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        v["config"][key] = value;
        std::fs::write(&p, v.to_string()).unwrap();
        let o = predict(&d, &["--no-verify"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{key}: {err}");
        assert!(
            err.contains("jner.json") && err.contains(want),
            "{key}: {err}"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn resume_continues_an_interrupted_run_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert!(train_demo(&a, &["--epochs", "3"]).status.success());
    assert!(train_demo(&b, &["--epochs", "3"]).status.success());
    // what a crash in epoch 3 leaves behind
    std::fs::remove_dir_all(b.join("checkpoint-epoch-3")).unwrap();
    std::fs::remove_dir_all(b.join("final")).unwrap();
    std::fs::remove_file(b.join("train_report.json")).unwrap();
    let m = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    let kept: String = m.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(b.join("metrics.jsonl"), kept).unwrap();
    // other arguments: refused, naming what differs
    let err = fails(&[
        "train",
        "--demo",
        "--epochs",
        "3",
        "--seed",
        "7",
        "--resume",
        b.to_str().unwrap(),
    ]);
    assert!(err.contains("seed: was 42, now 7"), "{err}");
    let o = jner(&[
        "train",
        "--demo",
        "--epochs",
        "3",
        "--resume",
        b.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("resuming after epoch 2"), "{err}");
    for f in [
        "final/model.safetensors",
        "best/model.safetensors",
        "checkpoint-epoch-3/model.safetensors",
    ] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs from the uninterrupted run"
        );
    }
    assert_eq!(
        std::fs::read_to_string(b.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn eval_refuses_a_checkpoint_of_another_run_on_this_runs_eval_jsonl() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert!(train_demo(&a, &["--epochs", "1"]).status.success());
    assert!(train_demo(&b, &["--epochs", "1", "--seed", "7"])
        .status
        .success());
    // a checkpoint of run a copied into run b's folder
    let stray = b.join("stray");
    copy_dir(&a.join("checkpoint-epoch-1"), &stray);
    let err = fails(&["eval", "--model", stray.to_str().unwrap()]);
    assert!(
        err.contains("another split") && err.contains("--data"),
        "{err}"
    );
    ok(&["eval", "--model", b.join("best").to_str().unwrap()]);
}
