//! The corpus of jner: documents with labelled spans, the readers of the three sources
//! (MACCROBAT brat standoff, Corona2.json, the reviews CSV), the data rules of the
//! specification, the document-level split, and JSONL/GLiNER import and export.
//!
//! Offsets: inside Rust every [`Span`] holds **byte** offsets into its document's UTF-8
//! text. At every boundary (files, JSON, the scorer's input) offsets are Unicode
//! characters, as brat and Python use; [`offsets`] converts between the two.

pub mod consistency;
pub mod demo;
pub mod document;
pub mod error;
pub mod gliner;
pub mod jsonl;
pub mod offsets;
pub mod recognizer;
pub mod rng;
pub mod rules;
pub mod sources;
pub mod split;

pub use document::{fingerprint, Document, Span};
pub use error::{CorpusError, Result};
pub use recognizer::{restrict_labels, Entity, PredictOptions, Recognizer, UnknownLabels};

/// The five labels jner is trained for.
pub mod labels {
    pub const MEDICAL_CONDITION: &str = "MedicalCondition";
    pub const CLINICAL_PROCEDURE: &str = "ClinicalProcedure";
    pub const CLINICAL_EVENT: &str = "ClinicalEvent";
    pub const MINOR_CHILD: &str = "MinorChild";
    pub const GENDER_INDICATION: &str = "GenderIndication";
    /// All labels, in a fixed order.
    pub const ALL: [&str; 5] = [
        MEDICAL_CONDITION,
        CLINICAL_PROCEDURE,
        CLINICAL_EVENT,
        MINOR_CHILD,
        GENDER_INDICATION,
    ];
}
