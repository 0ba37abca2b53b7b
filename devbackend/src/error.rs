//! Error bodies in the HyperSwitch problem format the real services share.

use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::respond::with_headers;

const PROBLEM_JSON: &str = "application/problem+json";

pub fn problem(
    status: StatusCode,
    kind: &str,
    title: &str,
    method: &Method,
    uri: &str,
    detail: &str,
) -> Response {
    let body = json!({
        "type": format!("https://mediawiki.org/wiki/HyperSwitch/errors/{kind}"),
        "title": title,
        "method": method.as_str().to_ascii_lowercase(),
        "detail": detail,
        "uri": uri,
    });
    with_headers(
        status,
        &[(header::CONTENT_TYPE, PROBLEM_JSON)],
        body.to_string(),
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
