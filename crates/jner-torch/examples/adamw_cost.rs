//! Time of one AdamW step, jner's (`jner_torch::optim::AdamW`) against tch's fused one, on a
//! MiniLM-sized set of weights (22.7M in BERT-like shapes), after the same backward pass.
//!
//!     CARGO_TARGET_DIR=target/torch cargo run --release -p jner-torch --example adamw_cost [threads]

use std::time::Instant;

use jner_torch::optim::AdamW;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn store() -> (nn::VarStore, Vec<Tensor>) {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let mut vars = vec![root.set_group(0).randn("emb", &[30522, 384], 0.0, 0.02)];
    for l in 0..6 {
        for (k, shape) in [
            ("q", [384, 384]),
            ("k", [384, 384]),
            ("v", [384, 384]),
            ("o", [384, 384]),
            ("i", [1536, 384]),
            ("f", [384, 1536]),
        ] {
            vars.push(
                root.set_group(0)
                    .randn(&format!("l{l}_{k}"), &shape, 0.0, 0.02),
            );
        }
        vars.push(root.set_group(1).zeros(&format!("l{l}_b"), &[384]));
    }
    (vs, vars)
}

fn backward(vars: &[Tensor]) {
    let loss: Tensor = vars
        .iter()
        .map(|v| v.pow_tensor_scalar(2).sum(Kind::Float))
        .sum();
    loss.backward();
}

fn main() {
    let threads: i32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    let (vs_a, va) = store();
    let (vs_b, vb) = store();
    let mut theirs = nn::AdamW {
        wd: 0.01,
        ..Default::default()
    }
    .build(&vs_a, 1e-4)
    .unwrap();
    theirs.set_weight_decay_group(1, 0.0);
    let mut ours = AdamW::new(&vs_b, 1e-4, 0.01, 1);
    let (mut t_theirs, mut t_ours) = (Vec::new(), Vec::new());
    for _ in 0..12 {
        theirs.zero_grad();
        backward(&va);
        let t = Instant::now();
        theirs.step();
        t_theirs.push(t.elapsed().as_secs_f64());
        ours.zero_grad();
        backward(&vb);
        let t = Instant::now();
        ours.step();
        t_ours.push(t.elapsed().as_secs_f64());
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (
        med(&mut t_theirs[2..].to_vec()),
        med(&mut t_ours[2..].to_vec()),
    );
    let n: i64 = va.iter().map(|v| v.numel() as i64).sum();
    println!("{n} weights, {threads} threads: tch AdamW step {:.1} ms, jner AdamW step {:.1} ms (x{:.2})", a * 1e3, b * 1e3, b / a);
}
