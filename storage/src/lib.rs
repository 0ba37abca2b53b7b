//! The RESTBase storage service's key_value and page_revisions APIs on an embedded SQLite file.
//!
//! The router talks to it exactly as it would to RESTBase's storage service
//! (port 7233), so either can sit behind the `storage` cluster.

mod api;
mod content;
mod metrics;
mod mwapi;
mod page_revisions;
mod problem;
mod store;

use std::future::Future;
use std::sync::Arc;

pub use mwapi::{MwApiConfig, DEFAULT_TIMEOUT as DEFAULT_MWAPI_TIMEOUT};
pub use store::{Store, StoreError};

/// Default request body limit: 16 MiB, above any page the router stores.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Serves the API on `listener` until `shutdown` completes, then finishes
/// in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    max_body_bytes: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_mwapi(listener, store, max_body_bytes, None, shutdown).await
}

/// [`serve`], with the MediaWiki action API that `page_revisions` reads on a miss (without
/// one, `page_revisions` misses answer 503).
pub async fn serve_with_mwapi(
    listener: tokio::net::TcpListener,
    store: Store,
    max_body_bytes: usize,
    mwapi: Option<MwApiConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Arc::new(api::App::new(store, max_body_bytes, mwapi));
    axum::serve(listener, api::router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
