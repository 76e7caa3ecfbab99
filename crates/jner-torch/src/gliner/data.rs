//! What the GLiNER network reads, built on the host (no libtorch here): the words of a text,
//! the label prompt `<<ENT>> label … <<SEP>>`, windows of words that fit both `max_len` and
//! the encoder's subword limit with the prompt, label groups when the prompt alone is too long,
//! and padded batches.

use tokenizers::Tokenizer;

use crate::words::split_words;
use crate::{Result, TorchError};

/// Subword pieces kept per word. Only a word's first piece is read (first-subword pooling);
/// the others give the encoder context. A "word" of more pieces (a base64 blob, a long URL) is
/// cut to these, so one word cannot take a whole window.
pub const MAX_PIECES_PER_WORD: usize = 32;

/// Token ids around every input and the prompt's markers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Specials {
    /// Before the prompt (`[CLS]`).
    pub prefix: Vec<i64>,
    /// After the text (`[SEP]`).
    pub suffix: Vec<i64>,
    pub pad: i64,
    /// `<<ENT>>` (`class_token_index`).
    pub ent: i64,
    /// `<<SEP>>`.
    pub sep: i64,
}

impl Specials {
    /// Reads `[CLS]`/`[SEP]` from the tokenizer's post-processor.
    pub fn from_tokenizer(
        tok: &Tokenizer,
        pad: i64,
        ent_token: &str,
        sep_token: &str,
    ) -> Result<Self> {
        let (prefix, suffix) = crate::hf::specials_around(tok)?;
        let id = |t: &str| {
            tok.token_to_id(t)
                .map(i64::from)
                .ok_or_else(|| TorchError::Tokenizer(format!("the tokenizer has no `{t}` token")))
        };
        Ok(Specials {
            prefix,
            suffix,
            pad,
            ent: id(ent_token)?,
            sep: id(sep_token)?,
        })
    }

    pub fn n_special(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }
}

/// A text's words (byte ranges) and the subword ids of each (possibly none: such a word keeps
/// a zero embedding, as in the library).
#[derive(Clone, Debug, Default)]
pub struct TokText {
    pub words: Vec<(usize, usize)>,
    pub pieces: Vec<Vec<i64>>,
}

/// Words of `text` and their pieces, tokenized as a pre-split sequence (what
/// `is_split_into_words=True` does: each word through the normalizer and pre-tokenizer alone).
pub fn tokenize_text(tok: &Tokenizer, text: &str) -> Result<TokText> {
    let words = split_words(text);
    let strs: Vec<&str> = words.iter().map(|&(s, e)| &text[s..e]).collect();
    let pieces = tokenize_words(tok, &strs)?;
    Ok(TokText { words, pieces })
}

/// Subword ids of each word of a pre-split sequence.
pub fn tokenize_words(tok: &Tokenizer, words: &[&str]) -> Result<Vec<Vec<i64>>> {
    let mut pieces = vec![Vec::new(); words.len()];
    if words.is_empty() {
        return Ok(pieces);
    }
    let enc = tok.encode(words, false).map_err(TorchError::tokenizer)?;
    for (&id, w) in enc.get_ids().iter().zip(enc.get_word_ids()) {
        if let Some(w) = w {
            let p = &mut pieces[*w as usize];
            if p.len() < MAX_PIECES_PER_WORD {
                p.push(i64::from(id));
            }
        }
    }
    Ok(pieces)
}

/// The prompt of a label list: `<<ENT>> l1 <<ENT>> l2 … <<SEP>>`, each label one pre-split
/// "word" (a multi-word label is split by the tokenizer's pre-tokenizer, as in the library).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub labels: Vec<String>,
    pub ids: Vec<i64>,
    /// Positions of the `<<ENT>>` tokens in `ids`, one per label.
    pub ent_positions: Vec<usize>,
}

impl Prompt {
    pub fn new(tok: &Tokenizer, labels: &[String], sp: &Specials) -> Result<Self> {
        let strs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let pieces = tokenize_words(tok, &strs)?;
        let mut ids = Vec::new();
        let mut ent_positions = Vec::new();
        for p in &pieces {
            ent_positions.push(ids.len());
            ids.push(sp.ent);
            ids.extend(p);
        }
        ids.push(sp.sep);
        Ok(Prompt {
            labels: labels.to_vec(),
            ids,
            ent_positions,
        })
    }
}

/// Labels de-duplicated, order kept (the library builds its label map the same way).
pub fn dedup_labels(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

/// Splits the labels into consecutive groups whose prompts take at most `max_prompt` tokens
/// each (the labels' order kept). A label whose prompt alone is longer is an error.
pub fn label_groups(
    tok: &Tokenizer,
    labels: &[String],
    sp: &Specials,
    max_prompt: usize,
) -> Result<Vec<Prompt>> {
    let strs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let pieces = tokenize_words(tok, &strs)?;
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut len = 1; // <<SEP>>
    for (l, p) in labels.iter().zip(&pieces) {
        let n = 1 + p.len();
        if 1 + n > max_prompt {
            return Err(TorchError::invalid(format!(
                "the label `{l}` takes {} subword tokens, more than a prompt can hold ({max_prompt})",
                n + 1
            )));
        }
        match groups.last_mut() {
            Some(g) if len + n <= max_prompt => {
                g.push(l.clone());
                len += n;
            }
            _ => {
                groups.push(vec![l.clone()]);
                len = 1 + n;
            }
        }
    }
    groups.iter().map(|g| Prompt::new(tok, g, sp)).collect()
}

/// Consecutive windows `[start, end)` over words with `counts[i]` pieces each: at most
/// `max_words` words and `budget` pieces per window; each next window starts `overlap` words
/// before the previous one's end (and always after its start), so every span of up to
/// `overlap + 1` words lies whole in some window. A text without words has no window.
pub fn windows(
    counts: &[usize],
    max_words: usize,
    budget: usize,
    overlap: usize,
) -> Vec<(usize, usize)> {
    let n = counts.len();
    let mut out = Vec::new();
    let mut s = 0;
    while s < n {
        let (mut e, mut used) = (s, 0);
        while e < n && e - s < max_words.max(1) && used + counts[e] <= budget {
            used += counts[e];
            e += 1;
        }
        if e == s {
            e = s + 1; // a single word over the budget (cannot happen with the piece cap)
        }
        out.push((s, e));
        if e >= n {
            break;
        }
        s = e.saturating_sub(overlap).max(s + 1);
    }
    out
}

/// How far a span `[a, b]` (inclusive word indices) is from the edges of window `[s, e)`.
fn margin(w: (usize, usize), a: usize, b: usize) -> Option<usize> {
    (w.0 <= a && b < w.1).then(|| (a - w.0).min(w.1 - 1 - b))
}

/// Whether window `wi` is the one a span is taken from: of the windows that hold it whole,
/// the one where it is farthest from an edge (the first of equals).
pub fn owns_span(windows: &[(usize, usize)], wi: usize, a: usize, b: usize) -> bool {
    let Some(mine) = margin(windows[wi], a, b) else {
        return false;
    };
    !windows.iter().enumerate().any(|(j, &w)| {
        j != wi && margin(w, a, b).is_some_and(|m| m > mine || (m == mine && j < wi))
    })
}

/// One encoder input: a prompt and a window of a text's words.
#[derive(Clone, Debug)]
pub struct Item {
    pub input_ids: Vec<i64>,
    /// Position of each window word's first piece; `None` for a word without pieces.
    pub word_pos: Vec<Option<usize>>,
    /// Positions of the `<<ENT>>` tokens.
    pub ent_pos: Vec<usize>,
}

/// `[CLS] prompt words… [SEP]` for words `w.0..w.1` of `t`.
pub fn build_item(t: &TokText, w: (usize, usize), prompt: &Prompt, sp: &Specials) -> Item {
    let mut ids = sp.prefix.clone();
    let ent_pos = prompt
        .ent_positions
        .iter()
        .map(|p| p + sp.prefix.len())
        .collect();
    ids.extend(&prompt.ids);
    let mut word_pos = Vec::with_capacity(w.1 - w.0);
    for p in &t.pieces[w.0..w.1] {
        word_pos.push((!p.is_empty()).then_some(ids.len()));
        ids.extend(p);
    }
    ids.extend(&sp.suffix);
    Item {
        input_ids: ids,
        word_pos,
        ent_pos,
    }
}

/// A padded batch of items, flat row-major buffers.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub b: usize,
    /// Tokens per row.
    pub t: usize,
    /// Words per row.
    pub w: usize,
    /// Labels per row.
    pub c: usize,
    pub input_ids: Vec<i64>,
    pub attention_mask: Vec<i64>,
    /// `[b, w]`: the position of each word's first piece (0 where none).
    pub word_pos: Vec<i64>,
    /// `[b, w]`: 1 where a word has a piece.
    pub word_mask: Vec<f32>,
    /// Words of each row.
    pub lengths: Vec<i64>,
    /// `[b, c]`: `<<ENT>>` positions (0 where none).
    pub ent_pos: Vec<i64>,
    /// `[b, c]`: 1 where a row has that label.
    pub class_mask: Vec<f32>,
}

pub fn collate(items: &[&Item], pad: i64) -> Batch {
    let b = items.len();
    let t = items.iter().map(|i| i.input_ids.len()).max().unwrap_or(0);
    let w = items
        .iter()
        .map(|i| i.word_pos.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let c = items
        .iter()
        .map(|i| i.ent_pos.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = Batch {
        b,
        t,
        w,
        c,
        input_ids: vec![pad; b * t],
        attention_mask: vec![0; b * t],
        word_pos: vec![0; b * w],
        word_mask: vec![0.0; b * w],
        lengths: vec![0; b],
        ent_pos: vec![0; b * c],
        class_mask: vec![0.0; b * c],
    };
    for (r, it) in items.iter().enumerate() {
        for (j, &id) in it.input_ids.iter().enumerate() {
            out.input_ids[r * t + j] = id;
            out.attention_mask[r * t + j] = 1;
        }
        for (j, p) in it.word_pos.iter().enumerate() {
            if let Some(p) = p {
                out.word_pos[r * w + j] = *p as i64;
                out.word_mask[r * w + j] = 1.0;
            }
        }
        out.lengths[r] = it.word_pos.len() as i64;
        for (j, &p) in it.ent_pos.iter().enumerate() {
            out.ent_pos[r * c + j] = p as i64;
            out.class_mask[r * c + j] = 1.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_word_and_respect_both_limits() {
        let counts = vec![1, 2, 1, 3, 1, 1, 2, 1, 1, 1];
        let ws = windows(&counts, 4, 5, 1);
        for &(s, e) in &ws {
            assert!(e - s <= 4);
            assert!(counts[s..e].iter().sum::<usize>() <= 5);
        }
        assert_eq!(ws.first().unwrap().0, 0);
        assert_eq!(ws.last().unwrap().1, counts.len());
        for pair in ws.windows(2) {
            assert!(pair[1].0 > pair[0].0 && pair[1].0 <= pair[0].1);
        }
        assert!(windows(&[], 4, 5, 1).is_empty());
        assert_eq!(windows(&[1, 1, 1], 10, 100, 2), vec![(0, 3)]);
        // overlap 2: a span of up to 3 words is whole in some window
        let ws = windows(&[1; 20], 6, 100, 2);
        for a in 0..20 {
            for b in a..(a + 3).min(20) {
                let owners = (0..ws.len()).filter(|&w| owns_span(&ws, w, a, b)).count();
                assert_eq!(owners, 1, "span {a}..={b} in {ws:?}");
            }
        }
    }

    #[test]
    fn the_window_farther_from_the_edge_owns_a_span() {
        let ws = vec![(0, 10), (6, 16)];
        assert!(owns_span(&ws, 0, 2, 3));
        assert!(owns_span(&ws, 1, 8, 9)); // margin 1 in the first, 2 in the second
        assert!(!owns_span(&ws, 0, 8, 9));
        assert!(owns_span(&ws, 0, 7, 8)); // margins 1 and 1: the first window
        assert!(!owns_span(&ws, 1, 7, 8));
        assert!(!owns_span(&ws, 0, 9, 10)); // not whole in the first
    }

    #[test]
    fn collate_pads_and_masks() {
        let a = Item {
            input_ids: vec![1, 5, 6, 2],
            word_pos: vec![Some(2), None],
            ent_pos: vec![1],
        };
        let b = Item {
            input_ids: vec![1, 2],
            word_pos: vec![],
            ent_pos: vec![],
        };
        let batch = collate(&[&a, &b], 0);
        assert_eq!((batch.b, batch.t, batch.w, batch.c), (2, 4, 2, 1));
        assert_eq!(batch.input_ids, vec![1, 5, 6, 2, 1, 2, 0, 0]);
        assert_eq!(batch.attention_mask, vec![1, 1, 1, 1, 1, 1, 0, 0]);
        assert_eq!(batch.word_pos, vec![2, 0, 0, 0]);
        assert_eq!(batch.word_mask, vec![1.0, 0.0, 0.0, 0.0]);
        assert_eq!(batch.lengths, vec![2, 0]);
        assert_eq!(batch.class_mask, vec![1.0, 0.0]);
    }
}
