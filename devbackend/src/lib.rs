//! Development stand-ins for the services behind the REST API router: Parsoid, mobileapps (PCS),
//! wikifeeds, the analytics query service (AQS), Content Translation (cxserver), mathoid, proton
//! (PDFs), citoid, recommendation-api, graphoid, the event service (EventGate), the MediaWiki
//! action API and MediaWiki's REST routes of the ReadingLists extension,
//! all on one port.
//!
//! Content is small, generated from the title and deterministic apart from render ids, so the
//! server works offline and is cheap enough to act as the upstream in benchmarks.

mod action_api;
mod aqs;
mod citoid;
mod cx;
mod dates;
mod definition;
mod error;
mod events;
mod feed_extras;
mod feeds;
mod graphoid;
mod markup;
mod mathoid;
mod metrics;
mod mobile_sections;
mod onthisday;
mod page;
mod pagebundle;
mod params;
mod parsoid;
mod parsoid_formats;
mod pcs;
mod pcs_assets;
mod pcs_transform;
mod proton;
mod reading_lists;
mod recommendation;
mod respond;
mod samples;
mod site;
mod talk;
mod tid;

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

pub use events::DEFAULT_EVENTS_KEPT;

/// Default listen address, the port the router's `make run` setup points its clusters at.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8888";

/// Run-time settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// How many of the most recent events `GET /v1/events` keeps.
    pub events_kept: usize,
    /// Log one line per request (off by default: the server is a benchmark upstream).
    pub log_requests: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            events_kept: DEFAULT_EVENTS_KEPT,
            log_requests: false,
        }
    }
}

/// State shared by all handlers.
pub(crate) struct AppState {
    pub metrics: metrics::Metrics,
    pub events: events::EventLog,
    pub tids: tid::TidGenerator,
    pub renders: pagebundle::Renders,
    pub action: action_api::Wikis,
    pub lists: reading_lists::Store,
}

pub(crate) type Shared = Arc<AppState>;

/// Builds the HTTP application.
pub fn router(config: &Config) -> Router {
    let state: Shared = Arc::new(AppState {
        metrics: metrics::Metrics::default(),
        events: events::EventLog::new(config.events_kept),
        tids: tid::TidGenerator::new(),
        renders: pagebundle::Renders::default(),
        action: action_api::Wikis::default(),
        lists: reading_lists::Store::default(),
    });
    let app = Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::render))
        .route(
            "/v1/events",
            get(events::list).post(events::accept).delete(events::clear),
        )
        .merge(parsoid::routes())
        .merge(pagebundle::routes())
        .merge(parsoid_formats::routes())
        .merge(pcs::routes())
        .merge(pcs_assets::routes())
        .merge(mobile_sections::routes())
        .merge(pcs_transform::routes())
        .merge(definition::routes())
        .merge(talk::routes())
        .merge(feeds::routes())
        .merge(feed_extras::routes())
        .merge(onthisday::routes())
        .merge(aqs::routes())
        .merge(cx::routes())
        .merge(mathoid::routes())
        .merge(action_api::routes())
        .merge(proton::routes())
        .merge(citoid::routes())
        .merge(recommendation::routes())
        .merge(graphoid::routes())
        .merge(reading_lists::routes())
        .fallback(fallback)
        .with_state(state);
    if config.log_requests {
        app.layer(middleware::from_fn(log_request))
    } else {
        app
    }
}

/// Serves `router(config)` on `listener` until `shutdown` completes.
pub async fn serve<F>(listener: TcpListener, config: &Config, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves `router(config)` on a free loopback port, on a thread with a runtime of its own, for
/// the rest of the process; answers its base URL (`http://127.0.0.1:port`). For tests: of the
/// stand-ins, and of the services that call them.
pub fn spawn(config: Config) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let served = match TcpListener::from_std(listener) {
                Ok(listener) => serve(listener, &config, std::future::pending()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = served {
                tracing::error!(error = %e, "development back-end stopped");
            }
        });
    });
    Ok(format!("http://{addr}"))
}

async fn health() -> &'static str {
    "ok\n"
}

async fn fallback(
    axum::extract::State(state): axum::extract::State<Shared>,
    request: Request,
) -> Response {
    state.metrics.count(metrics::Service::Unrouted);
    error::not_found(request.method(), request.uri().path())
}

async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    tracing::info!(%method, %uri, status = response.status().as_u16(), "request");
    response
}
