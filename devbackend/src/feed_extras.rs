//! wikifeeds stand-ins besides the feed itself: announcements, availability and a random title.
//! Based on wikifeeds' `routes/announcements.js` (`{announce: [...]}`, Announcements/0.3.0),
//! `routes/availability.js` (the wikis per kind of feed content, Availability/1.0.1) and
//! `routes/random.js` (`/page/random/title`: `{items: [{title}]}`, Random/0.7.0), with the
//! content types of its `lib/util.js`.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::feeds::FEATURED_TITLES;
use crate::metrics::Service;
use crate::page::stable_hash;
use crate::respond::with_headers;
use crate::Shared;

const ANNOUNCEMENTS_CONTENT_TYPE: &str = "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Announcements/0.3.0\"";
const AVAILABILITY_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Availability/1.0.1\"";
const RANDOM_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Random/0.7.0\"";

/// Languages the stand-in's on-this-day, news and featured-article content is "available" in.
const FEED_LANGUAGES: &[&str] = &["de", "en", "es", "fr", "it", "ja", "pt", "ru", "sv", "zh"];

/// Next random title: a fixed rotation through the featured titles, so runs are reproducible.
static RANDOM_NEXT: AtomicUsize = AtomicUsize::new(0);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{domain}/v1/feed/announcements", get(announcements))
        .route("/{domain}/v1/feed/availability", get(availability))
        .route("/{domain}/v1/page/random/title", get(random_title))
}

/// No campaign is running: wikifeeds then answers an empty list.
async fn announcements(State(state): State<Shared>) -> Response {
    state.metrics.count(Service::Wikifeeds);
    let body = json!({"announce": []}).to_string();
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, ANNOUNCEMENTS_CONTENT_TYPE),
            (header::ETAG, &hash_etag(&body)),
            (header::CACHE_CONTROL, "public, max-age=86400, s-maxage=900"),
        ],
        body,
    )
}

async fn availability(State(state): State<Shared>) -> Response {
    state.metrics.count(Service::Wikifeeds);
    let wikis: Vec<String> = FEED_LANGUAGES
        .iter()
        .map(|lang| format!("{lang}.wikipedia.org"))
        .collect();
    let body = json!({
        "todays_featured_article": wikis,
        "most_read": ["*.wikipedia.org"],
        "picture_of_the_day": ["*.wikipedia.org"],
        "in_the_news": wikis,
        "on_this_day": wikis,
        "did_you_know": ["en.wikipedia.org"],
    })
    .to_string();
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, AVAILABILITY_CONTENT_TYPE),
            (header::ETAG, &hash_etag(&body)),
            (
                header::CACHE_CONTROL,
                "private, max-age=0, s-maxage=0, must-revalidate",
            ),
        ],
        body,
    )
}

async fn random_title(State(state): State<Shared>) -> Response {
    state.metrics.count(Service::Wikifeeds);
    let len = FEATURED_TITLES.len().max(1);
    let index = RANDOM_NEXT.fetch_add(1, Ordering::Relaxed) % len;
    let title = FEATURED_TITLES.get(index).copied().unwrap_or("Earth");
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, RANDOM_CONTENT_TYPE)],
        json!({"items": [{"title": title}]}).to_string(),
    )
}

/// wikifeeds' ETag of a JSON answer: a hash of its text.
fn hash_etag(body: &str) -> String {
    format!("\"{:x}\"", stable_hash(&[body.as_bytes()]))
}
