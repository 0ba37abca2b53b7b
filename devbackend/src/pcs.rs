//! mobileapps (Page Content Service) stand-in: summary, mobile-html, media-list and CSS.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::error;
use crate::markup::{escape, url_title};
use crate::metrics::Service;
use crate::page::Page;
use crate::params::Params;
use crate::respond::{etag, pcs_answer, with_headers};
use crate::site::Site;
use crate::Shared;

const SUMMARY_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Summary/1.4.2\"";
const MOBILE_HTML_CONTENT_TYPE: &str =
    "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Mobile-HTML/1.2.2\"";
const MEDIA_LIST_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Media/1.3.1\"";
const CSS_CONTENT_TYPE: &str = "text/css; charset=utf-8";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{domain}/v1/page/summary/{title}", get(summary))
        .route("/{domain}/v1/page/mobile-html/{title}", get(mobile_html))
        .route(
            "/{domain}/v1/page/mobile-html/{title}/{revision}",
            get(mobile_html_at_revision),
        )
        .route("/{domain}/v1/page/media-list/{title}", get(media_list))
        .route(
            "/{domain}/v1/page/media-list/{title}/{revision}",
            get(media_list_at_revision),
        )
        .route("/{domain}/v1/data/css/mobile/{kind}", get(css))
}

/// Which PCS page endpoint a request is for.
#[derive(Clone, Copy)]
enum Endpoint {
    Summary,
    MobileHtml,
    MediaList,
}

async fn summary(State(state): State<Shared>, params: Params<(String, String)>) -> Response {
    let (domain, title) = &params.values;
    respond(&state, Endpoint::Summary, domain, title, None, &params)
}

async fn mobile_html(State(state): State<Shared>, params: Params<(String, String)>) -> Response {
    let (domain, title) = &params.values;
    respond(&state, Endpoint::MobileHtml, domain, title, None, &params)
}

async fn mobile_html_at_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
) -> Response {
    let (domain, title, revision) = &params.values;
    respond(
        &state,
        Endpoint::MobileHtml,
        domain,
        title,
        Some(revision),
        &params,
    )
}

async fn media_list(State(state): State<Shared>, params: Params<(String, String)>) -> Response {
    let (domain, title) = &params.values;
    respond(&state, Endpoint::MediaList, domain, title, None, &params)
}

async fn media_list_at_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
) -> Response {
    let (domain, title, revision) = &params.values;
    respond(
        &state,
        Endpoint::MediaList,
        domain,
        title,
        Some(revision),
        &params,
    )
}

fn respond<T>(
    state: &Shared,
    endpoint: Endpoint,
    domain: &str,
    title: &str,
    revision: Option<&String>,
    params: &Params<T>,
) -> Response {
    state.metrics.count(Service::Mobileapps);
    let page = match Page::requested(params, title, revision) {
        Ok(page) => page,
        Err(e) => return *e,
    };
    let site = Site::new(domain);
    let tid = state.tids.next();
    let (content_type, body) = match endpoint {
        Endpoint::Summary => (
            SUMMARY_CONTENT_TYPE,
            summary_json(&site, &page, &tid).to_string(),
        ),
        Endpoint::MobileHtml => (MOBILE_HTML_CONTENT_TYPE, render_mobile_html(&site, &page)),
        Endpoint::MediaList => (
            MEDIA_LIST_CONTENT_TYPE,
            media_list_json(&page, &tid).to_string(),
        ),
    };
    pcs_answer(content_type, &etag(page.revision, &tid), site.lang, body)
}

/// A page summary with the fields and value shapes of PCS `/page/summary` (Summary/1.4.2).
pub fn summary_json(site: &Site, page: &Page, tid: &str) -> Value {
    let display = format!(
        "<span class=\"mw-page-title-main\">{}</span>",
        escape(&page.text)
    );
    let desktop = format!("https://{}/wiki/", site.domain);
    let mobile = format!("https://{}/wiki/", site.mobile_domain());
    let path = url_title(&page.key);
    let mut summary = Map::new();
    summary.insert("type".into(), "standard".into());
    summary.insert("title".into(), page.key.clone().into());
    summary.insert("displaytitle".into(), display.clone().into());
    summary.insert("namespace".into(), json!({"id": 0, "text": ""}));
    if let Some(item) = page.wikibase_item() {
        summary.insert("wikibase_item".into(), item.into());
    }
    summary.insert(
        "titles".into(),
        json!({"canonical": page.key, "normalized": page.text, "display": display}),
    );
    summary.insert("pageid".into(), page.page_id.into());
    if let Some(image) = page.lead_image() {
        let width = 320;
        summary.insert(
            "thumbnail".into(),
            json!({"source": image.thumb_url(width), "width": width, "height": image.thumb_height(width)}),
        );
        summary.insert(
            "originalimage".into(),
            json!({"source": image.original_url(), "width": image.width, "height": image.height}),
        );
    }
    summary.insert("lang".into(), site.lang.into());
    summary.insert("dir".into(), site.dir().into());
    summary.insert("revision".into(), page.revision.to_string().into());
    summary.insert("tid".into(), tid.into());
    summary.insert("timestamp".into(), page.timestamp.as_ref().into());
    if let Some(description) = page.description() {
        summary.insert("description".into(), description.into());
        summary.insert("description_source".into(), "local".into());
    }
    summary.insert(
        "content_urls".into(),
        json!({
            "desktop": {
                "page": format!("{desktop}{path}"),
                "revisions": format!("{desktop}{path}?action=history"),
                "edit": format!("{desktop}{path}?action=edit"),
                "talk": format!("{desktop}Talk:{path}"),
            },
            "mobile": {
                "page": format!("{mobile}{path}"),
                "revisions": format!("{mobile}Special:History/{path}"),
                "edit": format!("{mobile}{path}?action=edit"),
                "talk": format!("{mobile}Talk:{path}"),
            },
        }),
    );
    summary.insert("extract".into(), page.extract().into());
    summary.insert("extract_html".into(), page.extract_html().into());
    Value::Object(summary)
}

/// A PCS media list (Media/1.3.1): the page's images with srcsets and captions.
fn media_list_json(page: &Page, tid: &str) -> Value {
    let items: Vec<Value> = page
        .images()
        .iter()
        .enumerate()
        .map(|(index, image)| {
            let srcset: Vec<Value> = [(320, "1x"), (480, "1.5x"), (640, "2x")]
                .into_iter()
                .map(|(width, scale)| {
                    // PCS gives protocol-relative URLs here.
                    let url = image.thumb_url(width);
                    json!({"src": url.trim_start_matches("https:"), "scale": scale})
                })
                .collect();
            json!({
                "title": format!("File:{}", image.file),
                "leadImage": index == 0,
                "section_id": image.section_id,
                "type": "image",
                "caption": {"html": image.caption_html, "text": image.caption_text},
                "showInGallery": true,
                "srcset": srcset,
            })
        })
        .collect();
    json!({"revision": page.revision.to_string(), "tid": tid, "items": items})
}

/// PCS mobile-html: Parsoid content re-wrapped for the apps, with PCS stylesheets and script.
fn render_mobile_html(site: &Site, page: &Page) -> String {
    let domain = escape(site.domain);
    let title = escape(&page.text);
    let lang = site.lang;
    let dir = site.dir();
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\"/>\
<meta property=\"mw:pageId\" content=\"{page_id}\"/><meta property=\"mw:pageNamespace\" content=\"0\"/>\
<meta property=\"mw:revisionSHA1\" content=\"{sha1}\"/><meta property=\"dc:modified\" content=\"{modified}\"/>\
<meta property=\"mw:htmlVersion\" content=\"2.1.0\"/><link rel=\"dc:isVersionOf\" href=\"//{domain}/wiki/{url_title}\"/>\
<title>{title}</title><meta name=\"viewport\" content=\"width=device-width, user-scalable=no, initial-scale=1, shrink-to-fit=no\"/>\
<link rel=\"stylesheet\" href=\"https://meta.wikimedia.org/api/rest_v1/data/css/mobile/base\"/>\
<link rel=\"stylesheet\" href=\"https://meta.wikimedia.org/api/rest_v1/data/css/mobile/pcs\"/>\
<link rel=\"stylesheet\" href=\"https://{domain}/api/rest_v1/data/css/mobile/site\"/>\
<script src=\"https://meta.wikimedia.org/api/rest_v1/data/javascript/mobile/pcs\"></script>\
<meta http-equiv=\"content-language\" content=\"{lang}\"/><meta http-equiv=\"vary\" content=\"Accept\"/></head>\
<body class=\"mw-body-content\" id=\"mwAA\" lang=\"{lang}\" dir=\"{dir}\"><div id=\"pcs\" class=\"pcs\">",
        page_id = page.page_id,
        sha1 = page.sha1(),
        modified = page.timestamp,
        url_title = escape(&url_title(&page.key)),
    );
    for (index, section) in page.sections().iter().enumerate() {
        let _ = write!(
            out,
            "<section data-mw-section-id=\"{index}\" id=\"pcs-section-id-{index}\">"
        );
        match section.heading {
            None => {
                let _ = write!(
                    out,
                    "<header><h1 class=\"pcs-edit-section-title\">{title}</h1>\
<p id=\"pcs-edit-section-title-description\">{}</p><div class=\"pcs-edit-section-divider\"></div></header>",
                    escape(page.description().unwrap_or_default())
                );
            }
            Some(heading) => {
                let _ = write!(
                    out,
                    "<div class=\"pcs-edit-section-header v2\"><h2 id=\"{}\" class=\"pcs-edit-section-title\">{}</h2>\
<span class=\"pcs-edit-section-link-container\"><a href=\"/w/index.php?title={}&amp;action=edit&amp;section={index}\" \
data-id=\"{index}\" data-action=\"edit_section\" aria-labelledby=\"pcs-edit-section-aria-normal\" \
class=\"pcs-edit-section-link\"></a></span></div>",
                    escape(&heading.replace(' ', "_")),
                    escape(heading),
                    escape(&url_title(&page.key)),
                );
            }
        }
        out.push_str(&section.html);
        out.push_str("</section>");
    }
    out.push_str("</div></body></html>");
    out
}

async fn css(State(state): State<Shared>, params: Params<(String, String)>) -> Response {
    state.metrics.count(Service::Mobileapps);
    let body = match params.values.1.as_str() {
        "base" => BASE_CSS,
        "pagelib" | "pcs" => PCS_CSS,
        "site" => SITE_CSS,
        _ => return error::not_found(&params.method, &params.path),
    };
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, CSS_CONTENT_TYPE)],
        body,
    )
}

const BASE_CSS: &str = "/* base */\n\
body{margin:0;font-family:-apple-system,'Helvetica Neue',Helvetica,Arial,sans-serif;line-height:1.6;color:#202122;background:#fff}\n\
a{color:#36c;text-decoration:none}a.new{color:#d33}\n\
figure{margin:0 0 1em}figcaption{font-size:0.85em;color:#54595d}\n\
h1,h2{font-family:'Linux Libertine',Georgia,Times,serif;font-weight:normal}\n";

const PCS_CSS: &str = "/* pcs */\n\
#pcs{padding:0 16px 16px}\n\
.pcs-edit-section-header{display:flex;justify-content:space-between;border-bottom:1px solid #a2a9b1}\n\
.pcs-edit-section-title{margin:1em 0 0.25em}\n\
#pcs-edit-section-title-description{color:#54595d;font-size:0.9em;margin:0}\n\
.pcs-edit-section-divider{height:1px;margin:8px 0;background:#c8ccd1}\n\
.pcs-collapse-table-container{border:1px solid #c8ccd1;margin:1em 0}\n\
.pcs-theme-dark body{background:#101418;color:#eaecf0}\n";

const SITE_CSS: &str = "/* site */\n\
.hatnote{font-style:italic;padding-left:1.6em;margin-bottom:0.5em}\n\
.mw-parser-output .infobox{width:100%;border:1px solid #a2a9b1;border-spacing:3px}\n";
