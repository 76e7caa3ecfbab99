//! The BERT encoder: gradients reach every parameter, dropout only in training, output equals
//! an independent plain-Rust reference, the 4-D mask isolates markers, and checkpoints load
//! with and without a `bert.` prefix.

use std::collections::HashMap;

use jner_torch::bert::{additive_mask, BertConfig, BertModel, MASK_VALUE};
use jner_torch::hf::{load_encoder_weights, read_weights};
use tch::{nn, Device, Kind, Tensor};

fn config(init: f64, dropout: f64) -> BertConfig {
    let mut v = super::common::tiny_config(8, 2);
    v["initializer_range"] = serde_json::json!(init);
    v["hidden_dropout_prob"] = serde_json::json!(dropout);
    v["attention_probs_dropout_prob"] = serde_json::json!(dropout);
    v["vocab_size"] = serde_json::json!(20);
    v["max_position_embeddings"] = serde_json::json!(16);
    BertConfig::from_json(&v).unwrap()
}

fn model(seed: i64, init: f64, dropout: f64) -> (nn::VarStore, BertModel) {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let m = BertModel::new(&vs.root(), &config(init, dropout));
    (vs, m)
}

fn ids(v: &[i64]) -> Tensor {
    Tensor::from_slice(v).view([1, v.len() as i64])
}

#[test]
fn every_parameter_gets_a_gradient() {
    super::common::one_thread();
    let (vs, m) = model(1, 0.2, 0.1);
    let input = Tensor::from_slice(&[2i64, 5, 7, 9, 11, 3, 6, 0]).view([2, 4]);
    let mut mask = vec![1i64; 2 * 4 * 4];
    mask[4 * 4 + 3] = 0; // second sample, query 0 may not see key 3
    let mask = additive_mask(&Tensor::from_slice(&mask).view([2, 4, 4]));
    let tt = Tensor::from_slice(&[0i64, 0, 1, 1, 0, 1, 0, 1]).view([2, 4]);
    let pos = Tensor::from_slice(&[0i64, 1, 2, 3, 3, 2, 1, 0]).view([2, 4]);
    let out = m.forward(&input, Some(&pos), Some(&tt), Some(&mask), true);
    let w = Tensor::randn(out.size(), (Kind::Float, Device::Cpu));
    (out * w).sum(Kind::Float).backward();
    let mut n = 0;
    for (name, var) in vs.variables() {
        if name.starts_with("pooler.") {
            assert!(!var.requires_grad(), "{name} should not be trained");
            continue;
        }
        let g = var.grad();
        assert!(g.defined(), "{name}: no gradient");
        let norm = g.abs().sum(Kind::Float).double_value(&[]);
        assert!(norm > 0.0, "{name}: zero gradient");
        n += 1;
    }
    // 5 embedding tensors + 16 per layer
    assert_eq!(n, 5 + 16 * 2);
}

#[test]
fn dropout_only_in_training() {
    super::common::one_thread();
    let (_vs, m) = model(2, 0.2, 0.3);
    let x = ids(&[2, 5, 6, 7, 3]);
    let a = m.forward(&x, None, None, None, false);
    let b = m.forward(&x, None, None, None, false);
    assert!(a.allclose(&b, 0.0, 0.0, false));
    let c = m.forward(&x, None, None, None, true);
    assert!(!a.allclose(&c, 1e-3, 1e-3, false));
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

/// Plain f64 BERT, written from the paper's equations, for one sample.
fn reference(
    w: &HashMap<String, Vec<f64>>,
    c: &BertConfig,
    ids: &[i64],
    pos: &[i64],
    mask: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    let h = c.hidden_size as usize;
    let nh = c.num_attention_heads as usize;
    let dh = h / nh;
    let t = ids.len();
    let row = |name: &str, r: usize| w[name][r * h..(r + 1) * h].to_vec();
    let ln = |x: &[f64], p: &str| -> Vec<f64> {
        let mean = x.iter().sum::<f64>() / h as f64;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / h as f64;
        let (g, b) = (&w[&format!("{p}.weight")], &w[&format!("{p}.bias")]);
        (0..h)
            .map(|i| (x[i] - mean) / (var + c.layer_norm_eps).sqrt() * g[i] + b[i])
            .collect()
    };
    let lin = |x: &[f64], p: &str| -> Vec<f64> {
        let (wt, b) = (&w[&format!("{p}.weight")], &w[&format!("{p}.bias")]);
        let n_in = x.len();
        (0..b.len())
            .map(|o| b[o] + (0..n_in).map(|i| wt[o * n_in + i] * x[i]).sum::<f64>())
            .collect()
    };
    let gelu = |v: f64| 0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2));
    let mut x: Vec<Vec<f64>> = (0..t)
        .map(|i| {
            let a = row("embeddings.word_embeddings.weight", ids[i] as usize);
            let b = row("embeddings.position_embeddings.weight", pos[i] as usize);
            let tt = row("embeddings.token_type_embeddings.weight", 0);
            let s: Vec<f64> = (0..h).map(|k| a[k] + b[k] + tt[k]).collect();
            ln(&s, "embeddings.LayerNorm")
        })
        .collect();
    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        let q: Vec<Vec<f64>> = x
            .iter()
            .map(|v| lin(v, &format!("{p}.attention.self.query")))
            .collect();
        let k: Vec<Vec<f64>> = x
            .iter()
            .map(|v| lin(v, &format!("{p}.attention.self.key")))
            .collect();
        let vv: Vec<Vec<f64>> = x
            .iter()
            .map(|v| lin(v, &format!("{p}.attention.self.value")))
            .collect();
        let mut ctx = vec![vec![0.0; h]; t];
        for hd in 0..nh {
            let r = hd * dh..(hd + 1) * dh;
            for i in 0..t {
                let scores: Vec<f64> = (0..t)
                    .map(|j| {
                        r.clone().map(|d| q[i][d] * k[j][d]).sum::<f64>() / (dh as f64).sqrt()
                            + mask[i][j]
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in r.clone() {
                    ctx[i][d] = (0..t).map(|j| e[j] / z * vv[j][d]).sum();
                }
            }
        }
        x = (0..t)
            .map(|i| {
                let a = lin(&ctx[i], &format!("{p}.attention.output.dense"));
                let a: Vec<f64> = (0..h).map(|d| a[d] + x[i][d]).collect();
                let a = ln(&a, &format!("{p}.attention.output.LayerNorm"));
                let inter: Vec<f64> = lin(&a, &format!("{p}.intermediate.dense"))
                    .into_iter()
                    .map(gelu)
                    .collect();
                let o = lin(&inter, &format!("{p}.output.dense"));
                let o: Vec<f64> = (0..h).map(|d| o[d] + a[d]).collect();
                ln(&o, &format!("{p}.output.LayerNorm"))
            })
            .collect();
    }
    x
}

/// erf to ~1e-12 (Taylor series near 0, continued fraction of erfc farther out).
fn erf(x: f64) -> f64 {
    if x.abs() < 2.5 {
        let mut sum = x;
        let mut term = x;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -x * x / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() < 1e-17 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(x) = exp(-x²)/(x√π) · 1/(1+ 1/(2x²)/(1+2/(2x²)/(1+…))) via Lentz
        let ax = x.abs();
        let mut f = ax;
        for k in (1..60).rev() {
            f = ax + (k as f64 / 2.0) / f;
        }
        let erfc = (-ax * ax).exp() / std::f64::consts::PI.sqrt() / f;
        (1.0 - erfc).copysign(x)
    }
}

#[test]
fn erf_is_accurate() {
    super::common::one_thread();
    // known values
    for (x, e) in [
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (3.0, 0.999_977_909_503_001_4),
    ] {
        assert!((erf(x) - e).abs() < 1e-12, "erf({x})");
        assert!((erf(-x) + e).abs() < 1e-12);
    }
}

#[test]
fn matches_plain_reference_with_positions_and_4d_mask() {
    super::common::one_thread();
    let (vs, m) = model(3, 0.5, 0.1);
    let c = m.config.clone();
    let w: HashMap<String, Vec<f64>> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (k, to_vec(&v)))
        .collect();
    let ids_v = [2i64, 7, 9, 4, 11, 3, 14, 15];
    let pos_v = [0i64, 1, 2, 3, 4, 5, 1, 3];
    let t = ids_v.len();
    // text (0..6) sees text; 6 and 7 are a marker pair seeing text, themselves, each other
    let mut mask = vec![vec![MASK_VALUE; t]; t];
    for (q, row) in mask.iter_mut().enumerate() {
        for (k, cell) in row.iter_mut().enumerate() {
            if k < 6 || q >= 6 {
                *cell = 0.0;
            }
        }
    }
    let mask_flat: Vec<f32> = mask.iter().flatten().map(|&v| v as f32).collect();
    let mask_t = Tensor::from_slice(&mask_flat).view([1, 1, t as i64, t as i64]);
    let out = m.forward(&ids(&ids_v), Some(&ids(&pos_v)), None, Some(&mask_t), false);
    let got = to_vec(&out);
    let want: Vec<f64> = reference(&w, &c, &ids_v, &pos_v, &mask)
        .into_iter()
        .flatten()
        .collect();
    let max_err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(max_err < 1e-4, "max abs difference {max_err}");
}

#[test]
fn text_does_not_see_markers() {
    super::common::one_thread();
    let (_vs, m) = model(4, 0.3, 0.1);
    let text = [2i64, 7, 9, 4, 3];
    let alone = m.forward(&ids(&text), None, None, None, false);
    // same text followed by one marker pair
    let with = [2i64, 7, 9, 4, 3, 0, 18, 19];
    let t = with.len();
    let mut mask = vec![0i64; t * t];
    for q in 0..t {
        for k in 0..t {
            let text_q = q < 5;
            let allowed = (k < 5 && q != 5) || (q >= 6 && k >= 6);
            if allowed && (text_q || q >= 6) {
                mask[q * t + k] = 1;
            }
        }
    }
    let mask = additive_mask(&Tensor::from_slice(&mask).view([1, t as i64, t as i64]));
    let pos = ids(&[0, 1, 2, 3, 4, 1, 1, 3]);
    let out = m.forward(&ids(&with), Some(&pos), None, Some(&mask), false);
    let text_part = out.narrow(1, 0, 5);
    assert!(text_part.allclose(&alone, 1e-5, 1e-5, false));
}

#[test]
fn loads_checkpoints_with_and_without_bert_prefix() {
    super::common::one_thread();
    let dir = tempfile::tempdir().unwrap();
    for (i, prefix) in ["", "bert."].iter().enumerate() {
        let d = dir.path().join(format!("m{i}"));
        super::common::write_tiny_bert(&d, 8, 2, prefix, 7);
        let weights = read_weights(&d.join("model.safetensors")).unwrap();
        let cfg = BertConfig::from_json(&super::common::tiny_config(8, 2)).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let m = BertModel::new(&(&root / "encoder"), &cfg);
        let x = ids(&[2, 7, 9, 4, 3]);
        let before = m.forward(&x, None, None, None, false);
        let report = load_encoder_weights(&vs, "encoder.", &weights).unwrap();
        assert_eq!(report.loaded, 2 + 5 + 16 * 2, "prefix `{prefix}`");
        for (name, var) in vs.variables() {
            let src = &weights[&format!("{prefix}{}", &name["encoder.".len()..])];
            assert!(var.equal(src), "{name} not loaded");
        }
        let after = m.forward(&x, None, None, None, false);
        assert!(!before.allclose(&after, 1e-3, 1e-3, false));
    }
}
