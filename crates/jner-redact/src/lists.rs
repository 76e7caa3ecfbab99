//! Allow and deny lists of one request (or one `jner redact` run).
//!
//! * **allow**: a found entity whose text equals an `exact` entry (case-insensitive, surrounding
//!   white space ignored) or is wholly matched by a `regex` entry is dropped ("baby monitor"
//!   is not a child).
//! * **deny**: every occurrence of an `exact` entry (case-insensitive, on word boundaries) or
//!   every non-empty match of a `regex` entry becomes an entity of the entry's `label` with
//!   score 1. Deny entries are added after the allow list is applied, so they are never
//!   dropped by it, and through the overlap rule they win over what the model found there.
//!
//! Regexes are Rust's `regex` (linear time: no pattern can make a request hang), with a
//! compiled-size limit.

use jner_corpus::offsets::CharIndex;
use jner_corpus::Entity;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;

/// Compiled size limit of one regex (bytes).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One allow-list entry: exactly one of `exact` and `regex`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// One deny-list entry: the label its matches get, and exactly one of `exact` and `regex`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DenyPattern {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

#[derive(Clone, Debug)]
enum Matcher {
    /// Lower-cased, trimmed.
    Exact(String),
    Regex(Regex),
}

/// Compiled lists.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    allow: Vec<Matcher>,
    deny: Vec<(String, Matcher)>,
}

fn compile(
    field: &str,
    exact: &Option<String>,
    regex: &Option<String>,
    anchored: bool,
) -> Result<Matcher, Error> {
    let err = |reason: &str| Error::Pattern {
        field: field.to_string(),
        reason: reason.to_string(),
    };
    match (exact, regex) {
        (Some(e), None) => {
            let e = e.trim().to_lowercase();
            if e.is_empty() {
                return Err(err("`exact` is empty"));
            }
            Ok(Matcher::Exact(e))
        }
        (None, Some(r)) => {
            if r.is_empty() {
                return Err(err("`regex` is empty"));
            }
            let src = if anchored {
                format!("^(?:{r})$")
            } else {
                r.clone()
            };
            RegexBuilder::new(&src)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| Error::Pattern {
                    field: format!("{field}.regex"),
                    reason: e.to_string(),
                })
        }
        (Some(_), Some(_)) => Err(err("give one of `exact` and `regex`, not both")),
        (None, None) => Err(err("give one of `exact` and `regex`")),
    }
}

impl Lists {
    /// Compiles the lists; an error names the entry (`allow[2].regex: ...`).
    pub fn compile(allow: &[Pattern], deny: &[DenyPattern]) -> Result<Self, Error> {
        let allow = allow
            .iter()
            .enumerate()
            .map(|(i, p)| compile(&format!("allow[{i}]"), &p.exact, &p.regex, true))
            .collect::<Result<_, _>>()?;
        let deny = deny
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let field = format!("deny[{i}]");
                if p.label.trim().is_empty() {
                    return Err(Error::Pattern {
                        field: format!("{field}.label"),
                        reason: "empty label".into(),
                    });
                }
                Ok((p.label.clone(), compile(&field, &p.exact, &p.regex, false)?))
            })
            .collect::<Result<_, _>>()?;
        Ok(Lists { allow, deny })
    }

    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Drops allowed entities and adds denied occurrences (character offsets), sorted by start.
    /// Entities whose offsets do not fit the text are left for the redactor to refuse.
    pub fn apply(&self, text: &str, entities: &mut Vec<Entity>) {
        if self.is_empty() {
            return;
        }
        let idx = CharIndex::new(text);
        if !self.allow.is_empty() {
            entities.retain(|e| {
                let (Some(b0), Some(b1)) = (idx.to_byte(e.start), idx.to_byte(e.end)) else {
                    return true;
                };
                if b0 > b1 {
                    return true;
                }
                let s = &text[b0..b1];
                !self.allow.iter().any(|m| match m {
                    Matcher::Exact(x) => s.trim().to_lowercase() == *x,
                    Matcher::Regex(r) => r.is_match(s),
                })
            });
        }
        for (label, m) in &self.deny {
            let spans: Vec<(usize, usize)> = match m {
                Matcher::Exact(x) => jner_corpus::rules::find_phrase(text, x),
                Matcher::Regex(r) => r
                    .find_iter(text)
                    .filter(|m| !m.is_empty())
                    .map(|m| (m.start(), m.end()))
                    .collect(),
            };
            for (b0, b1) in spans {
                if let (Some(start), Some(end)) = (idx.to_char(b0), idx.to_char(b1)) {
                    entities.push(Entity {
                        start,
                        end,
                        label: label.clone(),
                        score: 1.0,
                    });
                }
            }
        }
        entities.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(start: usize, end: usize, label: &str) -> Entity {
        Entity {
            start,
            end,
            label: label.into(),
            score: 0.7,
        }
    }

    #[test]
    fn allow_drops_and_deny_adds() {
        let text = "Our baby monitor woke Tommy; ask Tommy's dad. Büro 12-34";
        let lists = Lists::compile(
            &[Pattern {
                exact: Some(" Baby Monitor ".into()),
                regex: None,
            }],
            &[
                DenyPattern {
                    label: "MinorChild".into(),
                    exact: Some("tommy".into()),
                    regex: None,
                },
                DenyPattern {
                    label: "Code".into(),
                    exact: None,
                    regex: Some(r"\d+-\d+".into()),
                },
            ],
        )
        .unwrap();
        let mut ents = vec![ent(4, 16, "MinorChild"), ent(4, 8, "MinorChild")];
        lists.apply(text, &mut ents);
        let got: Vec<(usize, usize, &str)> = ents
            .iter()
            .map(|e| (e.start, e.end, e.label.as_str()))
            .collect();
        // "baby" alone is not on the allow list; the unicode "ü" shifts bytes, not chars
        assert_eq!(
            got,
            vec![
                (4, 8, "MinorChild"),
                (22, 27, "MinorChild"),
                (33, 38, "MinorChild"),
                (51, 56, "Code")
            ]
        );
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[51..56].iter().collect::<String>(), "12-34");
    }

    #[test]
    fn bad_entries_are_named() {
        let e = Lists::compile(
            &[
                Pattern {
                    exact: Some("x".into()),
                    regex: None,
                },
                Pattern {
                    exact: None,
                    regex: Some("(unclosed".into()),
                },
            ],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("allow[1].regex:"), "{e}");
        let e = Lists::compile(&[Pattern::default()], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("allow[0]") && e.contains("one of"), "{e}");
        let e = Lists::compile(
            &[],
            &[DenyPattern {
                label: " ".into(),
                exact: Some("x".into()),
                regex: None,
            }],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("deny[0].label"), "{e}");
        let huge = "(a{1,1000}){1000}".to_string();
        let e = Lists::compile(
            &[Pattern {
                exact: None,
                regex: Some(huge),
            }],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("allow[0].regex"), "{e}");
    }
}
