//! `jner serve`: one HTTP service for detection and redaction, for every backend (it only
//! holds [`Recognizer`]s).
//!
//! * Routes: `POST /v1/entities`, `POST /v1/redact`, `POST /v1/restore`, `GET /v1/models`,
//!   `GET /live`, `GET /ready`, `GET /metrics`, `GET /openapi.json` ([`routes`]).
//! * Dynamic batching on inference threads apart from the I/O runtime ([`batcher`]).
//! * Limits: body size and texts per request (413), characters per text (413; shorter texts
//!   are windowed by the backend, never truncated), texts in flight (429 with `Retry-After`
//!   at once, counted per text so one request of 50 texts weighs what 50 requests of one do),
//!   a per-request deadline (`x-request-timeout` seconds, else `--request-timeout`; 504).
//! * `/ready` answers 503 while the models load and while draining; `/live` only says the
//!   process answers, so a full queue never gets a healthy server killed.
//! * Shutdown: stop accepting, finish what is in flight within the shutdown timeout, exit.
//! * Texts never reach the logs.

pub mod api;
pub mod batcher;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod routes;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jner_corpus::Recognizer;
use jner_redact::Keys;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use batcher::BatchConfig;

use crate::api::ModelInfo;
use crate::batcher::Batcher;
use crate::metrics::Metrics;

/// Server settings (the `jner serve` flags).
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub max_body_bytes: usize,
    pub max_texts: usize,
    pub max_text_chars: usize,
    pub max_in_flight_texts: usize,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
    /// Texts per model call inside a batch (transformer backends).
    pub batch_size: usize,
    pub batch: BatchConfig,
    /// Bearer token for the `/v1/` routes.
    pub api_key: Option<String>,
    /// For `hash`, `encrypt` and `/v1/restore`.
    pub keys: Option<Keys>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_body_bytes: 4 << 20,
            max_texts: 256,
            max_text_chars: 1_000_000,
            max_in_flight_texts: 4096,
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            batch_size: 32,
            batch: BatchConfig::default(),
            api_key: None,
            keys: None,
        }
    }
}

/// A loaded model to serve.
pub struct ModelSpec {
    pub name: String,
    pub backend: String,
    pub recognizer: Box<dyn Recognizer>,
}

pub(crate) struct Served {
    pub info: ModelInfo,
    pub batcher: Batcher,
}

/// Shared state of the handlers.
pub struct AppState {
    pub(crate) config: ServeConfig,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) models: OnceLock<Vec<Served>>,
    pub(crate) draining: AtomicBool,
    pub(crate) permits: Arc<Semaphore>,
}

impl AppState {
    pub fn new(config: ServeConfig) -> Arc<Self> {
        Arc::new(AppState {
            permits: Arc::new(Semaphore::new(config.max_in_flight_texts.max(1))),
            config,
            metrics: Arc::new(Metrics::default()),
            models: OnceLock::new(),
            draining: AtomicBool::new(false),
        })
    }

    /// Installs the models (the server turns ready) and starts their batchers.
    pub fn install(&self, specs: Vec<ModelSpec>) -> Result<(), String> {
        let served = specs
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let rec: Arc<dyn Recognizer> = Arc::from(s.recognizer);
                let info = ModelInfo {
                    name: s.name.clone(),
                    backend: s.backend,
                    labels: rec.labels().to_vec(),
                    zero_shot: rec.zero_shot(),
                    default: i == 0,
                };
                let batcher = Batcher::start(
                    &s.name,
                    rec.clone(),
                    self.config.batch.clone(),
                    self.metrics.clone(),
                )
                .map_err(|e| format!("starting the inference threads of {:?}: {e}", s.name))?;
                Ok(Served { info, batcher })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let _ = self.models.set(served);
        Ok(())
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    fn close(&self) {
        if let Some(ms) = self.models.get() {
            for m in ms {
                m.batcher.close();
            }
        }
    }
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("loading the models: {0}")]
    Load(String),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on `listener` until `shutdown` resolves: the routes answer at once (`/ready` 503)
/// while `load` runs on a blocking thread; a failed load stops the server with its error.
/// After `shutdown`, new connections are refused, `/ready` turns 503, and in-flight requests
/// get `shutdown_timeout` to finish.
pub async fn run<L, F>(
    listener: TcpListener,
    config: ServeConfig,
    load: L,
    shutdown: F,
) -> Result<(), ServeError>
where
    L: FnOnce() -> Result<Vec<ModelSpec>, String> + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let state = AppState::new(config);
    let app = routes::router(state.clone());
    let (tx, rx) = tokio::sync::watch::channel(false);
    let drain_state = state.clone();
    tokio::spawn(async move {
        shutdown.await;
        drain_state.start_draining();
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = tx.send(true);
    });
    let loading = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.install(load()?))
    };
    let graceful = {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|v| *v).await;
        }
    };
    let timeout = state.config.shutdown_timeout;
    let deadline = {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|v| *v).await;
            tokio::time::sleep(timeout).await;
        }
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(graceful);
    let mut timed_out = false;
    let result = tokio::select! {
        r = server => r.map_err(ServeError::Io),
        _ = deadline => {
            tracing::warn!("shutdown timeout ({timeout:?}) passed with requests in flight: exiting");
            timed_out = true;
            Ok(())
        }
        r = async {
            match loading.await {
                Ok(Ok(())) => std::future::pending::<Result<(), ServeError>>().await,
                Ok(Err(e)) => Err(ServeError::Load(e)),
                Err(e) => Err(ServeError::Load(format!("the loader panicked: {e}"))),
            }
        } => r,
    };
    if !timed_out {
        // the workers finish what is queued, then stop
        let closing = state.clone();
        let _ = tokio::task::spawn_blocking(move || closing.close()).await;
    }
    result
}
