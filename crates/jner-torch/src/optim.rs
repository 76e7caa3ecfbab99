//! AdamW with its state in reach, so a checkpoint can keep it and a resumed run go on from it.
//!
//! The update is torch's `AdamW` (what `tch::nn::AdamW` runs, step for step): decoupled weight
//! decay `p ← p·(1 − lr·wd)`, then `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
//! `p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)`. tch's optimizer keeps `m`, `v` and `t`
//! inside libtorch with no way to read or set them; here they are tensors of ours, saved with
//! [`AdamW::save`] and restored with [`AdamW::load`]. Gradient clipping is tch's (the L2 norm
//! over all gradients, scaled by `max / (norm + 1e-6)` when above `max`).

use std::collections::HashMap;
use std::path::Path;

use tch::{nn, Kind, Tensor};

use crate::{Result, TorchError};

pub struct AdamW {
    vars: Vec<(String, Tensor, f64)>,
    /// Each variable's learning rate as a multiple of `lr` (parameter groups).
    lr_mult: Vec<f64>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: i64,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
}

impl AdamW {
    /// Every trainable variable of `vs`, with weight decay `wd` except in `no_decay_group`.
    pub fn new(vs: &nn::VarStore, lr: f64, wd: f64, no_decay_group: usize) -> Self {
        Self::grouped(vs, lr, |_, group| {
            (1.0, if group == no_decay_group { 0.0 } else { wd })
        })
    }

    /// Every trainable variable of `vs`, with `(lr multiple, weight decay)` given by
    /// `settings(name, var store group)`: parameter groups with their own learning rates.
    pub fn grouped(
        vs: &nn::VarStore,
        lr: f64,
        settings: impl Fn(&str, usize) -> (f64, f64),
    ) -> Self {
        let named = vs.variables();
        let groups: Vec<(Tensor, usize)> = {
            let v = vs.variables_.lock().expect("variables lock");
            v.trainable_variables
                .iter()
                .map(|t| (t.tensor.shallow_clone(), t.group))
                .collect()
        };
        let mut vars: Vec<(String, Tensor, f64, f64)> = Vec::new();
        for (name, t) in named {
            if !t.requires_grad() {
                continue;
            }
            let group = groups
                .iter()
                .find(|(g, _)| g.data_ptr() == t.data_ptr())
                .map_or(0, |(_, g)| *g);
            let (mult, decay) = settings(&name, group);
            vars.push((name, t, decay, mult));
        }
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let lr_mult = vars.iter().map(|v| v.3).collect();
        let vars: Vec<(String, Tensor, f64)> =
            vars.into_iter().map(|(n, t, d, _)| (n, t, d)).collect();
        let m = vars.iter().map(|(_, t, _)| t.zeros_like()).collect();
        let v = vars.iter().map(|(_, t, _)| t.zeros_like()).collect();
        AdamW {
            vars,
            lr_mult,
            m,
            v,
            step: 0,
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    pub fn zero_grad(&mut self) {
        for (_, t, _) in &self.vars {
            let mut g = t.grad();
            if g.defined() {
                let _ = g.detach_();
                let _ = g.zero_();
            }
        }
    }

    /// Scales the gradients so their joint L2 norm is at most `max`.
    pub fn clip_grad_norm(&self, max: f64) {
        tch::no_grad(|| {
            let norms: Vec<Tensor> = self
                .vars
                .iter()
                .map(|(_, t, _)| t.grad())
                .filter(|g| g.defined())
                .map(|g| g.norm())
                .collect();
            if norms.is_empty() {
                return;
            }
            let total = Tensor::stack(&norms, 0).norm().double_value(&[]);
            let coef = max / (total + 1e-6);
            if coef < 1.0 {
                for (_, t, _) in &self.vars {
                    let mut g = t.grad();
                    if g.defined() {
                        let _ = g.g_mul_scalar_(coef);
                    }
                }
            }
        })
    }

    pub fn step(&mut self) {
        self.step += 1;
        let (b1, b2) = self.betas;
        let bc1 = 1.0 - b1.powi(self.step as i32);
        let bc2 = 1.0 - b2.powi(self.step as i32);
        tch::no_grad(|| {
            for (((_, p, wd), (m, v)), mult) in self
                .vars
                .iter_mut()
                .zip(self.m.iter_mut().zip(self.v.iter_mut()))
                .zip(&self.lr_mult)
            {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let lr = self.lr * mult;
                let step_size = lr / bc1;
                if *wd != 0.0 {
                    let _ = p.g_mul_scalar_(1.0 - lr * *wd);
                }
                // in place, two temporaries per tensor: m ← m + (1−β1)(g − m),
                // v ← β2·v + g·((1−β2)·g), p ← p + m / ((√v / √bc2 + ε) · (−1/step))
                let _ = m.lerp_(&g, 1.0 - b1);
                let _ = v.g_mul_scalar_(b2);
                let _ = v.addcmul_(&g, &(&g * (1.0 - b2)));
                if step_size == 0.0 {
                    continue; // lr 0 (the first warmup step): the moments move, p does not
                }
                let mut denom = v.sqrt();
                let _ = denom.g_mul_scalar_(-1.0 / (step_size * bc2.sqrt()));
                let _ = denom.g_add_scalar_(-self.eps / step_size);
                let _ = p.addcdiv_(m, &denom);
            }
        });
    }

    /// Writes `m`, `v` (safetensors, by variable name) and the step count into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut named: Vec<(String, Tensor)> = Vec::with_capacity(2 * self.vars.len() + 1);
        for ((name, _, _), (m, v)) in self.vars.iter().zip(self.m.iter().zip(&self.v)) {
            named.push((format!("m.{name}"), m.to_device(tch::Device::Cpu)));
            named.push((format!("v.{name}"), v.to_device(tch::Device::Cpu)));
        }
        named.push(("step".into(), Tensor::from_slice(&[self.step])));
        Tensor::write_safetensors(&named, dir.join(OPTIMIZER_FILE))?;
        Ok(())
    }

    /// Restores what [`AdamW::save`] wrote; every variable must be there with its shape.
    pub fn load(&mut self, dir: &Path) -> Result<()> {
        let path = dir.join(OPTIMIZER_FILE);
        let t: HashMap<String, Tensor> = Tensor::read_safetensors(&path)?.into_iter().collect();
        let bad = |m: String| TorchError::invalid(format!("{}: {m}", path.display()));
        for ((name, p, _), (m, v)) in self
            .vars
            .iter()
            .zip(self.m.iter_mut().zip(self.v.iter_mut()))
        {
            for (prefix, slot) in [("m", m), ("v", v)] {
                let key = format!("{prefix}.{name}");
                let src = t.get(&key).ok_or_else(|| bad(format!("no {key}")))?;
                if src.size() != p.size() || src.kind() != Kind::Float {
                    return Err(bad(format!(
                        "{key}: shape {:?} for {:?}",
                        src.size(),
                        p.size()
                    )));
                }
                *slot = src.to_device(p.device());
            }
        }
        self.step = t
            .get("step")
            .map(|s| s.int64_value(&[0]))
            .ok_or_else(|| bad("no step".into()))?;
        Ok(())
    }
}

pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::OptimizerConfig;
    use tch::Device;

    /// Two identical stores (a decayed weight, an undecayed bias), one stepped by tch's
    /// AdamW, one by ours, with the same gradients, clipping and a changing learning rate.
    #[test]
    fn same_updates_as_tch_adamw() {
        tch::manual_seed(5);
        let make = || {
            let vs = nn::VarStore::new(Device::Cpu);
            let root = vs.root();
            let w = root.set_group(0).var("w", &[4, 3], nn::Init::Const(0.5));
            let b = root.set_group(1).zeros("b", &[3]);
            (vs, w, b)
        };
        let (vs_a, wa, ba) = make();
        let (vs_b, wb, bb) = make();
        let mut theirs = nn::AdamW {
            wd: 0.01,
            ..Default::default()
        }
        .build(&vs_a, 1e-2)
        .unwrap();
        theirs.set_weight_decay_group(1, 0.0);
        let mut ours = AdamW::new(&vs_b, 1e-2, 0.01, 1);
        let x = Tensor::randn([5, 4], (Kind::Float, Device::Cpu));
        for step in 0..20 {
            // warmup from 0, as the training schedule starts
            let lr = 1e-2 * (step as f64 / 5.0).min(1.0 - step as f64 / 25.0);
            theirs.set_lr(lr);
            ours.set_lr(lr);
            let loss =
                |w: &Tensor, b: &Tensor| (x.matmul(w) + b).pow_tensor_scalar(2).sum(Kind::Float);
            theirs.zero_grad();
            loss(&wa, &ba).backward();
            theirs.clip_grad_norm(5.0);
            theirs.step();
            ours.zero_grad();
            loss(&wb, &bb).backward();
            ours.clip_grad_norm(5.0);
            ours.step();
        }
        let dw = (&wa - &wb).abs().max().double_value(&[]);
        let db = (&ba - &bb).abs().max().double_value(&[]);
        assert!(
            dw < 1e-6 && db < 1e-6,
            "weights differ by {dw}, biases by {db}"
        );
        // and the state round-trips
        let dir = std::env::temp_dir().join(format!("jner-adamw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ours.save(&dir).unwrap();
        let mut again = AdamW::new(&vs_b, 1e-2, 0.01, 1);
        again.load(&dir).unwrap();
        assert_eq!(again.step, 20);
        for (m1, m2) in ours.m.iter().zip(&again.m) {
            assert_eq!((m1 - m2).abs().max().double_value(&[]), 0.0);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
