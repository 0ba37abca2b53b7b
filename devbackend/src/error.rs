//! Error bodies in the HyperSwitch problem format the real services share.

use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use restrouter_proto::problem::{ProblemBody, CONTENT_TYPE};

use crate::respond::with_headers;

pub fn problem(
    status: StatusCode,
    kind: &str,
    title: &str,
    method: &Method,
    uri: &str,
    detail: &str,
) -> Response {
    let body = ProblemBody::new(kind, title, method.as_str(), detail, uri);
    with_headers(
        status,
        &[(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_vec(),
    )
}

pub fn not_found(method: &Method, uri: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "Not found.",
        method,
        uri,
        "Page or revision not found.",
    )
}

pub fn bad_request(method: &Method, uri: &str, detail: &str) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "Invalid parameters",
        method,
        uri,
        detail,
    )
}
