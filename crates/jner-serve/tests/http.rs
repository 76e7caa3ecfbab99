//! The HTTP API end to end: a server on an ephemeral port with dictionary models (exact,
//! known answers), every route, operator and error path, batching, overload, deadlines,
//! loading and draining.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jner_corpus::{Entity, PredictOptions, Recognizer};
use jner_redact::Keys;
use jner_serve::{BatchConfig, ModelSpec, ServeConfig};
use serde_json::{json, Value};

/// What the dictionary models saw.
#[derive(Default)]
struct Log {
    /// Texts per predict call.
    batches: Mutex<Vec<usize>>,
    /// Every text predicted.
    texts: Mutex<Vec<String>>,
    calls: AtomicUsize,
}

/// A model that labels known words (character offsets, fixed scores). The word `slow` makes
/// a call take 700 ms, `panic` makes it panic. Zero-shot: a word equal to a requested
/// label's name (case-insensitive) gets that label.
struct Dict {
    labels: Vec<String>,
    zero_shot: bool,
    log: Arc<Log>,
}

const WORDS: [(&str, &str, f32); 5] = [
    ("son", "MinorChild", 0.9),
    ("daughter", "MinorChild", 0.95),
    ("baby", "MinorChild", 0.4),
    ("mom", "GenderIndication", 0.8),
    ("asthma", "MedicalCondition", 0.7),
];

fn dict(log: &Arc<Log>) -> Box<dyn Recognizer> {
    Box::new(Dict {
        labels: vec![
            "MinorChild".into(),
            "GenderIndication".into(),
            "MedicalCondition".into(),
        ],
        zero_shot: false,
        log: log.clone(),
    })
}

impl Recognizer for Dict {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn zero_shot(&self) -> bool {
        self.zero_shot
    }
    fn windows(&self, text: &str, _: &PredictOptions) -> usize {
        1 + text.chars().count() / 100
    }
    fn predict(
        &self,
        texts: &[&str],
        opts: &PredictOptions,
    ) -> Result<Vec<Vec<Entity>>, Box<dyn std::error::Error + Send + Sync>> {
        self.log.calls.fetch_add(1, Ordering::SeqCst);
        self.log.batches.lock().unwrap().push(texts.len());
        self.log
            .texts
            .lock()
            .unwrap()
            .extend(texts.iter().map(|t| t.to_string()));
        let mut out = Vec::new();
        for t in texts {
            let chars: Vec<char> = t.chars().collect();
            let mut ents = Vec::new();
            let mut i = 0;
            while i < chars.len() {
                if !chars[i].is_alphabetic() {
                    i += 1;
                    continue;
                }
                let s = i;
                while i < chars.len() && chars[i].is_alphabetic() {
                    i += 1;
                }
                let w: String = chars[s..i].iter().collect::<String>().to_lowercase();
                if w == "slow" {
                    std::thread::sleep(Duration::from_millis(700));
                }
                if w == "panic" {
                    panic!("the dictionary model was asked to panic");
                }
                let hit = if self.zero_shot {
                    opts.labels
                        .as_ref()
                        .and_then(|ls| ls.iter().find(|l| l.to_lowercase() == w))
                        .map(|l| (l.clone(), 0.6))
                } else {
                    WORDS
                        .iter()
                        .find(|(x, _, _)| *x == w)
                        .map(|(_, l, sc)| (l.to_string(), *sc))
                };
                if let Some((label, score)) = hit {
                    if opts.threshold.is_none_or(|th| score > th) {
                        ents.push(Entity {
                            start: s,
                            end: i,
                            label,
                            score,
                        });
                    }
                }
            }
            if let Some(wanted) = &opts.labels {
                ents.retain(|e| wanted.contains(&e.label));
            }
            out.push(ents);
        }
        Ok(out)
    }
}

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), jner_serve::ServeError>>>,
}

impl Server {
    fn start_with<L>(config: ServeConfig, load: L) -> Server
    where
        L: FnOnce() -> Result<Vec<ModelSpec>, String> + Send + 'static,
    {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(l.local_addr().unwrap()).unwrap();
                jner_serve::run(l, config, load, async move {
                    let _ = stop_rx.await;
                })
                .await
            })
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Server {
            base: format!("http://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// A server with the dictionary model `dict` and the zero-shot `zs`, ready.
    fn start(config: ServeConfig, log: &Arc<Log>) -> Server {
        let log = log.clone();
        let s = Server::start_with(config, move || {
            Ok(vec![
                ModelSpec {
                    name: "dict".into(),
                    backend: "test".into(),
                    recognizer: dict(&log),
                },
                ModelSpec {
                    name: "zs".into(),
                    backend: "test".into(),
                    recognizer: Box::new(Dict {
                        labels: vec!["medication".into()],
                        zero_shot: true,
                        log: log.clone(),
                    }),
                },
            ])
        });
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        let t0 = Instant::now();
        while get(&self.base, "/ready").0 != 200 {
            assert!(t0.elapsed() < Duration::from_secs(10), "never ready");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = send(ureq::post(&self.url(path)).send_json(body));
        (r.0, r.2)
    }

    fn shutdown(mut self) -> Result<(), jner_serve::ServeError> {
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Status, the headers we look at, and the body as JSON (or as a string).
type Reply = (u16, Vec<(String, String)>, Value);

fn send(r: Result<ureq::Response, ureq::Error>) -> Reply {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let headers = ["retry-after", "content-type", "www-authenticate"]
        .iter()
        .filter_map(|h| resp.header(h).map(|v| (h.to_string(), v.to_string())))
        .collect();
    let text = resp.into_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

fn get(base: &str, path: &str) -> (u16, Value) {
    let r = send(ureq::get(&format!("{base}{path}")).call());
    (r.0, r.2)
}

fn error_type(body: &Value) -> &str {
    assert!(body["error"].is_string(), "{body}");
    body["type"].as_str().unwrap()
}

fn key() -> Keys {
    Keys::from_secret(b"0123456789abcdef0123456789abcdef").unwrap()
}

#[test]
fn entities_models_thresholds_and_labels() {
    let log = Arc::new(Log::default());
    let s = Server::start(ServeConfig::default(), &log);
    // character offsets: the emoji and the accented letter count one each
    let (st, b) = s.post(
        "/v1/entities",
        json!({"texts": ["Ma fille 👶 é son has asthma", "my baby and my Mom", ""]}),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["model"], "dict");
    let r = &b["results"];
    assert_eq!(
        r[0]["entities"],
        json!([
            {"start": 13, "end": 16, "label": "MinorChild", "score": 0.9, "text": "son"},
            {"start": 21, "end": 27, "label": "MedicalCondition", "score": 0.7, "text": "asthma"}
        ])
    );
    assert_eq!(r[0]["windows"], 1);
    assert_eq!(r[1]["entities"].as_array().unwrap().len(), 2);
    assert_eq!(r[1]["entities"][1]["text"], "Mom");
    assert_eq!(r[2]["entities"], json!([]));
    // a global threshold, then per-label ones
    let (_, b) = s.post(
        "/v1/entities",
        json!({"texts": ["my baby and my mom"], "threshold": 0.5}),
    );
    assert_eq!(b["results"][0]["entities"][0]["label"], "GenderIndication");
    assert_eq!(b["results"][0]["entities"].as_array().unwrap().len(), 1);
    let (_, b) = s.post(
        "/v1/entities",
        json!({"texts": ["my baby, my son and my mom"], "thresholds": {"MinorChild": 0.95}}),
    );
    let labels: Vec<&str> = b["results"][0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["mom"]);
    // a subset of the labels; a label the model does not know
    let (_, b) = s.post(
        "/v1/entities",
        json!({"texts": ["son mom"], "labels": ["GenderIndication"]}),
    );
    assert_eq!(b["results"][0]["entities"][0]["text"], "mom");
    assert_eq!(b["results"][0]["entities"].as_array().unwrap().len(), 1);
    let (st, b) = s.post(
        "/v1/entities",
        json!({"texts": ["son"], "labels": ["medication"]}),
    );
    assert_eq!((st, error_type(&b)), (422, "validation"));
    assert!(b["error"].as_str().unwrap().contains("medication"), "{b}");
    // the zero-shot model takes any label
    let (st, b) = s.post(
        "/v1/entities",
        json!({"texts": ["aspirin and Dosage"], "model": "zs", "labels": ["dosage", "aspirin"]}),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["model"], "zs");
    let got: Vec<(&str, &str)> = b["results"][0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["label"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("aspirin", "aspirin"), ("dosage", "Dosage")]);
    let (st, b) = s.post("/v1/entities", json!({"texts": ["x"], "model": "nope"}));
    assert_eq!((st, error_type(&b)), (422, "validation"));
    assert!(b["error"].as_str().unwrap().contains("dict, zs"), "{b}");
    // a long text: windows come from the model
    let long = "word ".repeat(100);
    let (_, b) = s.post("/v1/entities", json!({"texts": [long]}));
    assert_eq!(b["results"][0]["windows"], 6);
    // consistent: a second "son" the model missed cannot exist here, so check it keeps all
    let (_, b) = s.post(
        "/v1/entities",
        json!({"texts": ["son and son"], "consistent": true}),
    );
    assert_eq!(b["results"][0]["entities"].as_array().unwrap().len(), 2);

    let (st, b) = get(&s.base, "/v1/models");
    assert_eq!(st, 200);
    assert_eq!(
        b,
        json!({"models": [
            {"name": "dict", "backend": "test", "labels": ["MinorChild", "GenderIndication", "MedicalCondition"], "zero_shot": false, "default": true},
            {"name": "zs", "backend": "test", "labels": ["medication"], "zero_shot": true, "default": false}
        ]})
    );
    s.shutdown().unwrap();
}

#[test]
fn redact_every_operator_and_restore() {
    let log = Arc::new(Log::default());
    let config = ServeConfig {
        keys: Some(key()),
        ..ServeConfig::default()
    };
    let s = Server::start(config, &log);
    let text = "My son, my daughter and my Son. Mom has asthma.";
    let red = |body: Value| {
        let mut b = body;
        b["texts"] = json!([text]);
        let (st, r) = s.post("/v1/redact", b);
        assert_eq!(st, 200, "{r}");
        r["results"][0].clone()
    };
    // default: [Label]
    let r = red(json!({}));
    assert_eq!(
        r["text"],
        "My [MinorChild], my [MinorChild] and my [MinorChild]. [GenderIndication] has [MedicalCondition]."
    );
    // items: old and new offsets, never the text
    let it = &r["items"][0];
    assert_eq!(
        (
            it["start"].as_u64(),
            it["end"].as_u64(),
            it["new_start"].as_u64(),
            it["new_end"].as_u64()
        ),
        (Some(3), Some(6), Some(3), Some(15))
    );
    assert_eq!(it["operator"], "replace");
    assert!(it.get("text").is_none());
    // numbered: the same surface form (any case) gets the same number within the text
    let r = red(json!({"operators": {"MinorChild": {"type": "replace", "numbered": true}}}));
    assert_eq!(
        r["text"],
        "My <MinorChild_1>, my <MinorChild_2> and my <MinorChild_1>. [GenderIndication] has [MedicalCondition]."
    );
    // mask, remove, keep, a custom value, a default operator
    let r = red(json!({
        "operators": {
            "MinorChild": {"type": "mask", "char": "#", "count": 2, "from_end": true},
            "GenderIndication": {"type": "remove"},
            "MedicalCondition": {"type": "keep"}
        }
    }));
    assert_eq!(r["text"], "My s##, my daught## and my S##.  has asthma.");
    let r = red(json!({"default_operator": {"type": "replace", "value": "█"}}));
    assert_eq!(r["text"], "My █, my █ and my █. █ has █.");
    // hash: keyed, 64 hex digits, the same for the same text
    let r = red(json!({"default_operator": {"type": "hash"}}));
    let words: Vec<&str> = r["text"].as_str().unwrap().split([' ', ',', '.']).collect();
    assert_eq!(words[1].len(), 64);
    assert_eq!(words[1], key().hash("son"));
    assert_ne!(words[1], key().hash("Son"));
    // encrypt, then restore gives the text back exactly
    let r = red(json!({"default_operator": {"type": "encrypt"}}));
    assert!(!r["text"].as_str().unwrap().contains("daughter"));
    let (st, back) = s.post("/v1/restore", json!({"results": [r]}));
    assert_eq!(st, 200, "{back}");
    assert_eq!(back["texts"], json!([text]));
    // a tampered token is refused, not decrypted into garbage
    let mut bad = r.clone();
    let t = bad["text"].as_str().unwrap().replacen("My ", "My X", 1);
    bad["text"] = json!(t);
    let (st, b) = s.post("/v1/restore", json!({"results": [bad]}));
    assert_eq!((st, error_type(&b)), (422, "validation"));
    assert!(
        b["error"].as_str().unwrap().starts_with("results[0]"),
        "{b}"
    );
    // adjacent entities of one label merge on request
    let (_, b) = s.post(
        "/v1/redact",
        json!({"texts": ["son daughter, mom"], "merge_adjacent": true}),
    );
    assert_eq!(b["results"][0]["text"], "[MinorChild], [GenderIndication]");
    assert_eq!(b["results"][0]["items"][0]["merged"], 2);
    let (_, b) = s.post("/v1/redact", json!({"texts": ["son daughter"]}));
    assert_eq!(b["results"][0]["text"], "[MinorChild] [MinorChild]");
    // allow and deny lists, exact and regex
    let (_, b) = s.post(
        "/v1/redact",
        json!({
            "texts": ["my son Tom, 7 years old, and mom"],
            "allow": [{"exact": "MOM"}],
            "deny": [{"label": "Name", "exact": "tom"}, {"label": "Age", "regex": "\\d+ years old"}]
        }),
    );
    assert_eq!(
        b["results"][0]["text"],
        "my [MinorChild] [Name], [Age], and mom"
    );
    let (_, b) = s.post(
        "/v1/entities",
        json!({"texts": ["son daughter"], "allow": [{"regex": "d.*r"}]}),
    );
    assert_eq!(b["results"][0]["entities"].as_array().unwrap().len(), 1);
    // bad lists and operators are named
    let (st, b) = s.post(
        "/v1/redact",
        json!({"texts": ["x"], "allow": [{"exact": "a"}, {"regex": "("}]}),
    );
    assert_eq!((st, error_type(&b)), (422, "validation"));
    assert!(
        b["error"].as_str().unwrap().starts_with("allow[1].regex"),
        "{b}"
    );
    let (st, b) = s.post(
        "/v1/redact",
        json!({"texts": ["x"], "operators": {"MinorChild": {"type": "blur"}}}),
    );
    assert_eq!((st, error_type(&b)), (422, "validation"));
    assert!(b["error"].as_str().unwrap().contains("operators"), "{b}");
    let (st, b) = s.post(
        "/v1/redact",
        json!({"texts": ["x"], "deny": [{"label": "A", "exact": "a", "regex": "a"}]}),
    );
    assert_eq!((st, error_type(&b)), (422, "validation"));
    s.shutdown().unwrap();

    // a server without a key refuses hash, encrypt and restore up front
    let s = Server::start(ServeConfig::default(), &log);
    for op in ["hash", "encrypt"] {
        let (st, b) = s.post(
            "/v1/redact",
            json!({"texts": ["son"], "operators": {"MinorChild": {"type": op}}}),
        );
        assert_eq!((st, error_type(&b)), (422, "validation"));
        assert!(b["error"].as_str().unwrap().contains("--key-file"), "{b}");
    }
    let (st, _) = s.post("/v1/restore", json!({"results": []}));
    assert_eq!(st, 422);
    s.shutdown().unwrap();
}

#[test]
fn bad_requests_get_clear_json_errors() {
    let log = Arc::new(Log::default());
    let config = ServeConfig {
        max_body_bytes: 2000,
        max_texts: 3,
        max_text_chars: 50,
        ..ServeConfig::default()
    };
    let s = Server::start(config, &log);
    let raw = |body: &str, ctype: Option<&str>| {
        let mut r = ureq::post(&s.url("/v1/entities"));
        if let Some(c) = ctype {
            r = r.set("content-type", c);
        }
        send(r.send_string(body))
    };
    let cases: Vec<(u16, &str, Reply)> = vec![
        (
            400,
            "bad_request",
            raw("{\"texts\": [", Some("application/json")),
        ),
        (
            415,
            "unsupported_media_type",
            raw("{\"texts\": [\"a\"]}", None),
        ),
        (
            415,
            "unsupported_media_type",
            raw("texts=a", Some("text/plain")),
        ),
        (
            413,
            "too_large",
            raw(
                &format!("{{\"texts\": [\"{}\"]}}", "a".repeat(3000)),
                Some("application/json"),
            ),
        ),
        (422, "validation", raw("[1, 2]", Some("application/json"))),
    ];
    for (want, kind, (st, _, b)) in &cases {
        assert_eq!((st, error_type(b)), (want, *kind), "{b}");
    }
    let expect = |body: Value, status: u16, kind: &str, says: &str| {
        let (st, b) = s.post("/v1/entities", body.clone());
        assert_eq!((st, error_type(&b)), (status, kind), "{body} -> {b}");
        assert!(
            b["error"].as_str().unwrap().contains(says),
            "{body} -> {b} should say {says:?}"
        );
    };
    expect(json!({"texts": []}), 422, "validation", "empty");
    expect(json!({}), 422, "validation", "texts");
    expect(json!({"texts": "one"}), 422, "validation", "texts");
    expect(json!({"texts": ["a", 1]}), 422, "validation", "texts[1]");
    expect(
        json!({"texts": ["a"], "thresold": 0.5}),
        422,
        "validation",
        "thresold",
    );
    expect(
        json!({"texts": ["a"], "threshold": 2}),
        422,
        "validation",
        "threshold",
    );
    expect(
        json!({"texts": ["a"], "threshold": "high"}),
        422,
        "validation",
        "threshold",
    );
    expect(
        json!({"texts": ["a"], "thresholds": {"MinorChild": -1}}),
        422,
        "validation",
        "thresholds.MinorChild",
    );
    expect(
        json!({"texts": ["a"], "labels": []}),
        422,
        "validation",
        "labels",
    );
    expect(
        json!({"texts": ["a", "b", "c", "d"]}),
        413,
        "too_large",
        "--max-texts",
    );
    expect(
        json!({"texts": ["a", "é".repeat(51)]}),
        413,
        "too_large",
        "texts[1]",
    );
    // 50 two-byte characters are within the limit of 50 characters
    let (st, _) = s.post("/v1/entities", json!({"texts": ["é".repeat(50)]}));
    assert_eq!(st, 200);
    // routes and methods
    let (st, b) = get(&s.base, "/v2/entities");
    assert_eq!((st, error_type(&b)), (404, "not_found"));
    let (st, b) = get(&s.base, "/v1/entities");
    assert_eq!((st, error_type(&b)), (405, "method_not_allowed"));
    // the deadline header
    let r = send(
        ureq::post(&s.url("/v1/entities"))
            .set("x-request-timeout", "soon")
            .send_json(json!({"texts": ["a"]})),
    );
    assert_eq!((r.0, error_type(&r.2)), (400, "bad_request"));
    // health, metrics and the OpenAPI document
    assert_eq!(get(&s.base, "/live"), (200, json!({"status": "live"})));
    assert_eq!(get(&s.base, "/ready"), (200, json!({"status": "ready"})));
    let (st, m) = get(&s.base, "/metrics");
    assert_eq!(st, 200);
    let m = m.as_str().unwrap();
    for name in [
        "jner_requests_total{route=\"/v1/entities\",outcome=\"validation\"}",
        "jner_requests_total{route=\"/v1/entities\",outcome=\"ok\"}",
        "jner_request_duration_seconds_bucket",
        "jner_queue_duration_seconds_bucket",
        "jner_inference_duration_seconds_bucket",
        "jner_batch_texts_bucket",
        "jner_batch_words_bucket",
        "jner_queue_depth_texts",
        "jner_in_flight_texts",
        "jner_windows_per_text_bucket",
    ] {
        assert!(m.contains(name), "/metrics lacks {name}:\n{m}");
    }
    let (st, doc) = get(&s.base, "/openapi.json");
    assert_eq!(st, 200);
    for p in [
        "/v1/entities",
        "/v1/redact",
        "/v1/restore",
        "/v1/models",
        "/live",
        "/ready",
        "/metrics",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi lacks {p}");
    }
    // no text of any request reached the metrics
    assert!(!m.contains("éé"));
    s.shutdown().unwrap();
}

#[test]
fn api_key_guards_the_v1_routes_only() {
    let log = Arc::new(Log::default());
    let config = ServeConfig {
        api_key: Some("s3cret-key-of-16+".into()),
        ..ServeConfig::default()
    };
    let s = Server::start(config, &log);
    let body = json!({"texts": ["son"]});
    let r = send(ureq::post(&s.url("/v1/entities")).send_json(body.clone()));
    assert_eq!((r.0, error_type(&r.2)), (401, "unauthorized"));
    assert!(r.1.contains(&("www-authenticate".into(), "Bearer".into())));
    let r = send(
        ureq::post(&s.url("/v1/entities"))
            .set("authorization", "Bearer s3cret-key-of-16")
            .send_json(body.clone()),
    );
    assert_eq!(r.0, 401);
    let r = send(ureq::get(&s.url("/v1/models")).call());
    assert_eq!(r.0, 401);
    let r = send(
        ureq::post(&s.url("/v1/entities"))
            .set("authorization", "Bearer s3cret-key-of-16+")
            .send_json(body),
    );
    assert_eq!(r.0, 200, "{}", r.2);
    // health and metrics stay open for the orchestrator and the scraper
    assert_eq!(get(&s.base, "/ready").0, 200);
    assert_eq!(get(&s.base, "/metrics").0, 200);
    s.shutdown().unwrap();
}

/// Starts `body` on a thread; returns its (status, body) when joined.
fn in_background(s: &Server, body: Value) -> std::thread::JoinHandle<(u16, Value)> {
    let url = s.url("/v1/entities");
    std::thread::spawn(move || {
        let r = send(ureq::post(&url).send_json(body));
        (r.0, r.2)
    })
}

fn wait_for(what: &str, f: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(10), "waited for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn overload_deadlines_and_model_failures() {
    let log = Arc::new(Log::default());
    let config = ServeConfig {
        max_in_flight_texts: 3,
        ..ServeConfig::default()
    };
    let s = Server::start(config, &log);
    // a slow text holds the only worker
    let slow = in_background(&s, json!({"texts": ["slow"]}));
    wait_for("the slow call", || log.calls.load(Ordering::SeqCst) == 1);
    // 1 in flight + 3 > 3: refused at once with Retry-After
    let t0 = Instant::now();
    let r = send(ureq::post(&s.url("/v1/entities")).send_json(json!({"texts": ["a", "b", "c"]})));
    assert_eq!((r.0, error_type(&r.2)), (429, "overloaded"), "{}", r.2);
    assert!(r.1.contains(&("retry-after".into(), "1".into())));
    assert!(t0.elapsed() < Duration::from_millis(500));
    // a request whose deadline passes in the queue: 504, and the model never sees it
    let r = send(
        ureq::post(&s.url("/v1/entities"))
            .set("x-request-timeout", "0.2")
            .send_json(json!({"texts": ["late son"]})),
    );
    assert_eq!((r.0, error_type(&r.2)), (504, "timeout"), "{}", r.2);
    assert_eq!(slow.join().unwrap().0, 200);
    std::thread::sleep(Duration::from_millis(50));
    assert!(!log.texts.lock().unwrap().iter().any(|t| t == "late son"));
    // a panicking model answers 500 and the server goes on
    let (st, b) = s.post("/v1/entities", json!({"texts": ["please panic"]}));
    assert_eq!((st, error_type(&b)), (500, "model"), "{b}");
    let (st, _) = s.post("/v1/entities", json!({"texts": ["son"]}));
    assert_eq!(st, 200);
    let (_, m) = get(&s.base, "/metrics");
    let m = m.as_str().unwrap();
    assert!(m.contains("outcome=\"overloaded\"} 1"), "{m}");
    assert!(m.contains("outcome=\"timeout\"} 1"), "{m}");
    assert!(m.contains("jner_dropped_total{reason=\"deadline\"}"), "{m}");
    s.shutdown().unwrap();
}

#[test]
fn requests_batch_while_the_model_runs_and_gone_clients_are_dropped() {
    let log = Arc::new(Log::default());
    let s = Server::start(ServeConfig::default(), &log);
    let slow = in_background(&s, json!({"texts": ["slow"]}));
    wait_for("the slow call", || log.calls.load(Ordering::SeqCst) == 1);
    // a client that gives up while queued
    let url = s.url("/v1/entities");
    let gone = std::thread::spawn(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_millis(150))
            .build();
        agent
            .post(&url)
            .send_json(json!({"texts": ["gone daughter"]}))
            .is_err()
    });
    assert!(gone.join().unwrap(), "the client should have timed out");
    // 8 requests queue behind the slow call and run as one batch
    let queued: Vec<_> = (0..8)
        .map(|i| in_background(&s, json!({"texts": [format!("son {i}")]})))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(slow.join().unwrap().0, 200);
    for q in queued {
        let (st, b) = q.join().unwrap();
        assert_eq!(st, 200);
        assert_eq!(b["results"][0]["entities"][0]["text"], "son");
    }
    let batches = log.batches.lock().unwrap().clone();
    assert_eq!(batches, [1, 8], "texts per model call");
    assert!(!log.texts.lock().unwrap().iter().any(|t| t.contains("gone")));
    let (_, m) = get(&s.base, "/metrics");
    assert!(
        m.as_str()
            .unwrap()
            .contains("jner_dropped_total{reason=\"client_gone\"} 1"),
        "{m}"
    );
    s.shutdown().unwrap();

    // batching off: one request per model call
    let log = Arc::new(Log::default());
    let config = ServeConfig {
        batch: BatchConfig {
            max_batch_requests: 1,
            ..BatchConfig::default()
        },
        ..ServeConfig::default()
    };
    let s = Server::start(config, &log);
    let slow = in_background(&s, json!({"texts": ["slow"]}));
    wait_for("the slow call", || log.calls.load(Ordering::SeqCst) == 1);
    let queued: Vec<_> = (0..4)
        .map(|i| in_background(&s, json!({"texts": [format!("son {i}")]})))
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    slow.join().unwrap();
    for q in queued {
        assert_eq!(q.join().unwrap().0, 200);
    }
    assert_eq!(log.batches.lock().unwrap().clone(), [1, 1, 1, 1, 1]);
    s.shutdown().unwrap();
}

#[test]
fn ready_only_when_loaded_and_not_draining() {
    let log = Arc::new(Log::default());
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let l2 = log.clone();
    let s = Server::start_with(ServeConfig::default(), move || {
        go_rx.recv().unwrap();
        Ok(vec![ModelSpec {
            name: "dict".into(),
            backend: "test".into(),
            recognizer: dict(&l2),
        }])
    });
    // loading: live, not ready, and requests get 503 with Retry-After
    assert_eq!(get(&s.base, "/live").0, 200);
    assert_eq!(get(&s.base, "/ready"), (503, json!({"status": "loading"})));
    let r = send(ureq::post(&s.url("/v1/entities")).send_json(json!({"texts": ["son"]})));
    assert_eq!((r.0, error_type(&r.2)), (503, "not_ready"));
    assert!(r.1.iter().any(|(h, _)| h == "retry-after"));
    go_tx.send(()).unwrap();
    s.wait_ready();
    // draining: the request in flight is finished, then the server stops
    let slow = in_background(&s, json!({"texts": ["slow son"]}));
    wait_for("the slow call", || log.calls.load(Ordering::SeqCst) == 1);
    let base = s.base.clone();
    let t0 = Instant::now();
    s.shutdown().unwrap();
    let (st, b) = slow.join().unwrap();
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["results"][0]["entities"][0]["text"], "son");
    assert!(t0.elapsed() < Duration::from_secs(5));
    // and accepts nothing more
    assert!(ureq::get(&format!("{base}/live")).call().is_err());
}

#[test]
fn a_failed_load_stops_the_server_with_its_error() {
    let mut s = Server::start_with(ServeConfig::default(), || {
        Err("models/x: no jner.json".to_string())
    });
    let err = s.thread.take().unwrap().join().unwrap().unwrap_err();
    assert!(err.to_string().contains("models/x: no jner.json"), "{err}");
}

#[test]
fn shutdown_timeout_bounds_a_stuck_request() {
    let log = Arc::new(Log::default());
    let config = ServeConfig {
        shutdown_timeout: Duration::from_millis(200),
        ..ServeConfig::default()
    };
    let s = Server::start(config, &log);
    // two slow calls in a row: 1.4 s of work, more than the shutdown timeout
    let a = in_background(&s, json!({"texts": ["slow"]}));
    wait_for("the slow call", || log.calls.load(Ordering::SeqCst) == 1);
    let b = in_background(&s, json!({"texts": ["slow again"]}));
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    s.shutdown().unwrap();
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(1000), "shutdown took {took:?}");
    let _ = (a.join(), b.join());
}
