//! recommendation-api stand-in (mediawiki-services-recommendation-api, the Node.js service
//! RESTBase called in 2020), its routes with the domain first:
//!
//! - `GET /{domain}/v1/article/creation/translation/{source}[/{seed}]` (`?count=`, 1–500,
//!   default 24): `{count, items: [{wikidata_id, title, sitelink_count}]}`; a source that is not
//!   a language code or a bad count is `400` (`bad_request`);
//! - `GET /{domain}/v1/article/creation/morelike/{seed}`: `[{wikidata_id, normalized_rank,
//!   source_language}]`; a seed that does not exist is `404` (`No such article found.`);
//! - `GET /{domain}/v1/description/addition/{target}` and
//!   `/description/translation/from/{source}/to/{target}`: Wikidata pages
//!   `[{pageid, ns, title, wikibase_item: {type, id, labels, descriptions, sitelinks}}]`, only on
//!   the Wikidata domains (`description_allowed_domains`), else `400` (`unsupported_domain`).
//!
//! Errors are its service-template JSON (`lib/util.js`); answers go through Express's `res.json`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::error;
use crate::metrics::Service;
use crate::page::Page;
use crate::params::Params;
use crate::respond::with_headers;
use crate::site::Site;
use crate::Shared;

const JSON: &str = "application/json; charset=utf-8";
const DESCRIPTION_DOMAINS: &[&str] = &["www.wikidata.org", "test.wikidata.org"];

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/{domain}/v1/article/creation/translation/{source}",
            get(translation),
        )
        .route(
            "/{domain}/v1/article/creation/translation/{source}/",
            get(translation),
        )
        .route(
            "/{domain}/v1/article/creation/translation/{source}/{seed}",
            get(translation_seed),
        )
        .route(
            "/{domain}/v1/article/creation/morelike/{seed}",
            get(morelike),
        )
        .route(
            "/{domain}/v1/description/addition/{target}",
            get(description_addition),
        )
        .route(
            "/{domain}/v1/description/translation/from/{source}/to/{target}",
            get(description_translation),
        )
}

fn json_reply(value: &Value) -> Response {
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        value.to_string(),
    )
}

fn bad_request(method: &Method, uri: &str, detail: &str) -> Response {
    error::service_template(
        StatusCode::BAD_REQUEST,
        Some("bad_request"),
        Some("Bad request"),
        detail,
        method,
        uri,
    )
}

/// A language code as the service accepts it (`/^[a-zA-Z]+(-[a-zA-Z]+)*$/`).
fn language_code(code: &str) -> bool {
    !code.is_empty()
        && code
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphabetic()))
}

async fn translation(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    p: Params<(String, String)>,
) -> Response {
    let (domain, source) = p.values;
    recommend(&state, &query, &p.method, &p.path, &domain, &source, None)
}

async fn translation_seed(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    p: Params<(String, String, String)>,
) -> Response {
    let (domain, source, seed) = p.values;
    recommend(
        &state,
        &query,
        &p.method,
        &p.path,
        &domain,
        &source,
        Some(&seed),
    )
}

fn recommend(
    state: &Shared,
    query: &HashMap<String, String>,
    method: &Method,
    uri: &str,
    _domain: &str,
    source: &str,
    seed: Option<&str>,
) -> Response {
    state.metrics.count(Service::Recommendation);
    if !language_code(source) {
        return bad_request(method, uri, "source parameter was invalid");
    }
    let count = match query.get("count").filter(|c| !c.is_empty()) {
        None => 24,
        Some(c) => match c.parse::<usize>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => return bad_request(method, uri, "count parameter was invalid"),
        },
    };
    let base = seed.unwrap_or("Featured");
    let items: Vec<Value> = (1..=count.min(5))
        .map(|i| {
            json!({
                "wikidata_id": format!("Q{}", 1000 + i),
                "title": format!("{base}_{source}_{i}"),
                "sitelink_count": 40 - i,
            })
        })
        .collect();
    json_reply(&json!({ "count": items.len(), "items": items }))
}

async fn morelike(State(state): State<Shared>, p: Params<(String, String)>) -> Response {
    state.metrics.count(Service::Recommendation);
    let (domain, seed) = p.values;
    if Page::lookup(&seed, None).is_none() {
        return error::service_template(
            StatusCode::NOT_FOUND,
            None,
            None,
            "No such article found.",
            &p.method,
            &p.path,
        );
    }
    let source = if Site::new(&domain).lang == "en" {
        "de"
    } else {
        "en"
    };
    json_reply(&json!([
        {"wikidata_id": "Q2001", "normalized_rank": 0.93, "source_language": source},
        {"wikidata_id": "Q2002", "normalized_rank": 0.71, "source_language": source},
    ]))
}

async fn description_addition(
    State(state): State<Shared>,
    p: Params<(String, String)>,
) -> Response {
    let (domain, target) = p.values;
    descriptions(&state, &p.method, &p.path, &domain, None, &target)
}

async fn description_translation(
    State(state): State<Shared>,
    p: Params<(String, String, String)>,
) -> Response {
    let (domain, source, target) = p.values;
    descriptions(&state, &p.method, &p.path, &domain, Some(&source), &target)
}

fn descriptions(
    state: &Shared,
    method: &Method,
    uri: &str,
    domain: &str,
    source: Option<&str>,
    target: &str,
) -> Response {
    state.metrics.count(Service::Recommendation);
    if !DESCRIPTION_DOMAINS.contains(&domain) {
        return error::service_template(
            StatusCode::BAD_REQUEST,
            Some("unsupported_domain"),
            Some("Unsupported domain"),
            &format!(
                "This endpoint is only supported on the following domains: {}",
                DESCRIPTION_DOMAINS.join(", ")
            ),
            method,
            uri,
        );
    }
    let mut descriptions = serde_json::Map::new();
    if let Some(source) = source {
        descriptions.insert(
            source.to_owned(),
            json!({"language": source, "value": "planet of the Solar System"}),
        );
    }
    let wiki = format!("{}wiki", target.replace('-', "_"));
    json_reply(&json!([{
        "pageid": 405,
        "ns": 0,
        "title": "Q2",
        "wikibase_item": {
            "type": "item",
            "id": "Q2",
            "labels": {target: {"language": target, "value": "Earth"}},
            "descriptions": descriptions,
            "sitelinks": {wiki.clone(): {"site": wiki, "title": "Earth"}},
        },
    }]))
}
