//! `jner redact`, `jner restore` and `jner serve` end to end with a demo `cnn` model: the
//! redacted text is checked against `jner predict`'s entities, the server's answers against
//! `jner predict` on the same texts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{fails, ok};

const TEXTS: [&str; 4] = [
    "A 7-year-old boy had fever and my son Tom was admitted.",
    "My daughter (4) has asthma; I am her mother.",
    "",
    "The patient, a 45-year-old man, underwent a CT scan after chest pain.",
];

/// A demo model trained once per test binary.
fn model() -> PathBuf {
    static M: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("m");
        ok(&[
            "train",
            "--demo",
            "--epochs",
            "20",
            "--output-dir",
            out.to_str().unwrap(),
        ]);
        (t, out.join("best"))
    })
    .1
    .clone()
}

fn lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let txt = dir.join("in.txt");
    std::fs::write(&txt, TEXTS.join("\n") + "\n").unwrap();
    let jsonl = dir.join("in.jsonl");
    let body: String = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("d{i}"), "text": t}).to_string() + "\n")
        .collect();
    std::fs::write(&jsonl, body).unwrap();
    (txt, jsonl)
}

/// `text` with every entity replaced by `[Label]` (the entities of the cnn never overlap).
fn replaced(text: &str, ents: &[Value]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    for e in ents {
        let (s, t) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        out.extend(&chars[at..s]);
        out.push_str(&format!("[{}]", e["label"].as_str().unwrap()));
        at = t;
    }
    out.extend(&chars[at..]);
    out
}

#[test]
fn redact_matches_predict_and_restore_reverses_encrypt() {
    let m = model();
    let m = m.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (txt, jsonl) = write_inputs(tmp.path());
    let (txt, jsonl) = (txt.to_str().unwrap(), jsonl.to_str().unwrap());
    let pred = lines(&ok(&["predict", "--model", m, "-i", txt]));
    let found: usize = pred
        .iter()
        .map(|p| p["entities"].as_array().unwrap().len())
        .sum();
    assert!(
        found >= 3,
        "the demo model finds too little to test with: {pred:?}"
    );

    // text in, text out: line for line, every entity replaced, nothing else touched
    let red = ok(&["redact", "--model", m, "-i", txt]);
    let red: Vec<&str> = red.lines().collect();
    assert_eq!(red.len(), TEXTS.len());
    for ((t, p), r) in TEXTS.iter().zip(&pred).zip(&red) {
        assert_eq!(*r, replaced(t, p["entities"].as_array().unwrap()));
    }

    // a deny list and an operator per label; --threads changes nothing in the result
    let red = ok(&[
        "redact",
        "--model",
        m,
        "-i",
        txt,
        "--deny",
        "Name=tom",
        "--operator",
        "Name=mask:#",
        "--threads",
        "1",
    ]);
    assert!(red.lines().next().unwrap().contains(" ### "), "{red}");

    // JSONL in: ids kept, items with offsets; encrypt, then restore gives every text back
    let key = tmp.path().join("key");
    std::fs::write(&key, "an example secret of at least 32 bytes\n").unwrap();
    let key = key.to_str().unwrap();
    let enc = tmp.path().join("enc.jsonl");
    ok(&[
        "redact",
        "--model",
        m,
        "-i",
        jsonl,
        "-o",
        enc.to_str().unwrap(),
        "--operator",
        "*=encrypt",
        "--key-file",
        key,
    ]);
    let enc_lines = lines(&std::fs::read_to_string(&enc).unwrap());
    assert_eq!(enc_lines[1]["id"], "d1");
    let items: usize = enc_lines
        .iter()
        .map(|l| l["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(items, found);
    let back = lines(&ok(&[
        "restore",
        "-i",
        enc.to_str().unwrap(),
        "--key-file",
        key,
    ]));
    let texts: Vec<&str> = back.iter().map(|b| b["text"].as_str().unwrap()).collect();
    assert_eq!(texts, TEXTS);

    // errors name the flag or the file and line, and write nothing
    let out = tmp.path().join("never.jsonl");
    let o = out.to_str().unwrap();
    for (flags, says) in [
        (["--operator", "MinorChild=blur"], "blur"),
        (["--operator", "*=hash"], "--key-file"),
        (["--allow-regex", "("], "--allow-regex \"(\""),
        (["--deny", "tom"], "LABEL=VALUE"),
        (["--label-threshold", "MinorChild=2"], "[0, 1]"),
    ] {
        let mut args = vec!["redact", "--model", m, "-i", txt, "-o", o];
        args.extend(flags);
        let e = fails(&args);
        assert!(e.contains(says), "{flags:?}: {e}");
    }
    let e = fails(&["redact", "--model", m, "-i", txt, "-o", txt]);
    assert!(e.contains("input file"), "{e}");
    assert!(!out.exists());
    let other = tmp.path().join("other-key");
    std::fs::write(&other, "another secret, also 32 bytes or more").unwrap();
    let e = fails(&[
        "restore",
        "-i",
        enc.to_str().unwrap(),
        "--key-file",
        other.to_str().unwrap(),
    ]);
    assert!(e.contains("enc.jsonl:1"), "{e}");
    let e = fails(&["restore", "-i", txt, "--key-file", key]);
    assert!(e.contains("in.txt:1"), "{e}");
}

/// A `jner serve` child process; killed if a test fails before it stops it.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (start, end, label, text) of each entity.
fn spans(ents: &Value) -> Vec<(u64, u64, String, String)> {
    ents.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (
                e["start"].as_u64().unwrap(),
                e["end"].as_u64().unwrap(),
                s("label"),
                s("text"),
            )
        })
        .collect()
}

fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    match ureq::post(&format!("{base}{path}")).send_json(body) {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn serve_answers_like_predict_and_stops_on_sigterm() {
    let m = model();
    let tmp = tempfile::tempdir().unwrap();
    let (txt, _) = write_inputs(tmp.path());
    let pred = lines(&ok(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "-i",
        txt.to_str().unwrap(),
    ]));
    let key = tmp.path().join("key");
    std::fs::write(&key, "an example secret of at least 32 bytes\n").unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_jner"))
            .args(["serve", "--addr", "127.0.0.1:0", "--key-file"])
            .arg(&key)
            .arg("--model")
            .arg(&m)
            .arg("--model")
            .arg(format!("second={}", m.display()))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "jner serve exited");
        if let Some(a) = line.trim().strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    // keep reading its log so it never blocks on a full pipe
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        rest
    });
    let t0 = Instant::now();
    while ureq::get(&format!("{base}/ready")).call().is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let models: Value = ureq::get(&format!("{base}/v1/models"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(models["models"][0]["name"], "m");
    assert_eq!(models["models"][0]["backend"], "cnn");
    assert_eq!(models["models"][1]["name"], "second");

    let (st, b) = post(&base, "/v1/entities", json!({"texts": TEXTS}));
    assert_eq!(st, 200, "{b}");
    for (r, p) in b["results"].as_array().unwrap().iter().zip(&pred) {
        assert_eq!(spans(&r["entities"]), spans(&p["entities"]));
    }
    let (st, b) = post(
        &base,
        "/v1/redact",
        json!({"texts": TEXTS, "model": "second", "default_operator": {"type": "encrypt"}}),
    );
    assert_eq!(st, 200, "{b}");
    let (st, back) = post(&base, "/v1/restore", json!({"results": b["results"]}));
    assert_eq!(st, 200, "{back}");
    assert_eq!(back["texts"], json!(TEXTS));

    // SIGTERM: a clean exit
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let log = log.join().unwrap();
    // texts never reach the log
    assert!(!log.contains("asthma"), "{log}");
}

#[test]
fn serve_refuses_bad_flags_before_listening() {
    let e = fails(&[
        "serve",
        "--model",
        "/nonexistent/model",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert!(e.contains("/nonexistent/model"), "{e}");
    let m = model();
    let m = m.to_str().unwrap();
    let e = fails(&["serve", "--model", m, "--model", m, "--addr", "127.0.0.1:0"]);
    assert!(e.contains("NAME=DIR"), "{e}");
    let e = fails(&[
        "serve",
        "--model",
        m,
        "--addr",
        "127.0.0.1:0",
        "--request-timeout",
        "0",
    ]);
    assert!(e.contains("--request-timeout"), "{e}");
    let e = fails(&["serve", "--model", m, "--addr", "not an address"]);
    assert!(e.contains("--addr"), "{e}");
    let short = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(short.path(), "short").unwrap();
    let e = fails(&[
        "serve",
        "--model",
        m,
        "--addr",
        "127.0.0.1:0",
        "--key-file",
        short.path().to_str().unwrap(),
    ]);
    assert!(e.contains("32"), "{e}");
    let e = fails(&[
        "serve",
        "--model",
        m,
        "--addr",
        "127.0.0.1:0",
        "--api-key-file",
        short.path().to_str().unwrap(),
    ]);
    assert!(e.contains("16"), "{e}");
}
