//! mobileapps (PCS) stand-ins for what mobile-html pages load: the offline resource list, the
//! page library JavaScript and the localized messages. Based on mobileapps'
//! `routes/page/mobile-html.js` (`/page/mobile-html-offline-resources`), `routes/data/javascript.js`
//! and `routes/data/i18n.js`, with the content types of its `lib/mobile-util.js`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::error;
use crate::metrics::Service;
use crate::page::stable_hash;
use crate::params::Params;
use crate::respond::with_headers;
use crate::site::Site;
use crate::Shared;

const OFFLINE_RESOURCES_CONTENT_TYPE: &str = "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Mobile-HTML-Offline-Resources/1.2.1\"";
const JAVASCRIPT_CONTENT_TYPE: &str =
    "text/javascript; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/JavaScript/1.0.0\"";
const I18N_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/i18n/0.0.1\"";
/// mobileapps' `cache_headers` for static assets and the offline resource list.
const STATIC_CACHE_CONTROL: &str = "s-maxage=86400, max-age=86400";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/{domain}/v1/page/mobile-html-offline-resources/{title}",
            get(offline_resources),
        )
        .route(
            "/{domain}/v1/page/mobile-html-offline-resources/{title}/{revision}",
            get(offline_resources_at_revision),
        )
        .route(
            "/{domain}/v1/data/javascript/mobile/{kind}",
            get(javascript),
        )
        .route("/{domain}/v1/data/i18n/{kind}", get(i18n))
}

async fn offline_resources(
    State(state): State<Shared>,
    params: Params<(String, String)>,
) -> Response {
    offline_resources_for(&state, &params.values.0)
}

async fn offline_resources_at_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
) -> Response {
    offline_resources_for(&state, &params.values.0)
}

/// Title and revision are placeholders in PCS: the list is the same for every page of a wiki.
fn offline_resources_for(state: &Shared, domain: &str) -> Response {
    state.metrics.count(Service::Mobileapps);
    let meta = "https://meta.wikimedia.org/api/rest_v1/";
    let local = format!("https://{domain}/api/rest_v1/");
    let body = json!([
        format!("{meta}data/css/mobile/base"),
        format!("{meta}data/css/mobile/pcs"),
        format!("{meta}data/javascript/mobile/pcs"),
        format!("{local}data/css/mobile/site"),
        format!("{local}data/i18n/pcs"),
    ]);
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, OFFLINE_RESOURCES_CONTENT_TYPE),
            (header::CACHE_CONTROL, STATIC_CACHE_CONTROL),
        ],
        body.to_string(),
    )
}

async fn javascript(State(state): State<Shared>, params: Params<(String, String)>) -> Response {
    state.metrics.count(Service::Mobileapps);
    let body = match params.values.1.as_str() {
        "pcs" => PCS_JS,
        "pagelib" => PAGELIB_JS,
        _ => return error::not_found(&params.method, &params.path),
    };
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, JAVASCRIPT_CONTENT_TYPE),
            (header::ETAG, &hash_etag(body)),
            (header::CACHE_CONTROL, STATIC_CACHE_CONTROL),
        ],
        body,
    )
}

async fn i18n(State(state): State<Shared>, params: Params<(String, String)>) -> Response {
    state.metrics.count(Service::Mobileapps);
    let (domain, kind) = &params.values;
    if kind != "pcs" {
        return error::not_found(&params.method, &params.path);
    }
    // PCS answers `{locale, messages}` for the wiki's language with English fallbacks; the
    // stand-in has the English messages only.
    let body = json!({
        "locale": Site::new(domain).lang,
        "messages": {
            "description-add-link-title": "Add article description",
            "article-read-more-title": "Read more",
            "table-title-other": "More information",
            "page-edit-history": "View edit history",
            "info-box-close-text": "Close",
            "page-talk-page": "View talk page",
            "info-box-title": "Quick facts",
            "view-in-browser-footer-link": "View article in browser",
            "page-similar-titles": "Similar pages",
            "license-footer-name": "CC BY-SA 4.0",
            "license-footer-text": "Content is available under $1 unless otherwise noted.",
        },
    })
    .to_string();
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, I18N_CONTENT_TYPE),
            (header::ETAG, &hash_etag(&body)),
            (header::CACHE_CONTROL, STATIC_CACHE_CONTROL),
        ],
        body,
    )
}

/// A strong ETag from the content, as PCS's `hashCode` gives for static assets.
fn hash_etag(body: &str) -> String {
    format!("\"{:x}\"", stable_hash(&[body.as_bytes()]))
}

const PCS_JS: &str = "/* pcs */\n\
var pcs = (function () {\n\
  'use strict';\n\
  function onPageLoad(callback) { document.addEventListener('DOMContentLoaded', callback); }\n\
  function setTheme(theme) { document.body.classList.add('pcs-theme-' + theme); }\n\
  return { c1: { Page: { onPageLoad: onPageLoad, setTheme: setTheme } } };\n\
})();\n";

const PAGELIB_JS: &str = "/* pagelib (legacy) */\n\
var pagelib = (function () {\n\
  'use strict';\n\
  function setTheme(theme) { document.body.classList.add('pagelib_theme_' + theme); }\n\
  return { ThemeTransform: { setTheme: setTheme } };\n\
})();\n";
