#![no_main]
//! Loading a cnn model folder from an untrusted `jner.json` and `model.safetensors`: errors,
//! never a panic, an abort or a huge allocation; a model that loads predicts.
//!
//! The first byte picks what the rest of the input is, beside a tiny valid model's other
//! file: 0 a whole `jner.json`, 1 a whole `model.safetensors`, 2 byte flips into the weights,
//! 3 both files (split at the second byte).

use std::path::Path;
use std::sync::OnceLock;

use jner_cnn::{CnnConfig, CnnModel};
use libfuzzer_sys::fuzz_target;

fn tiny() -> &'static (String, Vec<u8>) {
    static T: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    T.get_or_init(|| {
        let cfg = CnnConfig {
            width: 8,
            rows: [16, 8, 8, 8],
            depth: 1,
            threads: 1,
            ..Default::default()
        };
        let m = CnnModel::untrained(cfg, vec!["MinorChild".into()]).unwrap();
        let dir = std::env::temp_dir().join(format!("jner-fuzz-model-{}", std::process::id()));
        m.save(&dir).unwrap();
        let desc = std::fs::read_to_string(dir.join("jner.json")).unwrap();
        let w = std::fs::read(dir.join("model.safetensors")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        (desc, w)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (desc, weights) = tiny();
    let (d, w): (String, Vec<u8>) = match mode % 4 {
        0 => match std::str::from_utf8(rest) {
            Ok(s) => (s.to_string(), weights.clone()),
            Err(_) => return,
        },
        1 => (desc.clone(), rest.to_vec()),
        2 => {
            let mut w = weights.clone();
            for c in rest.chunks_exact(3) {
                let at = u16::from_le_bytes([c[0], c[1]]) as usize % w.len();
                w[at] ^= c[2];
            }
            (desc.clone(), w)
        }
        _ => {
            let Some((&cut, rest)) = rest.split_first() else {
                return;
            };
            let cut = (cut as usize * rest.len() / 255).min(rest.len());
            match std::str::from_utf8(&rest[..cut]) {
                Ok(s) => (s.to_string(), rest[cut..].to_vec()),
                Err(_) => return,
            }
        }
    };
    if let Ok(mut m) = CnnModel::from_bytes(Path::new("/nonexistent-model"), &d, &w) {
        // predict on the calling thread: a worker pool per loaded model would outlive the
        // input and read as a leak to LeakSanitizer
        m.config.threads = 1;
        let _ = m.predict_texts(&["A 7-year-old boy had fever."], 0.0);
    }
});
