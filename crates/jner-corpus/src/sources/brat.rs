//! MACCROBAT brat standoff reader: `T` lines only, offsets in Unicode characters,
//! discontinuous spans as their overall extent, the label map, the age rule, Sex absorption
//! and pronoun/noun-phrase injection. Events, relations, attributes and notes are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::read_utf8;
use crate::offsets::CharIndex;
use crate::rules::{age_is_minor, inject, sex, AgeRule};
use crate::{labels, CorpusError, Document, Result, Span};

/// The label a MACCROBAT entity type maps to, if any.
pub fn map_type(t: &str) -> Option<&'static str> {
    match t {
        "Sign_symptom" | "Disease_disorder" => Some(labels::MEDICAL_CONDITION),
        "Diagnostic_procedure" | "Therapeutic_procedure" => Some(labels::CLINICAL_PROCEDURE),
        "Clinical_event" => Some(labels::CLINICAL_EVENT),
        _ => None,
    }
}

/// What the brat reader and its rules did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BratStats {
    pub documents: usize,
    /// Documents found in more than one release folder and loaded once.
    pub duplicate_documents_skipped: usize,
    pub t_lines: usize,
    pub discontinuous_spans: usize,
    /// `T` spans of a type that maps to one of our labels.
    pub mapped_spans: usize,
    /// `T` spans of other types (Biological_structure, Lab_value, ...), ignored.
    pub ignored_spans: usize,
    pub age_spans: usize,
    /// Age spans under 18, kept as MinorChild.
    pub age_spans_minor: usize,
    pub sex_spans: usize,
    pub sex_spans_absorbed: usize,
    /// Documents with at least one MinorChild age span.
    pub documents_with_minor: usize,
    pub pronouns_injected: usize,
    pub noun_phrases_injected: usize,
    /// Documents that received at least one injected span.
    pub documents_with_injections: usize,
    /// Injection candidates skipped because they overlap an annotated span.
    pub injections_skipped_overlap: usize,
    /// `T` lines dropped with a warning (malformed, out of range, text mismatch).
    pub spans_rejected: usize,
}

/// One parsed `T` line, in byte offsets.
struct RawEntity {
    kind: String,
    start: usize,
    end: usize,
}

/// Parses one document (`text` + `.ann` content) with every brat rule.
pub fn parse_document(
    id: &str,
    text: &str,
    ann: &str,
    ann_path: &Path,
    rule: AgeRule,
    stats: &mut BratStats,
    warnings: &mut Vec<String>,
) -> Document {
    let index = CharIndex::new(text);
    let mut raw = Vec::new();
    for (n, line) in ann.lines().enumerate() {
        if !line.starts_with('T') {
            continue;
        }
        stats.t_lines += 1;
        match parse_t_line(line, text, &index) {
            Ok((e, discontinuous)) => {
                stats.discontinuous_spans += usize::from(discontinuous);
                raw.push(e);
            }
            Err(msg) => {
                stats.spans_rejected += 1;
                warnings.push(format!("{}:{}: {msg}", ann_path.display(), n + 1));
            }
        }
    }

    let mut spans = Vec::new();
    let mut minors = Vec::new();
    let mut sexes = Vec::new();
    for e in raw {
        if let Some(label) = map_type(&e.kind) {
            stats.mapped_spans += 1;
            spans.push(Span::new(e.start, e.end, label));
        } else if e.kind == "Age" {
            stats.age_spans += 1;
            if age_is_minor(&text[e.start..e.end], rule) {
                stats.age_spans_minor += 1;
                minors.push(Span::new(e.start, e.end, labels::MINOR_CHILD));
            }
        } else if e.kind == "Sex" {
            stats.sex_spans += 1;
            sexes.push((e.start, e.end));
        } else {
            stats.ignored_spans += 1;
        }
    }
    stats.sex_spans_absorbed += sex::absorb_sex(text, &mut minors, &sexes);

    if !minors.is_empty() {
        stats.documents_with_minor += 1;
        spans.extend(minors);
        // linear in the spans (sorted sweeps), the same result as a pairwise check
        let c = inject::add_injections(&mut spans, inject::find_injections(text));
        stats.pronouns_injected += c.pronouns;
        stats.noun_phrases_injected += c.noun_phrases;
        stats.injections_skipped_overlap += c.skipped_overlap;
        stats.documents_with_injections += usize::from(c.pronouns + c.noun_phrases > 0);
    }
    stats.documents += 1;
    Document {
        id: id.to_string(),
        source: "maccrobat".into(),
        text: text.to_string(),
        spans,
    }
}

/// Parses `T<id>\t<Type> <start> <end>[;<start> <end>...]\t<text>`.
fn parse_t_line(
    line: &str,
    text: &str,
    index: &CharIndex,
) -> std::result::Result<(RawEntity, bool), String> {
    let mut fields = line.split('\t');
    let _id = fields.next();
    let Some(body) = fields.next() else {
        return Err("truncated T line: no type and offsets".into());
    };
    let surface = fields.next();
    let (kind, offsets) = body
        .split_once(' ')
        .ok_or_else(|| format!("truncated T line: no offsets after type {body:?}"))?;
    let mut frags = Vec::new();
    for frag in offsets.split(';') {
        let mut it = frag.split_whitespace();
        let (Some(s), Some(e), None) = (it.next(), it.next(), it.next()) else {
            return Err(format!("malformed offsets {frag:?}"));
        };
        let (s, e): (usize, usize) = match (s.parse(), e.parse()) {
            (Ok(s), Ok(e)) => (s, e),
            _ => return Err(format!("offsets are not numbers: {frag:?}")),
        };
        if s > e {
            return Err(format!("start {s} after end {e}"));
        }
        let (Some(bs), Some(be)) = (index.to_byte(s), index.to_byte(e)) else {
            return Err(format!(
                "offsets {s}-{e} past the end of the text ({} characters)",
                index.char_len()
            ));
        };
        frags.push((bs, be));
    }
    if let Some(surface) = surface {
        let joined: Vec<&str> = frags.iter().map(|&(s, e)| &text[s..e]).collect();
        if joined.join(" ") != surface {
            return Err(format!(
                "offsets point at {:?} but the line says {surface:?}",
                joined.join(" ")
            ));
        }
    }
    let start = frags.iter().map(|f| f.0).min().unwrap_or(0);
    let end = frags.iter().map(|f| f.1).max().unwrap_or(0);
    Ok((
        RawEntity {
            kind: kind.to_string(),
            start,
            end,
        },
        frags.len() > 1,
    ))
}

/// The `.txt` files of a MACCROBAT folder: either a flat folder of `.txt`/`.ann` pairs or a
/// folder of release subfolders (`MACCROBAT2018/`, `MACCROBAT2020/`). A document present in
/// several releases is taken once, from the first release in name order.
/// Each document is keyed by its stem and maps to its folder; the file names are
/// `{stem}.txt` and `{stem}.ann` (stems may hold dots: `case.1.txt`).
fn find_documents(dir: &Path, stats: &mut BratStats) -> Result<BTreeMap<String, PathBuf>> {
    let list = |d: &Path| -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| CorpusError::io(d, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    let is_doc =
        |p: &PathBuf| p.is_file() && p.extension().is_some_and(|x| x == "txt" || x == "ann");
    let entries = list(dir)?;
    let folders: Vec<PathBuf> = if entries.iter().any(is_doc) {
        vec![dir.to_path_buf()]
    } else {
        entries.into_iter().filter(|p| p.is_dir()).collect()
    };
    let mut docs = BTreeMap::new();
    for folder in folders {
        let mut seen_here = std::collections::BTreeSet::new();
        for p in list(&folder)? {
            if !is_doc(&p) {
                continue;
            }
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            if !seen_here.insert(stem.clone()) {
                continue;
            }
            match docs.entry(stem) {
                std::collections::btree_map::Entry::Occupied(_) => {
                    stats.duplicate_documents_skipped += 1;
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(folder.clone());
                }
            }
        }
    }
    Ok(docs)
}

/// Reads every document of a MACCROBAT folder.
pub fn read_maccrobat(
    dir: &Path,
    rule: AgeRule,
    stats: &mut BratStats,
    warnings: &mut Vec<String>,
) -> Result<Vec<Document>> {
    if dir.is_file() {
        return Err(CorpusError::file(
            dir,
            "--data-dir must be a folder (of .txt/.ann pairs, or of MACCROBAT2018/, MACCROBAT2020/), and this is a file",
        ));
    }
    if !dir.is_dir() {
        return Err(CorpusError::Missing {
            what: "MACCROBAT folder",
            path: dir.to_path_buf(),
            hint: "Download MACCROBAT (figshare, doi:10.6084/m9.figshare.9764942), extract it so \
                   that the folder holds MACCROBAT2020/*.txt and *.ann, and pass it with \
                   --data-dir; or leave it out with --no-maccrobat.",
        });
    }
    let mut out = Vec::new();
    for (stem, folder) in find_documents(dir, stats)? {
        let txt = folder.join(format!("{stem}.txt"));
        let ann = folder.join(format!("{stem}.ann"));
        match (txt.is_file(), ann.is_file()) {
            (true, true) => {}
            (true, false) => {
                warnings.push(format!(
                    "{}: no matching .ann file; document skipped",
                    txt.display()
                ));
                continue;
            }
            (false, _) => {
                warnings.push(format!("{}: no matching .txt file; skipped", ann.display()));
                continue;
            }
        }
        let text = read_utf8(&txt)?;
        let ann_text = read_utf8(&ann)?;
        out.push(parse_document(
            &format!("maccrobat/{stem}"),
            &text,
            &ann_text,
            &ann,
            rule,
            stats,
            warnings,
        ));
    }
    if out.is_empty() {
        return Err(CorpusError::file(dir, "no .txt/.ann document pairs found"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, ann: &str) -> (Document, BratStats, Vec<String>) {
        let mut st = BratStats::default();
        let mut w = Vec::new();
        let d = parse_document(
            "d",
            text,
            ann,
            Path::new("x.ann"),
            AgeRule::Units,
            &mut st,
            &mut w,
        );
        (d, st, w)
    }

    fn texts(d: &Document) -> Vec<(&str, &str)> {
        let mut v: Vec<_> = d
            .spans
            .iter()
            .map(|s| (d.span_text(s), s.label.as_str()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn character_offsets_and_labels() {
        let text = "Un garçon – fever and CT scan.\n";
        let ann = "T1\tSign_symptom 12 17\tfever\nT2\tDiagnostic_procedure 22 29\tCT scan\n\
                   E1\tSign_symptom:T1\nR1\tMODIFY Arg1:T1 Arg2:T2\n#1\tAnnotatorNotes T1\tx\n";
        let (d, st, w) = parse(text, ann);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            texts(&d),
            [
                ("CT scan", labels::CLINICAL_PROCEDURE),
                ("fever", labels::MEDICAL_CONDITION)
            ]
        );
        assert_eq!(st.t_lines, 2);
    }

    #[test]
    fn discontinuous_uses_extent() {
        let text = "Hepatitis B and C";
        let ann = "T1\tDisease_disorder 0 9;16 17\tHepatitis C\n";
        let (d, st, _) = parse(text, ann);
        assert_eq!(
            texts(&d),
            [("Hepatitis B and C", labels::MEDICAL_CONDITION)]
        );
        assert_eq!(st.discontinuous_spans, 1);
    }

    #[test]
    fn minor_age_sex_and_injection() {
        let text =
            "A 16-year-old boy came. He had fever; this hershey. The patient and his mother.";
        let ann = "T1\tAge 2 13\t16-year-old\nT2\tSex 14 17\tboy\nT3\tSign_symptom 31 36\tfever\n";
        let (d, st, _) = parse(text, ann);
        assert_eq!(
            texts(&d),
            [
                ("16-year-old boy", "MinorChild"),
                ("He", "MinorChild"),
                ("fever", "MedicalCondition"),
                ("his", "MinorChild"),
                ("patient", "MinorChild"),
            ]
        );
        assert_eq!((st.age_spans_minor, st.sex_spans_absorbed), (1, 1));
        assert_eq!((st.pronouns_injected, st.noun_phrases_injected), (2, 1));
        assert_eq!(st.documents_with_injections, 1);
    }

    #[test]
    fn adult_age_no_injection() {
        let text = "A 46-year-old man. He had fever.";
        let ann = "T1\tAge 2 13\t46-year-old\nT2\tSex 14 17\tman\n";
        let (d, st, _) = parse(text, ann);
        assert!(d.spans.is_empty());
        assert_eq!(
            (
                st.age_spans,
                st.age_spans_minor,
                st.documents_with_injections
            ),
            (1, 0, 0)
        );
    }

    #[test]
    fn malformed_lines_are_counted_warnings() {
        let text = "short text";
        let ann = "T1\tSign_symptom 0 5\tshort\nT2\tSign_symptom\nT3\tSign_symptom 0 99\tx\n\
                   T4\tSign_symptom a b\tx\nT5\nT6\tSign_symptom 0 4\tWRONG\nT7\tSign_symptom 6 10\n";
        let (d, st, w) = parse(text, ann);
        assert_eq!(
            texts(&d),
            [("short", "MedicalCondition"), ("text", "MedicalCondition")]
        );
        assert_eq!(st.spans_rejected, 5);
        assert_eq!(w.len(), 5);
        assert!(w[0].starts_with("x.ann:2: truncated"), "{}", w[0]);
        assert!(w[1].contains("past the end"), "{}", w[1]);
    }

    fn write(dir: &Path, name: &str, content: &[u8]) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), content).unwrap();
    }

    #[test]
    fn release_folders_load_each_document_once() {
        let tmp = tempfile::tempdir().unwrap();
        for rel in ["MACCROBAT2018", "MACCROBAT2020"] {
            let d = tmp.path().join(rel);
            write(&d, "1.txt", b"fever");
            write(&d, "1.ann", b"T1\tSign_symptom 0 5\tfever\n");
        }
        write(&tmp.path().join("MACCROBAT2020"), "2.txt", b"cough");
        write(
            &tmp.path().join("MACCROBAT2020"),
            "2.ann",
            b"T1\tSign_symptom 0 5\tcough\n",
        );
        let (mut st, mut w) = (BratStats::default(), Vec::new());
        let docs = read_maccrobat(tmp.path(), AgeRule::Units, &mut st, &mut w).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(st.duplicate_documents_skipped, 1);
        // The flat layout works too.
        let (mut st, mut w) = (BratStats::default(), Vec::new());
        let flat = tmp.path().join("MACCROBAT2020");
        assert_eq!(
            read_maccrobat(&flat, AgeRule::Units, &mut st, &mut w)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn missing_ann_is_a_warning_and_bad_utf8_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1.txt", b"fever");
        write(tmp.path(), "1.ann", b"T1\tSign_symptom 0 5\tfever\n");
        write(tmp.path(), "2.txt", b"lonely text");
        let (mut st, mut w) = (BratStats::default(), Vec::new());
        let docs = read_maccrobat(tmp.path(), AgeRule::Units, &mut st, &mut w).unwrap();
        assert_eq!(docs.len(), 1);
        assert!(
            w[0].contains("2.txt") && w[0].contains("no matching .ann"),
            "{w:?}"
        );
        write(tmp.path(), "3.txt", b"bad \xff byte");
        write(tmp.path(), "3.ann", b"");
        let e = read_maccrobat(tmp.path(), AgeRule::Units, &mut st, &mut w)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3.txt") && e.contains("UTF-8"), "{e}");
        let e = read_maccrobat(&tmp.path().join("nope"), AgeRule::Units, &mut st, &mut w)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--data-dir") && e.contains("figshare"), "{e}");
    }

    #[test]
    fn stems_with_dots_load_their_own_text() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "case.txt", b"fever");
        write(tmp.path(), "case.ann", b"T1\tSign_symptom 0 5\tfever\n");
        write(tmp.path(), "case.1.txt", b"cough now");
        write(tmp.path(), "case.1.ann", b"T1\tSign_symptom 0 5\tcough\n");
        let (mut st, mut w) = (BratStats::default(), Vec::new());
        let docs = read_maccrobat(tmp.path(), AgeRule::Units, &mut st, &mut w).unwrap();
        let mut got: Vec<(String, String)> = docs
            .iter()
            .map(|d| (d.id.clone(), d.text.clone()))
            .collect();
        got.sort();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].0.ends_with("case") && got[0].1 == "fever", "{got:?}");
        assert!(
            got[1].0.ends_with("case.1") && got[1].1 == "cough now",
            "{got:?}"
        );
        // alone, a dotted pair is found too
        let solo = tmp.path().join("solo");
        write(&solo, "a.b.txt", b"fever");
        write(&solo, "a.b.ann", b"T1\tSign_symptom 0 5\tfever\n");
        let docs = read_maccrobat(&solo, AgeRule::Units, &mut st, &mut w).unwrap();
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn data_dir_that_is_a_file_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "f.txt", b"x");
        let (mut st, mut w) = (BratStats::default(), Vec::new());
        let e = read_maccrobat(&tmp.path().join("f.txt"), AgeRule::Units, &mut st, &mut w)
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.txt") && e.contains("is a file"), "{e}");
    }
}
