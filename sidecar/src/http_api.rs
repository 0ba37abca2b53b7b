//! Localhost HTTP API for Envoy's singleton: `POST /v1/sync`, `GET /healthz`, `GET /metrics`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::metrics::{KeyTable, Metrics};
use crate::sync::Limiter;
use restrouter_proto::ratelimit::SyncRequest;

/// Syncs from a busy pod can carry many client keys.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub limiter: Arc<Limiter>,
    pub metrics: Arc<Metrics>,
}

pub fn router(state: AppState) -> Router {
    Router::new().route("/v1/sync", post(sync)).route("/healthz", get(healthz)).route("/metrics", get(metrics)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(state)
}

async fn sync(State(state): State<AppState>, body: Bytes) -> Response {
    let request: SyncRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            state.metrics.bad_syncs.inc();
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": "malformed sync body", "detail": e.to_string() }))).into_response();
        }
    };
    Json(state.limiter.sync(request).await).into_response()
}

async fn healthz() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.set_keys(KeyTable::local, state.limiter.local_keys());
    state.metrics.set_keys(KeyTable::owned, state.limiter.owned_keys());
    restrouter_service::metrics_response(state.metrics.registry())
}
