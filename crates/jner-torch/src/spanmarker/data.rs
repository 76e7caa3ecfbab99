//! SpanMarker's inputs, without libtorch: words and their subwords, windows over long
//! documents, candidate spans, samples packed with marker pairs, and batches with the 4-D
//! attention mask. Everything here is plain data so it can be tested exactly.

use std::collections::HashMap;

use tokenizers::Tokenizer;

use crate::bert::MASK_VALUE;
use crate::words::split_words;
use crate::{Result, TorchError};

/// The three lengths of SpanMarker's config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Text tokens per sample, CLS and SEP included.
    pub model_max_length: usize,
    /// Marker pairs per sample at most (`model_max_length + 2·marker_max_length` tokens in all).
    pub marker_max_length: usize,
    /// Longest candidate span, in words.
    pub entity_max_length: usize,
}

impl Layout {
    /// Text tokens of a window, CLS/SEP excluded.
    pub fn budget(&self, n_special: usize) -> usize {
        self.model_max_length.saturating_sub(n_special)
    }
    /// Tokens of a full sample: text plus all its markers.
    pub fn total(&self) -> usize {
        self.model_max_length + 2 * self.marker_max_length
    }
    /// Subwords kept per word so that any `entity_max_length` words plus the left context
    /// fit in one window (a word's later subwords are dropped beyond that: rare, long
    /// numbers or URLs).
    pub fn max_subwords_per_word(&self, n_special: usize) -> usize {
        let b = self.budget(n_special);
        ((b - b / 4) / self.entity_max_length.max(1)).max(1)
    }
    pub fn validate(&self, max_position_embeddings: usize, n_special: usize) -> Result<()> {
        let b = self.budget(n_special);
        if self.entity_max_length == 0 {
            return Err(TorchError::invalid("entity_max_length must be at least 1"));
        }
        if b < 2 * self.entity_max_length {
            return Err(TorchError::invalid(format!(
                "model_max_length {} is too small for entity_max_length {}: it must be at least {}",
                self.model_max_length,
                self.entity_max_length,
                2 * self.entity_max_length + n_special
            )));
        }
        if self.model_max_length + 2 > max_position_embeddings {
            return Err(TorchError::invalid(format!(
                "model_max_length {} + 2 exceeds the encoder's max_position_embeddings {} \
                 (SpanMarker offsets positions by 2)",
                self.model_max_length, max_position_embeddings
            )));
        }
        if self.marker_max_length == 0 {
            return Err(TorchError::invalid("marker_max_length must be at least 1"));
        }
        Ok(())
    }
}

/// The token ids SpanMarker needs besides the text's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecialIds {
    /// Before the text (`[CLS]`).
    pub prefix: Vec<i64>,
    /// After the text (`[SEP]`).
    pub suffix: Vec<i64>,
    pub pad: i64,
    pub start_marker: i64,
    pub end_marker: i64,
}

impl SpecialIds {
    pub fn n_special(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }
    /// Reads CLS/SEP from the tokenizer's post-processor and the marker ids from its vocabulary.
    pub fn from_tokenizer(tok: &Tokenizer, pad: i64) -> Result<Self> {
        let (prefix, suffix) = crate::hf::specials_around(tok)?;
        let id = |t: &str| {
            tok.token_to_id(t)
                .map(|i| i as i64)
                .ok_or_else(|| TorchError::Tokenizer(format!("the tokenizer has no `{t}` token")))
        };
        Ok(SpecialIds {
            prefix,
            suffix,
            pad,
            start_marker: id(START_MARKER)?,
            end_marker: id(END_MARKER)?,
        })
    }
}

pub const START_MARKER: &str = "<start>";
pub const END_MARKER: &str = "<end>";

/// A text cut into words with the subword ids of each.
#[derive(Clone, Debug, Default)]
pub struct TokDoc {
    /// Byte ranges of the words.
    pub words: Vec<(usize, usize)>,
    /// Subword ids of each word (possibly empty, at most the layout's per-word cap).
    pub subwords: Vec<Vec<i64>>,
}

/// Splits `text` into words (the span-model regex) and tokenizes them as a pre-split sequence.
pub fn tokenize(tok: &Tokenizer, text: &str, max_subwords_per_word: usize) -> Result<TokDoc> {
    let words = split_words(text);
    let mut subwords = vec![Vec::new(); words.len()];
    if !words.is_empty() {
        let strs: Vec<&str> = words.iter().map(|&(s, e)| &text[s..e]).collect();
        let enc = tok
            .encode(strs.as_slice(), false)
            .map_err(TorchError::tokenizer)?;
        for (&id, w) in enc.get_ids().iter().zip(enc.get_word_ids()) {
            if let Some(w) = w {
                let sw = &mut subwords[*w as usize];
                if sw.len() < max_subwords_per_word {
                    sw.push(id as i64);
                }
            }
        }
    }
    Ok(TokDoc { words, subwords })
}

/// A window over a document's words: the encoder sees words `start..end`; candidate spans
/// *starting* in `core_start..core_end` belong to this window. The cores of a document's
/// windows tile its words exactly, so every span is scored exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub core_start: usize,
    pub core_end: usize,
}

/// Cuts a document whose words have `counts[w]` subwords into windows of at most `budget`
/// subwords, with about `budget/4` subwords of left context, such that every span of up to
/// `max_span` words starting in a window's core lies inside that window. Needs every
/// `counts[w] ≤ (budget − budget/4) / max_span` (see [`Layout::max_subwords_per_word`]).
pub fn windows(counts: &[usize], budget: usize, max_span: usize) -> Vec<Window> {
    let n = counts.len();
    let left_target = budget / 4;
    let mut out = Vec::new();
    let mut core_start = 0;
    while core_start < n {
        let mut start = core_start;
        let mut used = 0;
        while start > 0 && used + counts[start - 1] <= left_target {
            start -= 1;
            used += counts[start];
        }
        let mut end = core_start;
        while end < n && used + counts[end] <= budget {
            used += counts[end];
            end += 1;
        }
        let end = end.max(core_start + 1);
        let core_end = if end == n {
            n
        } else {
            (end + 1).saturating_sub(max_span).max(core_start + 1)
        };
        out.push(Window {
            start,
            end,
            core_start,
            core_end,
        });
        core_start = core_end;
    }
    out
}

/// The candidate spans of a window, `(start_word, end_word_exclusive)` in document words,
/// ordered by start then length (as SpanMarker orders them).
pub fn window_spans(w: &Window, max_span: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for s in w.core_start..w.core_end {
        for e in s + 1..=(s + max_span).min(w.end) {
            out.push((s, e));
        }
    }
    out
}

/// One encoder input: a window's text and a chunk of its candidate spans.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Index of the document in the list given to [`build_samples`].
    pub doc: usize,
    /// Index of the window within its document: samples with the same `(doc, window)` share
    /// their text.
    pub window: usize,
    /// Text tokens, special tokens included.
    pub input_ids: Vec<i64>,
    /// Token index (in `input_ids`) of each span's first subword.
    pub start_positions: Vec<i64>,
    /// Token index of each span's last subword.
    pub end_positions: Vec<i64>,
    /// The spans, in document words.
    pub spans: Vec<(usize, usize)>,
    /// Label id of each span (training), else empty.
    pub labels: Vec<i64>,
}

/// Samples of one tokenized document. `gold` maps word spans to label ids (training); spans
/// not in it get `outside_id`.
pub fn build_samples(
    doc: usize,
    td: &TokDoc,
    gold: Option<&HashMap<(usize, usize), i64>>,
    outside_id: i64,
    layout: &Layout,
    special: &SpecialIds,
) -> Vec<Sample> {
    let counts: Vec<usize> = td.subwords.iter().map(Vec::len).collect();
    let budget = layout.budget(special.n_special());
    let mut out = Vec::new();
    for (wi, w) in windows(&counts, budget, layout.entity_max_length)
        .into_iter()
        .enumerate()
    {
        let mut input_ids = special.prefix.clone();
        // first and last token index of each word of the window (0 when it has no subword)
        let mut first = Vec::with_capacity(w.end - w.start);
        let mut last = Vec::with_capacity(w.end - w.start);
        for sw in &td.subwords[w.start..w.end] {
            if sw.is_empty() {
                first.push(0);
                last.push(0);
            } else {
                first.push(input_ids.len() as i64);
                input_ids.extend_from_slice(sw);
                last.push(input_ids.len() as i64 - 1);
            }
        }
        input_ids.extend_from_slice(&special.suffix);
        let spans = window_spans(&w, layout.entity_max_length);
        let n_tok = input_ids.len();
        // SpanMarker's `spread_sample`: as many pairs as the rest of the sample holds.
        let capacity = (layout.total().saturating_sub(n_tok) / 2).max(1);
        for chunk in spans.chunks(capacity) {
            out.push(Sample {
                doc,
                window: wi,
                input_ids: input_ids.clone(),
                start_positions: chunk.iter().map(|&(s, _)| first[s - w.start]).collect(),
                end_positions: chunk.iter().map(|&(_, e)| last[e - 1 - w.start]).collect(),
                spans: chunk.to_vec(),
                labels: match gold {
                    Some(g) => chunk
                        .iter()
                        .map(|sp| g.get(sp).copied().unwrap_or(outside_id))
                        .collect(),
                    None => Vec::new(),
                },
            });
        }
    }
    out
}

/// Maps byte spans to word spans `(first_word, last_word + 1)`: the words a span touches.
/// Returns `None` for a span that touches no word.
pub fn byte_span_to_words(
    words: &[(usize, usize)],
    start: usize,
    end: usize,
) -> Option<(usize, usize)> {
    let s = words.partition_point(|&(_, we)| we <= start);
    let e = words.partition_point(|&(ws, _)| ws < end);
    (s < e).then_some((s, e))
}

/// A batch ready for the encoder, as flat row-major vectors.
#[derive(Clone, Debug)]
pub struct Batch {
    pub batch: usize,
    pub seq: usize,
    /// `[batch, seq]`.
    pub input_ids: Vec<i64>,
    /// `[batch, seq]`: text token t → t+2, marker → its span's end +2, padding → 1.
    pub position_ids: Vec<i64>,
    /// `[batch, seq, seq]` additive mask: 0 where row (query) may attend to column (key).
    pub mask: Vec<f32>,
    /// Flat index `b·seq + i` of each pair's start marker, pairs of all samples in order.
    pub start_index: Vec<i64>,
    /// Flat index of each pair's end marker.
    pub end_index: Vec<i64>,
    /// Label of each pair (empty when the samples have none).
    pub labels: Vec<i64>,
}

/// Lays out samples as SpanMarker's collator does: `[text][pad if odd][<start>×n][<end>×n]`,
/// padded to the longest sample of the batch (not to the fixed total: the mask makes the two
/// equivalent, and shorter is faster).
pub fn collate(samples: &[&Sample], special: &SpecialIds) -> Batch {
    let len = |s: &Sample| {
        let n = s.input_ids.len();
        n + n % 2 + 2 * s.spans.len()
    };
    let seq = samples.iter().map(|s| len(s)).max().unwrap_or(0);
    let b = samples.len();
    let mut input_ids = vec![special.pad; b * seq];
    let mut position_ids = vec![1i64; b * seq];
    let mut mask = vec![MASK_VALUE as f32; b * seq * seq];
    let mut start_index = Vec::new();
    let mut end_index = Vec::new();
    let mut labels = Vec::new();
    for (bi, s) in samples.iter().enumerate() {
        let n_tok = s.input_ids.len();
        let n = s.spans.len();
        let sm = n_tok + n_tok % 2;
        let em = sm + n;
        let row = bi * seq;
        input_ids[row..row + n_tok].copy_from_slice(&s.input_ids);
        for t in 0..n_tok {
            position_ids[row + t] = t as i64 + 2;
        }
        for j in 0..n {
            input_ids[row + sm + j] = special.start_marker;
            input_ids[row + em + j] = special.end_marker;
            position_ids[row + sm + j] = s.start_positions[j] + 2;
            position_ids[row + em + j] = s.end_positions[j] + 2;
        }
        let m = &mut mask[bi * seq * seq..(bi + 1) * seq * seq];
        let mut allow = |q: usize, k: usize| m[q * seq + k] = 0.0;
        for q in 0..n_tok {
            for k in 0..n_tok {
                allow(q, k);
            }
        }
        for j in 0..n {
            let (a, z) = (sm + j, em + j);
            for k in 0..n_tok {
                allow(a, k);
                allow(z, k);
            }
            allow(a, a);
            allow(a, z);
            allow(z, a);
            allow(z, z);
            start_index.push((row + a) as i64);
            end_index.push((row + z) as i64);
        }
        labels.extend_from_slice(&s.labels);
    }
    Batch {
        batch: b,
        seq,
        input_ids,
        position_ids,
        mask,
        start_index,
        end_index,
        labels,
    }
}

/// A batch for [`crate::bert::BertModel::forward_markers`]: every distinct window of the
/// samples once, with the marker pairs of all its samples in the batch, packed one after the
/// other without padding: `[text][starts][ends]` per window.
#[derive(Clone, Debug)]
pub struct SharedBatch {
    /// `(text tokens, marker pairs)` of each window, in packing order.
    pub windows: Vec<(usize, usize)>,
    /// `[N]` token ids.
    pub ids: Vec<i64>,
    /// `[N]`: text token t → t+2; a start marker at its span's first subword +2, an end
    /// marker at its span's last subword +2 (as [`collate`]).
    pub pos: Vec<i64>,
    /// Row of each pair's start marker, pairs of all samples in sample order (the order of
    /// [`collate`]'s `start_index`).
    pub start_index: Vec<i64>,
    /// Row of each pair's end marker.
    pub end_index: Vec<i64>,
    /// Label of each pair (empty when the samples have none).
    pub labels: Vec<i64>,
}

/// Groups samples by `(doc, window)` for the shared-text forward; the pairs keep the
/// samples' order, so outputs line up with [`collate`]'s.
pub fn collate_shared(samples: &[&Sample], special: &SpecialIds) -> SharedBatch {
    // distinct windows in order of first appearance, and which window each sample is in
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut owner = Vec::with_capacity(samples.len());
    for s in samples {
        let key = (s.doc, s.window);
        let i = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                keys.len() - 1
            }
        };
        owner.push(i);
    }
    let nw = keys.len();
    let mut text_of = vec![0usize; nw];
    let mut n_pairs = vec![0usize; nw];
    for (si, &w) in owner.iter().enumerate() {
        text_of[w] = si;
        n_pairs[w] += samples[si].spans.len();
    }
    let windows: Vec<(usize, usize)> = (0..nw)
        .map(|w| (samples[text_of[w]].input_ids.len(), n_pairs[w]))
        .collect();
    let total: usize = windows.iter().map(|&(t, p)| t + 2 * p).sum();
    let mut ids = Vec::with_capacity(total);
    let mut pos = Vec::with_capacity(total);
    let mut marker_base = Vec::with_capacity(nw);
    for (w, &(t, p)) in windows.iter().enumerate() {
        let text = &samples[text_of[w]].input_ids;
        ids.extend_from_slice(text);
        pos.extend((0..t as i64).map(|k| k + 2));
        marker_base.push(ids.len());
        ids.resize(ids.len() + 2 * p, 0);
        pos.resize(pos.len() + 2 * p, 1);
    }
    let mut filled = vec![0usize; nw];
    let (mut start_index, mut end_index, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for (s, &w) in samples.iter().zip(&owner) {
        let p = windows[w].1;
        for j in 0..s.spans.len() {
            let a = marker_base[w] + filled[w];
            filled[w] += 1;
            let z = a + p;
            ids[a] = special.start_marker;
            ids[z] = special.end_marker;
            pos[a] = s.start_positions[j] + 2;
            pos[z] = s.end_positions[j] + 2;
            start_index.push(a as i64);
            end_index.push(z as i64);
        }
        labels.extend_from_slice(&s.labels);
    }
    SharedBatch {
        windows,
        ids,
        pos,
        start_index,
        end_index,
        labels,
    }
}

/// A scored candidate span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub start: usize,
    pub end: usize,
    pub label: usize,
    pub score: f32,
}

/// SpanMarker's decoding: by score, highest first (ties keep span order), keep a span when
/// its label is not `outside` and none of its words is taken yet. Sorted by start.
pub fn greedy_decode(mut cands: Vec<Scored>, outside: usize, threshold: f32) -> Vec<Scored> {
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    let n = cands.iter().map(|c| c.end).max().unwrap_or(0);
    let mut taken = vec![false; n];
    let mut out = Vec::new();
    for c in cands {
        if c.label == outside || c.score < threshold || taken[c.start..c.end].iter().any(|&t| t) {
            continue;
        }
        taken[c.start..c.end].iter_mut().for_each(|t| *t = true);
        out.push(c);
    }
    out.sort_by_key(|c| (c.start, c.end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jner_corpus::rng::Rng;

    fn special() -> SpecialIds {
        SpecialIds {
            prefix: vec![101],
            suffix: vec![102],
            pad: 0,
            start_marker: 7,
            end_marker: 8,
        }
    }

    /// Every span of up to `l` words is in exactly one window's core and inside that window,
    /// and no window exceeds the budget.
    fn check_windows(counts: &[usize], budget: usize, l: usize) {
        let ws = windows(counts, budget, l);
        let n = counts.len();
        let mut seen = HashMap::new();
        let mut next_core = 0;
        for w in &ws {
            assert_eq!(w.core_start, next_core, "cores tile the words");
            assert!(w.start <= w.core_start && w.core_start < w.core_end && w.core_end <= w.end);
            let used: usize = counts[w.start..w.end].iter().sum();
            assert!(used <= budget, "window {w:?} uses {used} > {budget}");
            next_core = w.core_end;
            for (s, e) in window_spans(w, l) {
                assert!(w.start <= s && e <= w.end);
                *seen.entry((s, e)).or_insert(0) += 1;
            }
        }
        assert_eq!(next_core, n);
        let mut all = 0;
        for s in 0..n {
            for e in s + 1..=(s + l).min(n) {
                assert_eq!(seen.get(&(s, e)), Some(&1), "span {s}..{e} of {n} words");
                all += 1;
            }
        }
        assert_eq!(seen.len(), all);
    }

    #[test]
    fn windows_never_lose_a_span() {
        let mut rng = Rng::new(5);
        for case in 0..300 {
            let l = 1 + rng.below(8);
            let budget = 2 * l + rng.below(60);
            let layout = Layout {
                model_max_length: budget + 2,
                marker_max_length: 4,
                entity_max_length: l,
            };
            let cap = layout.max_subwords_per_word(2);
            let n = rng.below(200);
            let counts: Vec<usize> = (0..n)
                .map(|_| {
                    if rng.below(10) == 0 {
                        0
                    } else {
                        1 + rng.below(cap)
                    }
                })
                .collect();
            check_windows(&counts, budget, l);
            if case == 0 {
                check_windows(&[], budget, l);
            }
        }
    }

    #[test]
    fn short_text_is_one_window_with_all_spans_in_order() {
        let ws = windows(&[1, 2, 1], 10, 8);
        assert_eq!(
            ws,
            [Window {
                start: 0,
                end: 3,
                core_start: 0,
                core_end: 3
            }]
        );
        assert_eq!(
            window_spans(&ws[0], 2),
            [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
        );
    }

    fn doc(subwords: Vec<Vec<i64>>) -> TokDoc {
        let words = (0..subwords.len()).map(|i| (2 * i, 2 * i + 1)).collect();
        TokDoc { words, subwords }
    }

    #[test]
    fn samples_positions_and_spreading() {
        // words: w0 = [10], w1 = [11, 12], w2 = [13]
        let td = doc(vec![vec![10], vec![11, 12], vec![13]]);
        let layout = Layout {
            model_max_length: 6,
            marker_max_length: 2,
            entity_max_length: 2,
        };
        let gold: HashMap<_, _> = [((1, 2), 3i64)].into();
        let s = build_samples(0, &td, Some(&gold), 0, &layout, &special());
        // 5 spans; total = 6 + 4 = 10, n_tok = 6 → 2 pairs per sample → 3 samples
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|x| x.input_ids == [101, 10, 11, 12, 13, 102]));
        let spans: Vec<_> = s.iter().flat_map(|x| x.spans.clone()).collect();
        assert_eq!(spans, [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]);
        let starts: Vec<_> = s.iter().flat_map(|x| x.start_positions.clone()).collect();
        let ends: Vec<_> = s.iter().flat_map(|x| x.end_positions.clone()).collect();
        assert_eq!(starts, [1, 1, 2, 2, 4]);
        assert_eq!(ends, [1, 3, 3, 4, 4]);
        let labels: Vec<_> = s.iter().flat_map(|x| x.labels.clone()).collect();
        assert_eq!(labels, [0, 0, 3, 0, 0]);
    }

    #[test]
    fn word_without_subwords_points_at_cls() {
        let td = doc(vec![vec![10], vec![], vec![13]]);
        let layout = Layout {
            model_max_length: 16,
            marker_max_length: 8,
            entity_max_length: 1,
        };
        let s = build_samples(0, &td, None, 0, &layout, &special());
        assert_eq!(s[0].start_positions, [1, 0, 2]);
        assert_eq!(s[0].end_positions, [1, 0, 2]);
    }

    #[test]
    fn collate_shared_packs_each_window_once() {
        let s = |doc, window, ids: Vec<i64>, st: Vec<i64>, en: Vec<i64>, labels: Vec<i64>| Sample {
            doc,
            window,
            input_ids: ids,
            spans: st.iter().map(|&x| (x as usize, x as usize + 1)).collect(),
            start_positions: st,
            end_positions: en,
            labels,
        };
        // a and c: two samples of one window (the text once); b another document
        let a = s(0, 0, vec![101, 10, 102], vec![1, 1], vec![1, 2], vec![1, 0]);
        let b = s(1, 0, vec![101, 102], vec![0], vec![0], vec![2]);
        let c = s(0, 0, vec![101, 10, 102], vec![2], vec![2], vec![3]);
        let batch = collate_shared(&[&a, &b, &c], &special());
        assert_eq!(batch.windows, [(3, 3), (2, 1)]);
        // window 0: text, starts (a, a, c), ends (a, a, c); window 1: text, start, end
        assert_eq!(
            batch.ids,
            [101, 10, 102, 7, 7, 7, 8, 8, 8, /* b */ 101, 102, 7, 8]
        );
        assert_eq!(batch.pos, [2, 3, 4, 3, 3, 4, 3, 4, 4, /* b */ 2, 3, 2, 2]);
        // pairs in sample order: a0, a1, b0, c0
        assert_eq!(batch.start_index, [3, 4, 11, 5]);
        assert_eq!(batch.end_index, [6, 7, 12, 8]);
        assert_eq!(batch.labels, [1, 0, 2, 3]);
    }

    #[test]
    fn collate_mask_and_position_ids() {
        // odd text length (3) → one pad before the markers; 2 pairs
        let a = Sample {
            doc: 0,
            window: 0,
            input_ids: vec![101, 10, 102],
            start_positions: vec![1, 1],
            end_positions: vec![1, 2],
            spans: vec![(0, 1), (0, 2)],
            labels: vec![1, 0],
        };
        // even text length (2), one pair
        let b = Sample {
            doc: 1,
            window: 0,
            input_ids: vec![101, 102],
            start_positions: vec![0],
            end_positions: vec![0],
            spans: vec![(0, 1)],
            labels: vec![2],
        };
        let batch = collate(&[&a, &b], &special());
        assert_eq!(batch.seq, 8); // 3 + 1 + 2·2
        assert_eq!(
            batch.input_ids,
            [101, 10, 102, 0, 7, 7, 8, 8, /* b */ 101, 102, 7, 8, 0, 0, 0, 0]
        );
        assert_eq!(
            batch.position_ids,
            [2, 3, 4, 1, 3, 3, 3, 4, /* b */ 2, 3, 2, 2, 1, 1, 1, 1]
        );
        assert_eq!(batch.start_index, [4, 5, 8 + 2]);
        assert_eq!(batch.end_index, [6, 7, 8 + 3]);
        assert_eq!(batch.labels, [1, 0, 2]);
        let t = batch.seq;
        let sees = |bi: usize, q: usize, k: usize| batch.mask[bi * t * t + q * t + k] == 0.0;
        // sample a: rows as strings of 1 (may attend) / 0
        let rows: Vec<String> = (0..t)
            .map(|q| {
                (0..t)
                    .map(|k| if sees(0, q, k) { '1' } else { '0' })
                    .collect()
            })
            .collect();
        assert_eq!(
            rows,
            [
                "11100000", // text sees text only
                "11100000", "11100000", "00000000", // pad sees nothing
                "11101010", // start of pair 0: text, itself (4), its end (6)
                "11100101", // start of pair 1: text, 5, 7
                "11101010", // end of pair 0
                "11100101", // end of pair 1
            ]
        );
        assert!(sees(1, 2, 0) && sees(1, 2, 1) && sees(1, 2, 2) && sees(1, 2, 3));
        assert!(!sees(1, 0, 2) && !sees(1, 4, 4));
    }

    #[test]
    fn greedy_by_score_without_overlap() {
        let c = |start, end, label, score| Scored {
            start,
            end,
            label,
            score,
        };
        let cands = vec![
            c(0, 1, 1, 0.6),
            c(0, 2, 2, 0.9),
            c(1, 2, 1, 0.95), // O? no: label 1, best score, taken first
            c(2, 3, 0, 0.99), // O: ignored
            c(2, 4, 1, 0.5),
            c(3, 4, 2, 0.4),
        ];
        let out = greedy_decode(cands.clone(), 0, 0.0);
        assert_eq!(out, [c(0, 1, 1, 0.6), c(1, 2, 1, 0.95), c(2, 4, 1, 0.5)]);
        let out = greedy_decode(cands, 0, 0.55);
        assert_eq!(out, [c(0, 1, 1, 0.6), c(1, 2, 1, 0.95)]);
    }

    #[test]
    fn byte_spans_to_words() {
        let words = [(0, 5), (5, 6), (7, 15), (16, 19)];
        assert_eq!(byte_span_to_words(&words, 0, 5), Some((0, 1)));
        assert_eq!(byte_span_to_words(&words, 0, 6), Some((0, 2)));
        assert_eq!(byte_span_to_words(&words, 7, 19), Some((2, 4)));
        assert_eq!(byte_span_to_words(&words, 8, 10), Some((2, 3))); // inside a word
        assert_eq!(byte_span_to_words(&words, 6, 7), None); // only a space
    }
}
