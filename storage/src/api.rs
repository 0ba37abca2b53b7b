//! The HTTP surface: RESTBase's key_value API plus health and metrics.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tracing::{debug, error};

use crate::content;
use crate::metrics::{Metrics, Outcome};
use crate::problem::{Problem, RequestLine};
use crate::store::{Entry, Location, Lookup, PutOutcome, Store, StoreError, DEFAULT_VALUE_TYPE};

/// Shared by all requests.
pub struct App {
    store: Arc<Store>,
    metrics: Metrics,
    node_id: [u8; 6],
    max_body_bytes: usize,
}

impl App {
    pub fn new(store: Store, max_body_bytes: usize) -> Self {
        Self {
            store: Arc::new(store),
            metrics: Metrics::default(),
            node_id: random_node_id(),
            max_body_bytes,
        }
    }

    /// Counts and renders an error that is not a cache miss or a 412.
    fn reject(&self, request: &RequestLine, problem: Problem) -> Response {
        self.metrics.count(if problem.status().is_server_error() {
            Outcome::failed
        } else {
            Outcome::rejected
        });
        problem.respond(request)
    }

    /// Runs blocking SQLite work on tokio's blocking pool.
    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Problem> {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || work(&store)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                error!(error = %e, "store operation failed");
                Err(Problem::internal())
            }
            Err(e) => {
                error!(error = %e, "store task failed");
                Err(Problem::internal())
            }
        }
    }
}

/// A random node id for uuid v1 tids, with the multicast bit set as RFC 4122
/// asks for ids that are not a MAC address.
fn random_node_id() -> [u8; 6] {
    let random = uuid::Uuid::new_v4().into_bytes();
    let mut node = [0u8; 6];
    for (n, r) in node.iter_mut().zip(random.iter().rev()) {
        *n = *r;
    }
    node[0] |= 0x01;
    node
}

pub fn router(app: Arc<App>) -> Router {
    let limit = app.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/{domain}/v1/key_value/{bucket}",
            axum::routing::put(create_bucket),
        )
        .route(
            "/{domain}/v1/key_value/{bucket}/{key}",
            get(get_value).put(put_value),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    restrouter_service::metrics_response(app.metrics.registry())
}

async fn no_route(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    app.reject(&RequestLine { method, uri }, Problem::no_route())
}

async fn method_not_allowed(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    app.reject(&RequestLine { method, uri }, Problem::method_not_allowed())
}

/// `PUT /{domain}/v1/key_value/{bucket}` with an optional JSON body
/// `{valueType, …}`; only the value type is kept, the rest configured
/// Cassandra tables.
async fn create_bucket(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = RequestLine { method, uri };
    let (domain, bucket) = match path {
        Ok(Path(p)) => p,
        Err(e) => return app.reject(&request, Problem::bad_request(e.body_text())),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => return app.reject(&request, body_problem(&e, app.max_body_bytes)),
    };
    let value_type = match bucket_value_type(&body) {
        Ok(t) => t,
        Err(detail) => return app.reject(&request, Problem::bad_request(detail)),
    };
    let created = app
        .with_store(move |store| store.create_bucket(&domain, &bucket, &value_type))
        .await;
    match created {
        Ok(()) => {
            app.metrics.count(Outcome::bucket_created);
            (
                StatusCode::CREATED,
                [(CONTENT_TYPE, "application/json")],
                r#"{"type":"table_created"}"#,
            )
                .into_response()
        }
        Err(problem) => app.reject(&request, problem),
    }
}

fn bucket_value_type(body: &[u8]) -> Result<String, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DEFAULT_VALUE_TYPE.to_owned());
    }
    let schema: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("bucket body is not JSON: {e}"))?;
    let Some(schema) = schema.as_object() else {
        return Err("bucket body must be a JSON object".to_owned());
    };
    match schema.get("valueType") {
        None | Some(serde_json::Value::Null) => Ok(DEFAULT_VALUE_TYPE.to_owned()),
        Some(serde_json::Value::String(t)) if !t.is_empty() => Ok(t.clone()),
        Some(_) => Err("valueType must be a non-empty string".to_owned()),
    }
}

/// `GET`/`HEAD /{domain}/v1/key_value/{bucket}/{key}`: the newest value.
async fn get_value(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let request = RequestLine { method, uri };
    let (domain, bucket, key) = match path {
        Ok(Path(p)) => p,
        Err(e) => return app.reject(&request, Problem::bad_request(e.body_text())),
    };
    // RESTBase answers `no-cache` reads with 404 so that callers regenerate.
    if cache_control_has(&headers, "no-cache") {
        app.metrics.count(Outcome::miss);
        return Problem::not_found("Not read from storage: the request asked for no-cache.")
            .respond(&request);
    }
    let lookup = app
        .with_store(move |store| {
            store.get(Location {
                domain: &domain,
                bucket: &bucket,
                key: &key,
            })
        })
        .await;
    match lookup {
        Ok(Lookup::Found(entry)) => {
            app.metrics.count(Outcome::hit);
            found(entry)
        }
        Ok(Lookup::NoSuchKey) => {
            app.metrics.count(Outcome::miss);
            Problem::not_found("No value stored under this key.").respond(&request)
        }
        Ok(Lookup::NoSuchBucket) => {
            app.metrics.count(Outcome::miss);
            Problem::not_found("No such bucket.").respond(&request)
        }
        Err(problem) => app.reject(&request, problem),
    }
}

fn found(entry: Entry) -> Response {
    let etag = content::etag_of(&entry);
    let mut response = Response::new(Body::from(entry.value));
    let out = response.headers_mut();
    for (name, value) in &entry.headers {
        // Stored names and values were valid request headers; skip any that
        // a hand-edited database made invalid rather than fail the read.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.append(name, value);
        }
    }
    if !out.contains_key(ETAG) {
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            out.insert(ETAG, etag);
        }
    }
    response
}

/// `PUT /{domain}/v1/key_value/{bucket}/{key}`: stores a new value.
async fn put_value(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = RequestLine { method, uri };
    let (domain, bucket, key) = match path {
        Ok(Path(p)) => p,
        Err(e) => return app.reject(&request, Problem::bad_request(e.body_text())),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => return app.reject(&request, body_problem(&e, app.max_body_bytes)),
    };
    let stored = match content::stored_headers(&headers) {
        Ok(stored) => stored,
        Err(detail) => return app.reject(&request, Problem::bad_request(detail)),
    };
    let entry = Entry {
        tid: content::write_tid(&stored, &app.node_id).to_string(),
        headers: stored,
        value: body.to_vec(),
    };
    let etag = content::etag_of(&entry);
    let tid = entry.tid.clone();

    if cache_control_has(&headers, "no-store") {
        app.metrics.count(Outcome::not_stored);
        return with_etag(StatusCode::ACCEPTED.into_response(), &etag);
    }
    // RESTBase honours the header whatever its value (the router sends `*`).
    let unless_same = headers
        .get("if-none-hash-match")
        .is_some_and(|v| !v.is_empty());
    let outcome = app
        .with_store(move |store| {
            let at = Location {
                domain: &domain,
                bucket: &bucket,
                key: &key,
            };
            store.put(at, &entry, |current| {
                unless_same && content::same_content(current, &entry)
            })
        })
        .await;
    match outcome {
        Ok(PutOutcome::Written) => {
            app.metrics.count(Outcome::write);
            debug!(uri = %request.uri, %tid, "stored");
            let body = serde_json::json!({ "message": "Created.", "tid": tid }).to_string();
            let response = (
                StatusCode::CREATED,
                [(CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            with_etag(response, &etag)
        }
        Ok(PutOutcome::Unchanged(current)) => {
            app.metrics.count(Outcome::unchanged);
            let mut problem =
                Problem::precondition_failed("The stored content is identical; not stored again.");
            if !current.headers.contains_key(ETAG.as_str()) {
                if let Ok(etag) = HeaderValue::from_str(&content::etag_of(&current)) {
                    problem = problem.with_header(ETAG, etag);
                }
            }
            for (name, value) in &current.headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    problem = problem.with_header(name, value);
                }
            }
            problem.respond(&request)
        }
        Err(problem) => app.reject(&request, problem),
    }
}

fn with_etag(mut response: Response, etag: &str) -> Response {
    if let Ok(etag) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

fn body_problem(rejection: &BytesRejection, limit: usize) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::too_large(limit)
    } else {
        Problem::bad_request(rejection.body_text())
    }
}

/// Whether any `cache-control` header names `directive` (case-insensitive,
/// matching RESTBase's regex test).
fn cache_control_has(headers: &HeaderMap, directive: &str) -> bool {
    headers.get_all(CACHE_CONTROL).iter().any(|value| {
        String::from_utf8_lossy(value.as_bytes())
            .to_ascii_lowercase()
            .contains(directive)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bodies() {
        assert_eq!(bucket_value_type(b"").unwrap(), "blob");
        assert_eq!(
            bucket_value_type(br#"{"valueType":"json"}"#).unwrap(),
            "json"
        );
        assert_eq!(
            bucket_value_type(br#"{"keyType":"string"}"#).unwrap(),
            "blob"
        );
        assert!(bucket_value_type(b"not json").is_err());
        assert!(bucket_value_type(b"[1]").is_err());
        assert!(bucket_value_type(br#"{"valueType":3}"#).is_err());
    }

    #[test]
    fn cache_control_directives_are_case_insensitive() {
        let mut h = HeaderMap::new();
        h.append(CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
        h.append(CACHE_CONTROL, HeaderValue::from_static("No-Cache"));
        assert!(cache_control_has(&h, "no-cache"));
        assert!(!cache_control_has(&h, "no-store"));
    }

    #[test]
    fn node_id_is_marked_random() {
        assert_eq!(random_node_id()[0] & 1, 1);
    }
}
