//! mobileapps (PCS) stand-in for `/page/talk/{title}{/revision}`: a talk page as topics with
//! replies. Based on mobileapps' `routes/page/talk.js` and `lib/talk/TalkPageTopic.js` (the
//! `{revision, topics: [{id, replies: [{sha, depth, html}], depth, html, shas: {html,
//! indicator}}]}` shape, content type Talk/0.1.1); the topics are generated from the title.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::markup::escape;
use crate::metrics::Service;
use crate::page::{stable_hash, Page};
use crate::params::Params;
use crate::respond::{etag, pcs_answer};
use crate::site::Site;
use crate::Shared;

const TALK_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Talk/0.1.1\"";
/// mobileapps' `cache_headers['page-talk']`.
const TALK_CACHE_CONTROL: &str = "s-maxage=600, max-age=0";

const TOPICS: &[(&str, &[&str])] = &[
    (
        "Sources for the introduction",
        &[
            "The second sentence of the introduction needs a citation.",
            "Added one from the encyclopedia's own bibliography.",
            "Thanks, that settles it.",
        ],
    ),
    (
        "Image caption",
        &["The lead image's caption could name the photographer."],
    ),
];

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{domain}/v1/page/talk/{title}", get(talk))
        .route(
            "/{domain}/v1/page/talk/{title}/{revision}",
            get(talk_at_revision),
        )
}

async fn talk(State(state): State<Shared>, params: Params<(String, String)>) -> Response {
    let (domain, title) = &params.values;
    respond(&state, domain, title, None, &params)
}

async fn talk_at_revision(
    State(state): State<Shared>,
    params: Params<(String, String, String)>,
) -> Response {
    let (domain, title, revision) = &params.values;
    respond(&state, domain, title, Some(revision), &params)
}

fn respond<T>(
    state: &Shared,
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
    let body = json!({"revision": page.revision, "topics": topics(&page)});
    let mut answer = pcs_answer(
        TALK_CONTENT_TYPE,
        &etag(page.revision, &state.tids.next()),
        site.lang,
        body.to_string(),
    );
    answer.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(TALK_CACHE_CONTROL),
    );
    answer
}

fn topics(page: &Page) -> Vec<Value> {
    TOPICS
        .iter()
        .enumerate()
        .map(|(index, (heading, replies))| {
            let id = index + 1;
            let html = escape(heading).into_owned();
            let replies: Vec<Value> = replies
                .iter()
                .enumerate()
                .map(|(n, text)| {
                    let reply = format!(
                        "{} <a href=\"./User:Editor{n}\" title=\"User:Editor{n}\">Editor{n}</a>",
                        escape(text)
                    );
                    json!({"sha": sha(&[&n.to_string(), &reply]), "depth": n + 1, "html": reply})
                })
                .collect();
            let reply_shas: String = replies
                .iter()
                .filter_map(|r| r.get("sha").and_then(Value::as_str))
                .collect();
            json!({
                "id": id,
                "replies": replies,
                "depth": 2,
                "html": html,
                "shas": {
                    "html": sha(&[&id.to_string(), &html, &page.key]),
                    "indicator": sha(&[&html, &reply_shas]),
                },
            })
        })
        .collect()
}

/// A 64-hex-digit stand-in for PCS's SHA-256 of the parts, stable across runs.
fn sha(parts: &[&str]) -> String {
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    (0u8..4)
        .map(|round| {
            let mut with_round = bytes.clone();
            let salt = [round];
            with_round.push(&salt);
            format!("{:016x}", stable_hash(&with_round))
        })
        .collect()
}
