//! Corona2.json reader: `examples[].content` with `annotations[]`; only `MedicalCondition`
//! annotations are kept (the spec drops Medicine and Pathogen). Offsets are characters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::read_utf8;
use crate::offsets::CharIndex;
use crate::{labels, CorpusError, Document, Result, Span};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CoronaStats {
    pub documents: usize,
    /// Annotations per `tag_name`, before filtering.
    pub annotations_by_tag: BTreeMap<String, usize>,
    pub kept: usize,
    /// Annotations whose `value` differs from the text at their offsets (kept, warned).
    pub value_mismatches: usize,
}

fn field<'a>(v: &'a Value, key: &str, at: &str, path: &Path) -> Result<&'a Value> {
    v.get(key)
        .ok_or_else(|| CorpusError::file(path, format!("{at}: missing field \"{key}\"")))
}

fn as_usize(v: &Value, at: &str, path: &Path) -> Result<usize> {
    v.as_u64().map(|x| x as usize).ok_or_else(|| {
        CorpusError::file(
            path,
            format!("{at}: expected a non-negative integer, got {v}"),
        )
    })
}

/// Reads Corona2.json.
pub fn read_corona(
    path: &Path,
    stats: &mut CoronaStats,
    warnings: &mut Vec<String>,
) -> Result<Vec<Document>> {
    if !path.is_file() {
        return Err(CorpusError::Missing {
            what: "Corona2.json",
            path: path.to_path_buf(),
            hint:
                "Get it from the Kaggle dataset finalepoch/medical-ner, place it next to where you \
                   run jner or pass --corona PATH; or leave it out with --no-corona.",
        });
    }
    let raw = read_utf8(path)?;
    parse_corona(&raw, path, stats, warnings)
}

/// Parses Corona2.json content; `path` only names the source in errors.
pub fn parse_corona(
    raw: &str,
    path: &Path,
    stats: &mut CoronaStats,
    warnings: &mut Vec<String>,
) -> Result<Vec<Document>> {
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    let root: Value = serde_json::from_str(raw)
        .map_err(|e| CorpusError::line(path, e.line(), format!("invalid JSON: {e}")))?;
    let examples = field(&root, "examples", "top level", path)?
        .as_array()
        .ok_or_else(|| CorpusError::file(path, "\"examples\" is not an array"))?;
    let mut out = Vec::with_capacity(examples.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, ex) in examples.iter().enumerate() {
        let at = format!("examples[{i}]");
        let text = field(ex, "content", &at, path)?
            .as_str()
            .ok_or_else(|| CorpusError::file(path, format!("{at}.content: not a string")))?;
        let id = ex
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| i.to_string());
        if let Some(first) = seen.insert(id.clone(), i) {
            return Err(CorpusError::file(
                path,
                format!("{at}.id: {id:?} is also the id of examples[{first}]; ids must be unique"),
            ));
        }
        let index = CharIndex::new(text);
        let mut doc = Document::new(format!("corona/{id}"), "corona", text);
        let anns = match ex.get("annotations") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => {
                return Err(CorpusError::file(
                    path,
                    format!("{at}.annotations: not an array"),
                ))
            }
        };
        for (j, a) in anns.iter().enumerate() {
            let at = format!("{at}.annotations[{j}]");
            let tag = field(a, "tag_name", &at, path)?
                .as_str()
                .ok_or_else(|| CorpusError::file(path, format!("{at}.tag_name: not a string")))?;
            *stats.annotations_by_tag.entry(tag.to_string()).or_default() += 1;
            if tag != labels::MEDICAL_CONDITION {
                continue;
            }
            let s = as_usize(field(a, "start", &at, path)?, &format!("{at}.start"), path)?;
            let e = as_usize(field(a, "end", &at, path)?, &format!("{at}.end"), path)?;
            let (Some(bs), Some(be)) = (index.to_byte(s), index.to_byte(e)) else {
                warnings.push(format!(
                    "{}: {at}: offsets {s}-{e} past the end of the content; skipped",
                    path.display()
                ));
                continue;
            };
            if bs > be {
                warnings.push(format!(
                    "{}: {at}: start {s} after end {e}; skipped",
                    path.display()
                ));
                continue;
            }
            if let Some(v) = a.get("value").and_then(Value::as_str) {
                if v != &text[bs..be] {
                    stats.value_mismatches += 1;
                    warnings.push(format!(
                        "{}: {at}: value {v:?} differs from the text at {s}-{e}",
                        path.display()
                    ));
                }
            }
            doc.spans.push(Span::new(bs, be, labels::MEDICAL_CONDITION));
            stats.kept += 1;
        }
        stats.documents += 1;
        out.push(doc);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> (Result<Vec<Document>>, CoronaStats, Vec<String>) {
        let (mut st, mut w) = (CoronaStats::default(), Vec::new());
        let r = parse_corona(raw, Path::new("c.json"), &mut st, &mut w);
        (r, st, w)
    }

    #[test]
    fn keeps_medical_condition_only_in_characters() {
        let raw = r#"{"examples":[{"id":"e1","content":"Fièvre: fever and aspirin","annotations":[
            {"tag_name":"MedicalCondition","start":8,"end":13,"value":"fever"},
            {"tag_name":"Medicine","start":18,"end":25,"value":"aspirin"}]}]}"#;
        let (docs, st, w) = parse(raw);
        let docs = docs.unwrap();
        assert!(w.is_empty());
        assert_eq!(docs[0].id, "corona/e1");
        assert_eq!(docs[0].spans.len(), 1);
        assert_eq!(docs[0].span_text(&docs[0].spans[0]), "fever");
        assert_eq!((st.kept, st.annotations_by_tag["Medicine"]), (1, 1));
    }

    #[test]
    fn duplicate_corona_ids_are_refused() {
        let raw = r#"{"examples":[{"id":"a","content":"x","annotations":[]},{"id":"a","content":"y","annotations":[]}]}"#;
        let e = parse(raw).0.unwrap_err().to_string();
        assert!(
            e.contains("examples[1].id") && e.contains("examples[0]"),
            "{e}"
        );
    }

    #[test]
    fn corona_bom_is_accepted() {
        let raw = "\u{feff}{\"examples\":[{\"id\":\"a\",\"content\":\"x\",\"annotations\":[]}]}";
        assert_eq!(parse(raw).0.unwrap().len(), 1);
    }

    #[test]
    fn malformed_input_names_the_field() {
        let e = parse("{\"examples\": [").0.unwrap_err().to_string();
        assert!(
            e.starts_with("c.json:1:") && e.contains("invalid JSON"),
            "{e}"
        );
        let e = parse(r#"{"examples":[{"annotations":[]}]}"#)
            .0
            .unwrap_err()
            .to_string();
        assert!(e.contains("examples[0]") && e.contains("content"), "{e}");
        let e = parse(r#"{"examples":[{"content":"x","annotations":[{"tag_name":"MedicalCondition","start":-1,"end":1}]}]}"#)
            .0
            .unwrap_err()
            .to_string();
        assert!(e.contains("examples[0].annotations[0].start"), "{e}");
        let (docs, _, w) = parse(
            r#"{"examples":[{"content":"x","annotations":[{"tag_name":"MedicalCondition","start":0,"end":5}]}]}"#,
        );
        assert!(docs.unwrap()[0].spans.is_empty());
        assert!(w[0].contains("past the end"), "{w:?}");
    }
}
