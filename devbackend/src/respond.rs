//! Building responses with a set of headers.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

/// A response with `status`, `headers` and `body`. Values that are not valid header text are
/// left out rather than failing the response; callers only pass generated ASCII.
pub fn with_headers(
    status: StatusCode,
    headers: &[(HeaderName, &str)],
    body: impl Into<Body>,
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(name.clone(), value);
        }
    }
    response
}

/// The `etag` value the router stores with content: `"<revision>/<tid>"`.
pub use restrouter_proto::etag::format as etag;
