//! Scoring gold and prediction JSONL files, matched by `"id"`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::score::{score, DocScoreInput, Triple};
use crate::{EvalError, Report};

/// Score a prediction JSONL file against a gold JSONL file. All offsets are Unicode characters.
///
/// * Gold: one document a line, `{"id", "text"?, "spans": [{"start", "end", "label"}]}`.
///   Where `"text"` is given, every span must lie within it and have `start <= end`.
/// * Predictions: `{"id", "entities": [{"start", "end", "label", "score"?, "text"?}]}` or the
///   gold shape with `"spans"`. A line with both fields is scored on `"entities"`. Predictions
///   are scored as given: a malformed one simply cannot match.
///
/// Other fields are ignored; blank lines are skipped; `"id"` may be a string or an integer.
/// Documents are matched by id; a gold id without a prediction line is scored as an empty
/// prediction. A prediction id that is not in gold, an id repeated within a file, malformed
/// JSON and missing or mistyped fields are [`EvalError::Line`] errors naming the file and the
/// line (from 1).
pub fn score_jsonl_files(gold: &Path, pred: &Path) -> Result<Report, EvalError> {
    Ok(score(&jsonl_inputs_files(gold, pred)?))
}

/// The matched gold and predicted triples of every gold document of the two files, in gold
/// order (what [`score_jsonl_files`] scores; for [`crate::stats`]).
pub fn jsonl_inputs_files(gold: &Path, pred: &Path) -> Result<Vec<DocScoreInput>, EvalError> {
    let g = read_bytes(gold)?;
    let p = read_bytes(pred)?;
    jsonl_inputs(&g, gold, &p, pred)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, EvalError> {
    std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// [`score_jsonl_files`] on the files' contents; `gold` and `pred` only name them in errors.
pub fn score_jsonl(
    gold_bytes: &[u8],
    gold: &Path,
    pred_bytes: &[u8],
    pred: &Path,
) -> Result<Report, EvalError> {
    Ok(score(&jsonl_inputs(gold_bytes, gold, pred_bytes, pred)?))
}

/// The id and text (when the line has one) of every document of a gold file, in order: for
/// the examples of [`crate::analysis`].
pub fn jsonl_gold_texts(gold: &Path) -> Result<Vec<(String, Option<String>)>, EvalError> {
    Ok(parse_jsonl(&read_bytes(gold)?, gold, Role::Gold)?
        .into_iter()
        .map(|d| (d.id, d.text))
        .collect())
}

/// [`jsonl_inputs_files`] on the files' contents.
pub fn jsonl_inputs(
    gold_bytes: &[u8],
    gold: &Path,
    pred_bytes: &[u8],
    pred: &Path,
) -> Result<Vec<DocScoreInput>, EvalError> {
    let gold_docs = parse_jsonl(gold_bytes, gold, Role::Gold)?;
    let mut index: HashMap<String, (usize, usize)> = HashMap::new(); // id → (position, line)
    let mut inputs = Vec::with_capacity(gold_docs.len());
    for doc in gold_docs {
        if let Some(&(_, first)) = index.get(&doc.id) {
            return Err(EvalError::line(
                gold,
                doc.line,
                format!("id {:?} already appeared on line {first}", doc.id),
            ));
        }
        index.insert(doc.id, (inputs.len(), doc.line));
        inputs.push(DocScoreInput {
            gold: doc.triples,
            pred: Vec::new(),
        });
    }

    let mut seen: HashMap<String, usize> = HashMap::new(); // id → line
    for doc in parse_jsonl(pred_bytes, pred, Role::Pred)? {
        let Some(&(position, _)) = index.get(&doc.id) else {
            return Err(EvalError::line(
                pred,
                doc.line,
                format!(
                    "id {:?} is not in the gold file {}; predictions must be for the gold documents",
                    doc.id,
                    gold.display()
                ),
            ));
        };
        if let Some(first) = seen.insert(doc.id.clone(), doc.line) {
            return Err(EvalError::line(
                pred,
                doc.line,
                format!("id {:?} already appeared on line {first}", doc.id),
            ));
        }
        inputs[position].pred = doc.triples;
    }
    Ok(inputs)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Gold,
    Pred,
}

/// One parsed line.
struct LineDoc {
    line: usize,
    id: String,
    triples: Vec<Triple>,
    /// Gold: the document's text, when the line has one.
    text: Option<String>,
}

#[derive(Deserialize)]
struct RawSpan {
    start: usize,
    end: usize,
    label: String,
}

fn parse_jsonl(bytes: &[u8], path: &Path, role: Role) -> Result<Vec<LineDoc>, EvalError> {
    let mut docs = Vec::new();
    for (i, line) in BufReader::new(bytes).lines().enumerate() {
        let number = i + 1;
        let line = line.map_err(|source| {
            if source.kind() == std::io::ErrorKind::InvalidData {
                EvalError::line(path, number, "not valid UTF-8; save the file as UTF-8")
            } else {
                EvalError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let text = if number == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(&line)
        } else {
            &line
        };
        if text.trim().is_empty() {
            continue;
        }
        let (id, triples, text) =
            parse_line(text, role).map_err(|message| EvalError::line(path, number, message))?;
        docs.push(LineDoc {
            line: number,
            id,
            triples,
            text,
        });
    }
    Ok(docs)
}

/// The id, triples and (gold) text of one line.
type Parsed = (String, Vec<Triple>, Option<String>);

fn parse_line(text: &str, role: Role) -> Result<Parsed, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("expected a JSON object, one document per line".to_string());
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => return Err("\"id\" must be a string".to_string()),
        None => return Err("missing field \"id\"".to_string()),
    };
    let field = match role {
        Role::Gold => "spans",
        Role::Pred if obj.contains_key("entities") || !obj.contains_key("spans") => "entities",
        Role::Pred => "spans",
    };
    let items = match obj.get(field) {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(format!("\"{field}\" must be an array")),
        None if role == Role::Pred => {
            return Err("missing field \"entities\" (or \"spans\")".to_string())
        }
        None => return Err(format!("missing field \"{field}\"")),
    };
    let text_chars = if role == Role::Gold {
        text_char_len(&obj)?
    } else {
        None
    };
    let mut triples = Vec::with_capacity(items.len());
    for (k, item) in items.iter().enumerate() {
        let span = RawSpan::deserialize(item).map_err(|e| format!("{field}[{k}]: {e}"))?;
        if role == Role::Gold {
            if span.start > span.end {
                return Err(format!(
                    "{field}[{k}]: start {} is after end {}",
                    span.start, span.end
                ));
            }
            if let Some(n) = text_chars.filter(|&n| span.end > n) {
                return Err(format!(
                    "{field}[{k}]: end {} is past the end of the text ({n} characters); \
                     offsets must be Unicode characters",
                    span.end
                ));
            }
        }
        triples.push((span.start, span.end, span.label));
    }
    let text = match (role, obj.get("text")) {
        (Role::Gold, Some(Value::String(t))) => Some(t.clone()),
        _ => None,
    };
    Ok((id, triples, text))
}

/// The character length of the optional `"text"` field.
fn text_char_len(obj: &Map<String, Value>) -> Result<Option<usize>, String> {
    match obj.get("text") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) => Ok(Some(t.chars().count())),
        Some(_) => Err("\"text\" must be a string".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn write(dir: &tempfile::TempDir, name: &str, content: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Gold: three documents, one with non-ASCII text (offsets in characters).
    const GOLD: &str = concat!(
        r#"{"id":"d1","text":"Fièvre – 38.5°C fever","spans":[{"start":0,"end":6,"label":"MedicalCondition"},{"start":16,"end":21,"label":"MedicalCondition"}]}"#,
        "\n",
        "\n",
        r#"{"id":"d2","text":"my son, 7","spans":[{"start":3,"end":6,"label":"MinorChild"}]}"#,
        "\n",
        r#"{"id":"d3","spans":[{"start":0,"end":4,"label":"GenderIndication"}]}"#,
        "\n",
    );

    #[test]
    fn scores_both_prediction_shapes_and_missing_lines() {
        // d1 ("entities" shape): 0..6 tp, 9..15 MedicalCondition spurious; 16..21 not predicted
        //   → missed.
        // d2 ("spans" shape, listed first): 3..6 MinorChild tp.
        // d3: no prediction line → 0..4 GenderIndication missed.
        // MedicalCondition: tp 1, fp 1, fn 1 → P 1/2, R 1/2, F1 2/(2+1+1) = 1/2.
        // MinorChild: tp 1 → 1, 1, 1. GenderIndication: fn 1 → 0, 0, 0.
        // Micro: tp 2, fp 1, fn 2 → P 2/3, R 2/4, F1 4/(4+1+2) = 4/7.
        // Macro F1: (1/2 + 1 + 0)/3 = 1/2.
        let dir = tempfile::tempdir().unwrap();
        let gold = write(&dir, "gold.jsonl", GOLD);
        let pred = write(
            &dir,
            "pred.jsonl",
            concat!(
                r#"{"id":"d2","spans":[{"start":3,"end":6,"label":"MinorChild"}]}"#,
                "\r\n",
                r#"{"id":"d1","entities":[{"start":0,"end":6,"label":"MedicalCondition","score":0.93,"text":"Fièvre"},{"start":9,"end":15,"label":"MedicalCondition"}]}"#,
                "\n",
            ),
        );
        let r = score_jsonl_files(&gold, &pred).unwrap();
        assert_eq!(r.documents, 3);
        let mc = &r.per_label["MedicalCondition"];
        assert_eq!((mc.tp, mc.fp, mc.fn_, mc.support), (1, 1, 1, 2));
        assert_eq!(r.per_label["MinorChild"].tp, 1);
        assert_eq!(r.per_label["GenderIndication"].fn_, 1);
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (2, 1, 2));
        assert!((r.micro.f1 - 4.0 / 7.0).abs() < 1e-12);
        assert!((r.macro_avg.f1 - 0.5).abs() < 1e-12);
        assert_eq!(r.errors.spurious, 1);
        assert_eq!(r.errors.missed, 2);
    }

    #[test]
    fn entities_win_over_spans_and_numeric_ids_and_bom_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(
            &dir,
            "gold.jsonl",
            "\u{feff}{\"id\":7,\"spans\":[{\"start\":0,\"end\":2,\"label\":\"A\"}]}\n",
        );
        let pred = write(
            &dir,
            "pred.jsonl",
            r#"{"id":"7","spans":[{"start":5,"end":6,"label":"A"}],"entities":[{"start":0,"end":2,"label":"A"}]}"#,
        );
        let r = score_jsonl_files(&gold, &pred).unwrap();
        assert_eq!((r.micro.tp, r.micro.fp, r.micro.fn_), (1, 0, 0));
    }

    fn line_error(err: EvalError, file: &Path) -> (usize, String) {
        let shown = err.to_string();
        match err {
            EvalError::Line {
                path,
                line,
                message,
            } => {
                assert_eq!(path, file);
                assert!(shown.starts_with(&format!("{}:{line}: ", file.display())));
                (line, message)
            }
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(&dir, "gold.jsonl", GOLD);
        let pred = write(
            &dir,
            "pred.jsonl",
            concat!(
                r#"{"id":"d1","entities":[]}"#,
                "\n",
                r#"{"id":"d2","entities":[{"start":3,"end":6,"label":"MinorChild"}"#,
                "\n",
            ),
        );
        let (line, message) = line_error(score_jsonl_files(&gold, &pred).unwrap_err(), &pred);
        assert_eq!(line, 2);
        assert!(message.contains("malformed JSON"), "{message}");

        // Malformed in gold: line 5 (the blank line 2 is still counted).
        let bad_gold = write(&dir, "bad_gold.jsonl", &format!("{GOLD}{{not json\n"));
        let (line, _) = line_error(score_jsonl_files(&bad_gold, &pred).unwrap_err(), &bad_gold);
        assert_eq!(line, 5);
    }

    #[test]
    fn missing_id_or_fields_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(&dir, "empty.jsonl", "");

        let gold = write(
            &dir,
            "gold.jsonl",
            "{\"id\":\"a\",\"spans\":[]}\n{\"spans\":[]}\n",
        );
        let (line, message) = line_error(score_jsonl_files(&gold, &empty).unwrap_err(), &gold);
        assert_eq!(line, 2);
        assert!(message.contains("\"id\""), "{message}");

        let gold = write(&dir, "gold2.jsonl", "{\"id\":\"a\"}\n");
        let (line, message) = line_error(score_jsonl_files(&gold, &empty).unwrap_err(), &gold);
        assert_eq!(line, 1);
        assert!(message.contains("\"spans\""), "{message}");

        let gold = write(
            &dir,
            "gold3.jsonl",
            "{\"id\":\"a\",\"spans\":[{\"start\":0,\"end\":2}]}\n",
        );
        let (line, message) = line_error(score_jsonl_files(&gold, &empty).unwrap_err(), &gold);
        assert_eq!(line, 1);
        assert!(
            message.contains("spans[0]") && message.contains("label"),
            "{message}"
        );

        let gold = write(&dir, "gold4.jsonl", "{\"id\":\"a\",\"spans\":[]}\n");
        let pred = write(&dir, "pred4.jsonl", "{\"id\":\"a\"}\n");
        let (line, message) = line_error(score_jsonl_files(&gold, &pred).unwrap_err(), &pred);
        assert_eq!(line, 1);
        assert!(message.contains("\"entities\""), "{message}");

        let pred = write(&dir, "pred5.jsonl", "[1, 2]\n");
        let (_, message) = line_error(score_jsonl_files(&gold, &pred).unwrap_err(), &pred);
        assert!(message.contains("JSON object"), "{message}");
    }

    #[test]
    fn id_only_in_predictions_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(&dir, "gold.jsonl", GOLD);
        let pred = write(
            &dir,
            "pred.jsonl",
            concat!(
                r#"{"id":"d1","entities":[]}"#,
                "\n",
                r#"{"id":"d9","entities":[]}"#,
                "\n",
            ),
        );
        let (line, message) = line_error(score_jsonl_files(&gold, &pred).unwrap_err(), &pred);
        assert_eq!(line, 2);
        assert!(message.contains("\"d9\""), "{message}");
        assert!(message.contains("gold.jsonl"), "{message}");
    }

    #[test]
    fn repeated_ids_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(&dir, "gold.jsonl", GOLD);
        let pred = write(
            &dir,
            "pred.jsonl",
            "{\"id\":\"d1\",\"entities\":[]}\n{\"id\":\"d1\",\"entities\":[]}\n",
        );
        let (line, message) = line_error(score_jsonl_files(&gold, &pred).unwrap_err(), &pred);
        assert_eq!(line, 2);
        assert!(message.contains("line 1"), "{message}");

        let gold2 = write(
            &dir,
            "gold2.jsonl",
            &format!("{GOLD}{{\"id\":\"d2\",\"spans\":[]}}\n"),
        );
        let (line, message) = line_error(score_jsonl_files(&gold2, &pred).unwrap_err(), &gold2);
        assert_eq!(line, 5);
        assert!(message.contains("line 3"), "{message}");
    }

    #[test]
    fn gold_offsets_are_checked_against_the_text() {
        // "Fièvre" is 6 characters (7 bytes): end 7 is past the end in characters.
        let dir = tempfile::tempdir().unwrap();
        let empty = write(&dir, "empty.jsonl", "");
        let gold = write(
            &dir,
            "gold.jsonl",
            r#"{"id":"a","text":"Fièvre","spans":[{"start":0,"end":7,"label":"MedicalCondition"}]}"#,
        );
        let (line, message) = line_error(score_jsonl_files(&gold, &empty).unwrap_err(), &gold);
        assert_eq!(line, 1);
        assert!(message.contains("past the end"), "{message}");

        let gold = write(
            &dir,
            "gold2.jsonl",
            r#"{"id":"a","spans":[{"start":4,"end":2,"label":"A"}]}"#,
        );
        let (_, message) = line_error(score_jsonl_files(&gold, &empty).unwrap_err(), &gold);
        assert!(message.contains("after end"), "{message}");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(&dir, "gold.jsonl", GOLD);
        let missing = dir.path().join("nope.jsonl");
        let err = score_jsonl_files(&gold, &missing).unwrap_err();
        assert!(matches!(err, EvalError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("nope.jsonl"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(&dir, "gold.jsonl", GOLD);
        let pred = dir.path().join("pred.jsonl");
        std::fs::write(
            &pred,
            b"{\"id\":\"d1\",\"entities\":[]}\n{\"id\":\"d\xff\"}\n",
        )
        .unwrap();
        let (line, message) = line_error(score_jsonl_files(&gold, &pred).unwrap_err(), &pred);
        assert_eq!(line, 2);
        assert!(message.contains("UTF-8"), "{message}");
    }
}
