//! Proton (mediawiki-services-chromium-render) stand-in: `GET /{domain}/v1/pdf/{title}` with an
//! optional `/{format}` (`letter|a4|legal`) and `/{type}` (`mobile|desktop`), as its
//! `routes/html2pdf-v1.js` serves them. A render is a small one-page PDF with `content-type:
//! application/pdf` and proton's `content-disposition` (`lib/util.js` `getContentDisposition`:
//! `attachment; filename="<encodeURIComponent(title)>.pdf"; filename*=UTF-8''<same>`). A page
//! that does not exist is proton's `404` (`Article '<title>' not found`, its error handler's
//! JSON with type `internal_error`); another format or type matches no route: Express's 404.

use axum::http::{header, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error;
use crate::metrics::Service;
use crate::page::Page;
use crate::params::Params;
use crate::respond::with_headers;
use crate::Shared;

/// What JavaScript's `encodeURIComponent` leaves alone.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

const FORMATS: &[&str] = &["letter", "a4", "legal"];
const TYPES: &[&str] = &["mobile", "desktop"];

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{domain}/v1/pdf/{title}", get(pdf))
        .route("/{domain}/v1/pdf/{title}/{format}", get(pdf_format))
        .route(
            "/{domain}/v1/pdf/{title}/{format}/{type}",
            get(pdf_format_type),
        )
}

async fn pdf(
    axum::extract::State(state): axum::extract::State<Shared>,
    p: Params<(String, String)>,
) -> Response {
    let (_, title) = p.values;
    render(&state, &p.method, &p.path, &title, "a4", "desktop")
}

async fn pdf_format(
    axum::extract::State(state): axum::extract::State<Shared>,
    p: Params<(String, String, String)>,
) -> Response {
    let (_, title, format) = p.values;
    render(&state, &p.method, &p.path, &title, &format, "desktop")
}

async fn pdf_format_type(
    axum::extract::State(state): axum::extract::State<Shared>,
    p: Params<(String, String, String, String)>,
) -> Response {
    let (_, title, format, kind) = p.values;
    render(&state, &p.method, &p.path, &title, &format, &kind)
}

fn render(
    state: &Shared,
    method: &Method,
    path: &str,
    title: &str,
    format: &str,
    kind: &str,
) -> Response {
    state.metrics.count(Service::Proton);
    if !FORMATS.contains(&format) || !TYPES.contains(&kind) {
        return express_not_found(method, path);
    }
    let Some(page) = Page::lookup(title, None) else {
        return error::service_template(
            StatusCode::NOT_FOUND,
            None,
            None,
            &format!("Article '{title}' not found"),
            method,
            path,
        );
    };
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CONTENT_DISPOSITION, &content_disposition(title)),
        ],
        document(&page.text, format, kind),
    )
}

/// Express's answer for a path no route matches (service-template-node's 404 handler).
pub fn express_not_found(method: &Method, path: &str) -> Response {
    let uri: Uri = path.parse().unwrap_or_default();
    error::service_template(
        StatusCode::NOT_FOUND,
        Some("not_found"),
        Some("Not found"),
        &format!("Cannot {} {}", method, uri.path()),
        method,
        path,
    )
}

fn content_disposition(title: &str) -> String {
    let encoded = format!("{}.pdf", utf8_percent_encode(title, URI_COMPONENT));
    let quoted = encoded.replace('"', "\\\"");
    format!("attachment; filename=\"{quoted}\"; filename*=UTF-8''{encoded}")
}

/// A one-page PDF naming the page and the layout.
fn document(text: &str, format: &str, kind: &str) -> Vec<u8> {
    let label: String = format!("{text} ({format}, {kind})")
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| !matches!(c, '(' | ')' | '\\'))
        .collect();
    let stream = format!("BT /F1 12 Tf 72 720 Td ({label}) Tj ET");
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
         3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >> endobj\n\
         4 0 obj << /Length {} >> stream\n{stream}\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        stream.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_protons() {
        assert_eq!(
            content_disposition("Café_(x)/y"),
            "attachment; filename=\"Caf%C3%A9_(x)%2Fy.pdf\"; filename*=UTF-8''Caf%C3%A9_(x)%2Fy.pdf"
        );
    }

    #[test]
    fn document_is_a_pdf() {
        let doc = document("Earth", "a4", "desktop");
        assert!(doc.starts_with(b"%PDF-1.4\n") && doc.ends_with(b"%%EOF\n"));
    }
}
