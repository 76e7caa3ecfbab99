//! Windowed multi-head self-attention over the CNN's output, with a learned bias per head and
//! relative offset: the optional context layer of the encoder (`attention_heads > 0`).
//!
//! Token `t` attends to the tokens `j` of its own piece with `|j − t| ≤ K` (`K` =
//! `attention_window`): `s = q_t·k_j / √d_head + rel[head, j − t + K]`, `a = softmax_j(s)`,
//! `ctx_t = Σ_j a_j v_j`, with `[q k v] = h · W_qkvᵀ + b_qkv`. The window keeps the cost linear
//! in the text's length and the receptive field bounded, so long documents can still be run in
//! overlapping chunks with exactly the probabilities of one whole pass.
//!
//! Layouts: `qkv [n, 3w]` (q, then k, then v; head `e` owns columns `e·dh..(e+1)·dh` of each),
//! `att [n, heads, 2K+1]` (slot `j − t + K`; slots outside the piece or window are 0),
//! `ctx [n, w]`.

use crate::layers::linear_fwd;
use crate::linalg::{gemm_nn, gemm_tn};

/// The sizes of one attention layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub n: usize,
    pub width: usize,
    pub heads: usize,
    /// `K`: tokens on each side a token may attend to.
    pub window: usize,
}

impl Shape {
    fn dh(&self) -> usize {
        self.width / self.heads
    }
    fn slots(&self) -> usize {
        2 * self.window + 1
    }
    /// The range of `j` token `t` attends to.
    fn range(&self, t: usize, left: &[u32], right: &[u32]) -> (usize, usize) {
        let lo = t - (left[t] as usize).min(self.window);
        let hi = t + (right[t] as usize).min(self.window);
        (lo, hi)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Forward pass: fills `qkv`, `att` and `ctx` from `h` (`[n, w]`).
#[allow(clippy::too_many_arguments)]
pub fn attn_fwd(
    sh: Shape,
    h: &[f32],
    left: &[u32],
    right: &[u32],
    wqkv: &[f32],
    bqkv: &[f32],
    rel: &[f32],
    qkv: &mut [f32],
    att: &mut [f32],
    ctx: &mut [f32],
) {
    let Shape {
        n,
        width: w,
        heads,
        window: k,
    } = sh;
    let (dh, slots) = (sh.dh(), sh.slots());
    let scale = 1.0 / (dh as f32).sqrt();
    linear_fwd(h, n, w, wqkv, Some(bqkv), 3 * w, qkv);
    for t in 0..n {
        let (lo, hi) = sh.range(t, left, right);
        for e in 0..heads {
            let q = &qkv[t * 3 * w + e * dh..][..dh];
            let a = &mut att[(t * heads + e) * slots..][..slots];
            a.fill(0.0);
            let bias = &rel[e * slots..(e + 1) * slots];
            let mut m = f32::NEG_INFINITY;
            for j in lo..=hi {
                let s = j + k - t;
                let kj = &qkv[j * 3 * w + w + e * dh..][..dh];
                a[s] = dot(q, kj) * scale + bias[s];
                m = m.max(a[s]);
            }
            let mut sum = 0.0;
            for x in &mut a[lo + k - t..=hi + k - t] {
                *x = (*x - m).exp();
                sum += *x;
            }
            let inv = 1.0 / sum;
            let c = &mut ctx[t * w + e * dh..][..dh];
            c.fill(0.0);
            for j in lo..=hi {
                let s = j + k - t;
                a[s] *= inv;
                let vj = &qkv[j * 3 * w + 2 * w + e * dh..][..dh];
                for (ci, vi) in c.iter_mut().zip(vj) {
                    *ci += a[s] * vi;
                }
            }
        }
    }
}

/// Backward of [`attn_fwd`] given `dctx`: accumulates into `dwqkv`, `dbqkv`, `drel`, and
/// *adds* the gradient with respect to `h` into `dh` (the layer sits on a residual path);
/// `dqkv` (`[n, 3w]`) is scratch.
#[allow(clippy::too_many_arguments)]
pub fn attn_bwd(
    sh: Shape,
    h: &[f32],
    left: &[u32],
    right: &[u32],
    wqkv: &[f32],
    qkv: &[f32],
    att: &[f32],
    dctx: &[f32],
    dqkv: &mut [f32],
    dwqkv: &mut [f32],
    dbqkv: &mut [f32],
    drel: &mut [f32],
    dh: &mut [f32],
) {
    let Shape {
        n,
        width: w,
        heads,
        window: k,
    } = sh;
    let (dh_, slots) = (sh.dh(), sh.slots());
    let scale = 1.0 / (dh_ as f32).sqrt();
    let dqkv = &mut dqkv[..n * 3 * w];
    dqkv.fill(0.0);
    let mut ds = vec![0.0f32; slots];
    for t in 0..n {
        let (lo, hi) = sh.range(t, left, right);
        for e in 0..heads {
            let a = &att[(t * heads + e) * slots..][..slots];
            let dc = &dctx[t * w + e * dh_..][..dh_];
            // da_j = dc · v_j, dv_j += a_j dc
            let mut mean = 0.0;
            for j in lo..=hi {
                let s = j + k - t;
                let vo = j * 3 * w + 2 * w + e * dh_;
                ds[s] = dot(dc, &qkv[vo..vo + dh_]);
                mean += a[s] * ds[s];
                for (g, c) in dqkv[vo..vo + dh_].iter_mut().zip(dc) {
                    *g += a[s] * c;
                }
            }
            let qo = t * 3 * w + e * dh_;
            for j in lo..=hi {
                let s = j + k - t;
                let d = a[s] * (ds[s] - mean);
                drel[e * slots + s] += d;
                let d = d * scale;
                let ko = j * 3 * w + w + e * dh_;
                for i in 0..dh_ {
                    dqkv[qo + i] += d * qkv[ko + i];
                    dqkv[ko + i] += d * qkv[qo + i];
                }
            }
        }
    }
    gemm_tn(3 * w, n, w, dqkv, h, 1.0, dwqkv);
    for t in 0..n {
        for (b, g) in dbqkv.iter_mut().zip(&dqkv[t * 3 * w..(t + 1) * 3 * w]) {
            *b += g;
        }
    }
    gemm_nn(n, 3 * w, w, dqkv, wqkv, 1.0, dh);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::tests::{check, randv};
    use jner_corpus::rng::Rng;

    fn setup() -> (Shape, Vec<u32>, Vec<u32>) {
        // two pieces (4 and 5 tokens), window 2: some tokens see the whole window, some are
        // cut by a piece boundary
        let left = vec![0, 1, 2, 3, 0, 1, 2, 3, 4];
        let right = vec![3, 2, 1, 0, 4, 3, 2, 1, 0];
        let sh = Shape {
            n: 9,
            width: 6,
            heads: 2,
            window: 2,
        };
        (sh, left, right)
    }

    /// Readout `Σ r ⊙ ctx` through the layer, for finite differences.
    #[allow(clippy::too_many_arguments)]
    fn readout(
        sh: Shape,
        h: &[f32],
        left: &[u32],
        right: &[u32],
        wqkv: &[f32],
        bqkv: &[f32],
        rel: &[f32],
        r: &[f32],
    ) -> f64 {
        let (n, w) = (sh.n, sh.width);
        let mut qkv = vec![0.0; n * 3 * w];
        let mut att = vec![0.0; n * sh.heads * sh.slots()];
        let mut ctx = vec![0.0; n * w];
        attn_fwd(
            sh, h, left, right, wqkv, bqkv, rel, &mut qkv, &mut att, &mut ctx,
        );
        ctx.iter().zip(r).map(|(a, b)| *a as f64 * *b as f64).sum()
    }

    #[test]
    fn attention_rows_are_distributions_inside_piece_and_window() {
        let (sh, left, right) = setup();
        let mut rng = Rng::new(1);
        let (n, w) = (sh.n, sh.width);
        let h = randv(&mut rng, n * w, 1.0);
        let wqkv = randv(&mut rng, 3 * w * w, 0.5);
        let bqkv = randv(&mut rng, 3 * w, 0.1);
        let rel = randv(&mut rng, sh.heads * sh.slots(), 0.5);
        let mut qkv = vec![0.0; n * 3 * w];
        let mut att = vec![0.0; n * sh.heads * sh.slots()];
        let mut ctx = vec![0.0; n * w];
        attn_fwd(
            sh, &h, &left, &right, &wqkv, &bqkv, &rel, &mut qkv, &mut att, &mut ctx,
        );
        for t in 0..n {
            for e in 0..sh.heads {
                let a = &att[(t * sh.heads + e) * sh.slots()..][..sh.slots()];
                assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                for (s, &v) in a.iter().enumerate() {
                    let j = t as isize + s as isize - 2;
                    let piece = if t < 4 { 0..4 } else { 4..9 };
                    let inside = j >= 0 && piece.contains(&(j as usize));
                    assert_eq!(v > 0.0, inside, "token {t} head {e} slot {s}");
                }
            }
        }
        // token 0 (piece 0) never sees token 4 (piece 1): changing h[4] leaves ctx[0..4]
        let mut h2 = h.clone();
        h2[4 * w..5 * w].iter_mut().for_each(|v| *v += 3.0);
        let mut ctx2 = vec![0.0; n * w];
        attn_fwd(
            sh, &h2, &left, &right, &wqkv, &bqkv, &rel, &mut qkv, &mut att, &mut ctx2,
        );
        assert_eq!(ctx[..4 * w], ctx2[..4 * w]);
        assert_ne!(ctx[4 * w..5 * w], ctx2[4 * w..5 * w]);
    }

    #[test]
    fn grad_attention() {
        let (sh, left, right) = setup();
        let mut rng = Rng::new(5);
        let (n, w) = (sh.n, sh.width);
        let mut h = randv(&mut rng, n * w, 1.0);
        let mut wqkv = randv(&mut rng, 3 * w * w, 0.7);
        let mut bqkv = randv(&mut rng, 3 * w, 0.2);
        let mut rel = randv(&mut rng, sh.heads * sh.slots(), 0.5);
        let r = randv(&mut rng, n * w, 1.0);
        let mut qkv = vec![0.0; n * 3 * w];
        let mut att = vec![0.0; n * sh.heads * sh.slots()];
        let mut ctx = vec![0.0; n * w];
        attn_fwd(
            sh, &h, &left, &right, &wqkv, &bqkv, &rel, &mut qkv, &mut att, &mut ctx,
        );
        let mut dqkv = vec![0.0; n * 3 * w];
        let mut dw = vec![0.0; wqkv.len()];
        let mut db = vec![0.0; bqkv.len()];
        let mut drel = vec![0.0; rel.len()];
        // dh starts non-zero: the layer must add to it, not overwrite it
        let base = randv(&mut rng, n * w, 1.0);
        let mut dh = base.clone();
        attn_bwd(
            sh, &h, &left, &right, &wqkv, &qkv, &att, &r, &mut dqkv, &mut dw, &mut db, &mut drel,
            &mut dh,
        );
        let dh: Vec<f32> = dh.iter().zip(&base).map(|(a, b)| a - b).collect();
        let (w0, b0, r0, h0) = (wqkv.clone(), bqkv.clone(), rel.clone(), h.clone());
        check("attn.h", &mut h, &dh, 1e-3, 1e-2, |x| {
            Some(readout(sh, x, &left, &right, &w0, &b0, &r0, &r))
        });
        check("attn.Wqkv", &mut wqkv, &dw, 1e-3, 1e-2, |x| {
            Some(readout(sh, &h0, &left, &right, x, &b0, &r0, &r))
        });
        check("attn.bqkv", &mut bqkv, &db, 1e-3, 1e-2, |x| {
            Some(readout(sh, &h0, &left, &right, &w0, x, &r0, &r))
        });
        check("attn.rel", &mut rel, &drel, 1e-3, 1e-2, |x| {
            Some(readout(sh, &h0, &left, &right, &w0, &b0, x, &r))
        });
    }
}
