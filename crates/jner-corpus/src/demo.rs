//! The built-in demo corpus: a few small documents in each of the three source formats,
//! written by the jner authors and compiled into the binary, so `jner data stats --demo` and
//! `jner train --demo` work on a fresh machine with no download. The documents go through
//! the very same readers and rules as the real sources.

use std::path::Path;

use crate::rules::AgeRule;
use crate::sources::{brat, corona, finish, reviews, Corpus, LoadReport};
use crate::Result;

/// (name, text, annotations) of the demo case reports, in brat standoff.
const BRAT: [(&str, &str, &str); 8] = [
    (
        "demo001",
        include_str!("../demo/maccrobat/demo001.txt"),
        include_str!("../demo/maccrobat/demo001.ann"),
    ),
    (
        "demo002",
        include_str!("../demo/maccrobat/demo002.txt"),
        include_str!("../demo/maccrobat/demo002.ann"),
    ),
    (
        "demo003",
        include_str!("../demo/maccrobat/demo003.txt"),
        include_str!("../demo/maccrobat/demo003.ann"),
    ),
    (
        "demo004",
        include_str!("../demo/maccrobat/demo004.txt"),
        include_str!("../demo/maccrobat/demo004.ann"),
    ),
    (
        "demo005",
        include_str!("../demo/maccrobat/demo005.txt"),
        include_str!("../demo/maccrobat/demo005.ann"),
    ),
    (
        "demo006",
        include_str!("../demo/maccrobat/demo006.txt"),
        include_str!("../demo/maccrobat/demo006.ann"),
    ),
    (
        "demo007",
        include_str!("../demo/maccrobat/demo007.txt"),
        include_str!("../demo/maccrobat/demo007.ann"),
    ),
    (
        "demo008",
        include_str!("../demo/maccrobat/demo008.txt"),
        include_str!("../demo/maccrobat/demo008.ann"),
    ),
];
/// The demo Corona2.json-style file.
pub const CORONA_JSON: &str = include_str!("../demo/corona.json");
/// The demo reviews CSV (`mydata.csv` layout).
pub const REVIEWS_CSV: &str = include_str!("../demo/reviews.csv");

/// Loads the demo corpus with every rule applied.
pub fn demo_corpus(age_rule: AgeRule) -> Result<Corpus> {
    let mut report = LoadReport::default();
    let mut documents = Vec::new();
    let mut st = brat::BratStats::default();
    for (name, text, ann) in BRAT {
        let ann_path = Path::new("demo/maccrobat").join(format!("{name}.ann"));
        documents.push(brat::parse_document(
            &format!("maccrobat/{name}"),
            text,
            ann,
            &ann_path,
            age_rule,
            &mut st,
            &mut report.warnings,
        ));
    }
    report.maccrobat = Some(st);
    let mut st = corona::CoronaStats::default();
    documents.extend(corona::parse_corona(
        CORONA_JSON,
        Path::new("demo/corona.json"),
        &mut st,
        &mut report.warnings,
    )?);
    report.corona = Some(st);
    let mut st = reviews::ReviewStats::default();
    documents.extend(reviews::parse_reviews(
        REVIEWS_CSV.as_bytes(),
        Path::new("demo/reviews.csv"),
        &mut st,
        &mut report.warnings,
    )?);
    report.reviews = Some(st);
    finish(&mut documents, &mut report);
    Ok(Corpus { documents, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_loads_cleanly_with_every_rule() {
        let c = demo_corpus(AgeRule::Units).unwrap();
        assert!(c.report.warnings.is_empty(), "{:?}", c.report.warnings);
        assert_eq!(c.report.documents["maccrobat"], 8);
        assert_eq!(c.report.documents["corona"], 4);
        // 20 rows: 1 excluded for medical_col, 2 without minor or gender phrases.
        let r = c.report.reviews.as_ref().unwrap();
        assert_eq!(
            (
                r.rows,
                r.rows_excluded_medical,
                r.rows_skipped_unlabelled,
                r.documents
            ),
            (20, 1, 2, 17)
        );
        let b = c.report.maccrobat.as_ref().unwrap();
        // Minors: 7-year-old boy, 3-month-old girl, 15-year-old female, newborn boy.
        assert_eq!(
            (
                b.age_spans,
                b.age_spans_minor,
                b.sex_spans_absorbed,
                b.documents_with_minor
            ),
            (8, 4, 4, 4)
        );
        // Corona: one span "diarrhea " is trimmed.
        assert_eq!(c.report.hygiene["corona"].trimmed, 1);
    }
}
