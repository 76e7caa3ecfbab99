//! Request and response bodies of the HTTP API; `/openapi.json` is generated from these types.

use std::collections::BTreeMap;

use jner_redact::{DenyPattern, Item, Operator, Pattern, Redacted};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares a request body with the detection fields shared by `/v1/entities` and
/// `/v1/redact` (plain fields rather than `#[serde(flatten)]`, so that unknown fields are
/// refused and every error names its field, and the OpenAPI schema is one flat object).
macro_rules! detect_request {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The texts to screen (at least one).
            #[schema(min_items = 1)]
            pub texts: Vec<String>,
            /// A model name from `GET /v1/models`; default: the first `--model`.
            #[serde(default)]
            pub model: Option<String>,
            /// Labels to look for: any names for a zero-shot model, a subset of its labels
            /// otherwise.
            #[serde(default)]
            #[schema(min_items = 1)]
            pub labels: Option<Vec<String>>,
            /// Entities scoring at or below this are dropped (the model's default when absent).
            #[serde(default)]
            #[schema(minimum = 0.0, maximum = 1.0)]
            pub threshold: Option<f32>,
            /// Per-label thresholds, applied after `threshold`: label → minimum score.
            #[serde(default)]
            pub thresholds: BTreeMap<String, f32>,
            /// Found entities whose text matches an entry are dropped.
            #[serde(default)]
            pub allow: Vec<Pattern>,
            /// Every match of an entry becomes an entity of its label (score 1).
            #[serde(default)]
            pub deny: Vec<DenyPattern>,
            /// Every other occurrence of a found surface form gets the same label (`predict
            /// --consistent`).
            #[serde(default)]
            pub consistent: bool,
            $($(#[$fm])* pub $field: $ty,)*
        }

        impl $name {
            /// The detection options, the texts left in place.
            pub fn detect(&self) -> Detect {
                Detect {
                    model: self.model.clone(),
                    labels: self.labels.clone(),
                    threshold: self.threshold,
                    thresholds: self.thresholds.clone(),
                    allow: self.allow.clone(),
                    deny: self.deny.clone(),
                    consistent: self.consistent,
                }
            }
        }
    };
}

/// What to look for and what to keep (the shared fields of the two detection requests).
#[derive(Clone, Debug, Default)]
pub struct Detect {
    pub model: Option<String>,
    pub labels: Option<Vec<String>>,
    pub threshold: Option<f32>,
    pub thresholds: BTreeMap<String, f32>,
    pub allow: Vec<Pattern>,
    pub deny: Vec<DenyPattern>,
    pub consistent: bool,
}

detect_request! {
    /// `POST /v1/entities`.
    EntitiesRequest {}
}

detect_request! {
    /// `POST /v1/redact`.
    RedactRequest {
        /// Label → operator; labels not named get `default_operator`.
        #[serde(default)]
        operators: BTreeMap<String, Operator>,
        /// Default `{"type": "replace"}`: `[Label]`.
        #[serde(default)]
        default_operator: Option<Operator>,
        /// Entities of one label separated only by white space become one.
        #[serde(default)]
        merge_adjacent: bool,
    }
}

/// One entity, character offsets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntityOut {
    pub start: usize,
    pub end: usize,
    pub label: String,
    pub score: f32,
    pub text: String,
}

/// The entities of one text.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TextEntities {
    pub entities: Vec<EntityOut>,
    /// Encoder passes the text took (1 unless a transformer's subword limit windowed it).
    pub windows: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntitiesResponse {
    pub model: String,
    /// One per request text, in order.
    pub results: Vec<TextEntities>,
}

/// One redacted text.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TextRedacted {
    pub text: String,
    pub items: Vec<Item>,
    pub windows: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RedactResponse {
    pub model: String,
    pub results: Vec<TextRedacted>,
}

/// `POST /v1/restore`: the `results` of a `/v1/redact` response (or some of them); every
/// `encrypt` item is decrypted back into its text with the server's key.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    pub results: Vec<RestoreText>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct RestoreText {
    pub text: String,
    pub items: Vec<Item>,
}

impl From<RestoreText> for Redacted {
    fn from(r: RestoreText) -> Self {
        Redacted {
            text: r.text,
            items: r.items,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RestoreResponse {
    /// The restored texts, in order.
    pub texts: Vec<String>,
}

/// `GET /v1/models`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelsResponse {
    pub models: Vec<ModelInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelInfo {
    pub name: String,
    pub backend: String,
    pub labels: Vec<String>,
    /// Takes label names it was not trained on.
    pub zero_shot: bool,
    /// The default of `"model"`.
    pub default: bool,
}

/// Every error: a message (never quoting the request's texts) and a machine-readable type.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// `bad_request`, `validation`, `too_large`, `unsupported_media_type`, `unauthorized`,
    /// `not_found`, `overloaded`, `not_ready`, `timeout`, `model`, `internal`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `GET /live` and `GET /ready`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `live`, `ready`, `loading` or `draining`.
    pub status: String,
}
