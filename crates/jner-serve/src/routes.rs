//! The handlers, the router and the OpenAPI document generated from them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jner_corpus::offsets::CharIndex;
use jner_corpus::{Entity, PredictOptions};
use jner_redact::{Lists, Policy, Redacted};
use subtle::ConstantTimeEq;
use utoipa::OpenApi;

use crate::api::*;
use crate::batcher::Job;
use crate::error::{ApiError, ErrorKind};
use crate::extract::ApiJson;
use crate::metrics::{EntityLabel, Metrics, RouteLabel, RouteOutcome};
use crate::{AppState, Served};

type St = State<Arc<AppState>>;

/// Longest deadline a client may ask for with `x-request-timeout`.
const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jner",
        description = "Named-entity screening (minor children, author gender, biomedical entities) and redaction"
    ),
    paths(
        entities,
        redact,
        restore,
        models,
        live,
        ready,
        metrics_text,
        openapi_json
    ),
    components(schemas(
        EntitiesRequest,
        EntitiesResponse,
        RedactRequest,
        RedactResponse,
        RestoreRequest,
        RestoreResponse,
        ModelsResponse,
        ErrorBody,
        Health
    ))
)]
pub struct ApiDoc;

/// The application.
pub fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/entities", post(entities))
        .route("/v1/redact", post(redact))
        .route("/v1/restore", post(restore))
        .route("/v1/models", get(models))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .merge(v1)
        .route("/live", get(live))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi_json))
        .route_layer(middleware::from_fn_with_state(state.clone(), record))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route (see /openapi.json)",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method (see /openapi.json)",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal("internal error (a bug: please report it)").into_response()
            },
        ))
        .with_state(state)
}

/// Request counts by outcome and latency by route. Nothing of the request is logged.
async fn record(State(state): St, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", |m| m.as_str())
        .to_string();
    let t0 = Instant::now();
    let resp = next.run(req).await;
    let outcome = match resp.extensions().get::<ErrorKind>() {
        Some(k) => k.0.to_string(),
        None if resp.status().is_success() => "ok".into(),
        None => resp.status().as_u16().to_string(),
    };
    let m = &state.metrics;
    m.latency
        .get_or_create(&RouteLabel {
            route: route.clone(),
        })
        .observe(t0.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RouteOutcome {
            route: route.clone(),
            outcome: outcome.clone(),
        })
        .inc();
    tracing::debug!(%route, %outcome, ms = t0.elapsed().as_millis() as u64, "request");
    resp
}

/// `Authorization: Bearer KEY` on the `/v1/` routes when `--api-key` is set.
async fn auth(State(state): St, req: Request, next: Next) -> Response {
    if let Some(key) = &state.config.api_key {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let ok: bool = given.as_bytes().ct_eq(key.as_bytes()).into();
        if !ok {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong API key (Authorization: Bearer KEY)",
            )
            .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    next.run(req).await
}

fn served(state: &AppState) -> Result<&[Served], ApiError> {
    if state.draining.load(Ordering::SeqCst) {
        return Err(ApiError::not_ready("the server is shutting down"));
    }
    state
        .models
        .get()
        .map(Vec::as_slice)
        .ok_or_else(|| ApiError::not_ready("the models are still loading"))
}

fn pick<'a>(models: &'a [Served], name: &Option<String>) -> Result<&'a Served, ApiError> {
    match name {
        None => models
            .first()
            .ok_or_else(|| ApiError::internal("no model is served")),
        Some(n) => models.iter().find(|m| m.info.name == *n).ok_or_else(|| {
            let names: Vec<&str> = models.iter().map(|m| m.info.name.as_str()).collect();
            ApiError::validation(format!(
                "model: unknown model {n:?}; served: {}",
                names.join(", ")
            ))
        }),
    }
}

fn deadline(state: &AppState, headers: &HeaderMap) -> Result<Instant, ApiError> {
    let t = match headers.get("x-request-timeout") {
        None => state.config.request_timeout,
        Some(v) => {
            let secs: f64 = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "x-request-timeout: a positive number of seconds (e.g. 2.5)",
                    )
                })?;
            Duration::from_secs_f64(secs.min(MAX_REQUEST_TIMEOUT.as_secs_f64()))
        }
    };
    Ok(Instant::now() + t)
}

fn check_score(field: &str, t: f32) -> Result<(), ApiError> {
    if t.is_finite() && (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "{field}: a number in [0, 1], got {t}"
        )))
    }
}

/// Everything checked before any work: the model, options and lists of one request.
struct Plan<'a> {
    model: &'a Served,
    opts: PredictOptions,
    lists: Lists,
}

fn plan<'a>(state: &'a AppState, texts: &[String], d: &Detect) -> Result<Plan<'a>, ApiError> {
    let models = served(state)?;
    if texts.is_empty() {
        return Err(ApiError::validation("texts: the list is empty"));
    }
    if texts.len() > state.config.max_texts {
        return Err(ApiError::too_large(format!(
            "texts: {} texts; at most {} per request (--max-texts)",
            texts.len(),
            state.config.max_texts
        )));
    }
    for (i, t) in texts.iter().enumerate() {
        // bytes bound characters from above: count only when it could matter
        if t.len() > state.config.max_text_chars {
            let n = t.chars().count();
            if n > state.config.max_text_chars {
                return Err(ApiError::too_large(format!(
                    "texts[{i}]: {n} characters; at most {} (--max-text-chars; shorter texts are windowed, never truncated)",
                    state.config.max_text_chars
                )));
            }
        }
    }
    let model = pick(models, &d.model)?;
    if let Some(labels) = &d.labels {
        if labels.is_empty() || labels.iter().any(|l| l.trim().is_empty()) {
            return Err(ApiError::validation(
                "labels: a non-empty list of non-empty names",
            ));
        }
        if !model.info.zero_shot {
            let unknown: Vec<&String> = labels
                .iter()
                .filter(|l| !model.info.labels.contains(l))
                .collect();
            if !unknown.is_empty() {
                return Err(ApiError::validation(format!(
                    "labels: model {:?} cannot look for {unknown:?}: it knows {:?} and does not take new labels",
                    model.info.name, model.info.labels
                )));
            }
        }
    }
    if let Some(t) = d.threshold {
        check_score("threshold", t)?;
    }
    for (l, t) in &d.thresholds {
        check_score(&format!("thresholds.{l}"), *t)?;
    }
    let lists = Lists::compile(&d.allow, &d.deny)?;
    Ok(Plan {
        model,
        opts: PredictOptions {
            threshold: d.threshold,
            batch_size: state.config.batch_size.max(1),
            labels: d.labels.clone(),
            nested: false,
            multi_label: false,
        },
        lists,
    })
}

/// The found entities of each text (after thresholds, lists and consistency) and windows.
struct Detected {
    texts: Vec<String>,
    entities: Vec<Vec<Entity>>,
    windows: Vec<usize>,
}

async fn detect(
    state: &AppState,
    headers: &HeaderMap,
    texts: Vec<String>,
    d: &Detect,
    plan: Plan<'_>,
) -> Result<Detected, ApiError> {
    let deadline = deadline(state, headers)?;
    let n = texts.len() as u32;
    let permit = state.permits.clone().try_acquire_many_owned(n).map_err(|_| {
        ApiError::overloaded(format!(
            "the server holds its limit of {} texts in flight (--max-in-flight-texts); retry shortly",
            state.config.max_in_flight_texts
        ))
    })?;
    let m: &Metrics = &state.metrics;
    m.in_flight.inc_by(i64::from(n));
    struct InFlight<'a>(&'a Metrics, i64);
    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            self.0.in_flight.dec_by(self.1);
        }
    }
    let _in_flight = InFlight(m, i64::from(n));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let words = texts.iter().map(|t| t.split_whitespace().count()).sum();
    plan.model.batcher.submit(Job {
        texts,
        opts: plan.opts.clone(),
        words,
        deadline,
        enqueued: Instant::now(),
        reply: tx,
    });
    let done = match tokio::time::timeout_at(deadline.into(), rx).await {
        // still queued, the batcher drops it (and counts it) when it comes up
        Err(_) => {
            return Err(ApiError::timeout(
                "the request's deadline passed (x-request-timeout, --request-timeout)",
            ))
        }
        Ok(Err(_)) => return Err(ApiError::internal("the inference worker stopped")),
        Ok(Ok(r)) => r?,
    };
    drop(permit);
    let model = Metrics::model(&plan.model.info.name);
    let mut entities = done.entities;
    for ((text, ents), w) in done
        .texts
        .iter()
        .zip(entities.iter_mut())
        .zip(&done.windows)
    {
        if !d.thresholds.is_empty() {
            ents.retain(|e| d.thresholds.get(&e.label).is_none_or(|t| e.score >= *t));
        }
        plan.lists.apply(text, ents);
        if d.consistent {
            jner_corpus::consistency::propagate(text, ents);
        }
        m.windows.get_or_create(&model).observe(*w as f64);
        for e in ents.iter() {
            m.entities
                .get_or_create(&EntityLabel {
                    label: e.label.clone(),
                })
                .inc();
        }
    }
    Ok(Detected {
        texts: done.texts,
        entities,
        windows: done.windows,
    })
}

/// Entities with character offsets, label, score and text.
#[utoipa::path(post, path = "/v1/entities", request_body = EntitiesRequest,
    params(("x-request-timeout" = Option<f64>, Header, nullable = false, exclusive_minimum = 0.0,
        description = "deadline in seconds (default: --request-timeout)")),
    responses(
        (status = 200, body = EntitiesResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 500, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 504, body = ErrorBody)))]
async fn entities(
    State(state): St,
    headers: HeaderMap,
    ApiJson(req): ApiJson<EntitiesRequest>,
) -> Result<Json<EntitiesResponse>, ApiError> {
    let d = req.detect();
    let plan = plan(&state, &req.texts, &d)?;
    let name = plan.model.info.name.clone();
    let det = detect(&state, &headers, req.texts, &d, plan).await?;
    let results = det
        .texts
        .iter()
        .zip(det.entities)
        .zip(det.windows)
        .map(|((text, ents), windows)| {
            let idx = CharIndex::new(text);
            let at = |c: usize| idx.to_byte(c).unwrap_or(text.len());
            TextEntities {
                entities: ents
                    .into_iter()
                    .map(|e| EntityOut {
                        text: text[at(e.start)..at(e.end).max(at(e.start))].to_string(),
                        start: e.start,
                        end: e.end,
                        label: e.label,
                        score: e.score,
                    })
                    .collect(),
                windows,
            }
        })
        .collect();
    Ok(Json(EntitiesResponse {
        model: name,
        results,
    }))
}

/// Detection and anonymization in one call.
#[utoipa::path(post, path = "/v1/redact", request_body = RedactRequest,
    params(("x-request-timeout" = Option<f64>, Header, nullable = false, exclusive_minimum = 0.0,
        description = "deadline in seconds (default: --request-timeout)")),
    responses(
        (status = 200, body = RedactResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 500, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 504, body = ErrorBody)))]
async fn redact(
    State(state): St,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RedactRequest>,
) -> Result<Json<RedactResponse>, ApiError> {
    let policy = Policy {
        operators: req.operators.clone(),
        default: req.default_operator.clone().unwrap_or_default(),
        merge_adjacent: req.merge_adjacent,
    };
    let d = req.detect();
    let plan = plan(&state, &req.texts, &d)?;
    if let Some(op) = policy.needs_key() {
        if state.config.keys.is_none() {
            return Err(ApiError::validation(format!(
                "operators: {op} needs a key and this server has none (jner serve --key-file FILE)"
            )));
        }
    }
    let name = plan.model.info.name.clone();
    let det = detect(&state, &headers, req.texts, &d, plan).await?;
    let mut results = Vec::with_capacity(det.texts.len());
    for ((text, ents), windows) in det.texts.iter().zip(&det.entities).zip(det.windows) {
        let r = jner_redact::redact(text, ents, &policy, state.config.keys.as_ref())
            .map_err(|e| ApiError::internal(format!("redaction failed: {e}")))?;
        results.push(TextRedacted {
            text: r.text,
            items: r.items,
            windows,
        });
    }
    Ok(Json(RedactResponse {
        model: name,
        results,
    }))
}

/// The `encrypt` items of `/v1/redact` results decrypted back into their texts.
#[utoipa::path(post, path = "/v1/restore", request_body = RestoreRequest,
    responses(
        (status = 200, body = RestoreResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn restore(
    State(state): St,
    ApiJson(req): ApiJson<RestoreRequest>,
) -> Result<Json<RestoreResponse>, ApiError> {
    let Some(keys) = &state.config.keys else {
        return Err(ApiError::validation(
            "this server has no key to restore with (jner serve --key-file FILE)",
        ));
    };
    if req.results.len() > state.config.max_texts {
        return Err(ApiError::too_large(format!(
            "results: {} texts; at most {} per request (--max-texts)",
            req.results.len(),
            state.config.max_texts
        )));
    }
    let texts = req
        .results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let r: Redacted = r.into();
            jner_redact::restore(&r.text, &r.items, keys)
                .map_err(|e| ApiError::validation(format!("results[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(RestoreResponse { texts }))
}

/// The models served: backend, labels, zero-shot or not.
#[utoipa::path(get, path = "/v1/models", responses(
    (status = 200, body = ModelsResponse), (status = 401, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
async fn models(State(state): St) -> Result<Json<ModelsResponse>, ApiError> {
    let ms = served(&state)?;
    Ok(Json(ModelsResponse {
        models: ms.iter().map(|m| m.info.clone()).collect(),
    }))
}

/// 200 while the process answers (a full queue does not change it).
#[utoipa::path(get, path = "/live", responses((status = 200, body = Health)))]
async fn live() -> Json<Health> {
    Json(Health {
        status: "live".into(),
    })
}

/// 200 when the models are loaded and the server is not draining; else 503.
#[utoipa::path(get, path = "/ready", responses(
    (status = 200, body = Health), (status = 503, body = Health)))]
async fn ready(State(state): St) -> Response {
    let status = if state.draining.load(Ordering::SeqCst) {
        "draining"
    } else if state.models.get().is_none() {
        "loading"
    } else {
        "ready"
    };
    let code = if status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(Health {
            status: status.into(),
        }),
    )
        .into_response()
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "application/openmetrics-text", body = String)))]
async fn metrics_text(State(state): St) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        ApiDoc::openapi().to_pretty_json().unwrap_or_default(),
    )
        .into_response()
}
