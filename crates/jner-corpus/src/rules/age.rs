//! The age rule: a MACCROBAT `Age` span becomes `MinorChild` when it describes someone
//! under 18.
//!
//! The specification's rule: an age keyword ("child", "newborn", ...) or the **first number**
//! in the span below 18. It reads every number as years, so "3-month-old" is a minor (3 < 18)
//! but "18-month-old" is not (18 is not < 18), and "20-month-old" neither.
//!
//! jner's default ([`AgeRule::Units`]) reads the unit after the number: months, weeks and days
//! are converted to years before the comparison, so every "N-month-old" under 216 months is a
//! minor; it also reads number words ("four-year-old"). On MACCROBAT2020 both rules select the
//! same spans (its month ages are 3, 13 and 14 months); `--age-rule spec` keeps the spec's rule.
//!
//! Ambiguous words are not minors: "young" (MACCROBAT 24161539 has "young" as an Age span
//! of an adult), "male" (22665582 mis-typed as Age), decades such as "60s" or "early 70s".

use serde::{Deserialize, Serialize};

/// Which age rule to apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeRule {
    /// Numbers with their unit (months/weeks/days converted to years), number words, keywords.
    #[default]
    Units,
    /// The specification's rule: keywords, or the first digit number < 18 whatever its unit.
    Spec,
}

/// Words that by themselves mark a minor.
pub const MINOR_KEYWORDS: [&str; 22] = [
    "newborn",
    "newborns",
    "neonate",
    "neonatal",
    "infant",
    "infancy",
    "baby",
    "toddler",
    "child",
    "childhood",
    "boy",
    "girl",
    "teen",
    "teens",
    "teenage",
    "teenager",
    "adolescent",
    "adolescence",
    "juvenile",
    "kid",
    "preschool",
    "pediatric",
];

const NUMBER_WORDS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

/// Whether an Age span's text describes a person under 18 years.
pub fn age_is_minor(text: &str, rule: AgeRule) -> bool {
    let lower = text.to_lowercase();
    if words_with_offsets(&lower)
        .iter()
        .any(|(_, w)| MINOR_KEYWORDS.contains(w) || *w == "paediatric")
    {
        return true;
    }
    match first_number(&lower, rule) {
        None => false,
        Some((n, unit_text)) => match rule {
            AgeRule::Spec => n < 18.0,
            AgeRule::Units => {
                let years = match unit_of(unit_text) {
                    Unit::Months => n / 12.0,
                    Unit::Weeks => n / 52.0,
                    Unit::Days => n / 365.0,
                    Unit::Years => n,
                };
                years < 18.0
            }
        },
    }
}

enum Unit {
    Years,
    Months,
    Weeks,
    Days,
}

/// The unit named by the first word of `rest` (after separators such as spaces and dashes).
fn unit_of(rest: &str) -> Unit {
    let word: String = rest
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect();
    if word.starts_with("mo") {
        Unit::Months
    } else if word.starts_with("w") {
        Unit::Weeks
    } else if word.starts_with("day") || word == "d" {
        Unit::Days
    } else {
        Unit::Years
    }
}

/// The first number in `lower` and the text after it. Digits (with an optional decimal
/// part) under both rules; number words only under [`AgeRule::Units`].
fn first_number(lower: &str, rule: AgeRule) -> Option<(f64, &str)> {
    let mut digit_at = None;
    for (i, c) in lower.char_indices() {
        if c.is_ascii_digit() {
            digit_at = Some(i);
            break;
        }
    }
    let digit = digit_at.map(|i| {
        let len = lower[i..]
            .char_indices()
            .take_while(|&(k, c)| c.is_ascii_digit() || (c == '.' && k > 0))
            .map(|(k, c)| k + c.len_utf8())
            .last()
            .unwrap_or(1);
        let s = lower[i..i + len].trim_end_matches('.');
        (
            i,
            s.parse::<f64>().unwrap_or(f64::MAX),
            &lower[i + s.len()..],
        )
    });
    let word = if rule == AgeRule::Units {
        let mut found = None;
        for (offset, w) in words_with_offsets(lower) {
            if let Some(n) = NUMBER_WORDS.iter().position(|x| *x == w) {
                found = Some((offset, n as f64, &lower[offset + w.len()..]));
                break;
            }
        }
        found
    } else {
        None
    };
    match (digit, word) {
        (Some(d), Some(w)) => Some(if d.0 <= w.0 { (d.1, d.2) } else { (w.1, w.2) }),
        (Some(d), None) => Some((d.1, d.2)),
        (None, Some(w)) => Some((w.1, w.2)),
        (None, None) => None,
    }
}

/// Maximal runs of alphanumeric characters with their byte offsets.
fn words_with_offsets(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgeRule::{Spec, Units};

    #[test]
    fn years() {
        for rule in [Spec, Units] {
            assert!(age_is_minor("16-year-old", rule));
            assert!(age_is_minor("Age 16", rule));
            assert!(age_is_minor("age 10 years", rule));
            assert!(age_is_minor("4 and a half years old", rule));
            assert!(!age_is_minor("18-year-old", rule));
            assert!(!age_is_minor("younger than 50 years old", rule));
            assert!(!age_is_minor("75–year–old", rule));
            assert!(!age_is_minor("early 70s", rule));
            assert!(!age_is_minor("60s", rule));
        }
    }

    #[test]
    fn months_weeks_days() {
        // 3 months: a minor under both rules (3 < 18 as the spec reads it).
        assert!(age_is_minor("3-month-old", Spec));
        assert!(age_is_minor("3-month-old", Units));
        assert!(age_is_minor("13 months of age", Units));
        // 18 months = 1.5 years: the spec's rule reads 18 and says adult; jner converts.
        assert!(!age_is_minor("18-month-old", Spec));
        assert!(age_is_minor("18-month-old", Units));
        assert!(age_is_minor("20 weeks", Units));
        assert!(!age_is_minor("20 weeks", Spec));
        assert!(age_is_minor("35 days old", Units));
        // 300 months = 25 years.
        assert!(!age_is_minor("300 months", Units));
    }

    #[test]
    fn keywords_and_words() {
        for rule in [Spec, Units] {
            assert!(age_is_minor("mid-teens", rule));
            assert!(age_is_minor("newborn", rule));
            assert!(age_is_minor("child", rule));
            assert!(age_is_minor("A Pediatric patient", rule));
            assert!(!age_is_minor("young", rule));
            assert!(!age_is_minor("male", rule));
            assert!(!age_is_minor("", rule));
        }
        assert!(age_is_minor("four-year-old", Units));
        assert!(!age_is_minor("four-year-old", Spec));
        assert!(!age_is_minor("nineteen years", Units));
    }
}
