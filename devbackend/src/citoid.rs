//! Citoid stand-in: its 2020 API, `GET /api?format=…&search=…` (mediawiki-services-citoid
//! `routes/citoid.js` before 2.0.0), which RESTBase's v1/citoid.js called. Formats and content
//! types are citoid's (`mediawiki`, `mediawiki-basefields`, `zotero`, `wikibase`:
//! `application/json`; `bibtex`: `application/x-bibtex`); a missing search or format, or an
//! unknown format, is `400` with `{"Error": …}` as JSON, and a search that resolves to nothing
//! (here: one containing `missing`) `404` the same way. Citations are generated from the search;
//! the item's `language` is the `Accept-Language` the stand-in was asked with (citoid passes it on
//! to the site it fetches, which often answers in that language).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::metrics::Service;
use crate::respond::with_headers;
use crate::Shared;

const JSON: &str = "application/json; charset=utf-8";
const BIBTEX: &str = "application/x-bibtex; charset=utf-8";
const FORMATS: &[&str] = &[
    "mediawiki",
    "mediawiki-basefields",
    "zotero",
    "bibtex",
    "wikibase",
];

pub fn routes() -> Router<Shared> {
    Router::new().route("/api", get(api))
}

fn error(status: StatusCode, message: &str) -> Response {
    with_headers(
        status,
        &[(header::CONTENT_TYPE, JSON)],
        json!({ "Error": message }).to_string(),
    )
}

async fn api(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.metrics.count(Service::Citoid);
    let search = query.get("search").map(String::as_str).unwrap_or_default();
    let format = query.get("format").map(String::as_str).unwrap_or_default();
    if search.is_empty() {
        return error(StatusCode::BAD_REQUEST, "No 'search' value specified");
    }
    if format.is_empty() {
        return error(StatusCode::BAD_REQUEST, "No 'format' value specified");
    }
    if !FORMATS.contains(&format) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid format requested {format}"),
        );
    }
    if search.to_ascii_lowercase().contains("missing") {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Unable to load URL {search}"),
        );
    }
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let title = format!("Citation for {search}");
    if format == "bibtex" {
        let body = format!(
            "\n@misc{{citation,\n\ttitle = {{{title}}},\n\turl = {{{search}}},\n\tlanguage = {{{language}}}\n}}\n"
        );
        return with_headers(StatusCode::OK, &[(header::CONTENT_TYPE, BIBTEX)], body);
    }
    let item: Value = json!({
        "key": "DEVBACKEND",
        "version": 0,
        "itemType": "webpage",
        "title": title,
        "url": search,
        "language": language,
        "accessDate": "2020-06-01",
    });
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        Value::Array(vec![item]).to_string(),
    )
}
