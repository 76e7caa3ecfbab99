//! Logits of a GLiNER model folder on the cases of a `cases.json` (bench/gliner_fixtures.py's
//! format), each text read whole with its labels, written as `case{i}.logits` to a safetensors
//! file: jner's side of the check that a model jner saved scores the same in the library
//! (`gliner_fixtures.py dump` writes the library's side).
//!
//!     cargo run --release --example gliner_logits -p jner-torch -- MODEL_DIR CASES_JSON OUT

use jner_torch::gliner::GlinerModel;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [dir, cases, out] = &a[..] else {
        eprintln!("usage: gliner_logits MODEL_DIR CASES_JSON OUT.safetensors");
        std::process::exit(2);
    };
    let model = GlinerModel::load(dir.as_ref()).expect("model");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cases).expect("cases")).expect("json");
    let mut named = Vec::new();
    for (i, c) in v["cases"].as_array().expect("cases").iter().enumerate() {
        let labels: Vec<String> = c["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|l| l.as_str().expect("label").to_string())
            .collect();
        if std::env::var_os("JNER_DUMP_PARTS").is_some() {
            if let Ok(p) = model.parts_one(c["text"].as_str().expect("text"), &labels) {
                named.push((format!("case{i}.token_embeds"), p.tokens));
                named.push((
                    format!("case{i}.words_embedding_pre_lstm"),
                    p.words_pre_lstm,
                ));
                named.push((format!("case{i}.words_embedding"), p.words));
                named.push((format!("case{i}.prompts_embedding"), p.prompts));
            }
        }
        match model.logits_one(c["text"].as_str().expect("text"), &labels) {
            Ok(logits) => named.push((format!("case{i}.logits"), logits)),
            Err(e) => eprintln!("case {i}: {e}"),
        }
    }
    tch::Tensor::write_safetensors(&named, out).expect("write");
}
