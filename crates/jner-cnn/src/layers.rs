//! The layers of the network as free functions over row-major slices, each with its
//! backward pass. Shapes are given as `[rows, cols]`; `n` is the number of tokens.
//! Backward functions *accumulate* into parameter gradients and *overwrite* input
//! gradients unless stated otherwise.

use crate::linalg::{gemm_nn, gemm_nt, gemm_tn};

pub const LN_EPS: f32 = 1e-5;

/// Maxout: `pre = x · Wᵀ + b` with `W: [o*p, i]` (row `o*p + k` is piece `k` of output `o`),
/// `out[t, o] = max_k pre[t, o*p + k]`, `arg` keeps the winning piece.
#[allow(clippy::too_many_arguments)]
pub fn maxout_fwd(
    x: &[f32],
    n: usize,
    i: usize,
    w: &[f32],
    b: &[f32],
    o: usize,
    p: usize,
    pre: &mut [f32],
    out: &mut [f32],
    arg: &mut [u8],
) {
    let op = o * p;
    for t in 0..n {
        pre[t * op..(t + 1) * op].copy_from_slice(&b[..op]);
    }
    gemm_nt(n, i, op, x, w, 1.0, pre);
    for t in 0..n {
        let row = &pre[t * op..(t + 1) * op];
        let orow = &mut out[t * o..(t + 1) * o];
        let arow = &mut arg[t * o..(t + 1) * o];
        for k in 0..o {
            let pieces = &row[k * p..(k + 1) * p];
            let mut best = 0;
            let mut bv = pieces[0];
            for (j, &v) in pieces.iter().enumerate().skip(1) {
                if v > bv {
                    bv = v;
                    best = j;
                }
            }
            orow[k] = bv;
            arow[k] = best as u8;
        }
    }
}

/// Backward of [`maxout_fwd`]: `dpre` is scratch `[n, o*p]`; `dw += dpreᵀ·x`,
/// `db += Σ dpre`, `dx = dpre · W` when given.
#[allow(clippy::too_many_arguments)]
pub fn maxout_bwd(
    x: &[f32],
    n: usize,
    i: usize,
    w: &[f32],
    o: usize,
    p: usize,
    arg: &[u8],
    dout: &[f32],
    dpre: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
) {
    let op = o * p;
    let dpre = &mut dpre[..n * op];
    dpre.fill(0.0);
    for t in 0..n {
        for k in 0..o {
            let g = dout[t * o + k];
            let j = t * op + k * p + arg[t * o + k] as usize;
            dpre[j] = g;
            db[k * p + arg[t * o + k] as usize] += g;
        }
    }
    gemm_tn(op, n, i, dpre, x, 1.0, dw);
    if let Some(dx) = dx {
        gemm_nn(n, op, i, dpre, w, 0.0, dx);
    }
}

/// Layer normalisation per row: `out = g ⊙ (x − μ)/σ + b`, keeping `xhat` and `1/σ`.
#[allow(clippy::too_many_arguments)]
pub fn ln_fwd(
    x: &[f32],
    n: usize,
    w: usize,
    g: &[f32],
    b: &[f32],
    out: &mut [f32],
    xhat: &mut [f32],
    rstd: &mut [f32],
) {
    for t in 0..n {
        let row = &x[t * w..(t + 1) * w];
        let mean = row.iter().sum::<f32>() / w as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / w as f32;
        let r = 1.0 / (var + LN_EPS).sqrt();
        rstd[t] = r;
        let xh = &mut xhat[t * w..(t + 1) * w];
        let o = &mut out[t * w..(t + 1) * w];
        for j in 0..w {
            xh[j] = (row[j] - mean) * r;
            o[j] = xh[j] * g[j] + b[j];
        }
    }
}

/// Backward of [`ln_fwd`]: `dx` overwritten, `dg`, `db` accumulated.
#[allow(clippy::too_many_arguments)]
pub fn ln_bwd(
    dy: &[f32],
    n: usize,
    w: usize,
    g: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    dx: &mut [f32],
    dg: &mut [f32],
    db: &mut [f32],
) {
    for t in 0..n {
        let dyr = &dy[t * w..(t + 1) * w];
        let xh = &xhat[t * w..(t + 1) * w];
        let mut s1 = 0.0f32;
        let mut s2 = 0.0f32;
        for j in 0..w {
            let d = dyr[j] * g[j];
            s1 += d;
            s2 += d * xh[j];
            dg[j] += dyr[j] * xh[j];
            db[j] += dyr[j];
        }
        let m1 = s1 / w as f32;
        let m2 = s2 / w as f32;
        let r = rstd[t];
        let dxr = &mut dx[t * w..(t + 1) * w];
        for j in 0..w {
            dxr[j] = r * (dyr[j] * g[j] - m1 - xh[j] * m2);
        }
    }
}

/// Window concatenation: `xw[t] = [h[t−win] … h[t] … h[t+win]]`, zeros outside the piece.
/// `left[t]`/`right[t]` count the tokens of the same piece before/after `t`.
pub fn window_fwd(
    h: &[f32],
    n: usize,
    w: usize,
    win: usize,
    left: &[u32],
    right: &[u32],
    xw: &mut [f32],
) {
    let k = 2 * win + 1;
    for t in 0..n {
        let row = &mut xw[t * k * w..(t + 1) * k * w];
        for s in 0..k {
            let dst = &mut row[s * w..(s + 1) * w];
            let ok = if s < win {
                (win - s) as u32 <= left[t]
            } else {
                (s - win) as u32 <= right[t]
            };
            if ok {
                let src = t + s - win;
                dst.copy_from_slice(&h[src * w..(src + 1) * w]);
            } else {
                dst.fill(0.0);
            }
        }
    }
}

/// Backward of [`window_fwd`]: accumulates into `dh`.
pub fn window_bwd(
    dxw: &[f32],
    n: usize,
    w: usize,
    win: usize,
    left: &[u32],
    right: &[u32],
    dh: &mut [f32],
) {
    let k = 2 * win + 1;
    for t in 0..n {
        let row = &dxw[t * k * w..(t + 1) * k * w];
        for s in 0..k {
            let ok = if s < win {
                (win - s) as u32 <= left[t]
            } else {
                (s - win) as u32 <= right[t]
            };
            if ok {
                let dst = t + s - win;
                for (a, b) in dh[dst * w..(dst + 1) * w]
                    .iter_mut()
                    .zip(&row[s * w..(s + 1) * w])
                {
                    *a += b;
                }
            }
        }
    }
}

/// Hash embedding of one table: `out[t, off..off+w] = Σ_q table[rows[t*stride + q]]`.
#[allow(clippy::too_many_arguments)]
pub fn hash_embed_fwd(
    table: &[f32],
    w: usize,
    rows: &[u32],
    stride: usize,
    first: usize,
    n_hashes: usize,
    n: usize,
    out: &mut [f32],
    out_stride: usize,
    off: usize,
) {
    for t in 0..n {
        let dst = &mut out[t * out_stride + off..t * out_stride + off + w];
        let r0 = rows[t * stride + first] as usize;
        dst.copy_from_slice(&table[r0 * w..(r0 + 1) * w]);
        for q in 1..n_hashes {
            let r = rows[t * stride + first + q] as usize;
            for (a, b) in dst.iter_mut().zip(&table[r * w..(r + 1) * w]) {
                *a += b;
            }
        }
    }
}

/// Backward of [`hash_embed_fwd`]: scatter-add into the table gradient.
#[allow(clippy::too_many_arguments)]
pub fn hash_embed_bwd(
    dtable: &mut [f32],
    w: usize,
    rows: &[u32],
    stride: usize,
    first: usize,
    n_hashes: usize,
    n: usize,
    dout: &[f32],
    out_stride: usize,
    off: usize,
) {
    for t in 0..n {
        let src = &dout[t * out_stride + off..t * out_stride + off + w];
        for q in 0..n_hashes {
            let r = rows[t * stride + first + q] as usize;
            for (a, b) in dtable[r * w..(r + 1) * w].iter_mut().zip(src) {
                *a += b;
            }
        }
    }
}

/// Linear layer `y = x · Wᵀ + b` (`W: [o, i]`), `y` written with row stride `ys` at column `yoff`.
#[allow(clippy::too_many_arguments)]
pub fn linear_fwd(
    x: &[f32],
    n: usize,
    i: usize,
    w: &[f32],
    b: Option<&[f32]>,
    o: usize,
    y: &mut [f32],
) {
    match b {
        Some(b) => {
            for t in 0..n {
                y[t * o..(t + 1) * o].copy_from_slice(&b[..o]);
            }
            gemm_nt(n, i, o, x, w, 1.0, y);
        }
        None => gemm_nt(n, i, o, x, w, 0.0, y),
    }
}

/// Backward of [`linear_fwd`].
#[allow(clippy::too_many_arguments)]
pub fn linear_bwd(
    x: &[f32],
    n: usize,
    i: usize,
    w: &[f32],
    o: usize,
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) {
    gemm_tn(o, n, i, dy, x, 1.0, dw);
    if let Some(db) = db {
        for t in 0..n {
            for (a, b) in db.iter_mut().zip(&dy[t * o..(t + 1) * o]) {
                *a += b;
            }
        }
    }
    if let Some(dx) = dx {
        gemm_nn(n, o, i, dy, w, 0.0, dx);
    }
}

/// Softmax of each row of `logits` into `probs`; when `gold` is given returns the summed
/// negative log-likelihood (f64) and writes `dlogits = scale·(probs − onehot)`.
pub fn softmax_ce(
    logits: &[f32],
    n: usize,
    k: usize,
    probs: &mut [f32],
    gold: Option<(&[u16], f32, &mut [f32])>,
) -> f64 {
    softmax_ce_smoothed(logits, n, k, probs, gold, 0.0)
}

/// [`softmax_ce`] against the label-smoothed target `(1 − ε)·onehot + ε/k` (the returned
/// loss stays the plain NLL of the gold tag, for reporting).
pub fn softmax_ce_smoothed(
    logits: &[f32],
    n: usize,
    k: usize,
    probs: &mut [f32],
    gold: Option<(&[u16], f32, &mut [f32])>,
    smoothing: f32,
) -> f64 {
    for t in 0..n {
        let row = &logits[t * k..(t + 1) * k];
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let pr = &mut probs[t * k..(t + 1) * k];
        let mut s = 0.0f32;
        for j in 0..k {
            pr[j] = (row[j] - m).exp();
            s += pr[j];
        }
        let inv = 1.0 / s;
        for v in pr.iter_mut() {
            *v *= inv;
        }
    }
    let mut loss = 0.0f64;
    if let Some((gold, scale, dl)) = gold {
        for t in 0..n {
            let g = gold[t] as usize;
            let pr = &probs[t * k..(t + 1) * k];
            loss -= (pr[g].max(1e-30) as f64).ln();
            let d = &mut dl[t * k..(t + 1) * k];
            let off = smoothing / k as f32;
            let on = 1.0 - smoothing + off;
            for j in 0..k {
                d[j] = scale * (pr[j] - if j == g { on } else { off });
            }
        }
    }
    loss
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jner_corpus::rng::Rng;

    pub fn randv(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| (rng.next_f32() * 2.0 - 1.0) * scale)
            .collect()
    }

    /// Readout loss `Σ r ⊙ y` in f64.
    fn dot64(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    /// Check an analytic gradient against central finite differences of `f` at every
    /// coordinate of `x` (or a sample of them). `f` returns None where a kink is crossed.
    pub fn check(
        name: &str,
        x: &mut [f32],
        analytic: &[f32],
        eps: f32,
        tol: f64,
        f: impl FnMut(&[f32]) -> Option<f64>,
    ) {
        check_floor(name, x, analytic, eps, tol, 1e-2, f)
    }

    /// [`check`] with an explicit floor under the denominator of the relative error (f32
    /// forward passes make tiny gradients noisy in absolute terms).
    pub fn check_floor(
        name: &str,
        x: &mut [f32],
        analytic: &[f32],
        eps: f32,
        tol: f64,
        floor: f64,
        mut f: impl FnMut(&[f32]) -> Option<f64>,
    ) {
        let mut checked = 0;
        let step = (x.len() / 200).max(1);
        let mut worst = 0.0f64;
        for j in (0..x.len()).step_by(step) {
            let orig = x[j];
            x[j] = orig + eps;
            let fp = f(x);
            x[j] = orig - eps;
            let fm = f(x);
            x[j] = orig;
            let (Some(fp), Some(fm)) = (fp, fm) else {
                continue;
            };
            let num = (fp - fm) / (2.0 * eps as f64);
            let a = analytic[j] as f64;
            let rel = (num - a).abs() / (num.abs().max(a.abs()).max(floor));
            worst = worst.max(rel);
            assert!(
                rel < tol,
                "{name}[{j}]: analytic {a} vs numeric {num} (rel {rel})"
            );
            checked += 1;
        }
        assert!(
            checked > x.len().min(200) / 2,
            "{name}: too few coordinates checked"
        );
    }

    #[test]
    fn grad_maxout() {
        let mut rng = Rng::new(1);
        let (n, i, o, p) = (5, 7, 4, 3);
        let mut x = randv(&mut rng, n * i, 1.0);
        let mut w = randv(&mut rng, o * p * i, 1.0);
        let mut b = randv(&mut rng, o * p, 0.5);
        let r = randv(&mut rng, n * o, 1.0);
        let fwd = |x: &[f32], w: &[f32], b: &[f32]| {
            let mut pre = vec![0.0; n * o * p];
            let mut out = vec![0.0; n * o];
            let mut arg = vec![0u8; n * o];
            maxout_fwd(x, n, i, w, b, o, p, &mut pre, &mut out, &mut arg);
            (out, arg)
        };
        let (_, arg0) = fwd(&x, &w, &b);
        let mut dpre = vec![0.0; n * o * p];
        let mut dw = vec![0.0; w.len()];
        let mut db = vec![0.0; b.len()];
        let mut dx = vec![0.0; x.len()];
        maxout_bwd(
            &x,
            n,
            i,
            &w,
            o,
            p,
            &arg0,
            &r,
            &mut dpre,
            &mut dw,
            &mut db,
            Some(&mut dx),
        );
        let loss = |out: &[f32], arg: &[u8]| (arg == &arg0[..]).then(|| dot64(out, &r));
        let (w2, b2) = (w.clone(), b.clone());
        check("maxout.dx", &mut x, &dx, 1e-3, 1e-2, |x| {
            let (o, a) = fwd(x, &w2, &b2);
            loss(&o, &a)
        });
        let x2 = x.clone();
        check("maxout.dw", &mut w, &dw, 1e-3, 1e-2, |w| {
            let (o, a) = fwd(&x2, w, &b2);
            loss(&o, &a)
        });
        let w2 = w.clone();
        check("maxout.db", &mut b, &db, 1e-3, 1e-2, |b| {
            let (o, a) = fwd(&x2, &w2, b);
            loss(&o, &a)
        });
    }

    #[test]
    fn grad_layernorm() {
        let mut rng = Rng::new(2);
        let (n, w) = (4, 9);
        let mut x = randv(&mut rng, n * w, 2.0);
        let mut g = randv(&mut rng, w, 1.0);
        let mut b = randv(&mut rng, w, 1.0);
        let r = randv(&mut rng, n * w, 1.0);
        let fwd = |x: &[f32], g: &[f32], b: &[f32]| {
            let mut out = vec![0.0; n * w];
            let mut xh = vec![0.0; n * w];
            let mut rs = vec![0.0; n];
            ln_fwd(x, n, w, g, b, &mut out, &mut xh, &mut rs);
            (out, xh, rs)
        };
        let (_, xh, rs) = fwd(&x, &g, &b);
        let mut dx = vec![0.0; x.len()];
        let mut dg = vec![0.0; w];
        let mut db = vec![0.0; w];
        ln_bwd(&r, n, w, &g, &xh, &rs, &mut dx, &mut dg, &mut db);
        let (g2, b2) = (g.clone(), b.clone());
        check("ln.dx", &mut x, &dx, 1e-3, 1e-2, |x| {
            Some(dot64(&fwd(x, &g2, &b2).0, &r))
        });
        let x2 = x.clone();
        check("ln.dg", &mut g, &dg, 1e-3, 1e-2, |g| {
            Some(dot64(&fwd(&x2, g, &b2).0, &r))
        });
        let g2 = g.clone();
        check("ln.db", &mut b, &db, 1e-3, 1e-2, |b| {
            Some(dot64(&fwd(&x2, &g2, b).0, &r))
        });
    }

    /// One full encoder layer: `h' = h + LN(maxout(window(h)))`.
    #[test]
    fn grad_window_encoder_layer_with_residual() {
        let mut rng = Rng::new(3);
        let (n, w, p, win) = (7, 5, 3, 1);
        // two pieces: tokens 0..3 and 3..7
        let left: Vec<u32> = vec![0, 1, 2, 0, 1, 2, 3];
        let right: Vec<u32> = vec![2, 1, 0, 3, 2, 1, 0];
        let k = (2 * win + 1) * w;
        let mut h = randv(&mut rng, n * w, 1.0);
        let mut wm = randv(&mut rng, w * p * k, 0.5);
        let bm = randv(&mut rng, w * p, 0.1);
        let g = randv(&mut rng, w, 1.0);
        let bl = randv(&mut rng, w, 0.5);
        let r = randv(&mut rng, n * w, 1.0);
        struct Fw {
            out: Vec<f32>,
            xw: Vec<f32>,
            arg: Vec<u8>,
            xh: Vec<f32>,
            rs: Vec<f32>,
        }
        let fwd = |h: &[f32], wm: &[f32]| {
            let mut xw = vec![0.0; n * k];
            window_fwd(h, n, w, win, &left, &right, &mut xw);
            let mut pre = vec![0.0; n * w * p];
            let mut m = vec![0.0; n * w];
            let mut arg = vec![0u8; n * w];
            maxout_fwd(&xw, n, k, wm, &bm, w, p, &mut pre, &mut m, &mut arg);
            let mut ln = vec![0.0; n * w];
            let mut xh = vec![0.0; n * w];
            let mut rs = vec![0.0; n];
            ln_fwd(&m, n, w, &g, &bl, &mut ln, &mut xh, &mut rs);
            let out: Vec<f32> = h.iter().zip(&ln).map(|(a, b)| a + b).collect();
            Fw {
                out,
                xw,
                arg,
                xh,
                rs,
            }
        };
        let f0 = fwd(&h, &wm);
        // backward
        let mut dm = vec![0.0; n * w];
        let mut dg = vec![0.0; w];
        let mut dbl = vec![0.0; w];
        ln_bwd(&r, n, w, &g, &f0.xh, &f0.rs, &mut dm, &mut dg, &mut dbl);
        let mut dpre = vec![0.0; n * w * p];
        let mut dwm = vec![0.0; wm.len()];
        let mut dbm = vec![0.0; bm.len()];
        let mut dxw = vec![0.0; n * k];
        maxout_bwd(
            &f0.xw,
            n,
            k,
            &wm,
            w,
            p,
            &f0.arg,
            &dm,
            &mut dpre,
            &mut dwm,
            &mut dbm,
            Some(&mut dxw),
        );
        let mut dh = r.clone(); // residual
        window_bwd(&dxw, n, w, win, &left, &right, &mut dh);
        let arg0 = f0.arg.clone();
        let wm2 = wm.clone();
        check("window.dh", &mut h, &dh, 1e-3, 2e-2, |h| {
            let f = fwd(h, &wm2);
            (f.arg == arg0).then(|| dot64(&f.out, &r))
        });
        let h2 = h.clone();
        check("window.dW", &mut wm, &dwm, 1e-3, 2e-2, |wm| {
            let f = fwd(&h2, wm);
            (f.arg == arg0).then(|| dot64(&f.out, &r))
        });
    }

    #[test]
    fn grad_hash_embed() {
        let mut rng = Rng::new(4);
        let (rows, w, nh, n) = (6, 4, 3, 5);
        let mut table = randv(&mut rng, rows * w, 0.1);
        let idx: Vec<u32> = (0..n * nh).map(|_| rng.below(rows) as u32).collect();
        let r = randv(&mut rng, n * 2 * w, 1.0);
        let fwd = |tb: &[f32]| {
            let mut out = vec![0.0; n * 2 * w];
            hash_embed_fwd(tb, w, &idx, nh, 0, nh, n, &mut out, 2 * w, w);
            out
        };
        let mut dt = vec![0.0; table.len()];
        hash_embed_bwd(&mut dt, w, &idx, nh, 0, nh, n, &r, 2 * w, w);
        check("hash_embed.dE", &mut table, &dt, 1e-3, 1e-2, |t| {
            Some(dot64(&fwd(t), &r))
        });
    }

    #[test]
    fn grad_output_softmax_ce() {
        let mut rng = Rng::new(5);
        let (n, i, k) = (6, 5, 7);
        let mut x = randv(&mut rng, n * i, 1.0);
        let mut w = randv(&mut rng, k * i, 1.0);
        let mut b = randv(&mut rng, k, 1.0);
        let gold: Vec<u16> = (0..n).map(|_| rng.below(k) as u16).collect();
        let lossf = |x: &[f32], w: &[f32], b: &[f32]| {
            let mut lg = vec![0.0; n * k];
            linear_fwd(x, n, i, w, Some(b), k, &mut lg);
            let mut pr = vec![0.0; n * k];
            let mut dl = vec![0.0; n * k];
            softmax_ce(&lg, n, k, &mut pr, Some((&gold, 1.0, &mut dl)))
        };
        let mut lg = vec![0.0; n * k];
        linear_fwd(&x, n, i, &w, Some(&b), k, &mut lg);
        let mut pr = vec![0.0; n * k];
        let mut dl = vec![0.0; n * k];
        softmax_ce(&lg, n, k, &mut pr, Some((&gold, 1.0, &mut dl)));
        let mut dw = vec![0.0; w.len()];
        let mut db = vec![0.0; k];
        let mut dx = vec![0.0; x.len()];
        linear_bwd(&x, n, i, &w, k, &dl, &mut dw, Some(&mut db), Some(&mut dx));
        let (w2, b2) = (w.clone(), b.clone());
        check("out.dx", &mut x, &dx, 1e-3, 1e-2, |x| {
            Some(lossf(x, &w2, &b2))
        });
        let x2 = x.clone();
        check("out.dw", &mut w, &dw, 1e-3, 1e-2, |w| {
            Some(lossf(&x2, w, &b2))
        });
        let w2 = w.clone();
        check("out.db", &mut b, &db, 1e-3, 1e-2, |b| {
            Some(lossf(&x2, &w2, b))
        });
    }

    /// The static-vector projection is a bias-free linear layer on frozen rows.
    #[test]
    fn grad_static_vector_projection() {
        let mut rng = Rng::new(6);
        let (n, dv, o) = (5, 6, 4);
        let v = randv(&mut rng, n * dv, 1.0);
        let mut p = randv(&mut rng, o * dv, 1.0);
        let r = randv(&mut rng, n * o, 1.0);
        let fwd = |p: &[f32]| {
            let mut y = vec![0.0; n * o];
            linear_fwd(&v, n, dv, p, None, o, &mut y);
            y
        };
        let mut dp = vec![0.0; p.len()];
        linear_bwd(&v, n, dv, &p, o, &r, &mut dp, None, None);
        check("static.dP", &mut p, &dp, 1e-3, 1e-2, |p| {
            Some(dot64(&fwd(p), &r))
        });
    }
}
