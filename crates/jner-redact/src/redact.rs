//! Redaction of one text, and its reversal for encrypted entities.
//!
//! **The overlap rule** (one, deterministic): entities that share at least one character form
//! one group; the group covers the union of their spans and takes the label (and score) of its
//! highest-scoring entity (ties: the longer, then the earlier one). So every character of
//! every entity is covered by exactly one replaced span and nothing between two entities is
//! touched: overlapping or nested entities can never cut into each other's replacement or
//! into the text around them. With [`Policy::merge_adjacent`], consecutive groups of one
//! label separated only by white space (or touching) become one group.
//!
//! Offsets are Unicode characters, in the input (`start`, `end`) and in the output
//! (`new_start`, `new_end`).

use std::collections::HashMap;

use jner_corpus::offsets::CharIndex;
use jner_corpus::Entity;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Error, Keys, Operator, Policy};

/// One redacted (or kept) entity. It never holds the original text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub label: String,
    pub score: f32,
    /// The operator applied (`replace`, `mask`, ...).
    pub operator: String,
    /// Character offsets in the original text.
    pub start: usize,
    pub end: usize,
    /// Character offsets of what replaced it in the new text.
    pub new_start: usize,
    pub new_end: usize,
    /// How many found entities this item covers (more than 1 after an overlap or a merge).
    pub merged: usize,
}

/// A redacted text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Redacted {
    pub text: String,
    pub items: Vec<Item>,
}

/// A group of entities after the overlap rule, in characters.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    start: usize,
    end: usize,
    label: String,
    score: f32,
    merged: usize,
}

/// Applies the overlap rule (and the adjacency merge) to entities already checked to fit.
fn groups(text: &[char], entities: &[Entity], merge_adjacent: bool) -> Vec<Group> {
    let mut order: Vec<&Entity> = entities.iter().filter(|e| e.start < e.end).collect();
    order.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<(Group, &Entity)> = Vec::new();
    for e in order {
        if let Some((g, best)) = out.last_mut() {
            if e.start < g.end {
                g.end = g.end.max(e.end);
                g.merged += 1;
                let better = e.score > best.score
                    || (e.score == best.score && e.end - e.start > best.end - best.start);
                if better {
                    *best = e;
                }
                continue;
            }
        }
        out.push((
            Group {
                start: e.start,
                end: e.end,
                label: String::new(),
                score: 0.0,
                merged: 1,
            },
            e,
        ));
    }
    let mut gs: Vec<Group> = out
        .into_iter()
        .map(|(mut g, best)| {
            g.label = best.label.clone();
            g.score = best.score;
            g
        })
        .collect();
    if merge_adjacent {
        let mut merged: Vec<Group> = Vec::with_capacity(gs.len());
        for g in gs {
            if let Some(last) = merged.last_mut() {
                if last.label == g.label
                    && text[last.end..g.start].iter().all(|c| c.is_whitespace())
                {
                    last.end = g.end;
                    last.score = last.score.max(g.score);
                    last.merged += g.merged;
                    continue;
                }
            }
            merged.push(g);
        }
        gs = merged;
    }
    gs
}

/// Redacts `entities` (character offsets) in `text` under `policy`. `keys` is needed only
/// when an entity's operator is `hash` or `encrypt`. An entity that does not fit the text is
/// an error, checked before anything is replaced.
pub fn redact(
    text: &str,
    entities: &[Entity],
    policy: &Policy,
    keys: Option<&Keys>,
) -> Result<Redacted, Error> {
    let chars: Vec<char> = text.chars().collect();
    for (index, e) in entities.iter().enumerate() {
        if e.start > e.end || e.end > chars.len() {
            return Err(Error::Span {
                index,
                start: e.start,
                end: e.end,
                len: chars.len(),
            });
        }
    }
    let gs = groups(&chars, entities, policy.merge_adjacent);
    for g in &gs {
        let op = policy.operator(&g.label);
        if op.needs_key() && keys.is_none() {
            return Err(Error::NoKey {
                operator: op.name(),
            });
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut out_chars = 0usize;
    let mut items = Vec::with_capacity(gs.len());
    let mut numbers: HashMap<(String, String), usize> = HashMap::new();
    let mut next_number: HashMap<String, usize> = HashMap::new();
    let mut at = 0usize;
    let push = |out: &mut String, n: &mut usize, s: &[char]| {
        out.extend(s.iter());
        *n += s.len();
    };
    for g in gs {
        push(&mut out, &mut out_chars, &chars[at..g.start]);
        let span: String = chars[g.start..g.end].iter().collect();
        let op = policy.operator(&g.label);
        let new_start = out_chars;
        let replacement: String = match op {
            Operator::Replace { value, numbered } => match (value, numbered) {
                (Some(v), false) => v.clone(),
                (v, true) => {
                    let key = (g.label.clone(), span.trim().to_lowercase());
                    let n = match numbers.get(&key) {
                        Some(n) => *n,
                        None => {
                            let c = next_number.entry(g.label.clone()).or_insert(0);
                            *c += 1;
                            numbers.insert(key, *c);
                            *c
                        }
                    };
                    match v {
                        Some(v) => format!("{v}_{n}"),
                        None => format!("<{}_{n}>", g.label),
                    }
                }
                (None, false) => format!("[{}]", g.label),
            },
            Operator::Mask {
                char: m,
                count,
                from_end,
            } => {
                let len = g.end - g.start;
                let k = count.unwrap_or(len).min(len);
                let (lo, hi) = if *from_end { (len - k, len) } else { (0, k) };
                chars[g.start..g.end]
                    .iter()
                    .enumerate()
                    .map(|(i, c)| if (lo..hi).contains(&i) { *m } else { *c })
                    .collect()
            }
            Operator::Remove => String::new(),
            Operator::Keep => span.clone(),
            Operator::Hash => keys.expect("checked above").hash(&span),
            Operator::Encrypt => keys.expect("checked above").encrypt(&g.label, &span),
        };
        out_chars += replacement.chars().count();
        out.push_str(&replacement);
        items.push(Item {
            label: g.label.clone(),
            score: g.score,
            operator: op.name().to_string(),
            start: g.start,
            end: g.end,
            new_start,
            new_end: out_chars,
            merged: g.merged,
        });
        at = g.end;
    }
    push(&mut out, &mut out_chars, &chars[at..]);
    Ok(Redacted { text: out, items })
}

/// Puts the original text back for every `encrypt` item of a [`redact`] result; the other
/// items stay as they were redacted. Every item is checked (offsets fit, in order, the token
/// decrypts) before anything is replaced, and an error names the item.
pub fn restore(text: &str, items: &[Item], keys: &Keys) -> Result<String, Error> {
    let idx = CharIndex::new(text);
    let mut plan: Vec<(usize, usize, String)> = Vec::new();
    let mut last_end = 0usize;
    for (index, it) in items.iter().enumerate() {
        let bad = |reason: String| Error::Restore { index, reason };
        if it.new_start > it.new_end || it.new_end > idx.char_len() {
            return Err(bad(format!(
                "new offsets {}..{} do not fit a text of {} characters",
                it.new_start,
                it.new_end,
                idx.char_len()
            )));
        }
        if it.new_start < last_end {
            return Err(bad("items overlap or are out of order".into()));
        }
        last_end = it.new_end;
        if it.operator != "encrypt" {
            continue;
        }
        let (b0, b1) = (
            idx.to_byte(it.new_start).expect("checked"),
            idx.to_byte(it.new_end).expect("checked"),
        );
        let plain = keys.decrypt(&it.label, &text[b0..b1]).map_err(bad)?;
        plan.push((b0, b1, plain));
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (b0, b1, plain) in plan {
        out.push_str(&text[at..b0]);
        out.push_str(&plain);
        at = b1;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(start: usize, end: usize, label: &str, score: f32) -> Entity {
        Entity::new(start, end, label, score)
    }

    fn policy(ops: &[&str]) -> Policy {
        let mut p = Policy::default();
        for o in ops {
            p.set(o).unwrap();
        }
        p
    }

    #[test]
    fn replace_defaults_and_numbered_placeholders() {
        let t = "my son Tom and my Son and my daughter";
        let e = [
            ent(3, 6, "MinorChild", 0.9),
            ent(18, 21, "MinorChild", 0.9),
            ent(29, 37, "MinorChild", 0.8),
        ];
        let r = redact(t, &e, &Policy::default(), None).unwrap();
        assert_eq!(
            r.text,
            "my [MinorChild] Tom and my [MinorChild] and my [MinorChild]"
        );
        let r = redact(t, &e, &policy(&["MinorChild=replace:numbered"]), None).unwrap();
        assert_eq!(
            r.text,
            "my <MinorChild_1> Tom and my <MinorChild_1> and my <MinorChild_2>"
        );
        assert_eq!((r.items[1].start, r.items[1].end), (18, 21));
        assert_eq!((r.items[1].new_start, r.items[1].new_end), (29, 43));
        let chars: Vec<char> = r.text.chars().collect();
        for it in &r.items {
            let s: String = chars[it.new_start..it.new_end].iter().collect();
            assert!(s.starts_with("<MinorChild_"), "{s}");
        }
    }

    #[test]
    fn mask_remove_keep_and_unicode_offsets() {
        let t = "Jörg’s girl Zoë, 5";
        let e = [
            ent(0, 4, "GenderIndication", 0.6),
            ent(12, 15, "MinorChild", 0.9),
        ];
        let p = policy(&[
            r##"GenderIndication={"type":"mask","char":"#","count":2,"from_end":true}"##,
            "MinorChild=remove",
        ]);
        let r = redact(t, &e, &p, None).unwrap();
        assert_eq!(r.text, "Jö##’s girl , 5");
        assert_eq!((r.items[1].new_start, r.items[1].new_end), (12, 12));
        let p = policy(&["*=keep"]);
        assert_eq!(redact(t, &e, &p, None).unwrap().text, t);
        let p = policy(&[r#"*={"type":"mask","count":99}"#]);
        assert_eq!(redact(t, &e, &p, None).unwrap().text, "****’s girl ***, 5");
    }

    #[test]
    fn overlaps_become_one_group_with_the_best_label() {
        let t = "a 7 week old son here";
        // "7 week old son" (0.6) overlaps "old son" (0.9) and "son" nested
        let e = [
            ent(2, 16, "MinorChild", 0.6),
            ent(9, 16, "GenderIndication", 0.9),
            ent(13, 16, "MinorChild", 0.5),
        ];
        let r = redact(t, &e, &Policy::default(), None).unwrap();
        assert_eq!(r.text, "a [GenderIndication] here");
        assert_eq!(r.items.len(), 1);
        assert_eq!(
            (r.items[0].start, r.items[0].end, r.items[0].merged),
            (2, 16, 3)
        );
        // crossing spans: the union, nothing outside touched
        let e = [ent(0, 5, "A", 0.5), ent(3, 9, "B", 0.5)];
        let r = redact("abcdefghij", &e, &Policy::default(), None).unwrap();
        assert_eq!(r.text, "[B]j", "tie on score: the longer one");
        // touching spans are not overlapping
        let e = [ent(0, 3, "A", 0.5), ent(3, 6, "A", 0.5)];
        let r = redact("abcdefg", &e, &Policy::default(), None).unwrap();
        assert_eq!(r.text, "[A][A]g");
    }

    #[test]
    fn adjacent_entities_of_one_label_merge_on_request() {
        let t = "Tom  Smith and Ann";
        let e = [
            ent(0, 3, "P", 0.5),
            ent(5, 10, "P", 0.7),
            ent(15, 18, "P", 0.5),
        ];
        let mut p = Policy::default();
        assert_eq!(redact(t, &e, &p, None).unwrap().text, "[P]  [P] and [P]");
        p.merge_adjacent = true;
        let r = redact(t, &e, &p, None).unwrap();
        assert_eq!(r.text, "[P] and [P]");
        assert_eq!(
            (r.items[0].start, r.items[0].end, r.items[0].merged),
            (0, 10, 2)
        );
    }

    #[test]
    fn bad_spans_and_missing_keys_are_errors() {
        let e = [ent(0, 3, "A", 0.5), ent(2, 40, "A", 0.5)];
        let err = redact("short", &e, &Policy::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("entity 1") && err.contains("5 characters"),
            "{err}"
        );
        let err = redact("short", &e[..1], &policy(&["A=encrypt"]), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("encrypt") && err.contains("--key-file"),
            "{err}"
        );
        // a keyless policy with only keyless operators for the labels present is fine
        assert!(redact("short", &e[..1], &policy(&["B=hash"]), None).is_ok());
    }

    #[test]
    fn encrypt_then_restore_gives_the_text_back() {
        let keys = Keys::from_secret(&[7u8; 32]).unwrap();
        let t = "Ask Zoë’s mum about Ben.";
        let e = [ent(4, 7, "MinorChild", 0.9), ent(20, 23, "MinorChild", 0.9)];
        let p = policy(&["*=encrypt"]);
        let r = redact(t, &e, &p, Some(&keys)).unwrap();
        assert!(!r.text.contains("Zoë") && !r.text.contains("Ben"));
        assert_eq!(restore(&r.text, &r.items, &keys).unwrap(), t);
        // hashed items stay hashed
        let p2 = policy(&["*=hash"]);
        let r2 = redact(t, &e, &p2, Some(&keys)).unwrap();
        assert_eq!(restore(&r2.text, &r2.items, &keys).unwrap(), r2.text);
        // a moved item is named
        let mut items = r.items.clone();
        items[1].new_start += 1;
        let err = restore(&r.text, &items, &keys).unwrap_err().to_string();
        assert!(err.starts_with("item 1:"), "{err}");
        let other = Keys::from_secret(&[8u8; 32]).unwrap();
        assert!(restore(&r.text, &r.items, &other).is_err());
    }
}
