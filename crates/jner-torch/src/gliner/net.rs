//! The GLiNER span network (`SpanModel` with `span_mode = markerV0`), parameters named as in
//! the library's state dict: `token_rep_layer.bert_layer.model.*` (the encoder),
//! `token_rep_layer.projection` (when the encoder's width is not `hidden_size`), `rnn.lstm.*`,
//! `span_rep_layer.span_rep_layer.{project_start,project_end,out_project}.{0,3}`,
//! `prompt_rep_layer.{0,3}`.

use tch::{nn, Device, Kind, Tensor};

use super::config::GlinerConfig;
use super::data::Batch;
use crate::dropout::dropout;
use crate::encoder::{Encoder, EncoderConfig};

/// Where the encoder's weights sit in the state dict.
pub const ENCODER_PREFIX: &str = "token_rep_layer.bert_layer.model.";

/// Optimiser groups of the head ("others" in the library's recipe): weights with decay and
/// biases without. The encoder's are [`DECAY_GROUP`] and [`NO_DECAY_GROUP`].
pub const HEAD_DECAY_GROUP: usize = 2;
pub const HEAD_NO_DECAY_GROUP: usize = 3;

/// `nn.Linear` with PyTorch's default initialisation (uniform ±1/√fan_in for weight and bias).
#[derive(Debug)]
pub struct TorchLinear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl TorchLinear {
    pub fn new(p: &nn::Path, din: i64, dout: i64) -> Self {
        let bound = 1.0 / (din as f64).sqrt();
        let u = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        TorchLinear {
            weight: p.set_group(HEAD_DECAY_GROUP).var("weight", &[dout, din], u),
            bias: p.set_group(HEAD_NO_DECAY_GROUP).var("bias", &[dout], u),
        }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

/// `Linear(din→4·dout) → ReLU → Dropout → Linear(4·dout→dout)` (indices 0 and 3, as
/// the library's `create_projection_layer`).
#[derive(Debug)]
pub struct Ffn {
    l0: TorchLinear,
    l3: TorchLinear,
    p: f64,
}

impl Ffn {
    pub fn new(p: &nn::Path, din: i64, dout: i64, dropout: f64) -> Self {
        Ffn {
            l0: TorchLinear::new(&(p / "0"), din, 4 * dout),
            l3: TorchLinear::new(&(p / "3"), 4 * dout, dout),
            p: dropout,
        }
    }
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        self.l3
            .forward(&dropout(&self.l0.forward(x).relu(), self.p, train))
    }
}

/// One-layer bidirectional LSTM over each row's true length (as `pack_padded_sequence`):
/// the backward direction reads each row reversed within its length; padded outputs are zero.
#[derive(Debug)]
pub struct BiLstm {
    fwd: [Tensor; 4],
    bwd: [Tensor; 4],
    hidden: i64,
}

impl BiLstm {
    pub fn new(p: &nn::Path, din: i64, hidden: i64) -> Self {
        let bound = 1.0 / (hidden as f64).sqrt();
        let u = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let mk = |suffix: &str| {
            let w = p.set_group(HEAD_DECAY_GROUP);
            let b = p.set_group(HEAD_NO_DECAY_GROUP);
            [
                w.var(&format!("weight_ih_l0{suffix}"), &[4 * hidden, din], u),
                w.var(&format!("weight_hh_l0{suffix}"), &[4 * hidden, hidden], u),
                b.var(&format!("bias_ih_l0{suffix}"), &[4 * hidden], u),
                b.var(&format!("bias_hh_l0{suffix}"), &[4 * hidden], u),
            ]
        };
        BiLstm {
            fwd: mk(""),
            bwd: mk("_reverse"),
            hidden,
        }
    }

    fn run(&self, x: &Tensor, params: &[Tensor; 4]) -> Tensor {
        let (b, _, _) = x.size3().expect("[b, w, d]");
        let h0 = Tensor::zeros([1, b, self.hidden], (x.kind(), x.device()));
        let params: Vec<&Tensor> = params.iter().collect();
        let (out, _, _) = x.lstm(&[&h0, &h0], &params, true, 1, 0.0, false, false, true);
        out
    }

    /// `x` `[b, w, d]`, `mask` `[b, w]` (1 on the first `len` words of a row), `rev` the
    /// per-row reversal index `[b, w]`.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, rev: &Tensor) -> Tensor {
        let d = x.size()[2];
        let idx = rev.unsqueeze(-1);
        let xr = x.gather(1, &idx.expand([-1, -1, d], false), false);
        let f = self.run(x, &self.fwd);
        let br = self.run(&xr, &self.bwd);
        let bk = br.gather(1, &idx.expand([-1, -1, self.hidden], false), false);
        Tensor::cat(&[f, bk], -1) * mask.unsqueeze(-1)
    }
}

struct Front {
    tokens: Tensor,
    words_pre_lstm: Tensor,
    words: Tensor,
    prompts: Tensor,
}

/// The stages of a forward pass.
#[derive(Debug)]
pub struct Parts {
    /// Projected token states `[b, t, d]`.
    pub tokens: Tensor,
    /// First-subword word vectors `[b, w, d]`.
    pub words_pre_lstm: Tensor,
    /// After the LSTM.
    pub words: Tensor,
    /// Label vectors after the prompt FFN `[b, c, d]`.
    pub prompts: Tensor,
    /// Span vectors `[b, w, max_width, d]`.
    pub spans: Tensor,
    pub logits: Tensor,
}

/// The network: encoder, projection, LSTM, span representation, prompt FFN.
#[derive(Debug)]
pub struct GlinerNet {
    pub vs: nn::VarStore,
    pub encoder: Encoder,
    pub encoder_config: EncoderConfig,
    projection: Option<TorchLinear>,
    rnn: Option<BiLstm>,
    project_start: Ffn,
    project_end: Ffn,
    out_project: Ffn,
    prompt_rep: Ffn,
    pub max_width: i64,
    pub hidden: i64,
}

impl GlinerNet {
    pub fn new(device: Device, cfg: &GlinerConfig, enc: &EncoderConfig) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let d = cfg.hidden_size;
        let h = enc.hidden_size();
        let encoder = {
            let p = &root / "token_rep_layer" / "bert_layer" / "model";
            Encoder::new(&p, enc)
        };
        let projection =
            (d != h).then(|| TorchLinear::new(&(&root / "token_rep_layer" / "projection"), h, d));
        let rnn = cfg
            .has_rnn
            .then(|| BiLstm::new(&(&root / "rnn" / "lstm"), d, d / 2));
        let sr = &root / "span_rep_layer" / "span_rep_layer";
        let p = cfg.dropout;
        GlinerNet {
            project_start: Ffn::new(&(&sr / "project_start"), d, d, p),
            project_end: Ffn::new(&(&sr / "project_end"), d, d, p),
            out_project: Ffn::new(&(&sr / "out_project"), 2 * d, d, p),
            prompt_rep: Ffn::new(&(&root / "prompt_rep_layer"), d, d, p),
            vs,
            encoder,
            encoder_config: enc.clone(),
            projection,
            rnn,
            max_width: cfg.max_width as i64,
            hidden: d,
        }
    }

    /// Whether `name` belongs to the encoder (the `--lr` group; the rest is "others").
    pub fn is_encoder_weight(name: &str) -> bool {
        name.starts_with("token_rep_layer.bert_layer.")
    }

    /// Logits `[b, w, max_width, c]` of a batch.
    ///
    /// The same function as the library's (and [`GlinerNet::forward_parts`]), factored so the
    /// wide layers run per word and per label instead of per span: `out_project`'s first
    /// Linear acts on `ReLU(cat(start, end))`, so it splits into a start half and an end
    /// half computed once per word and added per span; its last Linear and the dot product
    /// with a label vector fold into one vector per label (`W₂ᵀ·p`, plus `b₂·p`). Per span
    /// only an addition, a ReLU (and dropout) and a `4D × C` product remain, where the
    /// library multiplies `2D × 4D` and `4D × D` matrices for every span. Cells of spans past
    /// a row's end (never decoded, masked in the loss) are not the library's values.
    pub fn logits(&self, batch: &Batch, train: bool) -> Tensor {
        let f = self.front(batch, train);
        let (b, w, c) = (batch.b as i64, batch.w as i64, batch.c as i64);
        let d = self.hidden;
        let k = self.max_width;
        let s = self.project_start.forward(&f.words, train).relu();
        let e = self.project_end.forward(&f.words, train).relu();
        let l0 = &self.out_project.l0;
        let a = s.matmul(&l0.weight.narrow(1, 0, d).tr()); // [b, w, 4d]
        let z = e.matmul(&l0.weight.narrow(1, d, d).tr()) + &l0.bias;
        // span (i, j) = relu(a[i] + z[i + j]): z's rows i..i+K are a window of z padded with K-1
        // rows (a view, no gather); a span past the row's end reads a padding row (the library
        // computes the span (0, 0) there: either way a cell no loss or decoding reads)
        let z = z.pad([0, 0, 0, k - 1], "constant", Some(0.0));
        let zk = z.unfold(1, k, 1).transpose(-1, -2); // [b, w, k, 4d]
                                                      // a broadcast add would take zk's (overlapping) strides: start from a contiguous copy
        let mut sum = a.unsqueeze(2).expand([b, w, k, 4 * d], false).contiguous();
        sum += zk;
        // dropout(relu(x)) = relu(dropout(x)) (the mask is ≥ 0): mask first, then ReLU, both
        // in place on this [b, w·k, 4d] tensor, the largest of the step
        let p = self.out_project.p;
        if train && p > 0.0 {
            match crate::dropout::mask(&sum.size(), p, sum.device(), sum.kind()) {
                Some(m) => sum *= m,
                None => sum = sum.dropout(p, true),
            }
        }
        let h = sum.relu_().view([b, w * k, 4 * d]);
        let l3 = &self.out_project.l3;
        let q = f.prompts.matmul(&l3.weight); // [b, c, 4d]
        let bias = f.prompts.matmul(&l3.bias); // [b, c]
        (h.matmul(&q.transpose(1, 2)) + bias.unsqueeze(1)).view([b, w, k, c])
    }

    /// Every stage of the forward pass, computed as the library lays it out (span vectors
    /// first): the reference [`GlinerNet::logits`] is tested against.
    pub fn forward_parts(&self, batch: &Batch, train: bool) -> Parts {
        let f = self.front(batch, train);
        let (b, w, c) = (batch.b as i64, batch.w as i64, batch.c as i64);
        let d = self.hidden;
        let spans = self.span_rep(&f.words, &batch.lengths, batch.w, train); // [b, w, k, d]
        let logits = spans
            .view([b, w * self.max_width, d])
            .matmul(&f.prompts.transpose(1, 2))
            .view([b, w, self.max_width, c]);
        Parts {
            tokens: f.tokens,
            words_pre_lstm: f.words_pre_lstm,
            words: f.words,
            prompts: f.prompts,
            spans,
            logits,
        }
    }

    /// Encoder, projection, word and label vectors, LSTM.
    fn front(&self, batch: &Batch, train: bool) -> Front {
        let dev = self.vs.device();
        let (b, t, w, c) = (
            batch.b as i64,
            batch.t as i64,
            batch.w as i64,
            batch.c as i64,
        );
        let ids = Tensor::from_slice(&batch.input_ids)
            .view([b, t])
            .to_device(dev);
        let mask = Tensor::from_slice(&batch.attention_mask)
            .view([b, t])
            .to_device(dev);
        let mut hs = self.encoder.forward(&ids, &mask, train);
        if let Some(p) = &self.projection {
            hs = p.forward(&hs);
        }
        let d = self.hidden;
        let gather_rows = |pos: &[i64], n: i64| {
            let idx = Tensor::from_slice(pos).view([b, n, 1]).to_device(dev);
            hs.gather(1, &idx.expand([b, n, d], false), false)
        };
        let word_mask = Tensor::from_slice(&batch.word_mask)
            .view([b, w])
            .to_device(dev);
        let words = gather_rows(&batch.word_pos, w) * word_mask.unsqueeze(-1);
        let prompts = gather_rows(&batch.ent_pos, c);
        let prompts = self.prompt_rep.forward(&prompts, train);

        // rows' true lengths: LSTM mask and reversal index
        let mut len_mask = vec![0f32; (b * w) as usize];
        let mut rev = vec![0i64; (b * w) as usize];
        for r in 0..batch.b {
            let n = batch.lengths[r] as usize;
            for j in 0..batch.w {
                let k = r * batch.w + j;
                if j < n {
                    len_mask[k] = 1.0;
                    rev[k] = (n - 1 - j) as i64;
                } else {
                    rev[k] = j as i64;
                }
            }
        }
        let len_mask = Tensor::from_slice(&len_mask).view([b, w]).to_device(dev);
        let words_pre_lstm = words;
        let words = match &self.rnn {
            Some(rnn) => {
                let rev = Tensor::from_slice(&rev).view([b, w]).to_device(dev);
                rnn.forward(&words_pre_lstm, &len_mask, &rev)
            }
            None => words_pre_lstm.shallow_clone(),
        };
        Front {
            tokens: hs,
            words_pre_lstm,
            words,
            prompts,
        }
    }

    /// SpanMarkerV0: start and end projections gathered per span `(i, i+k)` (a span past the
    /// row's end is `(0, 0)`, as the library zeroes its indices), concatenated, ReLU,
    /// `out_project`.
    fn span_rep(&self, h: &Tensor, lengths: &[i64], w: usize, train: bool) -> Tensor {
        let dev = h.device();
        let (b, _, d) = h.size3().expect("[b, w, d]");
        let k = self.max_width as usize;
        let (starts, ends) = span_indices(lengths, w, k);
        let n = (w * k) as i64;
        let idx = |v: &[i64]| {
            Tensor::from_slice(v)
                .view([b, n, 1])
                .to_device(dev)
                .expand([b, n, d], false)
        };
        let s = self
            .project_start
            .forward(h, train)
            .gather(1, &idx(&starts), false);
        let e = self
            .project_end
            .forward(h, train)
            .gather(1, &idx(&ends), false);
        let cat = Tensor::cat(&[s, e], -1).relu();
        self.out_project
            .forward(&cat, train)
            .view([b, w as i64, self.max_width, d])
    }
}

/// Start and end word of every span `(row, i, k)` of a `[b, w, max_width]` grid, `(0, 0)`
/// for a span past the row's end (as the library zeroes its indices).
fn span_indices(lengths: &[i64], w: usize, k: usize) -> (Vec<i64>, Vec<i64>) {
    let mut starts = vec![0i64; lengths.len() * w * k];
    let mut ends = vec![0i64; lengths.len() * w * k];
    for (r, &n) in lengths.iter().enumerate() {
        for i in 0..w {
            for j in 0..k {
                if ((i + j) as i64) < n {
                    let at = (r * w + i) * k + j;
                    starts[at] = i as i64;
                    ends[at] = (i + j) as i64;
                }
            }
        }
    }
    (starts, ends)
}

/// Which spans `(row, i, k)` of a `[b, w, max_width]` grid are real: `i + k` below the row's
/// word count.
pub fn span_mask(lengths: &[i64], w: usize, k: usize, dev: Device) -> Tensor {
    let mut m = vec![0f32; lengths.len() * w * k];
    for (r, &n) in lengths.iter().enumerate() {
        for i in 0..w {
            for j in 0..k {
                if ((i + j) as i64) < n {
                    m[(r * w + i) * k + j] = 1.0;
                }
            }
        }
    }
    Tensor::from_slice(&m)
        .view([lengths.len() as i64, w as i64, k as i64])
        .to_device(dev)
}

/// Options of the loss (the library's `alpha`, `gamma`, reduction `sum`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossOptions {
    /// Weight of positives (negatives get `1 − alpha`); negative: off.
    pub alpha: f64,
    /// Focal exponent; 0: off.
    pub gamma: f64,
}

impl Default for LossOptions {
    fn default() -> Self {
        LossOptions {
            alpha: -1.0,
            gamma: 0.0,
        }
    }
}

/// Binary cross-entropy with logits over every (span, label) pair, masked (real spans, real
/// labels) and summed, with the focal options.
pub fn loss(logits: &Tensor, targets: &Tensor, mask: &Tensor, opts: LossOptions) -> Tensor {
    let mut l = logits.binary_cross_entropy_with_logits(
        targets,
        None::<Tensor>,
        None::<Tensor>,
        tch::Reduction::None,
    );
    if opts.gamma > 0.0 {
        let p = logits.sigmoid();
        let p_t = &p * targets + (1.0 - &p) * (1.0 - targets);
        let one_minus: Tensor = 1.0 - p_t;
        l *= one_minus.pow_tensor_scalar(opts.gamma);
    }
    if opts.alpha >= 0.0 {
        l *= targets * opts.alpha + (1.0 - targets) * (1.0 - opts.alpha);
    }
    (l * mask).sum(Kind::Float)
}
