//! Error responses in HyperSwitch's `application/problem+json` shape:
//! exactly `{type, title, method, detail, uri}`.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use restrouter_proto::problem::{ProblemBody, CONTENT_TYPE as PROBLEM_JSON};

/// The request line an error reports in `method` and `uri`.
#[derive(Debug, Clone)]
pub struct RequestLine {
    pub method: Method,
    pub uri: Uri,
}

/// An error to answer with.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    headers: HeaderMap,
}

impl Problem {
    fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: String) -> Self {
        Self {
            status,
            kind,
            title,
            detail,
            headers: HeaderMap::new(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found.",
            detail.into(),
        )
    }

    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found#route",
            "Not found.",
            "No route for this path.".into(),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed.",
            "This path does not support the request method.".into(),
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Invalid parameters",
            detail.into(),
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "Request body too large.",
            format!("The body exceeds the limit of {limit} bytes."),
        )
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "Precondition failed.",
            detail.into(),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error.",
            "The storage service failed; see its log.".into(),
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Adds a response header; problem+json's own content type wins.
    pub fn with_header(mut self, name: axum::http::HeaderName, value: HeaderValue) -> Self {
        if name != CONTENT_TYPE {
            self.headers.append(name, value);
        }
        self
    }

    pub fn respond(self, request: &RequestLine) -> Response {
        let body = ProblemBody::new(
            self.kind,
            self.title,
            request.method.as_str(),
            &self.detail,
            &request.uri.to_string(),
        );
        let json = body.to_vec();
        let mut response = (self.status, self.headers, Body::from(json)).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}
