//! Conversion between byte offsets (inside Rust) and Unicode character offsets (at every
//! boundary: brat, JSON, the scorer's files).

/// Maps character offsets to byte offsets and back for one text.
#[derive(Clone, Debug)]
pub struct CharIndex {
    /// `bytes[c]` is the byte offset of character `c`; the last entry is `text.len()`.
    bytes: Vec<usize>,
}

impl CharIndex {
    pub fn new(text: &str) -> Self {
        let mut bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        bytes.push(text.len());
        CharIndex { bytes }
    }
    /// Number of characters in the text.
    pub fn char_len(&self) -> usize {
        self.bytes.len() - 1
    }
    /// Byte offset of character offset `c`, or `None` when past the end.
    pub fn to_byte(&self, c: usize) -> Option<usize> {
        self.bytes.get(c).copied()
    }
    /// Character offset of byte offset `b`, or `None` when `b` is not on a character boundary.
    pub fn to_char(&self, b: usize) -> Option<usize> {
        self.bytes.binary_search(&b).ok()
    }
}

/// Character offset of byte offset `b` in `text` (counts characters before `b`).
pub fn byte_to_char(text: &str, b: usize) -> usize {
    text[..b].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_non_ascii() {
        let t = "a–b μg ≥5";
        let ix = CharIndex::new(t);
        assert_eq!(ix.char_len(), 9);
        for c in 0..=ix.char_len() {
            let b = ix.to_byte(c).unwrap();
            assert_eq!(ix.to_char(b), Some(c));
            assert_eq!(byte_to_char(t, b), c);
        }
        assert_eq!(ix.to_byte(10), None);
        assert_eq!(ix.to_char(2), None); // inside "–"
    }
}
