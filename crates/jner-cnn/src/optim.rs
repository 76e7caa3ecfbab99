//! Adam with decoupled weight decay, per-tensor gradient clipping and weight averaging
//! (thinc's Adam as configured by spaCy), with **lazy (sparse) updates of the hash-embedding
//! tables**.
//!
//! The parameter buffer starts with a *sparse region* (the hash tables: rows of `width`
//! floats); everything after it is updated densely at every step. For the sparse region only
//! the rows touched by the batch are visited; a row that received no gradient for `k` steps
//! is brought up to date when it is next touched ("catch-up on touch"), reproducing what
//! dense Adam would have done to it with zero gradients:
//!
//! * **Adam moments** decay exactly (`m ← β1ᵏ·m`, `v ← β2ᵏ·v`).
//! * **Momentum ("ghost") steps**: dense Adam keeps moving such a row by `lr_t·m/(√v+ε)`
//!   while its momentum decays (≈10 steps' worth — torch's `SparseAdam` / TF's `LazyAdam`
//!   drop this, which measurably slowed learning of rare rows here). With `ρ = β1/√β2` the
//!   total is `r·Σ_j lr_t(t0+j)·ρʲ` with `r = m/(√v+ε)`, summed over the missed steps up to
//!   a horizon where `ρʲ < 1e-9`. Only approximation: `ε` is not rescaled by `β2^{j/2}`
//!   (`ε = 1e-8 ≪ √v` for any row that ever had a gradient).
//! * **Decoupled weight decay** is exact: the row is scaled by `Π (1 − lr·wd)`.
//! * **Weight averaging** is exact: the EMA of a row over the missed steps has a closed form
//!   in per-step prefix quantities (f64): `P_t = Π d_s`, `C_t = Π (1 − lr·wd)`,
//!   `A_t = Σ (1 − d_s)·C_s / P_s`; without ghost steps
//!   `avg_t = (P_t/P_t0)·avg_t0 + w_t0·(P_t/C_t0)·(A_t − A_t0)`, and the ghost steps add a
//!   term accumulated in the same loop.
//!
//! So the lazy optimiser equals dense Adam up to f32 rounding (tested against a dense
//! reference to 1e-5 relative, and bit-identical when every row is touched every step) while
//! its cost per step no longer grows with the table sizes.
//!
//! Before weights are read (evaluation, saving: [`Adam::flush`]) every row is brought up to
//! date and the prefix history is rebased (also every [`REBASE_STEPS`] steps, which keeps
//! `1/P_t` far from overflow). Gradient clipping per tensor is unchanged: the norm over the
//! touched rows is the norm of the whole (otherwise zero) table gradient.
//!
//! With every row touched at every step the result is bit-identical to dense Adam (tested).
//! The update runs on `threads` threads over disjoint row ranges / groups of whole tensors,
//! so its result does not depend on scheduling.

use crate::config::CnnConfig;
use crate::net::Tensor;

/// Steps after which the catch-up history is folded into the weights.
pub const REBASE_STEPS: usize = 50_000;

#[derive(Clone, Copy, Debug)]
struct Hist {
    /// `Π d_s` since the base.
    p: f64,
    /// `Π (1 − lr·wd)` since the base.
    c: f64,
    /// `Σ (1 − d_s)·C_s / P_s` since the base.
    a: f64,
    /// Bias-corrected learning rate of this step.
    lr: f64,
}

const HIST0: Hist = Hist {
    p: 1.0,
    c: 1.0,
    a: 0.0,
    lr: 0.0,
};

/// Missed steps after which the momentum of an untouched row is below 1e-9 of its value.
fn ghost_horizon(b1: f32, b2: f32) -> usize {
    let rho = b1 as f64 / (b2 as f64).sqrt();
    if rho <= 0.0 {
        return 0;
    }
    if rho >= 1.0 {
        return usize::MAX;
    }
    ((1e-9f64).ln() / rho.ln()).ceil() as usize
}

/// The lazily updated region: `tables[i]` is the row range of hash table `i`.
#[derive(Clone, Debug)]
pub(crate) struct Sparse {
    pub width: usize,
    pub tables: Vec<std::ops::Range<usize>>,
}

impl Sparse {
    pub fn len(&self) -> usize {
        self.tables.last().map_or(0, |r| r.end) * self.width
    }
}

pub(crate) struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    avg: Option<Vec<f32>>,
    t: i32,
    sparse: Sparse,
    /// Relative step (index into `hist`) at which each sparse row is up to date.
    row_step: Vec<u32>,
    hist: Vec<Hist>,
    rebase_steps: usize,
    /// β1, β2, ε of the last step (for [`Adam::flush`]).
    betas: (f32, f32),
    eps: f32,
}

struct Hyper {
    b1: f32,
    b2: f32,
    lr_t: f32,
    decay: f32,
    eps: f32,
    avg_decay: f32,
}

/// One dense Adam step on a slice (gradient already multiplied by the clip scale `gs`).
#[inline]
#[allow(clippy::too_many_arguments)]
fn adam_slice(
    w: &mut [f32],
    g: &[f32],
    gs: f32,
    m: &mut [f32],
    v: &mut [f32],
    avg: Option<&mut [f32]>,
    h: &Hyper,
) {
    for j in 0..g.len() {
        let gj = g[j] * gs;
        m[j] = h.b1 * m[j] + (1.0 - h.b1) * gj;
        v[j] = h.b2 * v[j] + (1.0 - h.b2) * gj * gj;
        w[j] -= h.lr_t * m[j] / (v[j].sqrt() + h.eps) + h.decay * w[j];
    }
    if let Some(a) = avg {
        let d = h.avg_decay;
        for (x, y) in a.iter_mut().zip(w.iter()) {
            *x = d * *x + (1.0 - d) * y;
        }
    }
}

fn norm_scale(sq: f64, clip: f32) -> f32 {
    let norm = sq.sqrt() as f32;
    if norm > clip {
        clip / norm
    } else {
        1.0
    }
}

/// Dense tensors of one thread's group.
#[allow(clippy::too_many_arguments)]
fn update_dense(
    tensors: &[Tensor],
    base: usize,
    w: &mut [f32],
    g: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    mut avg: Option<&mut [f32]>,
    h: &Hyper,
    clip: f32,
) {
    for ts in tensors {
        let r = ts.offset - base..ts.offset - base + ts.len;
        let gr = &g[r.clone()];
        let sq = gr.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>();
        let gs = norm_scale(sq, clip);
        adam_slice(
            &mut w[r.clone()],
            gr,
            gs,
            &mut m[r.clone()],
            &mut v[r.clone()],
            avg.as_deref_mut().map(|a| &mut a[r.clone()]),
            h,
        );
    }
}

/// Bring one row from history point `t0` to `t1` of `hist` (`k = t1 − t0` missed steps).
#[allow(clippy::too_many_arguments)]
#[inline]
fn catch_up(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    avg: Option<&mut [f32]>,
    hist: &[Hist],
    t0: usize,
    t1: usize,
    b1: f32,
    b2: f32,
    eps: f32,
) {
    let (h0, h1) = (hist[t0], hist[t1]);
    let k = (t1 - t0) as i32;
    // Ghost momentum steps: the row moves by `-G_s·r` with `r = m/(√v+ε)` and
    // `G_s = (C_s/C_t0)·Σ_{j ≤ s−t0} lr_t(t0+j)·ρ^j·C_t0/C_{t0+j}`, ρ = β1/√β2 (ε is taken at
    // its value for the last real step: exact up to ε·(1 − β2^{j/2}) ≪ √v). The average
    // sees `Σ_s (1−d_s)·(P_t/P_s)·G_s`, i.e. `(P_t/C_t0)·acc` with
    // `acc = Σ_s (A_s − A_{s−1})·g_s` (explicit within the horizon, `g_∞·ΔA` after it).
    let rho = b1 as f64 / (b2 as f64).sqrt();
    let horizon = ghost_horizon(b1, b2).min(t1 - t0);
    let mut ghost = 0.0f64;
    let mut acc = 0.0f64;
    let mut rj = 1.0f64;
    for s in t0 + 1..=t0 + horizon {
        let h = hist[s];
        rj *= rho;
        ghost += h.lr * rj * (h0.c / h.c);
        acc += (h.a - hist[s - 1].a) * ghost;
    }
    acc += (h1.a - hist[t0 + horizon].a) * ghost;
    let gs = ghost as f32;
    if let Some(a) = avg {
        let da = (h1.p / h0.p) as f32;
        let ea = ((h1.p / h0.c) * (h1.a - h0.a)) as f32;
        let eg = ((h1.p / h0.c) * acc) as f32;
        for (((x, y), &mj), &vj) in a.iter_mut().zip(w.iter()).zip(m.iter()).zip(v.iter()) {
            *x = da * *x + ea * y - eg * (mj / (vj.sqrt() + eps));
        }
    }
    let fw = (h1.c / h0.c) as f32;
    for ((x, &mj), &vj) in w.iter_mut().zip(m.iter()).zip(v.iter()) {
        *x = fw * (*x - gs * (mj / (vj.sqrt() + eps)));
    }
    let (f1, f2) = (b1.powi(k), b2.powi(k));
    for x in m.iter_mut() {
        *x *= f1;
    }
    for x in v.iter_mut() {
        *x *= f2;
    }
}

/// Sparse rows `rows` (sorted, all inside the chunk starting at row `first`).
#[allow(clippy::too_many_arguments)]
fn update_rows(
    rows: &[u32],
    first: usize,
    width: usize,
    scale_of: &dyn Fn(usize) -> f32,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    mut avg: Option<&mut [f32]>,
    row_step: &mut [u32],
    hist: &[Hist],
    h: &Hyper,
) {
    let rel = hist.len() - 1;
    for &r in rows {
        let r = r as usize;
        let o = (r - first) * width..(r - first + 1) * width;
        let t0 = row_step[r - first] as usize;
        if t0 + 1 < rel {
            catch_up(
                &mut w[o.clone()],
                &mut m[o.clone()],
                &mut v[o.clone()],
                avg.as_deref_mut().map(|a| &mut a[o.clone()]),
                hist,
                t0,
                rel - 1,
                h.b1,
                h.b2,
                h.eps,
            );
        }
        adam_slice(
            &mut w[o.clone()],
            &g[o.clone()],
            scale_of(r),
            &mut m[o.clone()],
            &mut v[o.clone()],
            avg.as_deref_mut().map(|a| &mut a[o.clone()]),
            h,
        );
        row_step[r - first] = rel as u32;
    }
}

/// Split `len` elements off the front of `s`, leaving the tail in `s`.
fn take<'a, T>(s: &mut &'a mut [T], len: usize) -> &'a mut [T] {
    let (a, b) = std::mem::take(s).split_at_mut(len);
    *s = b;
    a
}

impl Adam {
    pub fn new(params: &[f32], averages: bool, sparse: Sparse) -> Self {
        let n_rows = sparse.tables.last().map_or(0, |r| r.end);
        Adam {
            m: vec![0.0; params.len()],
            v: vec![0.0; params.len()],
            avg: averages.then(|| params.to_vec()),
            t: 0,
            sparse,
            row_step: vec![0; n_rows],
            hist: vec![HIST0],
            rebase_steps: REBASE_STEPS,
            betas: (0.9, 0.999),
            eps: 1e-8,
        }
    }

    /// The moments, the averaged weights and the step count, for a checkpoint. Only valid
    /// right after [`Adam::flush`] (no sparse row is behind).
    pub fn state(&self) -> (&[f32], &[f32], Option<&[f32]>, i32) {
        debug_assert!(self.hist.len() == 1, "state taken outside a flush");
        (&self.m, &self.v, self.avg.as_deref(), self.t)
    }

    /// Restores what [`Adam::state`] gave (the sparse layout is the network's own).
    pub fn restore(
        &mut self,
        m: Vec<f32>,
        v: Vec<f32>,
        avg: Option<Vec<f32>>,
        t: i32,
    ) -> Result<(), String> {
        if m.len() != self.m.len() || v.len() != self.v.len() {
            return Err(format!(
                "optimizer moments of {} values for {} parameters",
                m.len(),
                self.m.len()
            ));
        }
        if avg.is_some() != self.avg.is_some()
            || avg.as_ref().is_some_and(|a| a.len() != self.m.len())
        {
            return Err("the averaged weights do not match the configuration".into());
        }
        self.m = m;
        self.v = v;
        self.avg = avg;
        self.t = t;
        self.row_step.fill(0);
        self.hist.clear();
        self.hist.push(HIST0);
        Ok(())
    }

    /// The averaged weights (up to date only after [`Adam::flush`]).
    pub fn avg_mut(&mut self) -> Option<&mut Vec<f32>> {
        self.avg.as_mut()
    }

    pub fn take_avg(&mut self) -> Option<Vec<f32>> {
        self.avg.take()
    }

    /// One update of `params` with the gradient `grads`. In the sparse region only the rows
    /// in `touched` (sorted, unique) are read; gradients of other rows must be zero.
    pub fn step(
        &mut self,
        params: &mut [f32],
        grads: &mut [f32],
        tensors: &[Tensor],
        touched: &[u32],
        cfg: &CnnConfig,
    ) {
        self.t += 1;
        let (b1, b2) = (cfg.beta1, cfg.beta2);
        self.betas = (b1, b2);
        self.eps = cfg.eps;
        let t = self.t as f32;
        let h = Hyper {
            b1,
            b2,
            lr_t: cfg.learn_rate * (1.0 - b2.powi(self.t)).sqrt() / (1.0 - b1.powi(self.t)),
            decay: cfg.learn_rate * cfg.weight_decay,
            eps: cfg.eps,
            avg_decay: ((1.0 + t) / (10.0 + t)).min(0.999),
        };
        // history entry of this step
        let prev = *self.hist.last().unwrap_or(&HIST0);
        let d = h.avg_decay as f64;
        let p = prev.p * d;
        let c = prev.c * (1.0 - h.decay as f64);
        self.hist.push(Hist {
            p,
            c,
            a: prev.a + (1.0 - d) * c / p,
            lr: h.lr_t as f64,
        });
        let threads = cfg.threads.max(1);
        let sp_len = self.sparse.len();
        let width = self.sparse.width;

        // sparse region: per-table clip scales, then disjoint row chunks per thread
        let tables = &self.sparse.tables;
        let mut sq = vec![0.0f64; tables.len()];
        let table_of = |r: usize| tables.iter().position(|t| t.contains(&r)).unwrap_or(0);
        {
            let mut ti = 0;
            for &r in touched {
                let r = r as usize;
                while !tables[ti].contains(&r) {
                    ti += 1;
                }
                sq[ti] += grads[r * width..(r + 1) * width]
                    .iter()
                    .map(|x| (*x as f64) * (*x as f64))
                    .sum::<f64>();
            }
        }
        let scales: Vec<f32> = sq.iter().map(|&s| norm_scale(s, cfg.grad_clip)).collect();
        let scale_of = |r: usize| scales[table_of(r)];
        let (w_sp, w_dense) = params.split_at_mut(sp_len);
        let (g_sp, g_dense) = grads.split_at_mut(sp_len);
        let (m_sp, m_dense) = self.m.split_at_mut(sp_len);
        let (v_sp, v_dense) = self.v.split_at_mut(sp_len);
        let (a_sp, a_dense) = match self.avg.as_deref_mut() {
            Some(a) => {
                let (x, y) = a.split_at_mut(sp_len);
                (Some(x), Some(y))
            }
            None => (None, None),
        };
        let hist = &self.hist[..];
        let h = &h;
        let scale_of = &scale_of;
        let mut row_rest: &mut [u32] = &mut self.row_step;
        let (mut w_rest, mut g_rest, mut m_rest, mut v_rest) = (w_sp, &*g_sp, m_sp, v_sp);
        let mut a_rest = a_sp;
        let chunk = touched.len().div_ceil(threads).max(256);
        let mut done_rows = 0usize;
        std::thread::scope(|sc| {
            let mut chunks = touched.chunks(chunk).peekable();
            while let Some(rows) = chunks.next() {
                // this chunk owns rows [done_rows, end)
                let end = match chunks.peek() {
                    Some(next) => next[0] as usize,
                    None => row_rest.len() + done_rows,
                };
                let n = end - done_rows;
                let first = done_rows;
                let w = take(&mut w_rest, n * width);
                let (g, gr) = g_rest.split_at(n * width);
                g_rest = gr;
                let m = take(&mut m_rest, n * width);
                let v = take(&mut v_rest, n * width);
                let a = a_rest.as_mut().map(|a| take(a, n * width));
                let rs = take(&mut row_rest, n);
                done_rows = end;
                let job =
                    move || update_rows(rows, first, width, scale_of, w, g, m, v, a, rs, hist, h);
                if chunks.peek().is_some() {
                    sc.spawn(job);
                } else {
                    job();
                }
            }
        });

        // dense tensors: groups of whole tensors of about equal size, one per thread
        let dense: Vec<&Tensor> = tensors.iter().filter(|t| t.offset >= sp_len).collect();
        let total = w_dense.len();
        let mut groups: Vec<(usize, usize, usize)> = Vec::new(); // (first, last+1, floats)
        let mut gi = 0;
        let mut acc = 0;
        for (i, ts) in dense.iter().enumerate() {
            acc += ts.len;
            let target = total * (groups.len() + 1) / threads;
            if acc >= target && groups.len() + 1 < threads {
                let len = dense[gi..=i].iter().map(|t| t.len).sum();
                groups.push((gi, i + 1, len));
                gi = i + 1;
            }
        }
        if gi < dense.len() {
            let len = dense[gi..].iter().map(|t| t.len).sum();
            groups.push((gi, dense.len(), len));
        }
        let owned: Vec<Tensor> = dense.into_iter().cloned().collect();
        let owned = &owned;
        let clip = cfg.grad_clip;
        let (mut w_rest, mut g_rest, mut m_rest, mut v_rest) = (w_dense, g_dense, m_dense, v_dense);
        let mut a_rest = a_dense;
        std::thread::scope(|sc| {
            for (k, &(a, b, len)) in groups.iter().enumerate() {
                let w = take(&mut w_rest, len);
                let g = take(&mut g_rest, len);
                let m = take(&mut m_rest, len);
                let v = take(&mut v_rest, len);
                let av = a_rest.as_mut().map(|x| take(x, len));
                let ts = &owned[a..b];
                let base = ts[0].offset;
                let job = move || update_dense(ts, base, w, g, m, v, av, h, clip);
                if k + 1 == groups.len() {
                    job();
                } else {
                    sc.spawn(job);
                }
            }
        });
        if self.hist.len() > self.rebase_steps {
            self.flush(params);
        }
    }

    /// Bring every sparse row (weights, moments, average) up to the current step and rebase
    /// the catch-up history. Call before reading the weights or the average.
    pub fn flush(&mut self, params: &mut [f32]) {
        let rel = self.hist.len() - 1;
        let width = self.sparse.width;
        for (r, st) in self.row_step.iter_mut().enumerate() {
            let t0 = *st as usize;
            if t0 < rel {
                let o = r * width..(r + 1) * width;
                catch_up(
                    &mut params[o.clone()],
                    &mut self.m[o.clone()],
                    &mut self.v[o.clone()],
                    self.avg.as_deref_mut().map(|a| &mut a[o.clone()]),
                    &self.hist,
                    t0,
                    rel,
                    self.betas.0,
                    self.betas.1,
                    self.eps,
                );
            }
            *st = 0;
        }
        self.hist.clear();
        self.hist.push(HIST0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jner_corpus::rng::Rng;

    /// Two "hash tables" (5 and 3 rows of width 4) followed by two dense tensors.
    fn layout() -> (Vec<Tensor>, Sparse, usize) {
        let shapes = [("e0", 5 * 4), ("e1", 3 * 4), ("d0", 6), ("d1", 10)];
        let mut off = 0;
        let tensors = shapes
            .iter()
            .map(|&(n, len)| {
                let t = Tensor {
                    name: n.into(),
                    shape: vec![len],
                    offset: off,
                    len,
                };
                off += len;
                t
            })
            .collect();
        let sparse = Sparse {
            width: 4,
            tables: vec![0..5, 5..8],
        };
        (tensors, sparse, off)
    }

    fn cfg(threads: usize) -> CnnConfig {
        CnnConfig {
            threads,
            learn_rate: 0.01,
            weight_decay: 0.5, // large, so that decay catch-up errors would show
            grad_clip: 0.7,
            ..Default::default()
        }
    }

    /// Reference: one step of plain dense Adam (rows not in `touched` have a zero gradient).
    #[allow(clippy::too_many_arguments)]
    fn reference_step(
        t: i32,
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        avg: &mut [f32],
        tensors: &[Tensor],
        sparse: &Sparse,
        touched: &[u32],
        c: &CnnConfig,
    ) {
        let (b1, b2) = (c.beta1, c.beta2);
        let lr_t = c.learn_rate * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        let decay = c.learn_rate * c.weight_decay;
        let d = ((1.0 + t as f32) / (10.0 + t as f32)).min(0.999);
        for ts in tensors {
            let r = ts.offset..ts.offset + ts.len;
            let norm = g[r.clone()]
                .iter()
                .map(|x| (*x as f64).powi(2))
                .sum::<f64>()
                .sqrt() as f32;
            let gs = if norm > c.grad_clip {
                c.grad_clip / norm
            } else {
                1.0
            };
            for j in r {
                let row = j / sparse.width;
                let lazy = j < sparse.len() && !touched.contains(&(row as u32));
                if lazy {
                    // dense Adam with a zero gradient
                    m[j] *= b1;
                    v[j] *= b2;
                    w[j] -= lr_t * m[j] / (v[j].sqrt() + c.eps) + decay * w[j];
                } else {
                    let gj = g[j] * gs;
                    m[j] = b1 * m[j] + (1.0 - b1) * gj;
                    v[j] = b2 * v[j] + (1.0 - b2) * gj * gj;
                    w[j] -= lr_t * m[j] / (v[j].sqrt() + c.eps) + decay * w[j];
                }
                avg[j] = d * avg[j] + (1.0 - d) * w[j];
            }
        }
    }

    fn run(threads: usize, all_rows: bool, rebase: usize) -> f32 {
        let (tensors, sparse, n) = layout();
        let c = cfg(threads);
        let mut rng = Rng::new(11);
        let w0: Vec<f32> = (0..n).map(|_| rng.next_f32() - 0.5).collect();
        let mut w = w0.clone();
        let mut adam = Adam::new(&w, true, sparse.clone());
        adam.rebase_steps = rebase;
        let (mut rw, mut rm, mut rv, mut ra) = (w0.clone(), vec![0.0; n], vec![0.0; n], w0);
        let n_rows = 8u32;
        let mut max_err = 0.0f32;
        for t in 1..=400 {
            let touched: Vec<u32> = if all_rows {
                (0..n_rows).collect()
            } else {
                // sparse, sometimes empty; gaps beyond the ghost horizon for some rows
                (0..n_rows)
                    .filter(|&r| rng.below(2 + 30 * r as usize) == 0)
                    .collect()
            };
            let mut g = vec![0.0f32; n];
            for &r in &touched {
                for x in &mut g[r as usize * 4..(r as usize + 1) * 4] {
                    *x = rng.next_f32() - 0.5;
                }
            }
            for x in &mut g[sparse.len()..] {
                *x = rng.next_f32() - 0.5;
            }
            let gref = g.clone();
            adam.step(&mut w, &mut g, &tensors, &touched, &c);
            reference_step(
                t, &mut rw, &gref, &mut rm, &mut rv, &mut ra, &tensors, &sparse, &touched, &c,
            );
            if t % 100 == 0 || t == 37 {
                adam.flush(&mut w);
                let avg = adam.avg.as_ref().unwrap();
                for j in 0..n {
                    let scale = 1.0f32.max(rw[j].abs());
                    let e = [
                        (w[j] - rw[j]).abs() / scale,
                        (avg[j] - ra[j]).abs() / scale,
                        (adam.m[j] - rm[j]).abs() / rm[j].abs().max(1e-3),
                        (adam.v[j] - rv[j]).abs() / rv[j].abs().max(1e-4),
                    ];
                    max_err = e.iter().fold(max_err, |a, &b| a.max(b));
                }
                if all_rows {
                    // identical operations in identical order
                    assert_eq!(w, rw);
                    assert_eq!(avg, &ra);
                }
            }
        }
        max_err
    }

    #[test]
    fn all_rows_touched_equals_dense_adam() {
        for threads in [1, 2, 3] {
            assert_eq!(run(threads, true, REBASE_STEPS), 0.0);
        }
    }

    #[test]
    fn lazy_rows_match_dense_adam() {
        for (threads, rebase) in [(1, REBASE_STEPS), (2, REBASE_STEPS), (2, 7)] {
            let e = run(threads, false, rebase);
            assert!(e < 1e-5, "threads {threads} rebase {rebase}: max error {e}");
        }
    }
}
