//! Words of a text for the span models: GLiNER's regex `\w+(?:[-_]\w+)*|\S`, which separates
//! punctuation ("fever," → "fever", ","), with byte offsets.

use std::sync::OnceLock;

use regex::Regex;

fn word_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\w+(?:[-_]\w+)*|\S").expect("valid word regex"))
}

/// Byte ranges `(start, end)` of the words of `text`, in order.
pub fn split_words(text: &str) -> Vec<(usize, usize)> {
    word_re()
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_punctuation_keeps_hyphens() {
        let t = "Fever, COVID-19 and snake_case; 5mg/kg μg!";
        let w: Vec<&str> = split_words(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(
            w,
            [
                "Fever",
                ",",
                "COVID-19",
                "and",
                "snake_case",
                ";",
                "5mg",
                "/",
                "kg",
                "μg",
                "!"
            ]
        );
    }
}
