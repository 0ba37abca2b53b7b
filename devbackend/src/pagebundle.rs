//! Parsoid's page bundle (`GET /{domain}/v3/page/pagebundle/{title}/{revision}`): the HTML with
//! its data-parsoid split out, as one JSON document. Shaped as Parsoid's
//! `PageBundle::responseData` (and the REST handler's page-bundle answer): `contentmodel`, then
//! `html` and `data-parsoid`, each `{headers: {content-type}, body}`; the answer's own type is
//! the pagebundle profile, its ETag `"<revision>/<render id>"` as for the HTML.
//!
//! Renders are kept per revision as MediaWiki's parser cache keeps them: the page bundle of a
//! revision is the render the HTML endpoint made last (same tid), or a new one recorded for both.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::page::Page;
use crate::params::Params;
use crate::parsoid::{latest_redirect, page_at_revision, render_page, HTML_CONTENT_TYPE};
use crate::respond::{etag, with_headers};
use crate::site::Site;
use crate::Shared;

pub const PAGEBUNDLE_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/pagebundle/2.1.0\"";
pub const DATA_PARSOID_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/data-parsoid/2.1.0\"";

/// The last render id of each `(domain, title, revision)`.
#[derive(Default)]
pub struct Renders(Mutex<HashMap<(String, String, u64), String>>);

impl Renders {
    /// Records `tid` as the revision's current render.
    pub fn record(&self, domain: &str, page: &Page, tid: &str) {
        if let Ok(mut renders) = self.0.lock() {
            renders.insert(
                (domain.to_string(), page.key.clone(), page.revision),
                tid.to_string(),
            );
        }
    }

    /// The revision's current render, or `fresh` recorded as it.
    pub fn current_or(&self, domain: &str, page: &Page, fresh: String) -> String {
        let Ok(mut renders) = self.0.lock() else {
            return fresh;
        };
        renders
            .entry((domain.to_string(), page.key.clone(), page.revision))
            .or_insert(fresh)
            .clone()
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{domain}/v3/page/pagebundle/{title}", get(latest))
        .route(
            "/{domain}/v3/page/pagebundle/{title}/{revision}",
            get(at_revision),
        )
}

/// Without a revision: the redirect to the latest one, as for the HTML.
async fn latest(
    State(state): State<Shared>,
    params: Params<(String, String)>,
    query: RawQuery,
) -> Response {
    latest_redirect(&state, &params, &query, "pagebundle")
}

async fn at_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
) -> Response {
    let page = match page_at_revision(&state, &params) {
        Ok(page) => page,
        Err(answer) => return *answer,
    };
    let domain = &params.values.0;
    let site = Site::new(domain);
    let tid = state.renders.current_or(domain, &page, state.tids.next());
    let html = render_page(&site, &page, &tid);
    let bundle = json!({
        "contentmodel": "wikitext",
        "html": {"headers": {"content-type": HTML_CONTENT_TYPE}, "body": html},
        "data-parsoid": {
            "headers": {"content-type": DATA_PARSOID_CONTENT_TYPE},
            "body": data_parsoid(&html),
        },
    });
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, PAGEBUNDLE_CONTENT_TYPE),
            (header::ETAG, &etag(page.revision, &tid)),
            (header::CONTENT_LANGUAGE, site.lang),
            (header::VARY, "Accept"),
        ],
        bundle.to_string(),
    )
}

/// data-parsoid for `html`: an entry for each Parsoid element id (`mw…`) the HTML carries, its
/// `dsr` (source range) left empty since the stand-in has no wikitext offsets to give.
/// `counter` is the last id number handed out, as Parsoid's.
fn data_parsoid(html: &str) -> Value {
    let mut ids = Map::new();
    for (at, _) in html.match_indices(" id=\"mw") {
        let rest = html.get(at + 5..).unwrap_or_default();
        if let Some(id) = rest.split('"').next().filter(|id| !id.is_empty()) {
            ids.insert(id.to_string(), json!({"dsr": [null, null, 0, 0]}));
        }
    }
    let counter = i64::try_from(ids.len()).unwrap_or(i64::MAX) - 1;
    json!({"counter": counter, "ids": ids, "offsetType": "byte"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_parsoid_names_the_html_ids() {
        let site = Site::new("en.wikipedia.org");
        let page = Page::lookup("Earth", None).unwrap();
        let html = render_page(&site, &page, "t");
        let dp = data_parsoid(&html);
        let ids = dp["ids"].as_object().unwrap();
        assert!(ids.contains_key("mwAA"), "{dp}");
        for id in ids.keys() {
            assert!(html.contains(&format!(" id=\"{id}\"")), "{id}");
        }
        assert_eq!(dp["counter"], json!(ids.len() - 1));
    }

    #[test]
    fn a_revision_keeps_its_render() {
        let renders = Renders::default();
        let page = Page::lookup("Earth", None).unwrap();
        assert_eq!(renders.current_or("d", &page, "a".into()), "a");
        assert_eq!(renders.current_or("d", &page, "b".into()), "a");
        renders.record("d", &page, "c");
        assert_eq!(renders.current_or("d", &page, "b".into()), "c");
    }
}
