//! Rate-limit sidecar: Envoy's singleton reports per-key request counts over a localhost HTTP
//! API; the sidecars of all pods aggregate each key on the DHT node(s) closest to it and answer
//! which keys are over their limit globally.

pub mod clock;
pub mod config;
pub mod dht;
pub mod http_api;
pub mod identity;
pub mod membership;
pub mod metrics;
pub mod owner_protocol;
pub mod seeds;
pub mod sync;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Config;
use crate::http_api::AppState;
use crate::metrics::{KeyTable, Metrics};
use crate::sync::Limiter;
use restrouter_proto::rate::RateTable;

/// Runs the sidecar until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), String> {
    if !config.http_listen.ip().is_loopback() {
        // The API trusts its caller (counts, limits): only the pod's own Envoy should reach it.
        tracing::warn!(addr = %config.http_listen, "HTTP API is not on loopback");
    }
    let clock = Clock::new();
    let metrics = Arc::new(Metrics::new());
    let owned = Arc::new(Mutex::new(RateTable::new(config.window_ms, config.max_keys)));
    let dht = dht::start(&config, owned.clone(), clock, metrics.clone())?;
    let limiter = Arc::new(Limiter::new(RateTable::new(config.window_ms, config.max_keys), owned, dht, metrics.clone(), clock, config.owner_timeout, config.replicas));

    let housekeeping = {
        let limiter = limiter.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                limiter.expire();
                metrics.set_keys(KeyTable::local, limiter.local_keys());
                metrics.set_keys(KeyTable::owned, limiter.owned_keys());
            }
        })
    };

    let listener = tokio::net::TcpListener::bind(config.http_listen).await.map_err(|e| format!("binding HTTP API on {}: {e}", config.http_listen))?;
    tracing::info!(addr = %config.http_listen, "HTTP API listening");
    let app = http_api::router(AppState { limiter, metrics });
    let served = axum::serve(listener, app).with_graceful_shutdown(restrouter_service::shutdown_signal()).await.map_err(|e| format!("HTTP API: {e}"));
    housekeeping.abort();
    served
}
