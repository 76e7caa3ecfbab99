//! `GET /metrics`: Prometheus text format (prometheus-client), all names prefixed `jner_`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteOutcome {
    pub route: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabel {
    pub model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EntityLabel {
    pub label: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

type Hist<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}
fn texts() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 12))
}
fn words() -> Histogram {
    Histogram::new(exponential_buckets(16.0, 2.0, 16))
}

/// Every metric the server keeps.
pub struct Metrics {
    pub registry: Registry,
    /// Requests by route and outcome (`ok` or the error type).
    pub requests: Family<RouteOutcome, Counter>,
    /// Whole-request latency by route.
    pub latency: Hist<RouteLabel>,
    /// Time from enqueue to the start of the batch that ran it, per request.
    pub queue_time: Hist<ModelLabel>,
    /// Model time per batch.
    pub inference_time: Hist<ModelLabel>,
    pub batch_texts: Hist<ModelLabel>,
    pub batch_words: Hist<ModelLabel>,
    /// Texts waiting in the queues.
    pub queue_depth: Gauge,
    /// Texts admitted and not yet answered.
    pub in_flight: Gauge,
    pub entities: Family<EntityLabel, Counter>,
    pub windows: Hist<ModelLabel>,
    /// Queued requests dropped before inference (`client_gone`, `deadline`).
    pub dropped: Family<Reason, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("jner");
        let requests = Family::<RouteOutcome, Counter>::default();
        registry.register(
            "requests",
            "Requests by route and outcome (ok or the error type)",
            requests.clone(),
        );
        let latency: Hist<RouteLabel> = Family::new_with_constructor(seconds);
        registry.register(
            "request_duration_seconds",
            "Request latency by route",
            latency.clone(),
        );
        let queue_time: Hist<ModelLabel> = Family::new_with_constructor(seconds);
        registry.register(
            "queue_duration_seconds",
            "Time a request waited for its batch",
            queue_time.clone(),
        );
        let inference_time: Hist<ModelLabel> = Family::new_with_constructor(seconds);
        registry.register(
            "inference_duration_seconds",
            "Model time per batch",
            inference_time.clone(),
        );
        let batch_texts: Hist<ModelLabel> = Family::new_with_constructor(texts);
        registry.register("batch_texts", "Texts per batch", batch_texts.clone());
        let batch_words: Hist<ModelLabel> = Family::new_with_constructor(words);
        registry.register(
            "batch_words",
            "Whitespace words per batch",
            batch_words.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth_texts",
            "Texts waiting for a batch",
            queue_depth.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_texts",
            "Texts admitted and not yet answered",
            in_flight.clone(),
        );
        let entities = Family::<EntityLabel, Counter>::default();
        registry.register("entities", "Entities returned, by label", entities.clone());
        let windows: Hist<ModelLabel> = Family::new_with_constructor(texts);
        registry.register(
            "windows_per_text",
            "Encoder passes per text",
            windows.clone(),
        );
        let dropped = Family::<Reason, Counter>::default();
        registry.register(
            "dropped",
            "Queued requests dropped before inference",
            dropped.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            queue_time,
            inference_time,
            batch_texts,
            batch_words,
            queue_depth,
            in_flight,
            entities,
            windows,
            dropped,
        }
    }
}

impl Metrics {
    pub fn encode(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry)
            .expect("writing to a String cannot fail");
        s
    }
    pub fn model(m: &str) -> ModelLabel {
        ModelLabel {
            model: m.to_string(),
        }
    }
}
