//! Reviews CSV reader (`mydata.csv` layout): `ori_review` is the text; `minor_col` and
//! `gender_col` are `;`-separated phrase lists labelled MinorChild and GenderIndication at
//! every case-insensitive word-boundary occurrence. Rows with a non-empty `medical_col` are
//! excluded (their medical spans are not annotated against the clinical labels); rows with
//! neither `minor_col` nor `gender_col` are skipped. Extra columns are ignored, but every row
//! must have the header's number of fields, a quote that opens a field must close, and each
//! known column may appear once (else rows are silently misread). A BOM, CRLF
//! line endings and quoted newlines are accepted.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::rules::phrases::label_phrases;
use crate::{labels, CorpusError, Document, Result};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReviewStats {
    pub rows: usize,
    pub documents: usize,
    pub rows_excluded_medical: usize,
    pub rows_skipped_unlabelled: usize,
    pub rows_empty_review: usize,
    /// Listed phrases that occur nowhere in their review.
    pub phrases_not_found: usize,
}

/// Reads a reviews CSV.
pub fn read_reviews(
    path: &Path,
    stats: &mut ReviewStats,
    warnings: &mut Vec<String>,
) -> Result<Vec<Document>> {
    if !path.is_file() {
        return Err(CorpusError::Missing {
            what: "reviews CSV",
            path: path.to_path_buf(),
            hint: "Pass your annotated reviews with --csv PATH (columns ori_review, minor_col, \
                   gender_col, medical_col; see the README), or leave them out with --no-csv.",
        });
    }
    let bytes = std::fs::read(path).map_err(|e| CorpusError::io(path, e))?;
    parse_reviews(&bytes, path, stats, warnings)
}

/// The line where a quoted field opens that no quote closes before the end of the input
/// (RFC 4180 quoting, as the `csv` crate reads it: a quote opens a field only at its start,
/// `""` inside is a quote).
fn unterminated_quote(bytes: &[u8]) -> Option<usize> {
    let (mut line, mut opened_at) = (1usize, 0usize);
    let (mut in_quotes, mut field_start) = (false, true);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quotes {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            } else if b == b'\n' {
                line += 1;
            }
        } else {
            match b {
                b'"' if field_start => {
                    in_quotes = true;
                    opened_at = line;
                }
                b',' => {
                    field_start = true;
                    i += 1;
                    continue;
                }
                b'\n' => {
                    line += 1;
                    field_start = true;
                    i += 1;
                    continue;
                }
                _ => {}
            }
            field_start = false;
        }
        i += 1;
    }
    in_quotes.then_some(opened_at)
}

/// Parses reviews CSV content; `path` only names the source in errors.
pub fn parse_reviews(
    bytes: &[u8],
    path: &Path,
    stats: &mut ReviewStats,
    warnings: &mut Vec<String>,
) -> Result<Vec<Document>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CorpusError::file(path, "the file is empty; expected a header row with ori_review, minor_col, gender_col, medical_col"));
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect::<Vec<_>>();
    for name in [
        "ori_review",
        "minor_col",
        "gender_col",
        "medical_col",
        "qid",
    ] {
        let at: Vec<usize> = (0..headers.len()).filter(|&i| headers[i] == name).collect();
        if at.len() > 1 {
            return Err(CorpusError::line(
                path,
                1,
                format!(
                    "the header has {} \"{name}\" columns (columns {}); keep one",
                    at.len(),
                    at.iter()
                        .map(|i| (i + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
    }
    if let Some(line) = unterminated_quote(bytes) {
        return Err(CorpusError::line(
            path,
            line,
            "a quoted field opens here and is never closed: every row after it would be read as part of this one; close the quote (a quote inside a quoted field is written \"\")",
        ));
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let review = col("ori_review").ok_or_else(|| {
        CorpusError::line(
            path,
            1,
            format!(
                "no \"ori_review\" column in the header (found: {})",
                headers.join(", ")
            ),
        )
    })?;
    let (minor, gender, medical) = (col("minor_col"), col("gender_col"), col("medical_col"));
    if minor.is_none() && gender.is_none() {
        return Err(CorpusError::line(
            path,
            1,
            "neither a \"minor_col\" nor a \"gender_col\" column in the header",
        ));
    }
    let qid = col("qid");
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, e)),
        }
        stats.rows += 1;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.len() != headers.len() {
            return Err(CorpusError::line(
                path,
                line,
                format!(
                    "{} fields where the header has {}: a stray quote or delimiter (quote fields that hold commas, write a quote inside one as \"\")",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").trim();
        if !cell(medical).is_empty() {
            stats.rows_excluded_medical += 1;
            continue;
        }
        let (m, g) = (cell(minor), cell(gender));
        if m.is_empty() && g.is_empty() {
            stats.rows_skipped_unlabelled += 1;
            continue;
        }
        let text = record.get(review).unwrap_or("");
        if text.trim().is_empty() {
            stats.rows_empty_review += 1;
            warnings.push(format!(
                "{}:{line}: labelled row with an empty ori_review; skipped",
                path.display()
            ));
            continue;
        }
        let base = match cell(qid) {
            "" => format!("line{line}"),
            q => q.to_string(),
        };
        let n = ids.entry(base.clone()).or_default();
        *n += 1;
        let id = if *n == 1 {
            format!("reviews/{base}")
        } else {
            format!("reviews/{base}#{n}")
        };
        let mut doc = Document::new(id, "reviews", text);
        for (cell_text, label) in [(m, labels::MINOR_CHILD), (g, labels::GENDER_INDICATION)] {
            let (spans, missing) = label_phrases(text, cell_text, label);
            doc.spans.extend(spans);
            for p in missing {
                stats.phrases_not_found += 1;
                warnings.push(format!(
                    "{}:{line}: {label} phrase {p:?} not found in ori_review",
                    path.display()
                ));
            }
        }
        stats.documents += 1;
        out.push(doc);
    }
    Ok(out)
}

fn csv_error(path: &Path, e: csv::Error) -> CorpusError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    let msg = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("not valid UTF-8 (field {})", err.field() + 1),
        _ => e.to_string(),
    };
    CorpusError::line(path, line, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(content: &[u8]) -> (Result<Vec<Document>>, ReviewStats, Vec<String>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        let mut st = ReviewStats::default();
        let mut w = Vec::new();
        let r = read_reviews(f.path(), &mut st, &mut w);
        (r, st, w)
    }

    #[test]
    fn bom_crlf_quoted_newlines_extra_columns() {
        let csv = "\u{feff}qid,ori_review,minor_col,medical_col,gender_col,extra\r\n\
                   1,\"My son,\r\nhe loves it\",son;he,,,x\r\n\
                   2,\"Colic!\",son,colic,,y\r\n\
                   3,\"Nothing here\",,,,\r\n\
                   4,\"As a mom of twins\",twins;triplets,,mom,z\r\n";
        let (docs, st, w) = read(csv.as_bytes());
        let docs = docs.unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].id, "reviews/1");
        assert_eq!(docs[0].text, "My son,\r\nhe loves it");
        assert_eq!(docs[0].spans.len(), 2);
        assert_eq!(docs[1].spans.len(), 2);
        assert_eq!(
            (
                st.rows,
                st.rows_excluded_medical,
                st.rows_skipped_unlabelled
            ),
            (4, 1, 1)
        );
        assert_eq!(st.phrases_not_found, 1);
        assert!(w[0].contains(":5:") && w[0].contains("triplets"), "{w:?}");
    }

    #[test]
    fn empty_file_and_missing_columns_are_errors() {
        let (r, ..) = read(b"");
        assert!(r.unwrap_err().to_string().contains("empty"));
        let (r, ..) = read(b"qid,review,minor_col\n1,hi,hi\n");
        let e = r.unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("ori_review"), "{e}");
        let (r, ..) = read(b"ori_review,other\nhi,x\n");
        assert!(r.unwrap_err().to_string().contains("minor_col"));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let (r, ..) = read(b"ori_review,minor_col\n\"ok son\",son\n\"bad \xff son\",son\n");
        let e = r.unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn unterminated_quote_is_an_error_naming_its_line() {
        let csv =
            b"ori_review,minor_col\n\"fine son\",son\n\"my son broke it,son\nnext row son,son\n";
        let (r, ..) = read(csv);
        let e = r.unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("never closed"), "{e}");
        // quotes inside quoted fields and in the middle of unquoted ones are fine
        let ok = b"ori_review,minor_col\n\"a \"\"5\"\" son\",son\nmy 5\" son,son\n";
        let (r, ..) = read(ok);
        assert_eq!(r.unwrap().len(), 2);
    }

    #[test]
    fn row_with_other_field_count_is_an_error() {
        let (r, ..) = read(b"ori_review,minor_col\nmy son, 7,son\n");
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains(":2:") && e.contains("3 fields where the header has 2"),
            "{e}"
        );
    }

    #[test]
    fn second_ori_review_column_is_an_error() {
        let (r, ..) = read(b"ori_review,minor_col,ori_review\nmy son,son,x\n");
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains(":1:") && e.contains("2 \"ori_review\" columns (columns 1 and 3)"),
            "{e}"
        );
    }
}
