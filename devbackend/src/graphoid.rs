//! Graphoid stand-in (switched off in 2021): `GET /{domain}/v1/png/{title}/{revision}/{graph_id}`
//! as RESTBase's v1/graphoid.yaml called it, the graph id being a hash and `.png`. A graph is a
//! 1×1 PNG (`image/png`). Each existing page has graphs under any 40-hex-digit hash; any other
//! id, or a page that does not exist, is a `404` in the service-template JSON graphoid sent.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::error;
use crate::metrics::Service;
use crate::page::Page;
use crate::params::Params;
use crate::respond::with_headers;
use crate::Shared;

/// A transparent 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

pub fn routes() -> Router<Shared> {
    Router::new().route("/{domain}/v1/png/{title}/{revision}/{graph_id}", get(png))
}

async fn png(State(state): State<Shared>, p: Params<(String, String, u64, String)>) -> Response {
    state.metrics.count(Service::Graphoid);
    let (_, title, _revision, graph_id) = p.values;
    let known = graph_id
        .strip_suffix(".png")
        .is_some_and(|hash| hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    if !known || Page::lookup(&title, None).is_none() {
        return error::service_template(
            StatusCode::NOT_FOUND,
            Some("not_found"),
            Some("Not found"),
            &format!("Graph {graph_id} not found on page {title}"),
            &p.method,
            &p.path,
        );
    }
    with_headers(StatusCode::OK, &[(header::CONTENT_TYPE, "image/png")], PNG)
}
