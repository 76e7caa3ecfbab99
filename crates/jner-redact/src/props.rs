//! Property tests of the redactor: every entity's characters are replaced, every other
//! character stays in order, offsets describe the output, and restore(encrypt(x)) == x.

use jner_corpus::Entity;
use proptest::prelude::*;

use crate::{redact, restore, Keys, Policy};

fn text_and_entities() -> impl Strategy<Value = (String, Vec<Entity>, bool)> {
    let ch = prop::sample::select(vec!['a', 'b', ' ', 'é', '’', '\n', '👶', 'Z', '.']);
    (prop::collection::vec(ch, 0..40), any::<bool>()).prop_flat_map(|(chars, merge)| {
        let n = chars.len();
        let text: String = chars.into_iter().collect();
        let ent = (0..=n, 0..=n, 0..3usize, 0..4u8).prop_map(|(a, b, l, s)| Entity {
            start: a.min(b),
            end: a.max(b),
            label: ["MinorChild", "GenderIndication", "X"][l].to_string(),
            score: f32::from(s) / 4.0,
        });
        (Just(text), prop::collection::vec(ent, 0..6), Just(merge))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn replaced_spans_cover_every_entity_and_nothing_else_changes(
        (text, ents, merge) in text_and_entities()
    ) {
        let policy = Policy { merge_adjacent: merge, ..Policy::default() };
        let r = redact(&text, &ents, &policy, None).unwrap();
        let old: Vec<char> = text.chars().collect();
        let new: Vec<char> = r.text.chars().collect();
        // every character of every entity lies inside exactly one item
        for e in ents.iter().filter(|e| e.start < e.end) {
            let covering = r.items.iter().filter(|it| it.start <= e.start && e.end <= it.end).count();
            prop_assert_eq!(covering, 1);
        }
        // items are disjoint, in order, and each is replaced by its placeholder
        let mut last = 0;
        for it in &r.items {
            prop_assert!(it.start >= last && it.start < it.end);
            last = it.end;
            let got: String = new[it.new_start..it.new_end].iter().collect();
            prop_assert_eq!(got, format!("[{}]", it.label));
        }
        // outside the items, the same characters in the same order
        let outside = |cs: &[char], spans: Vec<(usize, usize)>| {
            let mut out = Vec::new();
            let mut at = 0;
            for (a, b) in spans {
                out.push(cs[at..a].iter().collect::<String>());
                at = b;
            }
            out.push(cs[at..].iter().collect::<String>());
            out
        };
        prop_assert_eq!(
            outside(&old, r.items.iter().map(|i| (i.start, i.end)).collect()),
            outside(&new, r.items.iter().map(|i| (i.new_start, i.new_end)).collect())
        );
    }

    #[test]
    fn restore_inverts_encrypt((text, ents, merge) in text_and_entities()) {
        let keys = Keys::from_secret(&[3u8; 32]).unwrap();
        let mut policy = Policy { merge_adjacent: merge, ..Policy::default() };
        policy.set("*=encrypt").unwrap();
        let r = redact(&text, &ents, &policy, Some(&keys)).unwrap();
        prop_assert_eq!(restore(&r.text, &r.items, &keys).unwrap(), text);
    }
}
