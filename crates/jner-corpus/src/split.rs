//! Splitting documents for training and evaluation, and oversampling.
//!
//! jner splits by **document**, seeded and stratified by source, *before* oversampling and
//! before any backend cuts documents into pieces, so no copy or piece of an evaluation
//! document is ever trained on. The spec's pipeline oversampled and chunked first and split
//! afterwards, so copies of the same review landed on both sides; [`spec_split`] keeps that
//! order reachable (`--split-mode spec`) for reproducing its numbers, not for model choice.

use std::collections::BTreeMap;

use crate::rng::Rng;
use crate::{labels, Document};

/// Training and evaluation documents.
#[derive(Clone, Debug, Default)]
pub struct Split {
    pub train: Vec<Document>,
    pub eval: Vec<Document>,
}

/// Indices of `docs` grouped by source, each group shuffled with `rng`.
fn shuffled_by_source(docs: &[Document], rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, d) in docs.iter().enumerate() {
        groups.entry(d.source.as_str()).or_default().push(i);
    }
    groups
        .into_values()
        .map(|mut g| {
            rng.shuffle(&mut g);
            g
        })
        .collect()
}

fn take(docs: &[Document], mut idx: Vec<usize>) -> Vec<Document> {
    idx.sort_unstable();
    idx.into_iter().map(|i| docs[i].clone()).collect()
}

/// Holds out `val_fraction` of each source's documents (rounded; at least one when the
/// source has two or more documents and the fraction is positive). Both parts keep corpus order.
pub fn split_documents(docs: &[Document], val_fraction: f64, seed: u64) -> Split {
    let mut rng = Rng::new(seed);
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for g in shuffled_by_source(docs, &mut rng) {
        let n = g.len();
        let mut k = (n as f64 * val_fraction.clamp(0.0, 1.0)).round() as usize;
        if val_fraction > 0.0 && n >= 2 {
            k = k.clamp(1, n - 1);
        }
        eval.extend_from_slice(&g[..k]);
        train.extend_from_slice(&g[k..]);
    }
    Split {
        train: take(docs, train),
        eval: take(docs, eval),
    }
}

/// `k` folds, stratified by source: fold `f` evaluates on its documents and trains on the rest.
pub fn kfold(docs: &[Document], k: usize, seed: u64) -> Vec<Split> {
    let k = k.max(2);
    let mut rng = Rng::new(seed);
    let mut fold_of = vec![0usize; docs.len()];
    let mut offset = 0;
    for g in shuffled_by_source(docs, &mut rng) {
        for (pos, &i) in g.iter().enumerate() {
            fold_of[i] = (pos + offset) % k;
        }
        offset += g.len();
    }
    (0..k)
        .map(|f| {
            let (e, t): (Vec<usize>, Vec<usize>) = (0..docs.len()).partition(|&i| fold_of[i] == f);
            Split {
                train: take(docs, t),
                eval: take(docs, e),
            }
        })
        .collect()
}

/// Whether a document is a review with a MinorChild span (the rows the spec oversamples).
pub fn is_minor_review(d: &Document) -> bool {
    d.source == "reviews" && d.has_label(labels::MINOR_CHILD)
}

/// Appends `copies` extra copies of every MinorChild review (ids get `~copyN`); returns how
/// many documents were added. Call it on the training part only.
pub fn oversample_minor(train: &mut Vec<Document>, copies: usize) -> usize {
    let extra: Vec<Document> = train
        .iter()
        .filter(|d| is_minor_review(d))
        .flat_map(|d| {
            (1..=copies).map(move |c| Document {
                id: format!("{}~copy{c}", d.id),
                ..d.clone()
            })
        })
        .collect();
    let n = extra.len();
    train.extend(extra);
    n
}

/// The spec's order, kept reachable: oversample first, then a random document split. Copies
/// of one review can land in both parts, so its evaluation scores are optimistic.
pub fn spec_split(docs: &[Document], val_fraction: f64, seed: u64, copies: usize) -> Split {
    let mut all = docs.to_vec();
    oversample_minor(&mut all, copies);
    let mut rng = Rng::new(seed);
    let mut idx: Vec<usize> = (0..all.len()).collect();
    rng.shuffle(&mut idx);
    let k = (all.len() as f64 * val_fraction.clamp(0.0, 1.0)).round() as usize;
    Split {
        eval: take(&all, idx[..k].to_vec()),
        train: take(&all, idx[k..].to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;
    use std::collections::HashSet;

    fn corpus() -> Vec<Document> {
        let mut v = Vec::new();
        for i in 0..50 {
            v.push(Document::new(format!("maccrobat/{i}"), "maccrobat", "x"));
        }
        for i in 0..30 {
            let mut d = Document::new(format!("reviews/{i}"), "reviews", "my son");
            if i % 3 == 0 {
                d.spans.push(Span::new(3, 6, labels::MINOR_CHILD));
            }
            v.push(d);
        }
        v.push(Document::new("corona/only", "corona", "y"));
        v
    }

    #[test]
    fn document_split_is_disjoint_stratified_and_seeded() {
        let docs = corpus();
        let s = split_documents(&docs, 0.1, 42);
        let tr: HashSet<_> = s.train.iter().map(|d| &d.id).collect();
        let ev: HashSet<_> = s.eval.iter().map(|d| &d.id).collect();
        assert!(tr.is_disjoint(&ev));
        assert_eq!(tr.len() + ev.len(), docs.len());
        // 50 * 0.1 = 5 maccrobat, 30 * 0.1 = 3 reviews, the single corona doc stays in train.
        assert_eq!(s.eval.iter().filter(|d| d.source == "maccrobat").count(), 5);
        assert_eq!(s.eval.iter().filter(|d| d.source == "reviews").count(), 3);
        assert_eq!(s.eval.iter().filter(|d| d.source == "corona").count(), 0);
        let again = split_documents(&docs, 0.1, 42);
        assert_eq!(s.eval, again.eval);
        let other = split_documents(&docs, 0.1, 7);
        assert_ne!(s.eval, other.eval);
    }

    #[test]
    fn oversampling_touches_train_only() {
        let docs = corpus();
        let mut s = split_documents(&docs, 0.1, 42);
        let minors = s.train.iter().filter(|d| is_minor_review(d)).count();
        let added = oversample_minor(&mut s.train, 2);
        assert_eq!(added, 2 * minors);
        let base: HashSet<String> = s
            .train
            .iter()
            .map(|d| d.id.split('~').next().unwrap().to_string())
            .collect();
        assert!(s.eval.iter().all(|d| !base.contains(&d.id)));
    }

    #[test]
    fn folds_partition_the_corpus() {
        let docs = corpus();
        let folds = kfold(&docs, 5, 1);
        let mut seen = HashSet::new();
        for f in &folds {
            assert_eq!(f.train.len() + f.eval.len(), docs.len());
            for d in &f.eval {
                assert!(seen.insert(d.id.clone()));
            }
        }
        assert_eq!(seen.len(), docs.len());
    }

    #[test]
    fn spec_split_leaks_copies() {
        let docs = corpus();
        let s = spec_split(&docs, 0.3, 42, 2);
        assert_eq!(s.train.len() + s.eval.len(), docs.len() + 20);
    }
}
