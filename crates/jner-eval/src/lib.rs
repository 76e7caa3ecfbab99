//! The one scorer of jner: every backend is judged by it.
//!
//! # What is matched
//! Entities are compared as exact `(start, end, label)` triples on Unicode **character**
//! offsets, document by document. Within a document gold and predictions are multisets: a
//! predicted triple matches at most one identical, still unmatched gold triple. A prediction
//! that matches is a true positive (tp); one that does not is a false positive (fp); a gold
//! triple left unmatched is a false negative (fn). Overlapping predictions are scored as they
//! are, each one tp or fp; nothing is merged or removed first.
//!
//! # The numbers
//! For each label: `precision = tp / (tp + fp)`, `recall = tp / (tp + fn)`,
//! `f1 = 2·tp / (2·tp + fp + fn)` (the harmonic mean of P and R), `support = tp + fn` (the
//! number of gold spans). **A ratio whose denominator is 0 is 0** — for precision, recall and
//! F1 alike — so a label with neither gold nor predictions, or a corpus with no spans at all,
//! scores 0, not 1.
//!
//! * **micro**: the same formulas on tp, fp and fn summed over all labels.
//! * **macro** ([`Report::macro_avg`]): the unweighted mean of the per-label precision, recall and F1
//!   over exactly the labels in [`Report::per_label`], i.e. every label that has support > 0 **or**
//!   at least one prediction. Macro F1 is the mean of per-label F1, not the harmonic mean of
//!   macro P and macro R. Its `tp`/`fp`/`fn` are the totals (the same as micro's). With no labels
//!   at all every macro value is 0.
//!
//! # The error breakdown
//! Each false positive falls into exactly one class, tried in this order against **all** gold
//! spans of its document (matched or not):
//! 1. `duplicate`: the identical triple is in gold but all its copies were already matched
//!    (a repeated prediction);
//! 2. `wrong_label`: a gold span has the same start and end but another label;
//! 3. `wrong_boundary`: a gold span of the same label overlaps it (shares at least one character);
//! 4. `spurious`: none of the above.
//!
//! Each false negative is `partial` when some prediction in its document has the same start and
//! end (any label) or overlaps it with the same label — the mirror of `wrong_label` and
//! `wrong_boundary` — and `missed` otherwise. So `duplicate + wrong_label + wrong_boundary +
//! spurious = fp` and `missed + partial = fn`.
//!
//! # Entry points
//! * [`score`]: triples already in character offsets.
//! * [`score_documents`]: gold [`jner_corpus::Document`]s (byte-offset spans, converted here) and
//!   predicted [`jner_corpus::Entity`] lists (character offsets).
//! * [`score_jsonl_files`]: gold and prediction JSONL files, matched by `"id"`.
//! * [`analysis`]: per-label error classes, the confusion matrix, examples in context.
//! * [`calibrate`]: per-label thresholds that maximise F1, with precision-recall curves.
//! * [`stats`]: bootstrap intervals over documents, the paired bootstrap test, fold means.

pub mod analysis;
pub mod calibrate;
mod error;
mod jsonl;
mod report;
mod score;
pub mod stats;

pub use error::EvalError;
pub use jsonl::{
    jsonl_gold_texts, jsonl_inputs, jsonl_inputs_files, score_jsonl, score_jsonl_files,
};
pub use report::{ErrorBreakdown, LabelScore, Prf, Report};
pub use score::{document_inputs, score, score_documents, DocScoreInput, Triple};
