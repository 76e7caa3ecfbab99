//! [`Document`] and [`Span`]: the one data model every reader produces and every backend reads.

use serde::{Deserialize, Serialize};

/// A labelled region of a document's text, in **byte** offsets (`text[start..end]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

impl Span {
    pub fn new(start: usize, end: usize, label: impl Into<String>) -> Self {
        Span {
            start,
            end,
            label: label.into(),
        }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
    /// Whether the two spans share at least one byte.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One document: its text and its flat list of spans (byte offsets, sorted by start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Unique within a corpus, e.g. `maccrobat/15939911`, `corona/<uuid>`, `reviews/4384`.
    pub id: String,
    /// Where it came from: `maccrobat`, `corona`, `reviews`, `demo`, or what an imported file says.
    pub source: String,
    pub text: String,
    pub spans: Vec<Span>,
}

impl Document {
    pub fn new(id: impl Into<String>, source: impl Into<String>, text: impl Into<String>) -> Self {
        Document {
            id: id.into(),
            source: source.into(),
            text: text.into(),
            spans: Vec::new(),
        }
    }
    /// The surface text of a span.
    pub fn span_text(&self, span: &Span) -> &str {
        &self.text[span.start..span.end]
    }
    /// Whether any span has this label.
    pub fn has_label(&self, label: &str) -> bool {
        self.spans.iter().any(|s| s.label == label)
    }
    /// Sort spans by (start, end, label).
    pub fn sort_spans(&mut self) {
        self.spans
            .sort_by(|a, b| (a.start, a.end, &a.label).cmp(&(b.start, b.end, &b.label)));
    }
}

/// A short fingerprint of a corpus (ids, texts, spans), recorded with every model so a
/// result can be traced to the exact data it came from (FNV-1a, 64 bits, hex).
pub fn fingerprint(docs: &[Document]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for d in docs {
        eat(d.id.as_bytes());
        eat(d.text.as_bytes());
        for s in &d.spans {
            eat(&s.start.to_le_bytes());
            eat(&s.end.to_le_bytes());
            eat(s.label.as_bytes());
        }
    }
    format!("{h:016x}")
}
