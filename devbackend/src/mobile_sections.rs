//! mobileapps' mobile-sections (as PCS served them until 2025, `routes/page/mobile-sections.js`):
//! the page split into its lead (metadata and the first section) and the remaining sections.
//!
//! `GET /{domain}/v1/page/mobile-sections{,-lead,-remaining}/{title}[/{revision}]`: `200` with
//! `application/json` and the `mobile-sections/0.14.5` profile, `etag: "<revision>/<tid>"`,
//! the wiki's `content-language` and `vary: Accept-Language`; a missing page is a `404`
//! problem, a revision that is no positive integer a `400`. Revisions follow the wiki's state
//! the action API stand-in keeps (edits through its control move the latest on).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::action_api::RevisionState;
use crate::error;
use crate::metrics::Service;
use crate::page::Page;
use crate::params::Params;
use crate::respond::{etag, pcs_answer};
use crate::site::Site;
use crate::Shared;

/// mobileapps' `CONTENT_TYPES.mobileSections` (RESTBase's spec named 0.14.1; the service had
/// moved on to 0.14.5 by 2020).
const MOBILE_SECTIONS_CONTENT_TYPE: &str = "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/mobile-sections/0.14.5\"";

pub fn routes() -> Router<Shared> {
    let mut router = Router::new();
    for (suffix, part) in [
        ("", Part::All),
        ("-lead", Part::Lead),
        ("-remaining", Part::Remaining),
    ] {
        router = router
            .route(
                &format!("/{{domain}}/v1/page/mobile-sections{suffix}/{{title}}"),
                get(move |state: State<Shared>, params: Params<(String, String)>| async move {
                    let (domain, title) = &params.values;
                    respond(&state, part, domain, title, None, &params)
                }),
            )
            .route(
                &format!("/{{domain}}/v1/page/mobile-sections{suffix}/{{title}}/{{revision}}"),
                get(move |state: State<Shared>, params: Params<(String, String, String)>| async move {
                    let (domain, title, revision) = &params.values;
                    respond(&state, part, domain, title, Some(revision), &params)
                }),
            );
    }
    router
}

/// Which of the three answers: the whole, or one of its two members.
#[derive(Clone, Copy)]
enum Part {
    All,
    Lead,
    Remaining,
}

fn respond<T>(
    state: &Shared,
    part: Part,
    domain: &str,
    title: &str,
    revision: Option<&String>,
    params: &Params<T>,
) -> Response {
    state.metrics.count(Service::Mobileapps);
    let revision = match params.revision(revision) {
        Ok(revision) => revision,
        Err(e) => return *e,
    };
    // The wiki's state, shared with the action API and Parsoid: edits move the latest on.
    let page = match state.action.revision(domain, title, revision) {
        RevisionState::Visible(page) => page,
        // PCS passes Parsoid's refusal on as its own problem.
        RevisionState::TextHidden => {
            return error::problem(
                StatusCode::FORBIDDEN,
                "access_denied",
                "Access to resource denied",
                &params.method,
                &params.path,
                "Not an available content version.",
            )
        }
        _ => return error::not_found(&params.method, &params.path),
    };
    let site = Site::new(domain);
    let body = match part {
        Part::All => json!({"lead": lead(&page), "remaining": remaining(&page)}),
        Part::Lead => lead(&page),
        Part::Remaining => remaining(&page),
    };
    pcs_answer(
        MOBILE_SECTIONS_CONTENT_TYPE,
        &etag(page.revision, &state.tids.next()),
        site.lang,
        body.to_string(),
    )
}

/// The lead: page metadata, the first section's text, and the table of contents (each later
/// section without its text), as `buildLead`.
fn lead(page: &Page) -> Value {
    let sections: Vec<Value> = page
        .sections()
        .iter()
        .enumerate()
        .map(|(id, section)| match section.heading {
            None => json!({"id": id, "text": section.html}),
            Some(heading) => json!({"id": id, "toclevel": 1, "anchor": heading.replace(' ', "_"), "line": heading}),
        })
        .collect();
    let mut lead = json!({
        "ns": 0,
        "id": page.page_id,
        "revision": page.revision.to_string(),
        "lastmodified": page.timestamp,
        "displaytitle": page.text,
        "normalizedtitle": page.text,
        "protection": {},
        "editable": true,
        "languagecount": 0,
        "sections": sections,
    });
    if let (Some(item), Some(object)) = (page.wikibase_item(), lead.as_object_mut()) {
        object.insert("wikibase_item".into(), item.into());
    }
    if let (Some(description), Some(object)) = (page.description(), lead.as_object_mut()) {
        object.insert("description".into(), description.into());
        object.insert("description_source".into(), "local".into());
    }
    lead
}

/// The sections after the lead with their text, as `buildRemaining`.
fn remaining(page: &Page) -> Value {
    let sections: Vec<Value> = page
        .sections()
        .iter()
        .enumerate()
        .skip(1)
        .map(|(id, section)| {
            let line = section.heading.unwrap_or_default();
            json!({"id": id, "text": section.html, "toclevel": 1, "line": line, "anchor": line.replace(' ', "_")})
        })
        .collect();
    json!({"sections": sections})
}
