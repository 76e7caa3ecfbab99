//! Pronoun and noun-phrase injection: a clinical case report is about one patient, so in a
//! document with a `MinorChild` span every third-person singular pronoun and every "the
//! patient"-style noun phrase refers to that minor and is labelled `MinorChild`.
//!
//! Pronouns: the spec's he, she, his, her, him, plus hers, himself, herself (the same
//! third-person singular set the reviews are annotated with). Plural pronouns (they, them,
//! their) are never labelled. Noun phrases: "the" or "this" followed by a patient or child
//! noun; only the noun is labelled ("the child" → "child"), as the reviews label noun phrases
//! without determiners. Matching is case-insensitive on word boundaries, so "this" and
//! "hershey" never match.

use crate::rules::find_phrase;

pub const PRONOUNS: [&str; 8] = [
    "he", "she", "his", "her", "him", "hers", "himself", "herself",
];
pub const DETERMINERS: [&str; 2] = ["the", "this"];
pub const NOUNS: [&str; 12] = [
    "patient",
    "child",
    "boy",
    "girl",
    "infant",
    "baby",
    "newborn",
    "neonate",
    "toddler",
    "adolescent",
    "teenager",
    "kid",
];

/// What injection found in one document (byte ranges).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Injected {
    pub pronouns: Vec<(usize, usize)>,
    pub noun_phrases: Vec<(usize, usize)>,
}

/// Finds the pronouns and noun phrases to label `MinorChild` in a document's text.
pub fn find_injections(text: &str) -> Injected {
    let mut out = Injected::default();
    for p in PRONOUNS {
        out.pronouns.extend(find_phrase(text, p));
    }
    out.pronouns.sort_unstable();
    for d in DETERMINERS {
        for n in NOUNS {
            for (_, end) in find_phrase_with_gap(text, d, n) {
                out.noun_phrases.push((end - n.len(), end));
            }
        }
    }
    out.noun_phrases.sort_unstable();
    out.noun_phrases.dedup();
    out
}

/// Occurrences of `a` followed by whitespace then `b`, on word boundaries.
fn find_phrase_with_gap(text: &str, a: &str, b: &str) -> Vec<(usize, usize)> {
    find_phrase(text, a)
        .into_iter()
        .filter_map(|(s, e)| {
            let rest = &text[e..];
            let ws = rest.len() - rest.trim_start().len();
            if ws == 0 {
                return None;
            }
            let after = &rest[ws..];
            let head = after.get(..b.len())?;
            if !head.eq_ignore_ascii_case(b) {
                return None;
            }
            let end = e + ws + b.len();
            crate::rules::on_word_boundaries(text, e + ws, end).then_some((s, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, r: &[(usize, usize)]) -> Vec<String> {
        r.iter().map(|&(s, e)| text[s..e].to_string()).collect()
    }

    #[test]
    fn pronouns_on_word_boundaries() {
        let t = "He said this to his mother; hershey Her herself. They and them: the others.";
        let inj = find_injections(t);
        assert_eq!(words(t, &inj.pronouns), ["He", "his", "Her", "herself"]);
    }

    #[test]
    fn noun_phrases_label_the_noun() {
        let t = "The patient was seen. the  child cried; the patients; this Boy; a girl";
        let inj = find_injections(t);
        assert_eq!(words(t, &inj.noun_phrases), ["patient", "child", "Boy"]);
    }

    #[test]
    fn non_ascii_text() {
        let t = "Café – she had 38.5°C; μg of drug for him";
        let inj = find_injections(t);
        assert_eq!(words(t, &inj.pronouns), ["she", "him"]);
    }
}
