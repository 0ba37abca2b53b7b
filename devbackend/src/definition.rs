//! mobileapps' Wiktionary definitions, `GET /{domain}/v1/page/definition/{term}[/{revision}]`
//! (`routes/page/definition.js`, `lib/definition.js`): the term's page parsed into definitions
//! by language code, each part of speech with its definitions and examples. `200` with the
//! `definition/0.8.1` profile, `etag: "<revision>/<tid>"`, `content-language` and `vary`; a
//! domain that is no Wiktionary is a `400` (`invalid_domain`), one other than English a `501`
//! (`unsupported_language`), a page without definitions or none at all a `404` problem.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::error;
use crate::markup::escape;
use crate::metrics::Service;
use crate::page::Page;
use crate::params::Params;
use crate::respond::{etag, pcs_answer};
use crate::Shared;

const DEFINITION_CONTENT_TYPE: &str = "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/definition/0.8.1\"";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/{domain}/v1/page/definition/{term}",
            get(
                |state: State<Shared>, params: Params<(String, String)>| async move {
                    let (domain, term) = &params.values;
                    respond(&state, domain, term, None, &params)
                },
            ),
        )
        .route(
            "/{domain}/v1/page/definition/{term}/{revision}",
            get(
                |state: State<Shared>, params: Params<(String, String, String)>| async move {
                    let (domain, term, revision) = &params.values;
                    respond(&state, domain, term, Some(revision), &params)
                },
            ),
        )
}

fn respond<T>(
    state: &Shared,
    domain: &str,
    term: &str,
    revision: Option<&String>,
    params: &Params<T>,
) -> Response {
    state.metrics.count(Service::Mobileapps);
    let (method, path) = (&params.method, params.path.as_str());
    if !domain.contains("wiktionary.org") {
        return error::problem(
            StatusCode::BAD_REQUEST,
            "invalid_domain",
            "Invalid domain",
            method,
            path,
            "Definition requests only supported for wiktionary.org domains.",
        );
    }
    if !domain.starts_with("en") {
        return error::problem(
            StatusCode::NOT_IMPLEMENTED,
            "unsupported_language",
            "Language not supported",
            method,
            path,
            "The language you have requested is not yet supported.",
        );
    }
    let revision = match params.revision(revision) {
        Ok(revision) => revision,
        Err(e) => return *e,
    };
    let Some(page) = Page::lookup(term, revision) else {
        let detail = format!("Could not find a definition for '{term}' on {domain}.");
        return error::problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "No definition found",
            method,
            path,
            &detail,
        );
    };
    let text = escape(&page.text);
    let body = json!({
        "en": [{
            "partOfSpeech": "Noun",
            "language": "English",
            "definitions": [{
                "definition": format!("<a rel=\"mw:WikiLink\" href=\"/wiki/{key}\" title=\"{text}\">{text}</a>, a term the development back-end defines.", key = escape(&page.key)),
                "parsedExamples": [{"example": format!("An example with <b>{text}</b>.")}],
                "examples": [format!("An example with <b>{text}</b>.")],
            }],
        }],
    });
    pcs_answer(
        DEFINITION_CONTENT_TYPE,
        &etag(page.revision, &state.tids.next()),
        "en",
        body.to_string(),
    )
}
