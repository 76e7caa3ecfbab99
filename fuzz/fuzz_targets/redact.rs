#![no_main]
//! Redaction on any text, entities, operators and lists (as `POST /v1/redact` gets them):
//! the first byte says where the input splits into the text and a JSON case. Never a panic;
//! when it succeeds, the text between entities comes out unchanged and in order, the items'
//! offsets fit both texts, and `restore` gives the original back when every operator is
//! `encrypt` or `keep`.

use jner_corpus::Entity;
use jner_redact::{redact, restore, DenyPattern, Keys, Lists, Operator, Pattern, Policy};
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
struct Case {
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    allow: Vec<Pattern>,
    #[serde(default)]
    deny: Vec<DenyPattern>,
    #[serde(default)]
    entities: Vec<Entity>,
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize * rest.len() / 255).min(rest.len());
    let (Ok(text), Ok(json)) = (
        std::str::from_utf8(&rest[..cut]),
        std::str::from_utf8(&rest[cut..]),
    ) else {
        return;
    };
    let Ok(mut case) = serde_json::from_str::<Case>(json) else {
        return;
    };
    let Ok(lists) = Lists::compile(&case.allow, &case.deny) else {
        return;
    };
    lists.apply(text, &mut case.entities);
    let keys = Keys::from_secret(&[7u8; 32]).unwrap();
    let Ok(r) = redact(text, &case.entities, &case.policy, Some(&keys)) else {
        return;
    };
    let old: Vec<char> = text.chars().collect();
    let new: Vec<char> = r.text.chars().collect();
    let (mut at_old, mut at_new) = (0, 0);
    for it in &r.items {
        assert!(at_old <= it.start && it.start <= it.end && it.end <= old.len());
        assert!(at_new <= it.new_start && it.new_start <= it.new_end && it.new_end <= new.len());
        assert_eq!(old[at_old..it.start], new[at_new..it.new_start]);
        (at_old, at_new) = (it.end, it.new_end);
    }
    assert_eq!(old[at_old..], new[at_new..]);
    let reversible = |o: &Operator| matches!(o, Operator::Encrypt | Operator::Keep);
    if reversible(&case.policy.default) && case.policy.operators.values().all(reversible) {
        assert_eq!(restore(&r.text, &r.items, &keys).unwrap(), text);
    }
});
