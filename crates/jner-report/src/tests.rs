use std::collections::BTreeMap;

use jner_eval::{DocScoreInput, Triple};

use super::*;

fn t(s: usize, e: usize, l: &str) -> Triple {
    (s, e, l.to_string())
}

/// Two backends on the same two documents: `a` finds both spans, `b` one, with a boundary
/// error; the label `<X&Y>` checks escaping.
fn comparison() -> Comparison {
    let gold = vec![
        vec![t(0, 3, "Child"), t(5, 9, "<X&Y>")],
        vec![t(0, 4, "Child")],
    ];
    let backend = |name: &str, pred: Vec<Vec<Triple>>| {
        let inputs: Vec<DocScoreInput> = gold
            .iter()
            .zip(&pred)
            .map(|(g, p)| DocScoreInput {
                gold: g.clone(),
                pred: p.clone(),
            })
            .collect();
        let report = jner_eval::score(&inputs);
        let texts = vec![
            ("d1".to_string(), Some("Tom | <b>was</b> here".to_string())),
            ("d2".to_string(), Some("Anna is ten".to_string())),
        ];
        let mut intervals = BTreeMap::new();
        let docs = jner_eval::stats::doc_counts(&inputs);
        intervals.insert(
            "micro".into(),
            jner_eval::stats::bootstrap_f1(&docs, None, 200, 0.95, 1),
        );
        let point = jner_eval::calibrate::CurvePoint {
            threshold: 0.5,
            precision: 1.0,
            recall: 0.5,
            f1: 2.0 / 3.0,
        };
        BackendResult {
            name: name.into(),
            model: None,
            epochs: 2,
            train_docs: None,
            zero_shot: name == "b",
            folds: vec![FoldResult {
                fold: 1,
                train_docs: 10,
                eval_docs: 2,
                report: report.clone(),
                train_seconds: 1.5,
                train_wall_seconds: 2.0,
                train_peak_rss_bytes: Some(50 << 20),
                infer_peak_rss_bytes: Some(20 << 20),
                infer_words: 8,
                infer_seconds: 0.01,
                model_bytes: 3 << 20,
                epochs: vec![
                    EpochPoint {
                        epoch: 1,
                        loss: 3.0,
                        f1: Some(0.2),
                    },
                    EpochPoint {
                        epoch: 2,
                        loss: 1.0,
                        f1: Some(0.6),
                    },
                ],
            }],
            summary: jner_eval::stats::aggregate(std::slice::from_ref(&report)),
            per_source: [("reviews".to_string(), report.micro.clone())].into(),
            curves: [(
                "Child".to_string(),
                Curve {
                    points: vec![point],
                    best: point,
                },
            )]
            .into(),
            analysis: jner_eval::analysis::analyze(&inputs, &texts, 2),
            pooled: report,
            intervals,
        }
    };
    let a = backend("a", gold.clone());
    let b = backend("b", vec![vec![t(0, 3, "Child"), t(5, 8, "<X&Y>")], vec![]]);
    Comparison {
        command: "jner compare --backends a,b".into(),
        jner_version: "0.0.0".into(),
        protocol: Protocol {
            data: "test".into(),
            sources: [("reviews".to_string(), 2)].into(),
            documents: 2,
            folds: None,
            val_split: 0.2,
            seed: 42,
            checkpoint: "final".into(),
            bootstrap: 200,
            eval_docs: None,
            threads: 1,
            machine: "test".into(),
            notes: vec!["A note.".into()],
        },
        paired: vec![PairedRow {
            a: "a".into(),
            b: "b".into(),
            tests: [(
                "micro".to_string(),
                jner_eval::stats::PairedTest {
                    delta: 0.5,
                    same_sign: 0.99,
                    p_value: 0.01,
                },
            )]
            .into(),
        }],
        backends: vec![a, b],
    }
}

#[test]
fn markdown_holds_the_measured_numbers() {
    let c = comparison();
    let md = c.to_markdown(&[]);
    // a: 3 of 3 spans; b: 1 tp, 1 fp, 2 fn -> F1 2/5, P 1/2, R 1/3
    assert!(
        md.contains("| a (2 epochs) | 100.0 | 100.0 | 100.0 | 100.0 |"),
        "{md}"
    );
    assert!(
        md.contains("| b (2 epochs) | 40.0 [0.0, 50.0] | 50.0 | 33.3 | 33.3 |"),
        "{md}"
    );
    assert!(
        md.contains("| a vs b | micro | +50.0 | 0.010 | a better, beyond the noise |"),
        "{md}"
    );
    // per label: support of Child is 2, b found 1 of 2 with no false positive
    assert!(
        md.contains("| Child | 2 | 100.0 | 66.7 | 100.0 / 100.0 | 100.0 / 50.0 |"),
        "{md}"
    );
    assert!(md.contains("\n- A note.\n"), "{md}");
    // markup in labels and texts is shown, not rendered
    assert!(md.contains("| &lt;X&amp;Y&gt; | 1 | 100.0 | 0.0 |"), "{md}");
    assert!(md.contains("Tom |[[ &lt;b]]&gt;was&lt;/b&gt; here"), "{md}");
}

#[test]
fn html_escapes_and_marks_the_entity() {
    let c = comparison();
    let h = c.to_html(&c.plots().unwrap());
    assert!(h.contains("&lt;X&amp;Y&gt;") && !h.contains("<X&Y>"));
    assert!(h.contains("<mark>"));
    assert!(
        h.contains("Tom |<mark> &lt;b</mark>&gt;was&lt;/b&gt; here"),
        "the text of an example is escaped"
    );
    // self-contained: no external resource is referenced
    for attr in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!h.contains(attr), "{attr}");
    }
    assert_eq!(h.matches("<svg").count(), c.plots().unwrap().len());
}

#[test]
fn plots_render_as_svg_and_png() {
    let c = comparison();
    let plots = c.plots().unwrap();
    let names: Vec<&str> = plots.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["learning_loss", "learning_f1", "f1_per_label", "pr_Child"]
    );
    for p in &plots {
        assert!(
            p.svg.contains("<svg") && p.svg.contains("</svg>"),
            "{}",
            p.name
        );
        let png = svg_to_png(&p.svg).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    // the legend names each backend
    assert!(plots[2].svg.contains("\na\n</text>") && plots[2].svg.contains("\nb\n</text>"));
    assert!(plots[2].svg.contains("&lt;X&amp;Y&gt;"));
}

#[test]
fn write_puts_every_file_in_place() {
    let dir = std::env::temp_dir().join(format!("jner-report-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    comparison().write(&dir).unwrap();
    for f in [
        "report.json",
        "report.md",
        "report.html",
        "plots/f1_per_label.svg",
        "plots/f1_per_label.png",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let back: Comparison =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(back.backends[1].pooled.micro.tp, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stems_are_safe_file_names() {
    assert_eq!(plots::stem("Medical Condition/x"), "Medical_Condition_x");
}

#[test]
fn protocol_code_spans_become_code_elements() {
    let h = comparison().to_html(&[]);
    assert!(
        h.contains("the <code>final/</code> model of each run"),
        "{h}"
    );
}
