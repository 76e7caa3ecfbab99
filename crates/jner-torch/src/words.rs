//! Words of a text for the span models: GLiNER's regex `\w+(?:[-_]\w+)*|\S` with Python's
//! `\w`, which separates punctuation ("fever," → "fever", ","), with byte offsets. One
//! definition for the whole workspace: [`jner_corpus::gliner::split_words`].

pub use jner_corpus::gliner::split_words;

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

    #[test]
    fn word_characters_are_pythons() {
        // Python's `re`: a combining mark is not a word character, `²` is
        let t = "cafe\u{301} x² 東京";
        let w: Vec<&str> = split_words(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(w, ["cafe", "\u{301}", "x²", "東京"]);
    }
}
