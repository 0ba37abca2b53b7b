//! What every service binary sets up the same way: logging to stderr filtered by `RUST_LOG`,
//! a future that completes on Ctrl-C or SIGTERM (what Kubernetes sends), and the
//! Prometheus/OpenMetrics endpoint's answer.

use std::io::IsTerminal as _;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::registry::Registry;

/// Logs to stderr at `RUST_LOG` (default `info`), coloured only on a terminal.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).init();
}

/// Completes on Ctrl-C or SIGTERM. A signal that cannot be installed is logged and never
/// fires, rather than stopping the server at once.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// The content type of [`encode`]'s text.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The registry in the OpenMetrics text format (which Prometheus scrapes).
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        // Writing into a String cannot fail; an empty page beats a half-written one.
        out.clear();
    }
    out
}

/// The answer of a `GET /metrics`.
pub fn metrics_response(registry: &Registry) -> Response {
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], encode(registry)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[test]
    fn encodes_openmetrics_text() {
        let mut registry = Registry::with_prefix("svc");
        let c = Counter::<u64>::default();
        registry.register("requests", "Requests", c.clone());
        c.inc();
        let text = encode(&registry);
        assert!(text.contains("# TYPE svc_requests counter\n"), "{text}");
        assert!(text.contains("svc_requests_total 1\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
