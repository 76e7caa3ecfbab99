//! The network: parameters in one flat buffer (so the optimiser, gradient reduction and
//! serialisation are single loops), the per-chunk input features, the activations
//! workspace, and the forward/backward passes over all tokens of a batch at once.
//!
//! ```text
//! NORM/PREFIX/SUFFIX/SHAPE rows ─► 4 hash tables (Σ of n_hashes rows) ─┐
//! static vectors (frozen) ─► linear projection ───────────────────────┴► concat
//!   ─► Maxout(p pieces) ─► LayerNorm ─► Dropout                      = h0
//!   ─► depth × [ h ← h + Dropout(LN(Maxout(window(h)))) ]            (window ±win)
//!   ─► optional [ h ← h + Dropout(LN(Linear(Attention(h)))) ]       (±attention_window)
//!   ─► Linear ─► softmax over BILUO tags
//! ```

use crate::attention::{attn_bwd, attn_fwd, Shape};
use crate::layers::*;
use jner_corpus::rng::Rng;

/// One named tensor inside [`Params::data`].
#[derive(Clone, Debug)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub offset: usize,
    pub len: usize,
}

/// All trainable parameters, contiguous.
#[derive(Clone, Debug)]
pub struct Params {
    pub data: Vec<f32>,
    pub tensors: Vec<Tensor>,
}

impl Params {
    fn add(&mut self, name: &str, shape: &[usize]) -> usize {
        let len = shape.iter().product();
        self.tensors.push(Tensor {
            name: name.to_string(),
            shape: shape.to_vec(),
            offset: self.data.len(),
            len,
        });
        self.data.resize(self.data.len() + len, 0.0);
        self.tensors.len() - 1
    }
    pub fn get(&self, id: usize) -> &[f32] {
        let t = &self.tensors[id];
        &self.data[t.offset..t.offset + t.len]
    }
    fn get_mut(&mut self, id: usize) -> &mut [f32] {
        let t = &self.tensors[id];
        &mut self.data[t.offset..t.offset + t.len]
    }
}

/// Sizes that define the network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dims {
    pub width: usize,
    pub pieces: usize,
    pub depth: usize,
    pub window: usize,
    pub n_tags: usize,
    pub n_hashes: usize,
    pub rows: [usize; 4],
    /// Dimension of the static vectors (0: none).
    pub vec_dim: usize,
    /// Width of their projection (0: none).
    pub vec_width: usize,
    /// Heads of the attention layer over the CNN output (0: no attention layer).
    pub heads: usize,
    /// Tokens on each side the attention layer sees.
    pub att_window: usize,
}

impl Dims {
    pub fn din(&self) -> usize {
        4 * self.width + self.vec_width
    }
    pub fn kw(&self) -> usize {
        (2 * self.window + 1) * self.width
    }
    pub fn stride(&self) -> usize {
        4 * self.n_hashes
    }
    /// Tokens of context on each side that one token's output depends on.
    pub fn receptive(&self) -> usize {
        self.depth * self.window + if self.heads > 0 { self.att_window } else { 0 }
    }

    /// The number of parameters [`Net::new`] allocates, computed without allocating (with
    /// saturating arithmetic, so absurd dimensions give a huge count, not an overflow).
    pub fn n_params(&self) -> usize {
        let (w, p) = (self.width, self.pieces);
        let m = |a: usize, b: usize| a.saturating_mul(b);
        let emb = m(
            self.rows.iter().fold(0usize, |s, r| s.saturating_add(*r)),
            w,
        );
        let proj = m(self.vec_width, self.vec_dim);
        let embed = m(m(w, p), self.din())
            .saturating_add(m(w, p))
            .saturating_add(2 * w);
        let layer = m(m(w, p), self.kw())
            .saturating_add(m(w, p))
            .saturating_add(2 * w);
        let out = m(self.n_tags, w).saturating_add(self.n_tags);
        let att = if self.heads > 0 {
            m(4 * w, w)
                .saturating_add(6 * w)
                .saturating_add(m(self.heads, 2 * self.att_window + 1))
        } else {
            0
        };
        emb.saturating_add(proj)
            .saturating_add(att)
            .saturating_add(embed)
            .saturating_add(m(layer, self.depth))
            .saturating_add(out)
    }
}

#[derive(Clone, Debug)]
struct Ids {
    emb: [usize; 4],
    proj: Option<usize>,
    m0w: usize,
    ln0g: usize,
    layers: Vec<(usize, usize)>, // (maxout W, ln g); b follow each
    att: Option<AttIds>,
    outw: usize,
}

/// The attention layer's tensors (each weight is followed by its bias).
#[derive(Clone, Copy, Debug)]
struct AttIds {
    qkv: usize,
    rel: usize,
    out: usize,
    lng: usize,
}

/// The network with its parameters.
#[derive(Clone, Debug)]
pub struct Net {
    pub dims: Dims,
    pub params: Params,
    ids: Ids,
}

/// Features of the tokens of one chunk (one or more pieces laid end to end).
#[derive(Clone, Debug, Default)]
pub struct Input {
    pub n: usize,
    /// `rows[t * stride + a * n_hashes + q]`.
    pub rows: Vec<u32>,
    /// Row of the static-vector table, `u32::MAX` when the word has none.
    pub vec_rows: Vec<u32>,
    /// Tokens of the same piece before / after each token.
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    /// Gold tag per token (training only).
    pub gold: Vec<u16>,
}

impl Input {
    pub fn clear(&mut self) {
        self.n = 0;
        self.rows.clear();
        self.vec_rows.clear();
        self.left.clear();
        self.right.clear();
        self.gold.clear();
    }
}

/// Activations and scratch buffers, reused across calls (grown, never shrunk).
#[derive(Default)]
pub struct Work {
    v: Vec<f32>,
    vp: Vec<f32>,
    x0: Vec<f32>,
    pre: Vec<f32>,
    m: Vec<f32>,
    ln: Vec<f32>,
    arg: Vec<Vec<u8>>,
    xhat: Vec<Vec<f32>>,
    rstd: Vec<Vec<f32>>,
    mask: Vec<Vec<f32>>,
    h: Vec<Vec<f32>>,
    xw: Vec<Vec<f32>>,
    /// The attention layer: `[q k v]`, weights, context, its projection, LayerNorm stats,
    /// dropout mask, the layer's output (the encoder's top), and the backward scratch.
    qkv: Vec<f32>,
    att: Vec<f32>,
    ctx: Vec<f32>,
    ay: Vec<f32>,
    axhat: Vec<f32>,
    arstd: Vec<f32>,
    amask: Vec<f32>,
    top: Vec<f32>,
    dctx: Vec<f32>,
    dqkv: Vec<f32>,
    logits: Vec<f32>,
    /// Softmax output of the last forward pass, `[n, n_tags]`.
    pub probs: Vec<f32>,
    dl: Vec<f32>,
    dh: Vec<f32>,
    dm: Vec<f32>,
    dxw: Vec<f32>,
    dx0: Vec<f32>,
}

fn grow<T: Clone + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
}

/// Frozen static vectors as the network sees them.
pub struct StaticTable<'a> {
    pub dim: usize,
    pub data: &'a [f32],
}

impl Net {
    /// A freshly initialised network (hash tables U(−0.1, 0.1), maxout/projection
    /// Glorot-uniform, LayerNorm gain 1, output layer zero as in spaCy).
    pub fn new(dims: Dims, seed: u64) -> Net {
        let mut params = Params {
            data: Vec::new(),
            tensors: Vec::new(),
        };
        let w = dims.width;
        let p = dims.pieces;
        let names = ["norm", "prefix", "suffix", "shape"];
        let emb =
            [0, 1, 2, 3].map(|a| params.add(&format!("embed.{}", names[a]), &[dims.rows[a], w]));
        let proj = (dims.vec_width > 0)
            .then(|| params.add("static.proj", &[dims.vec_width, dims.vec_dim]));
        let m0w = params.add("embed.maxout.W", &[w * p, dims.din()]);
        params.add("embed.maxout.b", &[w * p]);
        let ln0g = params.add("embed.ln.g", &[w]);
        params.add("embed.ln.b", &[w]);
        let mut layers = Vec::new();
        for l in 0..dims.depth {
            let mw = params.add(&format!("enc{l}.maxout.W"), &[w * p, dims.kw()]);
            params.add(&format!("enc{l}.maxout.b"), &[w * p]);
            let g = params.add(&format!("enc{l}.ln.g"), &[w]);
            params.add(&format!("enc{l}.ln.b"), &[w]);
            layers.push((mw, g));
        }
        let att = (dims.heads > 0).then(|| AttIds {
            qkv: {
                let id = params.add("att.qkv.W", &[3 * w, w]);
                params.add("att.qkv.b", &[3 * w]);
                id
            },
            rel: params.add("att.rel", &[dims.heads, 2 * dims.att_window + 1]),
            out: {
                let id = params.add("att.out.W", &[w, w]);
                params.add("att.out.b", &[w]);
                id
            },
            lng: {
                let id = params.add("att.ln.g", &[w]);
                params.add("att.ln.b", &[w]);
                id
            },
        });
        let outw = params.add("out.W", &[dims.n_tags, w]);
        params.add("out.b", &[dims.n_tags]);
        let ids = Ids {
            emb,
            proj,
            m0w,
            ln0g,
            layers,
            att,
            outw,
        };
        let mut rng = Rng::new(seed);
        for id in emb {
            for v in params.get_mut(id) {
                *v = (rng.next_f32() * 2.0 - 1.0) * 0.1;
            }
        }
        let mut glorot = |params: &mut Params, id: usize| {
            let sh = params.tensors[id].shape.clone();
            let lim = (6.0 / (sh[0] + sh[1]) as f32).sqrt();
            for v in params.get_mut(id) {
                *v = (rng.next_f32() * 2.0 - 1.0) * lim;
            }
        };
        if let Some(pj) = proj {
            glorot(&mut params, pj);
        }
        glorot(&mut params, m0w);
        params.get_mut(ln0g).fill(1.0);
        for &(mw, g) in &ids.layers {
            glorot(&mut params, mw);
            params.get_mut(g).fill(1.0);
        }
        if let Some(a) = ids.att {
            glorot(&mut params, a.qkv);
            glorot(&mut params, a.out);
            params.get_mut(a.lng).fill(1.0);
        }
        Net { dims, params, ids }
    }

    /// Build a network around loaded parameter data (checked against the layout).
    pub fn from_data(dims: Dims, data: Vec<f32>) -> Result<Net, String> {
        let mut net = Net::new(dims, 0);
        if data.len() != net.params.data.len() {
            return Err(format!(
                "expected {} parameters, found {}",
                net.params.data.len(),
                data.len()
            ));
        }
        net.params.data = data;
        Ok(net)
    }

    /// The hash tables, which come first in the parameter buffer, as the optimiser's lazily
    /// updated region (rows of `width` floats).
    pub(crate) fn sparse(&self) -> crate::optim::Sparse {
        let w = self.dims.width;
        let tables = self
            .ids
            .emb
            .iter()
            .map(|&id| {
                let t = &self.params.tensors[id];
                t.offset / w..(t.offset + t.len) / w
            })
            .collect();
        crate::optim::Sparse { width: w, tables }
    }

    /// Push the sparse-region rows (see [`Net::sparse`]) that `inp` reads onto `out`, each
    /// once: `mark[row]` is set to `stamp` when pushed (use a fresh stamp per batch).
    pub fn touched_rows(&self, inp: &Input, mark: &mut [u32], stamp: u32, out: &mut Vec<u32>) {
        let d = self.dims;
        let w = d.width;
        let stride = d.stride();
        let bases: Vec<u32> = self
            .ids
            .emb
            .iter()
            .map(|&id| (self.params.tensors[id].offset / w) as u32)
            .collect();
        for tok in inp.rows[..inp.n * stride].chunks_exact(stride) {
            for (j, &r) in tok.iter().enumerate() {
                let g = bases[j / d.n_hashes] + r;
                let m = &mut mark[g as usize];
                if *m != stamp {
                    *m = stamp;
                    out.push(g);
                }
            }
        }
    }

    fn att_shape(&self, n: usize) -> Shape {
        Shape {
            n,
            width: self.dims.width,
            heads: self.dims.heads,
            window: self.dims.att_window,
        }
    }

    fn wb<'a>(&self, data: &'a [f32], id: usize) -> (&'a [f32], &'a [f32]) {
        let t = &self.params.tensors[id];
        let t2 = &self.params.tensors[id + 1];
        (
            &data[t.offset..t.offset + t.len],
            &data[t2.offset..t2.offset + t2.len],
        )
    }

    fn wb_mut<'a>(&self, g: &'a mut [f32], id: usize) -> (&'a mut [f32], &'a mut [f32]) {
        let t = &self.params.tensors[id];
        let t2 = &self.params.tensors[id + 1];
        debug_assert_eq!(t.offset + t.len, t2.offset);
        let (a, b) = g[t.offset..t2.offset + t2.len].split_at_mut(t.len);
        (a, b)
    }

    /// Forward pass over `inp`; with `dropout = Some((rng, rate))` draws dropout masks and
    /// keeps what [`Net::backward`] needs. Probabilities end in `work.probs`.
    pub fn forward(
        &self,
        inp: &Input,
        vectors: Option<&StaticTable>,
        work: &mut Work,
        mut dropout: Option<(&mut Rng, f32)>,
    ) {
        let d = self.dims;
        let (n, w, p) = (inp.n, d.width, d.pieces);
        let din = d.din();
        let kw = d.kw();
        let data = &self.params.data;
        grow(&mut work.x0, n * din);
        grow(&mut work.pre, n * w * p);
        grow(&mut work.m, n * w);
        grow(&mut work.ln, n * w);
        let layers = d.depth + 1;
        work.arg.resize_with(layers, Vec::new);
        work.xhat.resize_with(layers, Vec::new);
        work.rstd.resize_with(layers, Vec::new);
        work.mask.resize_with(layers, Vec::new);
        work.h.resize_with(layers, Vec::new);
        work.xw.resize_with(layers, Vec::new);
        for l in 0..layers {
            grow(&mut work.arg[l], n * w);
            grow(&mut work.xhat[l], n * w);
            grow(&mut work.rstd[l], n);
            grow(&mut work.h[l], n * w);
            if dropout.is_some() {
                grow(&mut work.mask[l], n * w);
            }
            if l > 0 {
                grow(&mut work.xw[l], n * kw);
            }
        }
        // embeddings
        for a in 0..4 {
            hash_embed_fwd(
                self.params.get(self.ids.emb[a]),
                w,
                &inp.rows,
                d.stride(),
                a * d.n_hashes,
                d.n_hashes,
                n,
                &mut work.x0,
                din,
                a * w,
            );
        }
        if let (Some(pid), Some(vt)) = (self.ids.proj, vectors) {
            let dv = d.vec_dim;
            grow(&mut work.v, n * dv);
            grow(&mut work.vp, n * d.vec_width);
            for t in 0..n {
                let r = inp.vec_rows[t];
                let dst = &mut work.v[t * dv..(t + 1) * dv];
                if r == u32::MAX {
                    dst.fill(0.0);
                } else {
                    let r = r as usize;
                    dst.copy_from_slice(&vt.data[r * dv..(r + 1) * dv]);
                }
            }
            linear_fwd(
                &work.v,
                n,
                dv,
                self.params.get(pid),
                None,
                d.vec_width,
                &mut work.vp,
            );
            for t in 0..n {
                work.x0[t * din + 4 * w..(t + 1) * din]
                    .copy_from_slice(&work.vp[t * d.vec_width..(t + 1) * d.vec_width]);
            }
        } else if d.vec_width > 0 {
            for t in 0..n {
                work.x0[t * din + 4 * w..(t + 1) * din].fill(0.0);
            }
        }
        // layer 0: maxout + LN + dropout
        for l in 0..layers {
            let (mw, mb, lg, lb) = if l == 0 {
                let (a, b) = self.wb(data, self.ids.m0w);
                let (c, e) = self.wb(data, self.ids.ln0g);
                (a, b, c, e)
            } else {
                let (mwid, gid) = self.ids.layers[l - 1];
                let (a, b) = self.wb(data, mwid);
                let (c, e) = self.wb(data, gid);
                (a, b, c, e)
            };
            if l == 0 {
                maxout_fwd(
                    &work.x0,
                    n,
                    din,
                    mw,
                    mb,
                    w,
                    p,
                    &mut work.pre,
                    &mut work.m,
                    &mut work.arg[0],
                );
            } else {
                let (hp, rest) = work.h.split_at_mut(l);
                let _ = rest;
                window_fwd(
                    &hp[l - 1],
                    n,
                    w,
                    d.window,
                    &inp.left,
                    &inp.right,
                    &mut work.xw[l],
                );
                maxout_fwd(
                    &work.xw[l],
                    n,
                    kw,
                    mw,
                    mb,
                    w,
                    p,
                    &mut work.pre,
                    &mut work.m,
                    &mut work.arg[l],
                );
            }
            ln_fwd(
                &work.m,
                n,
                w,
                lg,
                lb,
                &mut work.ln,
                &mut work.xhat[l],
                &mut work.rstd[l],
            );
            if let Some((rng, rate)) = dropout.as_mut() {
                let keep = 1.0 / (1.0 - *rate);
                for v in work.mask[l][..n * w].iter_mut() {
                    *v = if rng.next_f32() < *rate { 0.0 } else { keep };
                }
                for (x, m) in work.ln[..n * w].iter_mut().zip(&work.mask[l][..n * w]) {
                    *x *= m;
                }
            }
            let (hp, hl) = work.h.split_at_mut(l);
            let hl = &mut hl[0][..n * w];
            if l == 0 {
                hl.copy_from_slice(&work.ln[..n * w]);
            } else {
                for ((o, a), b) in hl
                    .iter_mut()
                    .zip(&hp[l - 1][..n * w])
                    .zip(&work.ln[..n * w])
                {
                    *o = a + b;
                }
            }
        }
        if let Some(a) = self.ids.att {
            let sh = self.att_shape(n);
            grow(&mut work.qkv, n * 3 * w);
            grow(&mut work.att, n * d.heads * (2 * d.att_window + 1));
            grow(&mut work.ctx, n * w);
            grow(&mut work.ay, n * w);
            grow(&mut work.axhat, n * w);
            grow(&mut work.arstd, n);
            grow(&mut work.top, n * w);
            let (qw, qb) = self.wb(data, a.qkv);
            attn_fwd(
                sh,
                &work.h[d.depth],
                &inp.left,
                &inp.right,
                qw,
                qb,
                self.params.get(a.rel),
                &mut work.qkv,
                &mut work.att,
                &mut work.ctx,
            );
            let (aw, ab) = self.wb(data, a.out);
            linear_fwd(&work.ctx, n, w, aw, Some(ab), w, &mut work.ay);
            let (lg, lb) = self.wb(data, a.lng);
            ln_fwd(
                &work.ay,
                n,
                w,
                lg,
                lb,
                &mut work.ln,
                &mut work.axhat,
                &mut work.arstd,
            );
            if let Some((rng, rate)) = dropout.as_mut() {
                grow(&mut work.amask, n * w);
                let keep = 1.0 / (1.0 - *rate);
                for v in work.amask[..n * w].iter_mut() {
                    *v = if rng.next_f32() < *rate { 0.0 } else { keep };
                }
                for (x, m) in work.ln[..n * w].iter_mut().zip(&work.amask[..n * w]) {
                    *x *= m;
                }
            }
            for ((o, a), b) in work.top[..n * w]
                .iter_mut()
                .zip(&work.h[d.depth][..n * w])
                .zip(&work.ln[..n * w])
            {
                *o = a + b;
            }
        }
        // output
        let t = d.n_tags;
        grow(&mut work.logits, n * t);
        grow(&mut work.probs, n * t);
        let (ow, ob) = self.wb(data, self.ids.outw);
        let top = if self.ids.att.is_some() {
            &work.top
        } else {
            &work.h[d.depth]
        };
        linear_fwd(top, n, w, ow, Some(ob), t, &mut work.logits);
        softmax_ce(&work.logits, n, t, &mut work.probs, None);
    }

    /// Backward pass after a training [`Net::forward`]: accumulates `scale ·` the gradient of
    /// the summed token NLL into `grads` (same layout as the parameters); returns the NLL.
    pub fn backward(
        &self,
        inp: &Input,
        vectors: Option<&StaticTable>,
        work: &mut Work,
        grads: &mut [f32],
        scale: f32,
        dropout: bool,
    ) -> f64 {
        self.backward_smoothed(inp, vectors, work, grads, scale, dropout, 0.0)
    }

    /// [`Net::backward`] with label smoothing `smoothing` on the tag targets.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_smoothed(
        &self,
        inp: &Input,
        vectors: Option<&StaticTable>,
        work: &mut Work,
        grads: &mut [f32],
        scale: f32,
        dropout: bool,
        smoothing: f32,
    ) -> f64 {
        self.backward_custom(inp, vectors, work, grads, dropout, |logits, probs, dl| {
            softmax_ce_smoothed(
                logits,
                inp.n,
                self.dims.n_tags,
                probs,
                Some((&inp.gold, scale, dl)),
                smoothing,
            )
        })
    }

    /// Backward pass after a training [`Net::forward`] for any loss on the output layer's
    /// logits: `loss(logits [n, n_tags], probs scratch, dlogits)` returns the loss and writes
    /// its gradient w.r.t. the logits (already scaled); the parameter gradients are
    /// accumulated into `grads`. [`Net::backward`] is this with the tag cross-entropy; `jner
    /// pretrain` uses it with its own objective on a wider output layer.
    pub fn backward_custom(
        &self,
        inp: &Input,
        vectors: Option<&StaticTable>,
        work: &mut Work,
        grads: &mut [f32],
        dropout: bool,
        loss: impl FnOnce(&[f32], &mut Vec<f32>, &mut [f32]) -> f64,
    ) -> f64 {
        let d = self.dims;
        let (n, w, p) = (inp.n, d.width, d.pieces);
        let din = d.din();
        let kw = d.kw();
        let t = d.n_tags;
        let data = &self.params.data;
        grow(&mut work.dl, n * t);
        grow(&mut work.dh, n * w);
        grow(&mut work.dm, n * w);
        grow(&mut work.dxw, n * kw);
        grow(&mut work.dx0, n * din);
        let loss = loss(
            &work.logits[..n * t],
            &mut work.probs,
            &mut work.dl[..n * t],
        );
        {
            let (ow, _) = self.wb(data, self.ids.outw);
            let (dw, db) = self.wb_mut(grads, self.ids.outw);
            let top = if self.ids.att.is_some() {
                &work.top
            } else {
                &work.h[d.depth]
            };
            linear_bwd(top, n, w, ow, t, &work.dl, dw, Some(db), Some(&mut work.dh));
        }
        if let Some(a) = self.ids.att {
            // dh holds the gradient of the top; the residual passes it through unchanged and
            // the attention branch adds its own
            let sh = self.att_shape(n);
            let dln = &mut work.ln[..n * w];
            dln.copy_from_slice(&work.dh[..n * w]);
            if dropout {
                for (x, m) in dln.iter_mut().zip(&work.amask[..n * w]) {
                    *x *= m;
                }
            }
            {
                let (g, _) = self.wb(data, a.lng);
                let (dg, db) = self.wb_mut(grads, a.lng);
                ln_bwd(dln, n, w, g, &work.axhat, &work.arstd, &mut work.dm, dg, db);
            }
            grow(&mut work.dctx, n * w);
            grow(&mut work.dqkv, n * 3 * w);
            {
                let (aw, _) = self.wb(data, a.out);
                let (dw, db) = self.wb_mut(grads, a.out);
                linear_bwd(
                    &work.ctx,
                    n,
                    w,
                    aw,
                    w,
                    &work.dm,
                    dw,
                    Some(db),
                    Some(&mut work.dctx),
                );
            }
            let (qw, _) = self.wb(data, a.qkv);
            let tq = &self.params.tensors[a.qkv];
            let tr = &self.params.tensors[a.rel];
            // att.qkv.W, att.qkv.b and att.rel are laid out one after the other
            let (gq, rest) = grads[tq.offset..tr.offset + tr.len].split_at_mut(tq.len);
            let (gb, gr) = rest.split_at_mut(3 * w);
            attn_bwd(
                sh,
                &work.h[d.depth],
                &inp.left,
                &inp.right,
                qw,
                &work.qkv,
                &work.att,
                &work.dctx,
                &mut work.dqkv,
                gq,
                gb,
                gr,
                &mut work.dh,
            );
        }
        for l in (0..=d.depth).rev() {
            // dln = dh ⊙ mask (into work.ln as scratch)
            let dln = &mut work.ln[..n * w];
            dln.copy_from_slice(&work.dh[..n * w]);
            if dropout {
                for (x, m) in dln.iter_mut().zip(&work.mask[l][..n * w]) {
                    *x *= m;
                }
            }
            let (gid, mwid) = if l == 0 {
                (self.ids.ln0g, self.ids.m0w)
            } else {
                (self.ids.layers[l - 1].1, self.ids.layers[l - 1].0)
            };
            {
                let (g, _) = self.wb(data, gid);
                let (dg, db) = self.wb_mut(grads, gid);
                ln_bwd(
                    dln,
                    n,
                    w,
                    g,
                    &work.xhat[l],
                    &work.rstd[l],
                    &mut work.dm,
                    dg,
                    db,
                );
            }
            let (mw, _) = self.wb(data, mwid);
            let (dmw, dmb) = self.wb_mut(grads, mwid);
            if l == 0 {
                maxout_bwd(
                    &work.x0,
                    n,
                    din,
                    mw,
                    w,
                    p,
                    &work.arg[0],
                    &work.dm,
                    &mut work.pre,
                    dmw,
                    dmb,
                    Some(&mut work.dx0),
                );
            } else {
                maxout_bwd(
                    &work.xw[l],
                    n,
                    kw,
                    mw,
                    w,
                    p,
                    &work.arg[l],
                    &work.dm,
                    &mut work.pre,
                    dmw,
                    dmb,
                    Some(&mut work.dxw),
                );
                // residual: dh stays, plus the window branch
                window_bwd(
                    &work.dxw,
                    n,
                    w,
                    d.window,
                    &inp.left,
                    &inp.right,
                    &mut work.dh,
                );
            }
        }
        for a in 0..4 {
            let tsr = &self.params.tensors[self.ids.emb[a]];
            hash_embed_bwd(
                &mut grads[tsr.offset..tsr.offset + tsr.len],
                w,
                &inp.rows,
                d.stride(),
                a * d.n_hashes,
                d.n_hashes,
                n,
                &work.dx0,
                din,
                a * w,
            );
        }
        if let (Some(pid), Some(_)) = (self.ids.proj, vectors) {
            let vw = d.vec_width;
            for tk in 0..n {
                work.vp[tk * vw..(tk + 1) * vw]
                    .copy_from_slice(&work.dx0[tk * din + 4 * w..(tk + 1) * din]);
            }
            let tsr = &self.params.tensors[pid];
            linear_bwd(
                &work.v,
                n,
                d.vec_dim,
                self.params.get(pid),
                vw,
                &work.vp,
                &mut grads[tsr.offset..tsr.offset + tsr.len],
                None,
                None,
            );
        }
        loss
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::tests::check_floor;

    fn tiny_dims(vec: bool) -> Dims {
        tiny_dims_att(vec, false)
    }

    fn tiny_dims_att(vec: bool, att: bool) -> Dims {
        Dims {
            width: 6,
            pieces: 2,
            depth: 2,
            window: 1,
            n_tags: 5,
            n_hashes: 2,
            rows: [11, 5, 7, 7],
            vec_dim: if vec { 4 } else { 0 },
            vec_width: if vec { 3 } else { 0 },
            heads: if att { 2 } else { 0 },
            att_window: if att { 2 } else { 0 },
        }
    }

    fn tiny_input(d: &Dims, rng: &mut Rng) -> Input {
        let n = 7;
        let mut inp = Input {
            n,
            left: vec![0, 1, 2, 0, 1, 2, 3],
            right: vec![2, 1, 0, 3, 2, 1, 0],
            ..Default::default()
        };
        for _ in 0..n {
            for a in 0..4 {
                for _ in 0..d.n_hashes {
                    inp.rows.push(rng.below(d.rows[a]) as u32);
                }
            }
            inp.vec_rows.push(if rng.below(3) == 0 {
                u32::MAX
            } else {
                rng.below(5) as u32
            });
            inp.gold.push(rng.below(d.n_tags) as u16);
        }
        inp
    }

    /// The lazy optimiser only visits the rows `touched_rows` reports: every other row of the
    /// hash tables must have an exactly zero gradient.
    #[test]
    fn gradient_is_zero_outside_touched_rows() {
        let d = tiny_dims(false);
        let mut net = Net::new(d, 3);
        let mut rng = Rng::new(4);
        for v in net.params.get_mut(net.ids.outw) {
            *v = rng.next_f32() - 0.5;
        }
        let inp = tiny_input(&d, &mut rng);
        let mut work = Work::default();
        net.forward(&inp, None, &mut work, None);
        let mut grads = vec![0.0; net.params.data.len()];
        net.backward(&inp, None, &mut work, &mut grads, 1.0, false);
        let sp = net.sparse();
        assert_eq!(sp.len(), d.rows.iter().sum::<usize>() * d.width);
        let mut mark = vec![0u32; sp.tables.last().unwrap().end];
        let mut touched = Vec::new();
        net.touched_rows(&inp, &mut mark, 1, &mut touched);
        let mut sorted = touched.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), touched.len(), "rows reported twice");
        let w = d.width;
        let mut nonzero = 0;
        for r in 0..mark.len() {
            let g = &grads[r * w..(r + 1) * w];
            if touched.contains(&(r as u32)) {
                nonzero += g.iter().any(|&x| x != 0.0) as usize;
            } else {
                assert!(g.iter().all(|&x| x == 0.0), "row {r} has a gradient");
            }
        }
        assert!(nonzero > 0);
    }

    /// End-to-end check of every parameter tensor of the whole network (no dropout).
    #[test]
    fn grad_whole_network() {
        for (vec, att) in [(false, false), (true, false), (false, true), (true, true)] {
            let d = tiny_dims_att(vec, att);
            let mut net = Net::new(d, 7);
            let mut rng = Rng::new(9);
            // non-zero output layer so that every gradient is non-trivial
            let ow = net.ids.outw;
            for v in net.params.get_mut(ow) {
                *v = rng.next_f32() - 0.5;
            }
            // well-conditioned inputs for the LayerNorms (tiny tables would make σ tiny)
            for a in 0..4 {
                for v in net.params.get_mut(net.ids.emb[a]) {
                    *v *= 10.0;
                }
            }
            let inp = tiny_input(&d, &mut rng);
            let vdata: Vec<f32> = (0..5 * 4).map(|_| rng.next_f32() - 0.5).collect();
            let vt = StaticTable {
                dim: 4,
                data: &vdata,
            };
            let vt = vec.then_some(&vt);
            let mut work = Work::default();
            net.forward(&inp, vt, &mut work, None);
            let mut grads = vec![0.0; net.params.data.len()];
            net.backward(&inp, vt, &mut work, &mut grads, 1.0, false);
            let args0: Vec<Vec<u8>> = work.arg.clone();
            let tensors = net.params.tensors.clone();
            for tsr in &tensors {
                let mut x = net.params.data[tsr.offset..tsr.offset + tsr.len].to_vec();
                let ana = grads[tsr.offset..tsr.offset + tsr.len].to_vec();
                let mut probe = net.clone();
                let mut wk = Work::default();
                // relative to the tensor's gradient scale: f32 forward passes leave
                // ~1e-4 absolute noise in the difference quotient
                let scale = ana.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
                let floor = (0.05 * scale).max(1e-2);
                check_floor(&tsr.name, &mut x, &ana, 3e-3, 2e-2, floor, |x| {
                    probe.params.data[tsr.offset..tsr.offset + tsr.len].copy_from_slice(x);
                    probe.forward(&inp, vt, &mut wk, None);
                    if wk.arg.iter().zip(&args0).any(|(a, b)| a[..] != b[..]) {
                        return None;
                    }
                    let k = d.n_tags;
                    Some(
                        (0..inp.n)
                            .map(|t| -(wk.probs[t * k + inp.gold[t] as usize] as f64).ln())
                            .sum(),
                    )
                });
            }
        }
    }
}
