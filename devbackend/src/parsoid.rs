//! Parsoid stand-in: page HTML and wikitext-to-HTML transforms (other formats: `parsoid_formats`).

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::action_api::{redirect_target, RevisionState};
use crate::error;
use crate::markup::{escape, url_title};
use crate::metrics::Service;
use crate::page::{parse_revision, Page};
use crate::params::Params;
use crate::respond::{etag, with_headers};
use crate::samples::Section;
use crate::site::Site;
use crate::Shared;

pub const HTML_VERSION: &str = "2.1.0";
pub const HTML_CONTENT_TYPE: &str =
    "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{domain}/v3/page/html/{title}", get(page_html))
        .route(
            "/{domain}/v3/page/html/{title}/{revision}",
            get(page_html_at_revision),
        )
        .route(
            "/{domain}/v3/transform/wikitext/to/html",
            post(wikitext_to_html),
        )
        .route(
            "/{domain}/v3/transform/wikitext/to/html/{title}",
            post(wikitext_to_html_for_title),
        )
        .route(
            "/{domain}/v3/transform/wikitext/to/html/{title}/{revision}",
            post(wikitext_to_html_for_revision),
        )
}

/// `GET /{domain}/v3/page/html/{title}`: as Parsoid's page endpoint (MediaWiki's
/// `ParsoidHandler::tryToCreatePageConfig` and the Parsoid extension's
/// `createRedirectToOldidResponse` / `EndpointRedirectTrait::createRedirectResponse`), a `302` to
/// the latest revision's URL with `Cache-Control: private,no-cache,s-maxage=0` and the query
/// string kept (without `title`), its body the small link document MediaWiki's `ResponseFactory`
/// writes for redirects. The title in the target is the page's prefixed text, `rawurlencode`d.
/// The target is a path on this service, where the real one is the same path under the wiki's
/// REST base URL. Missing and unreadable pages answer as [`respond_page`] does.
async fn page_html(
    State(state): State<Shared>,
    params: Params<(String, String)>,
    query: RawQuery,
) -> Response {
    latest_redirect(&state, &params, &query, "html")
}

async fn page_html_at_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
) -> Response {
    match page_at_revision(&state, &params) {
        Ok(page) => respond_page(&state, &params.values.0, &page),
        Err(answer) => *answer,
    }
}

/// Parsoid's page endpoint for `format` without a revision: the redirect to the latest one
/// ([`redirect_to_revision`]), or why there is none ([`unavailable`]).
pub(crate) fn latest_redirect(
    state: &Shared,
    params: &Params<(String, String)>,
    query: &RawQuery,
    format: &str,
) -> Response {
    state.metrics.count(Service::Parsoid);
    let (domain, title) = &params.values;
    match state.action.revision(domain, title, None) {
        RevisionState::Visible(page) => redirect_to_revision(
            domain,
            format,
            &page,
            query.0.as_deref().unwrap_or_default(),
        ),
        other => unavailable(other),
    }
}

/// Parsoid's page endpoint at a revision: the page, or the answer in its place (a 400 for a
/// revision that is not a positive integer, else as [`unavailable`]; boxed: a response is large).
pub(crate) fn page_at_revision(
    state: &Shared,
    params: &Params<(String, String, String)>,
) -> Result<Page, Box<Response>> {
    state.metrics.count(Service::Parsoid);
    let (domain, title, revision) = &params.values;
    let revision = params.revision(Some(revision))?;
    match state.action.revision(domain, title, revision) {
        RevisionState::Visible(page) => Ok(page),
        other => Err(Box::new(unavailable(other))),
    }
}

/// PHP's `rawurlencode`: everything but unreserved characters.
const RAWURLENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The `302` of Parsoid's page endpoint for `format` (`html`, `lint`) without a revision.
fn redirect_to_revision(domain: &str, format: &str, page: &Page, query: &str) -> Response {
    let mut location = format!(
        "/{}/v3/page/{format}/{}/{}",
        utf8_percent_encode(domain, RAWURLENCODE),
        utf8_percent_encode(&page.text, RAWURLENCODE),
        page.revision
    );
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && *pair != "title" && !pair.starts_with("title="))
        .collect();
    if !kept.is_empty() {
        location.push('?');
        location.push_str(&kept.join("&"));
    }
    let link = escape(&location);
    let body = format!("<!doctype html><title>Redirect</title><a href=\"{link}\">{link}</a>");
    with_headers(
        StatusCode::FOUND,
        &[
            (header::LOCATION, &location),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "private,no-cache,s-maxage=0"),
        ],
        body,
    )
}

/// Pages and revisions that cannot be rendered, as `ParsoidHandler::tryToCreatePageConfig`
/// answers them: a revision MediaWiki cannot load (no such page, a deleted page, an id the page
/// never had) is a `RevisionAccessException`, 404; text hidden by revision deletion is a
/// `SuppressedDataException` (`PageConfigFactory` checks `DELETED_TEXT` for the public), 403.
pub(crate) fn unavailable(state: RevisionState) -> Response {
    match state {
        RevisionState::TextHidden => error::rest(
            StatusCode::FORBIDDEN,
            "rest-permission-denied-revision",
            "User doesn't have access to the requested revision (Not an available content version.).",
        ),
        _ => error::rest(
            StatusCode::NOT_FOUND,
            "rest-specified-revision-unavailable",
            "The specified revision is deleted or suppressed.",
        ),
    }
}

fn respond_page(state: &Shared, domain: &str, page: &Page) -> Response {
    let site = Site::new(domain);
    // A new render each time, which becomes the revision's page bundle too.
    let tid = state.tids.next();
    state.renders.record(domain, page, &tid);
    let body = render_page(&site, page, &tid);
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, HTML_CONTENT_TYPE),
            (header::ETAG, &etag(page.revision, &tid)),
            (header::CONTENT_LANGUAGE, site.lang),
            (header::VARY, "Accept"),
        ],
        body,
    )
}

/// A Parsoid-style document for `page`; identical for a title and revision except for `tid`.
pub fn render_page(site: &Site, page: &Page, tid: &str) -> String {
    let domain = escape(site.domain);
    let title = escape(&page.text);
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html prefix=\"dc: http://purl.org/dc/terms/ mw: http://mediawiki.org/rdf/\" \
about=\"https://{domain}/wiki/Special:Redirect/revision/{rev}\"><head prefix=\"mwr: https://{domain}/wiki/Special:Redirect/\">\
<meta property=\"mw:TimeUuid\" content=\"{tid}\"/><meta charset=\"utf-8\"/>\
<meta property=\"mw:pageId\" content=\"{page_id}\"/><meta property=\"mw:pageNamespace\" content=\"0\"/>\
<link rel=\"dc:replaces\" resource=\"mwr:revision/{parent}\"/>\
<meta property=\"mw:revisionSHA1\" content=\"{sha1}\"/><meta property=\"dc:modified\" content=\"{modified}\"/>\
<meta property=\"mw:htmlVersion\" content=\"{HTML_VERSION}\"/><meta property=\"mw:html:version\" content=\"{HTML_VERSION}\"/>\
<link rel=\"dc:isVersionOf\" href=\"//{domain}/wiki/{url_title}\"/><base href=\"//{domain}/wiki/\"/>\
<title>{title}</title>",
        rev = page.revision,
        page_id = page.page_id,
        parent = page.revision.saturating_sub(1),
        sha1 = page.sha1(),
        modified = page.timestamp,
        url_title = escape(&url_title(&page.key)),
    );
    write_head_tail_and_body_open(&mut out, site);
    match redirect_target(&page.key) {
        // A redirect page's content is the redirect alone, which Parsoid renders as a page
        // property link in the lead section.
        Some(target) => {
            let _ = write!(
                out,
                "<section data-mw-section-id=\"0\" id=\"mwAQ\"><link rel=\"mw:PageProp/redirect\" \
href=\"./{}\" id=\"mwAg\"/></section>",
                escape(&url_title(&target))
            );
        }
        None => write_sections(&mut out, &page.sections()),
    }
    out.push_str("</body></html>");
    out
}

fn write_head_tail_and_body_open(out: &mut String, site: &Site) {
    let _ = write!(
        out,
        "<link rel=\"stylesheet\" href=\"/w/load.php?lang={lang}&amp;modules=mediawiki.skinning.content.parsoid%7Cmediawiki.skinning.interface%7Csite.styles&amp;only=styles&amp;skin=vector\"/>\
<meta http-equiv=\"content-language\" content=\"{lang}\"/><meta http-equiv=\"vary\" content=\"Accept\"/></head>\
<body id=\"mwAA\" lang=\"{lang}\" class=\"mw-content-{dir} sitedir-{dir} {dir} mw-body-content parsoid-body mediawiki mw-parser-output\" dir=\"{dir}\">",
        lang = site.lang,
        dir = site.dir(),
    );
}

fn write_sections(out: &mut String, sections: &[Section]) {
    for (index, section) in sections.iter().enumerate() {
        let _ = write!(out, "<section data-mw-section-id=\"{index}\">");
        if let Some(heading) = section.heading {
            let _ = write!(
                out,
                "<h2 id=\"{}\">{}</h2>",
                escape(&heading.replace(' ', "_")),
                escape(heading)
            );
        }
        out.push_str(&section.html);
        out.push_str("</section>");
    }
}

async fn wikitext_to_html(
    State(state): State<Shared>,
    params: Params<(String,)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.metrics.count(Service::Parsoid);
    transform(&params.values.0, None, &params, &headers, &body)
}

async fn wikitext_to_html_for_title(
    State(state): State<Shared>,
    params: Params<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.metrics.count(Service::Parsoid);
    let (domain, title) = &params.values;
    transform(domain, Some(title), &params, &headers, &body)
}

/// The revision only tells Parsoid which page context to render in; the stand-in renders the
/// given wikitext alone, so it needs only a well-formed id.
async fn wikitext_to_html_for_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.metrics.count(Service::Parsoid);
    let (domain, title, revision) = &params.values;
    if parse_revision(revision).is_none() {
        return error::bad_request(
            &params.method,
            &params.path,
            "revision must be a positive integer",
        );
    }
    transform(domain, Some(title), &params, &headers, &body)
}

fn transform<T>(
    domain: &str,
    title: Option<&str>,
    params: &Params<T>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some(wikitext) = body_field(headers, body, "wikitext") else {
        return error::bad_request(
            &params.method,
            &params.path,
            "expected a body with a `wikitext` string",
        );
    };
    let site = Site::new(domain);
    let title = title.map(|t| t.replace('_', " ")).unwrap_or_default();
    let mut out = String::with_capacity(wikitext.len() * 2 + 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html prefix=\"dc: http://purl.org/dc/terms/ mw: http://mediawiki.org/rdf/\">\
<head prefix=\"mwr: https://{domain}/wiki/Special:Redirect/\"><meta charset=\"utf-8\"/>\
<meta property=\"mw:htmlVersion\" content=\"{HTML_VERSION}\"/><meta property=\"mw:html:version\" content=\"{HTML_VERSION}\"/>\
<base href=\"//{domain}/wiki/\"/><title>{title}</title>",
        domain = escape(domain),
        title = escape(&title),
    );
    write_head_tail_and_body_open(&mut out, &site);
    write_sections(&mut out, &render_wikitext(&wikitext));
    out.push_str("</body></html>");
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, HTML_CONTENT_TYPE),
            (header::CONTENT_LANGUAGE, site.lang),
        ],
        out,
    )
}

/// A string field of a JSON or form-urlencoded request body, as Parsoid's handlers read
/// `wikitext` and `html`.
pub(crate) fn body_field(headers: &HeaderMap, body: &[u8], field: &str) -> Option<String> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        field_from_form(body, field)
    } else {
        field_from_json(body, field)
    }
}

fn field_from_json(body: &[u8], field: &str) -> Option<String> {
    match serde_json::from_slice::<Value>(body)
        .ok()?
        .get_mut(field)?
        .take()
    {
        Value::String(text) => Some(text),
        _ => None,
    }
}

fn field_from_form(body: &[u8], field: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let value = pair.strip_prefix(field.as_bytes())?.strip_prefix(b"=")?;
        let spaced: Vec<u8> = value
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        Some(
            percent_encoding::percent_decode(&spaced)
                .decode_utf8_lossy()
                .into_owned(),
        )
    })
}

/// A deliberately small rendering: `== headings ==` start sections, blank lines separate
/// paragraphs, everything else is escaped text. Enough to see the transform round-trip.
pub(crate) fn render_wikitext(wikitext: &str) -> Vec<Section> {
    let mut sections = vec![Section {
        heading: None,
        html: String::new().into(),
    }];
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, sections: &mut Vec<Section>| {
        if paragraph.is_empty() {
            return;
        }
        if let Some(section) = sections.last_mut() {
            section
                .html
                .to_mut()
                .push_str(&format!("<p>{}</p>", escape(paragraph.trim_end())));
        }
        paragraph.clear();
    };
    for line in wikitext.lines() {
        let trimmed = line.trim();
        if let Some(heading) = heading_text(trimmed) {
            flush(&mut paragraph, &mut sections);
            // Headings are owned text, so they are placed in the body rather than `heading`.
            sections.push(Section {
                heading: None,
                html: format!(
                    "<h2 id=\"{}\">{}</h2>",
                    escape(&heading.replace(' ', "_")),
                    escape(heading)
                )
                .into(),
            });
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut sections);
        } else {
            paragraph.push_str(line);
            paragraph.push('\n');
        }
    }
    flush(&mut paragraph, &mut sections);
    sections
}

fn heading_text(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("==")?.strip_suffix("==")?;
    let inner = inner.trim_matches('=').trim();
    (!inner.is_empty()).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wikitext_rendering_escapes() {
        let sections = render_wikitext("Hello <b>\n\n== Part two ==\nx & y");
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].html, "<p>Hello &lt;b&gt;</p>");
        assert_eq!(
            sections[1].html,
            "<h2 id=\"Part_two\">Part two</h2><p>x &amp; y</p>"
        );
    }

    #[test]
    fn form_bodies() {
        assert_eq!(
            field_from_form(b"a=1&wikitext=x+%3D+y", "wikitext").as_deref(),
            Some("x = y")
        );
        assert_eq!(
            field_from_json(br#"{"wikitext":"''hi''"}"#, "wikitext").as_deref(),
            Some("''hi''")
        );
        assert_eq!(field_from_json(br#"{"wikitext":3}"#, "wikitext"), None);
        assert_eq!(field_from_form(b"wikitextx=1", "wikitext"), None);
    }

    #[test]
    fn renders_are_identical_but_for_the_tid() {
        let site = Site::new("en.wikipedia.org");
        let page = Page::lookup("A<b>", None).unwrap();
        let a = render_page(&site, &page, "tid-one");
        let b = render_page(&site, &page, "tid-two");
        assert_eq!(a.replace("tid-one", ""), b.replace("tid-two", ""));
        assert!(a.contains("<title>A&lt;b&gt;</title>"));
    }
}
