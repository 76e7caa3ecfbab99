//! Sex-span absorption: MACCROBAT types "16-year-old" as `Age` and "boy" as `Sex`, while the
//! reviews label the whole phrase ("4 year old son") as one `MinorChild`. A `Sex` span next
//! to a `MinorChild` age span is absorbed into it when the gap between them is pure
//! whitespace of at most 2 characters with no line break. A comma, a newline or any other
//! character prevents the merge. Both orders are merged ("16-year-old boy", "female child").

use crate::Span;

/// Whether the text between two spans allows a merge.
pub fn mergeable_gap(gap: &str) -> bool {
    gap.chars().count() <= 2
        && gap
            .chars()
            .all(|c| c.is_whitespace() && c != '\n' && c != '\r')
}

/// Extends each span of `minors` over an adjacent span of `sex` (byte ranges). Each Sex span
/// is absorbed at most once. Returns how many Sex spans were absorbed.
pub fn absorb_sex(text: &str, minors: &mut [Span], sex: &[(usize, usize)]) -> usize {
    let mut used = vec![false; sex.len()];
    let mut absorbed = 0;
    for m in minors.iter_mut() {
        // After the age: "16-year-old boy".
        if let Some(i) = (0..sex.len())
            .find(|&i| !used[i] && sex[i].0 >= m.end && mergeable_gap(&text[m.end..sex[i].0]))
        {
            used[i] = true;
            m.end = sex[i].1;
            absorbed += 1;
        }
        // Before the age: "female child".
        if let Some(i) = (0..sex.len())
            .find(|&i| !used[i] && sex[i].1 <= m.start && mergeable_gap(&text[sex[i].1..m.start]))
        {
            used[i] = true;
            m.start = sex[i].0;
            absorbed += 1;
        }
    }
    absorbed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, age: &str, sex: &str) -> (usize, String) {
        let a = text.find(age).unwrap();
        let s = text.rfind(sex).unwrap();
        let mut minors = vec![Span::new(a, a + age.len(), "MinorChild")];
        let n = absorb_sex(text, &mut minors, &[(s, s + sex.len())]);
        (n, text[minors[0].start..minors[0].end].to_string())
    }

    #[test]
    fn one_space_merges() {
        assert_eq!(
            run("A 16-year-old boy was seen.", "16-year-old", "boy"),
            (1, "16-year-old boy".into())
        );
    }

    #[test]
    fn two_spaces_merge_three_do_not() {
        assert_eq!(run("A 16-year-old  boy", "16-year-old", "boy").0, 1);
        assert_eq!(run("A 16-year-old \tboy", "16-year-old", "boy").0, 1);
        assert_eq!(
            run("A 16-year-old   boy", "16-year-old", "boy"),
            (0, "16-year-old".into())
        );
    }

    #[test]
    fn comma_or_newline_blocks() {
        assert_eq!(run("A 16-year-old, boy", "16-year-old", "boy").0, 0);
        assert_eq!(run("A 16-year-old\nboy", "16-year-old", "boy").0, 0);
        assert_eq!(run("A 16-year-old\r\nboy", "16-year-old", "boy").0, 0);
        assert_eq!(run("A 16-year-old x boy", "16-year-old", "boy").0, 0);
    }

    #[test]
    fn sex_before_age_and_non_ascii() {
        assert_eq!(
            run("a female child", "child", "female"),
            (1, "female child".into())
        );
        // A no-break space (U+00A0) is whitespace; two characters, four bytes.
        assert_eq!(
            run("un 3-month-old\u{a0}\u{a0}garçon", "3-month-old", "garçon").0,
            1
        );
    }
}
