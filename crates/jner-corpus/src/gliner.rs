//! GLiNER's training format, `{"tokenized_text": [...], "ner": [[start, end, label]]}` with
//! word indices (end inclusive), as the spec's `train.json`/`eval.json`. Words come from
//! GLiNER's splitter `\w+(?:[-_]\w+)*|\S`, with `\w` as Python's `re` reads it: letters,
//! numbers and `_` (so a combining mark is a word of its own and `²` a word character, where
//! the Rust `regex` crate's `\w` would differ).

use std::path::Path;
use std::sync::OnceLock;

use serde::Serialize;

use crate::jsonl::write_atomic;
use crate::{Document, Result};

fn word_regex() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"[\p{L}\p{N}_]+(?:[-_][\p{L}\p{N}_]+)*|\S").expect("valid regex")
    })
}

/// Words of a text as byte ranges (GLiNER's `WhitespaceTokenSplitter`).
pub fn split_words(text: &str) -> Vec<(usize, usize)> {
    word_regex()
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect()
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GlinerExample {
    pub tokenized_text: Vec<String>,
    pub ner: Vec<(usize, usize, String)>,
}

/// Converts a document; spans are widened to the words they touch. Returns the example and
/// how many spans did not fall on word boundaries.
pub fn to_gliner(d: &Document) -> (GlinerExample, usize) {
    let words = split_words(&d.text);
    let mut misaligned = 0;
    let mut ner = Vec::new();
    for s in &d.spans {
        let first = words.iter().position(|w| w.1 > s.start);
        let last = words.iter().rposition(|w| w.0 < s.end);
        if let (Some(a), Some(b)) = (first, last) {
            if a <= b {
                misaligned += usize::from(words[a].0 != s.start || words[b].1 != s.end);
                ner.push((a, b, s.label.clone()));
                continue;
            }
        }
        misaligned += 1;
    }
    let tokenized_text = words
        .iter()
        .map(|&(a, b)| d.text[a..b].to_string())
        .collect();
    (
        GlinerExample {
            tokenized_text,
            ner,
        },
        misaligned,
    )
}

/// Writes documents as a GLiNER JSON array; returns the number of misaligned spans.
pub fn write_gliner_json(path: &Path, docs: &[Document]) -> Result<usize> {
    let (json, bad) = gliner_json(docs);
    write_atomic(path, &json)?;
    Ok(bad)
}

/// GLiNER's JSON for `docs`, in memory, and the number of spans widened to word boundaries.
pub fn gliner_json(docs: &[Document]) -> (Vec<u8>, usize) {
    let mut bad = 0;
    let examples: Vec<GlinerExample> = docs
        .iter()
        .map(|d| {
            let (e, m) = to_gliner(d);
            bad += m;
            e
        })
        .collect();
    let json = serde_json::to_vec(&examples).expect("examples always serialise");
    (json, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    #[test]
    fn word_indices_inclusive() {
        let mut d = Document::new("a", "demo", "A 3-month-old boy, fever (IL-6).");
        d.spans.push(Span::new(2, 17, "MinorChild"));
        d.spans.push(Span::new(19, 24, "MedicalCondition"));
        let (e, bad) = to_gliner(&d);
        assert_eq!(
            e.tokenized_text,
            [
                "A",
                "3-month-old",
                "boy",
                ",",
                "fever",
                "(",
                "IL-6",
                ")",
                "."
            ]
        );
        assert_eq!(
            e.ner,
            [
                (1, 2, "MinorChild".into()),
                (4, 4, "MedicalCondition".into())
            ]
        );
        assert_eq!(bad, 0);
        let mut d2 = d.clone();
        d2.spans = vec![Span::new(3, 6, "X")];
        assert_eq!(
            to_gliner(&d2),
            (
                GlinerExample {
                    tokenized_text: e.tokenized_text,
                    ner: vec![(1, 1, "X".into())]
                },
                1
            )
        );
    }
}
