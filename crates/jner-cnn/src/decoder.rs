//! BILUO tags and constrained Viterbi decoding.
//!
//! Tag ids: `0` = O; label `l` has `B = 1+4l`, `I = 2+4l`, `L = 3+4l`, `U = 4+4l`.
//! Valid sequences: after O/L/U/start only O, B-x, U-x; after B-x/I-x only I-x, L-x; the
//! last tag is O, L or U. Space tokens (line breaks, tab runs …) may only be O or I-x, so an
//! entity never starts or ends on one. Viterbi maximises the sum of log-probabilities of
//! the per-token softmax over valid sequences only, in O(n·tags).
//!
//! Confidence of an entity: the **geometric mean** of the softmax probabilities of its
//! tokens' decoded tags (in `[0, 1]`; one unsure token lowers it without being as harsh
//! as the product on long entities).

pub const O: u16 = 0;

#[inline]
pub fn tag(label: usize, kind: u16) -> u16 {
    1 + 4 * label as u16 + kind
}
pub const B: u16 = 0;
pub const I: u16 = 1;
pub const L: u16 = 2;
pub const U: u16 = 3;

#[inline]
pub fn kind(t: u16) -> u16 {
    (t - 1) % 4
}
#[inline]
pub fn label_of(t: u16) -> usize {
    ((t - 1) / 4) as usize
}

/// Whether `next` may follow `prev` (`None` = start of text).
pub fn valid_transition(prev: Option<u16>, next: u16, next_is_space: bool) -> bool {
    if next_is_space && next != O && kind(next) != I {
        return false;
    }
    let open = matches!(prev, Some(p) if p != O && (kind(p) == B || kind(p) == I));
    if open {
        let p = prev.unwrap_or(O);
        next != O && label_of(next) == label_of(p) && (kind(next) == I || kind(next) == L)
    } else {
        next == O || kind(next) == B || kind(next) == U
    }
}

/// Whether a sequence may end with `last`.
pub fn valid_end(last: u16) -> bool {
    last == O || kind(last) == L || kind(last) == U
}

/// Reusable buffers of the decoder.
#[derive(Default)]
pub struct Viterbi {
    score: Vec<f32>,
    next: Vec<f32>,
    back: Vec<u16>,
}

impl Viterbi {
    /// Best valid tag sequence for `probs: [n, 1+4·n_labels]` into `out`.
    pub fn decode(
        &mut self,
        probs: &[f32],
        n: usize,
        n_labels: usize,
        is_space: &[bool],
        out: &mut Vec<u16>,
    ) {
        let k = 1 + 4 * n_labels;
        out.clear();
        if n == 0 {
            return;
        }
        let ninf = f32::NEG_INFINITY;
        self.score.clear();
        self.score.resize(k, ninf);
        self.next.clear();
        self.next.resize(k, ninf);
        self.back.clear();
        self.back.resize(n * k, 0);
        let lp = |t: usize, j: usize| probs[t * k + j].max(1e-30).ln();
        // t = 0: previous state is "closed" (start)
        for j in 0..k as u16 {
            if valid_transition(None, j, is_space[0]) {
                self.score[j as usize] = lp(0, j as usize);
            }
        }
        #[allow(clippy::needless_range_loop)]
        for t in 1..n {
            // best closed predecessor
            let mut bc = O;
            let mut bcs = self.score[0];
            for l in 0..n_labels {
                for kd in [L, U] {
                    let j = tag(l, kd);
                    if self.score[j as usize] > bcs {
                        bcs = self.score[j as usize];
                        bc = j;
                    }
                }
            }
            let sp = is_space[t];
            let back = &mut self.back[t * k..(t + 1) * k];
            self.next[0] = bcs + lp(t, 0);
            back[0] = bc;
            for l in 0..n_labels {
                let (b, i, la, u) = (tag(l, B), tag(l, I), tag(l, L), tag(l, U));
                let (bs, is) = (self.score[b as usize], self.score[i as usize]);
                let (po, ps) = if bs >= is { (b, bs) } else { (i, is) };
                self.next[i as usize] = ps + lp(t, i as usize);
                back[i as usize] = po;
                if sp {
                    self.next[b as usize] = ninf;
                    self.next[la as usize] = ninf;
                    self.next[u as usize] = ninf;
                } else {
                    self.next[b as usize] = bcs + lp(t, b as usize);
                    back[b as usize] = bc;
                    self.next[u as usize] = bcs + lp(t, u as usize);
                    back[u as usize] = bc;
                    self.next[la as usize] = ps + lp(t, la as usize);
                    back[la as usize] = po;
                }
            }
            std::mem::swap(&mut self.score, &mut self.next);
        }
        let mut best = O;
        let mut bs = self.score[0];
        for j in 1..k as u16 {
            if valid_end(j) && self.score[j as usize] > bs {
                bs = self.score[j as usize];
                best = j;
            }
        }
        out.resize(n, O);
        out[n - 1] = best;
        for t in (1..n).rev() {
            out[t - 1] = self.back[t * k + out[t] as usize];
        }
    }
}

/// Entities `(first_token, last_token_exclusive, label, score)` of a valid tag sequence.
pub fn entities(tags: &[u16], probs: &[f32], n_tags: usize) -> Vec<(usize, usize, usize, f32)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut logsum = 0.0f64;
    for (t, &g) in tags.iter().enumerate() {
        if g == O {
            start = None;
            continue;
        }
        let lpv = (probs[t * n_tags + g as usize].max(1e-30) as f64).ln();
        match kind(g) {
            B => {
                start = Some(t);
                logsum = lpv;
            }
            I => logsum += lpv,
            L => {
                if let Some(s) = start.take() {
                    logsum += lpv;
                    let len = (t + 1 - s) as f64;
                    out.push((s, t + 1, label_of(g), (logsum / len).exp() as f32));
                }
            }
            _ => {
                out.push((t, t + 1, label_of(g), lpv.exp() as f32));
                start = None;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jner_corpus::rng::Rng;

    fn check_valid(tags: &[u16], space: &[bool]) {
        let mut prev = None;
        for (t, &g) in tags.iter().enumerate() {
            assert!(
                valid_transition(prev, g, space[t]),
                "invalid {prev:?} -> {g} at {t}: {tags:?}"
            );
            prev = Some(g);
        }
        if let Some(&l) = tags.last() {
            assert!(valid_end(l), "invalid end {tags:?}");
        }
    }

    #[test]
    fn random_scores_give_valid_sequences() {
        let mut rng = Rng::new(3);
        let mut v = Viterbi::default();
        let mut tags = Vec::new();
        for case in 0..2000 {
            let n_labels = 1 + rng.below(5);
            let k = 1 + 4 * n_labels;
            let n = rng.below(30);
            let mut probs: Vec<f32> = (0..n * k).map(|_| rng.next_f32().powi(4)).collect();
            if case % 7 == 0 {
                // adversarial: prefer I/L everywhere
                for t in 0..n {
                    for l in 0..n_labels {
                        probs[t * k + tag(l, I) as usize] = 1.0;
                    }
                }
            }
            for t in 0..n {
                let s: f32 = probs[t * k..(t + 1) * k].iter().sum::<f32>() + 1e-6;
                probs[t * k..(t + 1) * k].iter_mut().for_each(|p| *p /= s);
            }
            let space: Vec<bool> = (0..n).map(|_| rng.below(5) == 0).collect();
            v.decode(&probs, n, n_labels, &space, &mut tags);
            assert_eq!(tags.len(), n);
            check_valid(&tags, &space);
            for (s, e, l, sc) in entities(&tags, &probs, k) {
                assert!(s < e && e <= n && l < n_labels);
                assert!((0.0..=1.0).contains(&sc));
                assert!(!space[s] && !space[e - 1], "entity on a space token");
            }
        }
    }

    #[test]
    fn viterbi_matches_brute_force() {
        let mut rng = Rng::new(11);
        let mut v = Viterbi::default();
        let mut tags = Vec::new();
        for _ in 0..200 {
            let n_labels = 1 + rng.below(2);
            let k = 1 + 4 * n_labels;
            let n = 1 + rng.below(4);
            let probs: Vec<f32> = (0..n * k).map(|_| 0.01 + rng.next_f32()).collect();
            let space: Vec<bool> = (0..n).map(|_| rng.below(4) == 0).collect();
            v.decode(&probs, n, n_labels, &space, &mut tags);
            let score = |s: &[u16]| -> f32 {
                s.iter()
                    .enumerate()
                    .map(|(t, &g)| probs[t * k + g as usize].ln())
                    .sum()
            };
            // brute force over all k^n sequences
            let mut best = f32::NEG_INFINITY;
            let mut seq = vec![0u16; n];
            for code in 0..k.pow(n as u32) {
                let mut c = code;
                for x in seq.iter_mut() {
                    *x = (c % k) as u16;
                    c /= k;
                }
                let mut ok = valid_end(seq[n - 1]);
                let mut prev = None;
                for (t, &g) in seq.iter().enumerate() {
                    ok &= valid_transition(prev, g, space[t]);
                    prev = Some(g);
                }
                if ok {
                    best = best.max(score(&seq));
                }
            }
            assert!((score(&tags) - best).abs() < 1e-4, "{tags:?}");
        }
    }

    #[test]
    fn entity_scores() {
        // O B-0 L-0 U-1 with known probabilities
        let k = 9;
        let mut probs = vec![0.0f32; 4 * k];
        probs[0] = 1.0;
        probs[k + tag(0, B) as usize] = 0.5;
        probs[2 * k + tag(0, L) as usize] = 0.8;
        probs[3 * k + tag(1, U) as usize] = 0.9;
        let e = entities(&[O, tag(0, B), tag(0, L), tag(1, U)], &probs, k);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].0, e[0].1, e[0].2), (1, 3, 0));
        assert!((e[0].3 - (0.4f32).sqrt()).abs() < 1e-5);
        assert_eq!((e[1].0, e[1].1, e[1].2), (3, 4, 1));
        assert!((e[1].3 - 0.9).abs() < 1e-6);
    }
}
