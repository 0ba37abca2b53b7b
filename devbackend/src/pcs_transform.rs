//! mobileapps' wikitext preview, `POST /{domain}/v1/transform/wikitext/to/mobile-html/{title}`
//! (`routes/page/mobile-html.js`): the body (JSON or form-urlencoded `wikitext`) goes to the
//! wiki's wikitext→HTML transform, the HTML through the mobile-html pipeline. `200` with the
//! `Mobile-HTML/1.2.2` profile, the wiki's `content-language`, mobileapps'
//! `wikitext-to-mobile-html` cache-control (private) and its mobile-html CSP; a body without
//! `wikitext` is a `400` problem (the wiki's transform refuses it).

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use crate::error;
use crate::markup::escape;
use crate::metrics::Service;
use crate::params::Params;
use crate::parsoid::{body_field, render_wikitext};
use crate::respond::with_headers;
use crate::site::Site;
use crate::Shared;

const MOBILE_HTML_CONTENT_TYPE: &str =
    "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Mobile-HTML/1.2.2\"";
/// mobileapps' default `cache_headers['wikitext-to-mobile-html']` (app.js).
const CACHE_CONTROL: &str = "private, max-age=0, s-maxage=0, must-revalidate";
/// mobileapps' `mobile_html_csp` (config.dev.yaml).
const CSP: &str = "default-src 'none'; connect-src https://*.wikipedia.org 'self'; media-src upload.wikimedia.org 'self'; \
img-src *.wikimedia.org wikimedia.org *.wikipedia.org wikipedia.org 'self' data:; object-src 'none'; script-src 'self' 'unsafe-inline'; \
style-src *.wikipedia.org 'self' 'unsafe-inline'; frame-ancestors 'self'";

pub fn routes() -> Router<Shared> {
    Router::new().route(
        "/{domain}/v1/transform/wikitext/to/mobile-html/{title}",
        post(wikitext_to_mobile_html),
    )
}

async fn wikitext_to_mobile_html(
    State(state): State<Shared>,
    params: Params<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.metrics.count(Service::Mobileapps);
    let (domain, title) = &params.values;
    let Some(wikitext) = body_field(&headers, &body, "wikitext") else {
        return error::bad_request(
            &params.method,
            &params.path,
            "expected a body with a `wikitext` string",
        );
    };
    let site = Site::new(domain);
    let (lang, dir) = (site.lang, site.dir());
    let mut out = String::with_capacity(wikitext.len() * 2 + 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\"/><title>{title}</title>\
<meta name=\"viewport\" content=\"width=device-width, user-scalable=no, initial-scale=1, shrink-to-fit=no\"/>\
<link rel=\"stylesheet\" href=\"https://meta.wikimedia.org/api/rest_v1/data/css/mobile/base\"/>\
<link rel=\"stylesheet\" href=\"https://meta.wikimedia.org/api/rest_v1/data/css/mobile/pcs\"/>\
<script src=\"https://meta.wikimedia.org/api/rest_v1/data/javascript/mobile/pcs\"></script></head>\
<body class=\"mw-body-content\" lang=\"{lang}\" dir=\"{dir}\"><div id=\"pcs\" class=\"pcs\">",
        title = escape(&title.replace('_', " ")),
    );
    for (index, section) in render_wikitext(&wikitext).iter().enumerate() {
        let _ = write!(
            out,
            "<section data-mw-section-id=\"{index}\" id=\"pcs-section-id-{index}\">{}</section>",
            section.html
        );
    }
    out.push_str("</div></body></html>");
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, MOBILE_HTML_CONTENT_TYPE),
            (header::CONTENT_LANGUAGE, lang),
            (header::CACHE_CONTROL, CACHE_CONTROL),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (HeaderName::from_static("x-content-security-policy"), CSP),
            (HeaderName::from_static("x-webkit-csp"), CSP),
        ],
        out,
    )
}
