//! Parsoid stand-in, the formats besides HTML: HTML to wikitext, wikitext to lint, and a page's
//! lint. Paths are the Parsoid extension's REST routes (`/{domain}/v3/transform/{from}/to/{format}`
//! with optional `/{title}` and `/{revision}`, and `/{domain}/v3/page/{format}/{title}[/{revision}]`).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::error;
use crate::metrics::Service;
use crate::page::parse_revision;
use crate::params::Params;
use crate::parsoid::{body_field, latest_redirect, page_at_revision};
use crate::respond::with_headers;
use crate::Shared;

pub const WIKITEXT_CONTENT_TYPE: &str =
    "text/plain; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/wikitext/1.0.0\"";
pub const LINT_CONTENT_TYPE: &str = "application/json; charset=utf-8";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/{domain}/v3/transform/html/to/wikitext",
            post(html_to_wikitext),
        )
        .route(
            "/{domain}/v3/transform/html/to/wikitext/{title}",
            post(html_to_wikitext),
        )
        .route(
            "/{domain}/v3/transform/html/to/wikitext/{title}/{revision}",
            post(html_to_wikitext),
        )
        .route(
            "/{domain}/v3/transform/wikitext/to/lint",
            post(wikitext_to_lint),
        )
        .route(
            "/{domain}/v3/transform/wikitext/to/lint/{title}",
            post(wikitext_to_lint),
        )
        .route(
            "/{domain}/v3/transform/wikitext/to/lint/{title}/{revision}",
            post(wikitext_to_lint),
        )
        .route("/{domain}/v3/page/lint/{title}", get(page_lint))
        .route(
            "/{domain}/v3/page/lint/{title}/{revision}",
            get(page_lint_at_revision),
        )
}

/// The path's segments after the domain: `[title[, revision]]` (the revision checked).
fn check_revision(params: &Params<Vec<String>>) -> Option<Response> {
    let revision = params.values.get(2)?;
    parse_revision(revision).is_none().then(|| {
        error::bad_request(
            &params.method,
            &params.path,
            "revision must be a positive integer",
        )
    })
}

async fn html_to_wikitext(
    State(state): State<Shared>,
    params: Params<Vec<String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.metrics.count(Service::Parsoid);
    if let Some(bad) = check_revision(&params) {
        return bad;
    }
    let Some(html) = body_field(&headers, &body, "html") else {
        return error::bad_request(
            &params.method,
            &params.path,
            "expected a body with an `html` string",
        );
    };
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, WIKITEXT_CONTENT_TYPE)],
        serialize(&html),
    )
}

async fn wikitext_to_lint(
    State(state): State<Shared>,
    params: Params<Vec<String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.metrics.count(Service::Parsoid);
    if let Some(bad) = check_revision(&params) {
        return bad;
    }
    let Some(wikitext) = body_field(&headers, &body, "wikitext") else {
        return error::bad_request(
            &params.method,
            &params.path,
            "expected a body with a `wikitext` string",
        );
    };
    lint_response(&wikitext)
}

/// Without a revision, Parsoid's page endpoint redirects to the latest one, for every format.
async fn page_lint(
    State(state): State<Shared>,
    params: Params<(String, String)>,
    query: RawQuery,
) -> Response {
    latest_redirect(&state, &params, &query, "lint")
}

/// The sample pages are clean wikitext: a visible revision lints to an empty list.
async fn page_lint_at_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
) -> Response {
    match page_at_revision(&state, &params) {
        Ok(_) => lint_response(""),
        Err(answer) => *answer,
    }
}

fn lint_response(wikitext: &str) -> Response {
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, LINT_CONTENT_TYPE)],
        Value::Array(lint(wikitext)).to_string(),
    )
}

/// Tags Parsoid's linter reports as `obsolete-tag` (a subset).
const OBSOLETE: [&str; 5] = ["center", "font", "big", "strike", "tt"];

/// Lint errors as Parsoid reports them: `type`, `dsr` (start and end offsets, open and close
/// tag widths) and `params`. Only obsolete tags are found; enough to see the shape.
fn lint(wikitext: &str) -> Vec<Value> {
    let lower = wikitext.to_ascii_lowercase();
    let mut errors = Vec::new();
    let mut from = 0;
    while let Some(at) = lower.get(from..).and_then(|rest| rest.find('<')) {
        let start = from + at;
        let rest = lower.get(start + 1..).unwrap_or_default();
        let name: String = rest
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        from = start + 1;
        if !OBSOLETE.contains(&name.as_str()) {
            continue;
        }
        let Some(open_end) = rest.find('>').map(|i| start + 1 + i + 1) else {
            continue;
        };
        let close = format!("</{name}>");
        let (end, close_width) = match lower.get(open_end..).and_then(|r| r.find(&close)) {
            Some(i) => (open_end + i + close.len(), close.len()),
            None => (open_end, 0),
        };
        errors.push(json!({
            "type": "obsolete-tag",
            "dsr": [start, end, open_end - start, close_width],
            "params": {"name": name},
        }));
        from = open_end;
    }
    errors
}

/// A deliberately small serializer: headings to `== x ==`, paragraphs separated by blank lines,
/// `<b>`/`<i>` to quote marks, other tags dropped with their text kept, `<head>` skipped.
fn serialize(html: &str) -> String {
    let body = match html.find("<body") {
        Some(at) => html.get(at..).unwrap_or_default(),
        None => html,
    };
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find('<') {
        out.push_str(&unescape(rest.get(..at).unwrap_or_default()));
        let tag_and_rest = rest.get(at..).unwrap_or_default();
        let Some(end) = tag_and_rest.find('>') else {
            rest = "";
            break;
        };
        let tag = tag_and_rest.get(1..end).unwrap_or_default();
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("h2", _) => out.push_str(if closing { " ==\n" } else { "== " }),
            ("h3", _) => out.push_str(if closing { " ===\n" } else { "=== " }),
            ("b" | "strong", _) => out.push_str("'''"),
            ("i" | "em", _) => out.push_str("''"),
            ("p", true) => out.push_str("\n\n"),
            ("br", _) => out.push('\n'),
            _ => {}
        }
        rest = tag_and_rest.get(end + 1..).unwrap_or_default();
    }
    out.push_str(&unescape(rest));
    let trimmed = out.trim_end();
    format!("{trimmed}\n")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obsolete_tags_are_linted_with_offsets() {
        let errors = lint("a <center>x</center> <b>y</b> <FONT color=red>z");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0]["dsr"], json!([2, 20, 8, 9]));
        assert_eq!(errors[0]["params"]["name"], "center");
        assert_eq!(errors[1]["dsr"], json!([30, 46, 16, 0]));
        assert!(lint("plain").is_empty());
    }

    #[test]
    fn html_serializes_to_wikitext() {
        let html = "<html><head><title>T</title></head><body><h2>Part</h2>\
<p>Hello <b>bold</b> &amp; <i>it</i></p><p>x &lt; y</p></body></html>";
        assert_eq!(
            serialize(html),
            "== Part ==\nHello '''bold''' & ''it''\n\nx < y\n"
        );
    }
}
