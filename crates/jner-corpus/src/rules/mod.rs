//! The data rules of the specification, one module each, applied by the readers in the
//! spec's order: label mapping and age (brat), Sex absorption, pronoun injection, phrase
//! matching (reviews), then the span hygiene shared by all sources.

pub mod age;
pub mod hygiene;
pub mod inject;
pub mod phrases;
pub mod sex;

pub use age::{age_is_minor, AgeRule};
pub use hygiene::{clean_spans, HygieneCounts};

/// Whether `c` counts as a word character for word-boundary tests (as regex `\w`).
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text[start..end]` stands on word boundaries: the characters just outside it are
/// not word characters where the span's own edge characters are.
pub(crate) fn on_word_boundaries(text: &str, start: usize, end: usize) -> bool {
    let inner_first = text[start..end].chars().next();
    let inner_last = text[start..end].chars().next_back();
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let left_ok = match (inner_first, before) {
        (Some(i), Some(b)) => !(is_word_char(i) && is_word_char(b)),
        _ => true,
    };
    let right_ok = match (inner_last, after) {
        (Some(i), Some(a)) => !(is_word_char(i) && is_word_char(a)),
        _ => true,
    };
    left_ok && right_ok
}

/// Every case-insensitive occurrence of `phrase` in `text` that stands on word boundaries,
/// as byte ranges, overlapping occurrences included.
pub fn find_phrase(text: &str, phrase: &str) -> Vec<(usize, usize)> {
    let phrase = phrase.trim();
    if phrase.is_empty() {
        return Vec::new();
    }
    let re = match regex::RegexBuilder::new(&regex::escape(phrase))
        .case_insensitive(true)
        .build()
    {
        Ok(re) => re,
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut at = 0;
    while at <= text.len() {
        let Some(m) = re.find_at(text, at) else { break };
        if on_word_boundaries(text, m.start(), m.end()) {
            out.push((m.start(), m.end()));
        }
        // Step one character past this match's start, so overlapping occurrences are seen.
        at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_on_word_boundaries_only() {
        let t = "This is her hershey bar; HER son. her";
        let got = find_phrase(t, "her");
        let words: Vec<&str> = got.iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(words, ["her", "HER", "her"]);
        assert!(find_phrase("this", "his").is_empty());
    }

    #[test]
    fn phrase_with_punctuation_edges() {
        let t = "After a c-section, (c-section) x c-sections";
        assert_eq!(find_phrase(t, "c-section").len(), 2);
        let t = "LO. LO's bottle";
        assert_eq!(find_phrase(t, "LO").len(), 2);
    }

    #[test]
    fn phrase_non_ascii_case() {
        let t = "Mon BÉBÉ et mon bébé";
        assert_eq!(find_phrase(t, "bébé").len(), 2);
        assert!(find_phrase(t, "  ").is_empty());
    }
}
