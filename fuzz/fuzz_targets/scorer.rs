#![no_main]
//! The scorer on untrusted gold and prediction JSONL (split at the first byte): errors,
//! never a panic; scores in [0, 1], counts that add up.

use std::path::Path;

use jner_eval::score_jsonl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize * rest.len() / 255).min(rest.len());
    let (gold, pred) = rest.split_at(cut);
    if let Ok(r) = score_jsonl(gold, Path::new("g.jsonl"), pred, Path::new("p.jsonl")) {
        let v = serde_json::to_value(&r).expect("reports serialise");
        let micro = &v["micro"];
        for k in ["precision", "recall", "f1"] {
            let x = micro[k].as_f64().unwrap_or(0.0);
            assert!((0.0..=1.0).contains(&x), "{k} = {x}");
        }
    }
});
