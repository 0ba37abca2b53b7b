//! Error bodies: the HyperSwitch problem format most of the real services share, and
//! MediaWiki's REST format for the services MediaWiki itself now serves.

use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use restrouter_proto::problem::{ProblemBody, CONTENT_TYPE};
use serde_json::json;

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

/// A MediaWiki REST error as `ResponseFactory::createFromException` writes it for a
/// `LocalizedHttpException`: `errorKey`, the message in the wiki's languages (English here),
/// `httpCode` and `httpReason`, as `application/json`.
pub fn rest(status: StatusCode, error_key: &str, message: &str) -> Response {
    let body = json!({
        "errorKey": error_key,
        "messageTranslations": {"en": message},
        "httpCode": status.as_u16(),
        "httpReason": status.canonical_reason().unwrap_or_default(),
    });
    with_headers(
        status,
        &[(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// An error as the Node.js services built on service-template-node send it (proton, graphoid,
/// recommendation-api: `lib/util.js` `setErrorHandler`): `status, type, title, detail, method,
/// uri` through Express's `res.json`, so `application/json`; a missing `type` is
/// `internal_error`, a missing `title` left out.
pub fn service_template(
    status: StatusCode,
    kind: Option<&str>,
    title: Option<&str>,
    detail: &str,
    method: &Method,
    uri: &str,
) -> Response {
    let mut body = json!({
        "status": status.as_u16(),
        "type": kind.unwrap_or("internal_error"),
        "detail": detail,
        "method": method.as_str(),
        "uri": uri,
    });
    if let (Some(title), Some(map)) = (title, body.as_object_mut()) {
        map.insert("title".into(), title.into());
    }
    with_headers(
        status,
        &[(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
}
