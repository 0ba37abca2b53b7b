//! cxserver (Content Translation) stand-in: its v1 API as RESTBase called it. Based on cxserver's
//! `lib/routes/v1.js` (wikimedia/mediawiki-services-cxserver; the dictionary route from before its
//! removal in 2024): `POST /v1/mt/{from}/{to}[/{provider}]` answers `{contents}`,
//! `/v1/dictionary/{word}/{from}/{to}[/{provider}]` `{source, translations}`,
//! `/v1/list/pair/{from}/{to}` the tools of a pair, `/v1/list/{tool}[/{from}/{to}]` a category's
//! pairs, `/v1/list/languagepairs` `{source, target}` and `/v1/page/{domain}/{title}[/{revision}]`
//! `{sourceLanguage, title, revision, segmentedContent}`; Express's `res.json` content type.
//! Failures are plain text, as cxserver's `res.status(..).end(message)`: an unknown language 400,
//! a provider the pair lacks or an unknown tool 404, no `html` to translate 400.

mod body;
mod registry;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::markup::escape;
use crate::metrics::Service;
use crate::page::{parse_revision, Page};
use crate::respond::with_headers;
use crate::Shared;

const JSON: &str = "application/json; charset=utf-8";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/mt/{from}/{to}", post(mt_default))
        .route("/v1/mt/{from}/{to}/{provider}", post(mt_provider))
        .route("/v1/dictionary/{word}/{from}/{to}", get(dictionary_default))
        .route(
            "/v1/dictionary/{word}/{from}/{to}/{provider}",
            get(dictionary_provider),
        )
        .route("/v1/list/pair/{from}/{to}", get(list_pair))
        .route("/v1/list/languagepairs", get(language_pairs))
        .route("/v1/list/{tool}", get(list_tool))
        .route("/v1/list/{tool}/{from}/{to}", get(list_tool_pair))
        .route("/v1/page/{domain}/{title}", get(page_latest))
        .route("/v1/page/{domain}/{title}/{revision}", get(page_revision))
}

fn json_reply(value: &Value) -> Response {
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        value.to_string(),
    )
}

fn text_error(status: StatusCode, message: &str) -> Response {
    with_headers(
        status,
        &[(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_string(),
    )
}

fn invalid_pair(from: &str, to: &str) -> Option<Response> {
    (!registry::known(from) || !registry::known(to)).then(|| {
        text_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid language pair: {from} > {to}"),
        )
    })
}

async fn mt_default(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    translate(&state, &from, &to, None, &headers, &bytes)
}

async fn mt_provider(
    State(state): State<Shared>,
    Path((from, to, provider)): Path<(String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    translate(&state, &from, &to, Some(&provider), &headers, &bytes)
}

fn translate(
    state: &Shared,
    from: &str,
    to: &str,
    named: Option<&str>,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Response {
    state.metrics.count(Service::Cxserver);
    if let Some(invalid) = invalid_pair(from, to) {
        return invalid;
    }
    let Some(provider) = registry::provider("mt", from, to, named) else {
        return text_error(StatusCode::NOT_FOUND, "Provider not supported");
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let html = body::html_field(content_type, bytes).unwrap_or_default();
    if html.trim().is_empty() {
        return text_error(
            StatusCode::BAD_REQUEST,
            "Content for machine translation is not given or is empty",
        );
    }
    json_reply(&json!({"contents": body::pseudo_translate(&html, to, provider)}))
}

async fn dictionary_default(
    State(state): State<Shared>,
    Path((word, from, to)): Path<(String, String, String)>,
) -> Response {
    look_up(&state, &word, &from, &to, None)
}

async fn dictionary_provider(
    State(state): State<Shared>,
    Path((word, from, to, provider)): Path<(String, String, String, String)>,
) -> Response {
    look_up(&state, &word, &from, &to, Some(&provider))
}

fn look_up(state: &Shared, word: &str, from: &str, to: &str, named: Option<&str>) -> Response {
    state.metrics.count(Service::Cxserver);
    let Some(provider) = registry::provider("dictionary", from, to, named) else {
        return text_error(
            StatusCode::NOT_FOUND,
            "Dictionary provider invalid or missing",
        );
    };
    json_reply(&json!({
        "source": word,
        "translations": [{
            "phrase": format!("{word} ({to})"),
            "info": format!("{from} > {to}"),
            "sources": provider,
        }],
    }))
}

async fn list_pair(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
) -> Response {
    state.metrics.count(Service::Cxserver);
    if let Some(invalid) = invalid_pair(&from, &to) {
        return invalid;
    }
    json_reply(&toolset(&from, &to))
}

/// cxserver's `getToolSet`: every category's providers for the pair and the default of each.
fn toolset(from: &str, to: &str) -> Value {
    let mut result = serde_json::Map::new();
    let mut defaults = serde_json::Map::new();
    for tool in ["mt", "dictionary"] {
        let providers = registry::tools(tool, from, to).unwrap_or_default();
        if let Some(first) = providers.first() {
            defaults.insert(tool.to_string(), (*first).into());
            result.insert(tool.to_string(), providers.into());
        }
    }
    result.insert("default".to_string(), defaults.into());
    result.into()
}

async fn language_pairs(State(state): State<Shared>) -> Response {
    state.metrics.count(Service::Cxserver);
    json_reply(&json!({"source": registry::LANGUAGES, "target": registry::LANGUAGES}))
}

async fn list_tool(State(state): State<Shared>, Path(tool): Path<String>) -> Response {
    state.metrics.count(Service::Cxserver);
    match registry::pairs_by_provider(&tool) {
        Some(pairs) => json_reply(&pairs),
        None => text_error(StatusCode::NOT_FOUND, "Unknown tool"),
    }
}

async fn list_tool_pair(
    State(state): State<Shared>,
    Path((tool, from, to)): Path<(String, String, String)>,
) -> Response {
    state.metrics.count(Service::Cxserver);
    if let Some(invalid) = invalid_pair(&from, &to) {
        return invalid;
    }
    let set = toolset(&from, &to);
    json_reply(
        &json!({ tool.as_str(): set.get(&tool).cloned().unwrap_or_else(|| json!([])), "default": set.get("default") }),
    )
}

async fn page_latest(
    State(state): State<Shared>,
    Path((domain, title)): Path<(String, String)>,
) -> Response {
    segmented(&state, &domain, &title, None)
}

async fn page_revision(
    State(state): State<Shared>,
    Path((domain, title, revision)): Path<(String, String, String)>,
) -> Response {
    match parse_revision(&revision) {
        Some(revision) => segmented(&state, &domain, &title, Some(revision)),
        None => {
            state.metrics.count(Service::Cxserver);
            text_error(StatusCode::BAD_REQUEST, "Invalid revision")
        }
    }
}

/// A page in sections whose paragraphs are segments, as cxserver's `MWPageLoader` and
/// segmenter prepare it for translation.
fn segmented(state: &Shared, domain: &str, title: &str, revision: Option<u64>) -> Response {
    state.metrics.count(Service::Cxserver);
    // cxserver takes the language from the domain's first label.
    let language = domain.split('.').next().unwrap_or_default();
    if !registry::known(language) {
        return text_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid language code for page fetch: {language}"),
        );
    }
    let Some(page) = Page::lookup(title, revision) else {
        return text_error(
            StatusCode::NOT_FOUND,
            &format!("Page {language}:{title} could not be found"),
        );
    };
    let mut content = String::new();
    for (index, section) in page.sections().iter().enumerate() {
        let n = index + 1;
        content.push_str(&format!(
            "<section rel=\"cx:Section\" id=\"cxSourceSection{n}\">"
        ));
        if let Some(heading) = section.heading {
            content.push_str(&format!("<h2>{}</h2>", escape(heading)));
        }
        content.push_str(&format!(
            "<span class=\"cx-segment\" data-segmentid=\"{n}\">{}</span></section>",
            section.html
        ));
    }
    json_reply(&json!({
        "sourceLanguage": language,
        "title": page.key,
        "revision": page.revision,
        "segmentedContent": content,
    }))
}
