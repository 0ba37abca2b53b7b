//! Building responses with a set of headers.

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
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

/// A Page Content Service (mobileapps) answer: its content type, ETag and content language,
/// varying by `Accept-Language`.
pub fn pcs_answer(content_type: &str, etag: &str, lang: &str, body: String) -> Response {
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, content_type),
            (header::ETAG, etag),
            (header::CONTENT_LANGUAGE, lang),
            (header::VARY, "Accept-Language"),
        ],
        body,
    )
}

/// The `etag` value the router stores with content: `"<revision>/<tid>"`.
pub use restrouter_proto::etag::format as etag;
