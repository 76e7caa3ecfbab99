//! What happens to an entity's text: the operators of `jner redact` and `POST /v1/redact`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;

/// One anonymization operator, as JSON `{"type": "...", ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operator {
    /// The entity becomes `value`, by default `[Label]`; with `numbered`, `<Label_N>`, where
    /// the same surface form (compared case-insensitively) gets the same N within one text.
    Replace {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(default)]
        numbered: bool,
    },
    /// `count` characters (all when absent) become `char`, from the start or from the end.
    Mask {
        #[serde(default = "default_mask_char")]
        char: char,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<usize>,
        #[serde(default)]
        from_end: bool,
    },
    /// The entity's text is deleted.
    Remove,
    /// The entity's text stays; it is still reported.
    Keep,
    /// HMAC-SHA256 of the text under the key (64 hex digits).
    Hash,
    /// AES-256-GCM token of the text under the key; `restore` gives the text back.
    Encrypt,
}

fn default_mask_char() -> char {
    '*'
}

impl Default for Operator {
    fn default() -> Self {
        Operator::Replace {
            value: None,
            numbered: false,
        }
    }
}

impl Operator {
    /// The operator's name, as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Operator::Replace { .. } => "replace",
            Operator::Mask { .. } => "mask",
            Operator::Remove => "remove",
            Operator::Keep => "keep",
            Operator::Hash => "hash",
            Operator::Encrypt => "encrypt",
        }
    }

    /// Whether it needs [`crate::Keys`].
    pub fn needs_key(&self) -> bool {
        matches!(self, Operator::Hash | Operator::Encrypt)
    }

    /// Parses a command-line spec: an operator name (`mask`), `replace:numbered`, or a JSON
    /// object (`{"type": "mask", "char": "#", "count": 4}`).
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let s = spec.trim();
        let err = |reason: String| Error::Operator {
            spec: spec.to_string(),
            reason,
        };
        if s.starts_with('{') {
            return serde_json::from_str(s).map_err(|e| err(e.to_string()));
        }
        match s {
            "replace" => Ok(Operator::default()),
            "replace:numbered" | "numbered" => Ok(Operator::Replace {
                value: None,
                numbered: true,
            }),
            "mask" => Ok(Operator::Mask {
                char: '*',
                count: None,
                from_end: false,
            }),
            _ if s.starts_with("replace:") => Ok(Operator::Replace {
                value: Some(s["replace:".len()..].to_string()),
                numbered: false,
            }),
            _ if s.starts_with("mask:") => {
                // mask:CHAR[:COUNT[:end]]
                let mut parts = s["mask:".len()..].split(':');
                let c = parts.next().unwrap_or("");
                let mut chars = c.chars();
                let (Some(char), None) = (chars.next(), chars.next()) else {
                    return Err(err(format!(
                        "mask:CHAR takes one character, got {c:?} (e.g. mask:#:4:end)"
                    )));
                };
                let count = match parts.next() {
                    None => None,
                    Some(n) => Some(n.parse::<usize>().map_err(|_| {
                        err(format!("mask:{char}:COUNT needs a whole number, got {n:?}"))
                    })?),
                };
                let from_end = match parts.next() {
                    None => false,
                    Some("end") => true,
                    Some(x) => {
                        return Err(err(format!(
                            "mask:{char}:COUNT:end is the only fourth part, got {x:?}"
                        )))
                    }
                };
                if parts.next().is_some() {
                    return Err(err("mask takes at most CHAR:COUNT:end".into()));
                }
                Ok(Operator::Mask {
                    char,
                    count,
                    from_end,
                })
            }
            "remove" => Ok(Operator::Remove),
            "keep" => Ok(Operator::Keep),
            "hash" => Ok(Operator::Hash),
            "encrypt" => Ok(Operator::Encrypt),
            _ => Err(err(
                "operators: replace, replace:numbered, replace:TEXT, mask, mask:CHAR[:COUNT[:end]], remove, keep, hash, encrypt, or a JSON object such as {\"type\":\"mask\",\"char\":\"#\",\"count\":4}".into(),
            )),
        }
    }
}

/// Which operator each label gets: per label, else `default` (itself `replace` by default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Label → operator.
    #[serde(default)]
    pub operators: BTreeMap<String, Operator>,
    /// For labels not in `operators`.
    #[serde(default)]
    pub default: Operator,
    /// Entities of one label separated by nothing or by white space only become one entity
    /// (`[MinorChild]` once, not `[MinorChild] [MinorChild]`).
    #[serde(default)]
    pub merge_adjacent: bool,
}

impl Policy {
    pub fn operator(&self, label: &str) -> &Operator {
        self.operators.get(label).unwrap_or(&self.default)
    }

    /// Whether any label's operator needs a key.
    pub fn needs_key(&self) -> Option<&'static str> {
        std::iter::once(&self.default)
            .chain(self.operators.values())
            .find(|o| o.needs_key())
            .map(Operator::name)
    }

    /// Adds a command-line `LABEL=SPEC` (`*=SPEC` sets the default).
    pub fn set(&mut self, arg: &str) -> Result<(), Error> {
        let Some((label, spec)) = arg.split_once('=') else {
            return Err(Error::Operator {
                spec: arg.to_string(),
                reason: "expected LABEL=OPERATOR (e.g. MinorChild=replace:numbered, *=mask)".into(),
            });
        };
        let op = Operator::parse(spec)?;
        match label.trim() {
            "*" => self.default = op,
            "" => {
                return Err(Error::Operator {
                    spec: arg.to_string(),
                    reason: "no label before `=` (use * for every other label)".into(),
                })
            }
            l => {
                self.operators.insert(l.to_string(), op);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_are_named() {
        assert_eq!(Operator::parse("remove").unwrap(), Operator::Remove);
        assert_eq!(
            Operator::parse("mask:#:4:end").unwrap(),
            Operator::Mask {
                char: '#',
                count: Some(4),
                from_end: true
            }
        );
        assert_eq!(
            Operator::parse("replace:[child]").unwrap(),
            Operator::Replace {
                value: Some("[child]".into()),
                numbered: false
            }
        );
        for bad in ["mask:##", "mask:#:x", "mask:#:2:start", "mask:#:2:end:1"] {
            let e = Operator::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
        assert_eq!(
            Operator::parse(r##"{"type":"mask","char":"#","count":4,"from_end":true}"##).unwrap(),
            Operator::Mask {
                char: '#',
                count: Some(4),
                from_end: true
            }
        );
        assert_eq!(
            Operator::parse(r#"{"type":"mask"}"#).unwrap(),
            Operator::Mask {
                char: '*',
                count: None,
                from_end: false
            }
        );
        let e = Operator::parse("blur").unwrap_err().to_string();
        assert!(e.contains("blur") && e.contains("replace:numbered"), "{e}");
        let e = Operator::parse(r##"{"type":"mask","chars":"#"}"##)
            .unwrap_err()
            .to_string();
        assert!(e.contains("chars"), "{e}");
        let mut p = Policy::default();
        p.set("MinorChild=replace:numbered").unwrap();
        p.set("*=hash").unwrap();
        assert_eq!(p.needs_key(), Some("hash"));
        assert!(p.set("=mask").is_err());
        assert!(p.set("mask").is_err());
        assert_eq!(p.operator("Other"), &Operator::Hash);
    }
}
