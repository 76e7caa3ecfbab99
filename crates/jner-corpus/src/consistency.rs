//! Document consistency (`jner predict --consistent`): once a model has found a surface form
//! as an entity somewhere in a text, every other occurrence of that form in the same text gets
//! the same label. This is how the reviews were annotated (each listed phrase labels all its
//! case-insensitive, word-boundary occurrences; `rules::phrases`), so on text annotated that
//! way it recovers mentions the model scored too low in one place but found in another, and
//! it makes the output of a redaction consistent (a name hidden in one sentence is hidden in
//! all). It never removes or shortens what the model found.
//!
//! The rule, per text:
//! * each lower-cased surface form the model predicted takes the label of its highest-scoring
//!   prediction, and that score;
//! * forms are placed longest first; an occurrence is added when it overlaps no entity, and
//!   replaces the entities it strictly contains (the longest span wins, as in the annotation);
//!   an occurrence that crosses an entity, or lies inside one, is not added.

use std::collections::BTreeMap;

use crate::offsets::CharIndex;
use crate::recognizer::Entity;
use crate::rules::find_phrase;

/// Adds the other occurrences of every predicted surface form of `text` to `entities`
/// (character offsets), then sorts them by start.
pub fn propagate(text: &str, entities: &mut Vec<Entity>) {
    if entities.is_empty() {
        return;
    }
    let idx = CharIndex::new(text);
    // form → (label, score) of its best prediction
    let mut forms: BTreeMap<String, (String, f32)> = BTreeMap::new();
    for e in entities.iter() {
        let (Some(b0), Some(b1)) = (idx.to_byte(e.start), idx.to_byte(e.end)) else {
            continue;
        };
        let form = text[b0..b1].trim().to_lowercase();
        if form.is_empty() {
            continue;
        }
        let best = forms.entry(form).or_insert((e.label.clone(), e.score));
        if e.score > best.1 {
            *best = (e.label.clone(), e.score);
        }
    }
    let mut order: Vec<(&String, &(String, f32))> = forms.iter().collect();
    order.sort_by(|a, b| {
        b.0.chars()
            .count()
            .cmp(&a.0.chars().count())
            .then(a.0.cmp(b.0))
    });
    for (form, (label, score)) in order {
        for (b0, b1) in find_phrase(text, form) {
            let (Some(s), Some(e)) = (idx.to_char(b0), idx.to_char(b1)) else {
                continue;
            };
            let overlapping: Vec<usize> = (0..entities.len())
                .filter(|&i| entities[i].start < e && s < entities[i].end)
                .collect();
            let inside = overlapping
                .iter()
                .all(|&i| s <= entities[i].start && entities[i].end <= e);
            let same = overlapping
                .iter()
                .any(|&i| entities[i].start == s && entities[i].end == e);
            if same || !inside {
                continue;
            }
            for &i in overlapping.iter().rev() {
                entities.remove(i);
            }
            entities.push(Entity {
                start: s,
                end: e,
                label: label.clone(),
                score: *score,
            });
        }
    }
    entities.sort_by_key(|a| (a.start, a.end));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(start: usize, end: usize, label: &str, score: f32) -> Entity {
        Entity::new(start, end, label, score)
    }

    fn spans(text: &str, es: &[Entity]) -> Vec<(String, String)> {
        let chars: Vec<char> = text.chars().collect();
        es.iter()
            .map(|e| (chars[e.start..e.end].iter().collect(), e.label.clone()))
            .collect()
    }

    #[test]
    fn every_occurrence_gets_the_label_of_the_best_prediction() {
        let t = "Baby loves it. My baby sleeps; babysitter too. BABY!";
        let mut es = vec![ent(18, 22, "MinorChild", 0.9)];
        propagate(t, &mut es);
        assert_eq!(
            spans(t, &es),
            [
                ("Baby", "MinorChild"),
                ("baby", "MinorChild"),
                ("BABY", "MinorChild")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(es.iter().all(|e| e.score == 0.9));
        // a form predicted with two labels takes the better-scored one everywhere
        let t = "nursing pillow; nursing at night";
        let mut es = vec![
            ent(0, 7, "MinorChild", 0.4),
            ent(16, 23, "GenderIndication", 0.8),
        ];
        propagate(t, &mut es);
        assert_eq!(es.len(), 2);
        assert_eq!(es[0].label, "MinorChild", "a prediction is never changed");
        assert_eq!(es[1].label, "GenderIndication");
    }

    #[test]
    fn longest_wins_and_nothing_crosses() {
        // "4 year old son" found once, "son" alone elsewhere: the long form replaces the
        // short prediction inside its other occurrence
        let t = "my 4 year old son. the 4 year old son and his son";
        let mut es = vec![
            ent(3, 17, "MinorChild", 0.7),
            ent(34, 37, "MinorChild", 0.6),
        ];
        propagate(t, &mut es);
        assert_eq!(
            spans(t, &es),
            [
                ("4 year old son", "MinorChild"),
                ("4 year old son", "MinorChild"),
                ("son", "MinorChild")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // an occurrence crossing an entity is left out
        let t = "baby monitor; baby";
        let mut es = vec![ent(0, 12, "X", 0.9), ent(14, 18, "MinorChild", 0.8)];
        let before = es.clone();
        propagate(t, &mut es);
        assert_eq!(es, before);
        let t = "ab abc";
        let mut es = vec![ent(3, 6, "X", 0.5), ent(0, 2, "Y", 0.5)];
        propagate(t, &mut es);
        assert_eq!(
            spans(t, &es),
            [("ab", "Y"), ("abc", "X")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn character_offsets_survive_multibyte_text() {
        let t = "Café — my söhn, söhn!";
        let s = t.chars().position(|c| c == 's').unwrap();
        let mut es = vec![ent(s, s + 4, "MinorChild", 1.0)];
        propagate(t, &mut es);
        assert_eq!(spans(t, &es).len(), 2);
        assert_eq!(spans(t, &es)[1].0, "söhn");
    }
}
