//! What a checkpoint keeps so an interrupted run can go on exactly where it stopped.
//!
//! `checkpoint-epoch-N/` holds the model as every model folder does (`jner.json`,
//! `model.safetensors`: the weights a user evaluates, averaged when averaging is on) and:
//! * `trainer_state.safetensors`: `weights` (the raw weights training goes on from),
//!   `adam.m`, `adam.v` and, with averaging, `adam.avg` (f32, bit for bit);
//! * `trainer_state.json`: the optimizer's step count, the best epoch and its F1 (as the bits
//!   of the f64, so the comparison after a resume is the same), the epoch reports, the times.
//!
//! The data order needs no state: the shuffles of epochs 1..=N are replayed from the seed,
//! which gives the same order and the same generator state; dropout masks are drawn from
//! (seed, epoch, batch). Resumed training is therefore bit-identical to an uninterrupted run
//! (tested in `tests.rs`).

use std::path::Path;

use serde_json::{json, Value};

use crate::model::write_safetensors;
use crate::train::EpochReport;
use crate::{CnnError, Result};

pub const STATE_TENSORS: &str = "trainer_state.safetensors";
pub const STATE_JSON: &str = "trainer_state.json";

/// The trainer's state after an epoch.
pub(crate) struct TrainerState {
    pub epoch: usize,
    pub weights: Vec<f32>,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    pub avg: Option<Vec<f32>>,
    pub t: i32,
    pub best_f1: f64,
    pub best_epoch: usize,
    pub epochs: Vec<EpochReport>,
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes the state files into a checkpoint folder being filled.
#[allow(clippy::too_many_arguments)]
pub(crate) fn save(
    dir: &Path,
    epoch: usize,
    weights: &[f32],
    adam: (&[f32], &[f32], Option<&[f32]>, i32),
    best_f1: f64,
    best_epoch: usize,
    epochs: &[EpochReport],
    times: (f64, f64),
) -> Result<()> {
    let (m, v, avg, t) = adam;
    let mut tensors = vec![
        ("weights".to_string(), vec![weights.len()], bytes(weights)),
        ("adam.m".to_string(), vec![m.len()], bytes(m)),
        ("adam.v".to_string(), vec![v.len()], bytes(v)),
    ];
    if let Some(a) = avg {
        tensors.push(("adam.avg".to_string(), vec![a.len()], bytes(a)));
    }
    write_safetensors(&dir.join(STATE_TENSORS), &tensors)?;
    let js = json!({
        "epoch": epoch,
        "adam_t": t,
        "best_f1_bits": format!("{:016x}", best_f1.to_bits()),
        "best_f1": best_f1,
        "best_epoch": best_epoch,
        "epochs": epochs,
        "train_seconds": times.0,
        "eval_seconds": times.1,
    });
    let p = dir.join(STATE_JSON);
    let s = serde_json::to_string_pretty(&js).map_err(|e| CnnError::file(&p, e.to_string()))?;
    std::fs::write(&p, s).map_err(|e| CnnError::io(&p, e))
}

/// Reads the state of a checkpoint folder, checking it against the run's parameter count.
pub(crate) fn load(dir: &Path, n_params: usize, averages: bool) -> Result<TrainerState> {
    let pj = dir.join(STATE_JSON);
    let text = std::fs::read_to_string(&pj).map_err(|e| {
        CnnError::file(
            &pj,
            format!("{e}: this checkpoint keeps no resume state (trained with an older jner?)"),
        )
    })?;
    let js: Value = serde_json::from_str(&text)
        .map_err(|e| CnnError::file(&pj, format!("not valid JSON: {e}")))?;
    let num = |k: &str| {
        js.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| CnnError::file(&pj, format!("\"{k}\": missing or not a count")))
    };
    let best_bits = js
        .get("best_f1_bits")
        .and_then(Value::as_str)
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| CnnError::file(&pj, "\"best_f1_bits\": missing or not hex"))?;
    let epochs: Vec<EpochReport> =
        serde_json::from_value(js.get("epochs").cloned().unwrap_or(Value::Null))
            .map_err(|e| CnnError::file(&pj, format!("\"epochs\": {e}")))?;
    let secs = |k: &str| js.get(k).and_then(Value::as_f64).unwrap_or(0.0);

    let pt = dir.join(STATE_TENSORS);
    let raw = std::fs::read(&pt).map_err(|e| CnnError::io(&pt, e))?;
    let st = safetensors::SafeTensors::deserialize(&raw)
        .map_err(|e| CnnError::file(&pt, format!("corrupted safetensors file: {e}")))?;
    let read = |name: &str| -> Result<Option<Vec<f32>>> {
        let view = match st.tensor(name) {
            Ok(v) => v,
            Err(_) => return Ok(None),
        };
        if view.dtype() != safetensors::Dtype::F32 || view.shape() != [n_params] {
            return Err(CnnError::file(
                &pt,
                format!(
                    "tensor {name}: expected f32 [{n_params}], found {:?} {:?}",
                    view.dtype(),
                    view.shape()
                ),
            ));
        }
        Ok(Some(
            view.data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    };
    let need = |v: Option<Vec<f32>>, name: &str| {
        v.ok_or_else(|| CnnError::file(&pt, format!("tensor {name} missing")))
    };
    let weights = need(read("weights")?, "weights")?;
    let m = need(read("adam.m")?, "adam.m")?;
    let v = need(read("adam.v")?, "adam.v")?;
    let avg = read("adam.avg")?;
    if avg.is_some() != averages {
        return Err(CnnError::file(
            &pt,
            "the averaged weights do not match the configuration's use_averages",
        ));
    }
    Ok(TrainerState {
        epoch: num("epoch")? as usize,
        weights,
        m,
        v,
        avg,
        t: num("adam_t")? as i32,
        best_f1: f64::from_bits(best_bits),
        best_epoch: num("best_epoch")? as usize,
        epochs,
        train_seconds: secs("train_seconds"),
        eval_seconds: secs("eval_seconds"),
    })
}
