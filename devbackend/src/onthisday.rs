//! wikifeeds stand-in for `/feed/onthisday/{type}/{mm}/{dd}`: events, births, deaths, holidays
//! and selected anniversaries of a day. Based on wikifeeds' `routes/on-this-day.js` and
//! `lib/on-this-day.js`: one key per type (`all` has all five), events as `{text, pages, year}`,
//! holidays as `{text, pages}`, 404 for a language it has no parser for, content type
//! OnThisDay/0.5.0. The entries are generated from the date.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::dates;
use crate::error;
use crate::feeds::FEATURED_TITLES;
use crate::metrics::Service;
use crate::page::Page;
use crate::params::Params;
use crate::pcs::summary_json;
use crate::respond::{etag, with_headers};
use crate::site::Site;
use crate::Shared;

const ONTHISDAY_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/OnThisDay/0.5.0\"";
/// wikifeeds' `DEFAULT_CACHE_CONTROL` of these routes.
const ONTHISDAY_CACHE_CONTROL: &str = "s-maxage=300, max-age=60";

/// Languages wikifeeds' `lib/on-this-day.languages.js` has day-page parsers for (a subset).
const LANGUAGES: &[&str] = &[
    "ar", "bs", "de", "en", "es", "fr", "it", "pt", "ru", "sv", "tr", "uk", "zh",
];

const TYPES: &[&str] = &["selected", "births", "deaths", "events", "holidays"];

type Path = (String, String, String, String);

pub fn routes() -> Router<Shared> {
    Router::new().route(
        "/{domain}/v1/feed/onthisday/{kind}/{mm}/{dd}",
        get(on_this_day),
    )
}

async fn on_this_day(State(state): State<Shared>, params: Params<Path>) -> Response {
    state.metrics.count(Service::Wikifeeds);
    let (domain, kind, mm, dd) = &params.values;
    let wanted: Vec<&str> = match kind.as_str() {
        "all" => TYPES.to_vec(),
        k => match TYPES.iter().find(|t| **t == k) {
            Some(t) => vec![*t],
            None => return error::not_found(&params.method, &params.path),
        },
    };
    let site = Site::new(domain);
    if !LANGUAGES.contains(&site.lang) {
        return error::problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            &params.method,
            &params.path,
            "The language you have requested is not yet supported.",
        );
    }
    // Month and day as wikifeeds reads them (`parseInt`): `5` and `05` alike; checked against a
    // leap year so 29 February exists.
    let date = match (short_number(mm), short_number(dd)) {
        (Some(m), Some(d)) => dates::checked_days(2000, m, d).map(|_| (m, d)),
        _ => None,
    };
    let Some((month, day)) = date else {
        return error::bad_request(&params.method, &params.path, "mm/dd must be a valid date");
    };
    let mut body = Map::new();
    for (slot, kind) in wanted.iter().enumerate() {
        let seed = month * 31 + day + u32::try_from(slot).unwrap_or(0);
        body.insert((*kind).to_string(), entries(&state, &site, kind, seed));
    }
    let revision = 900_000_000 + u64::from(month * 100 + day);
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, ONTHISDAY_CONTENT_TYPE),
            (header::ETAG, &etag(revision, &state.tids.next())),
            (header::CACHE_CONTROL, ONTHISDAY_CACHE_CONTROL),
        ],
        Value::Object(body).to_string(),
    )
}

fn short_number(text: &str) -> Option<u32> {
    if text.len() > 2 {
        return None;
    }
    dates::digits(text)
}

/// Two entries of a type, each about one of the featured titles picked by `seed`.
fn entries(state: &Shared, site: &Site, kind: &str, seed: u32) -> Value {
    let items: Vec<Value> = (0..2u32)
        .map(|n| {
            let index = usize::try_from(seed + n * 3).unwrap_or(0) % FEATURED_TITLES.len().max(1);
            let title = FEATURED_TITLES.get(index).copied().unwrap_or("Earth");
            let pages: Vec<Value> = Page::lookup(title, None)
                .map(|page| summary_json(site, &page, &state.tids.next()))
                .into_iter()
                .collect();
            let name = title.replace('_', " ");
            let year = 1900 + i64::from((seed * 7 + n * 13) % 120);
            match kind {
                "holidays" => json!({"text": format!("A day of {name}"), "pages": pages}),
                "births" => json!({"text": format!("A scholar of {name}"), "pages": pages, "year": year}),
                "deaths" => json!({"text": format!("An explorer of {name}"), "pages": pages, "year": year}),
                _ => json!({"text": format!("An expedition reaches {name}"), "pages": pages, "year": year}),
            }
        })
        .collect();
    items.into()
}
