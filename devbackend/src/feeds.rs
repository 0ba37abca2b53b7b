//! wikifeeds stand-in: the aggregated featured-content feed for a day.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::dates;
use crate::error;
use crate::metrics::Service;
use crate::page::{stable_hash, Page};
use crate::params::Params;
use crate::pcs::summary_json;
use crate::respond::with_headers;
use crate::samples::{self, Image};
use crate::site::Site;
use crate::Shared;

const FEED_CONTENT_TYPE: &str =
    "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/aggregated-feed/0.5.0\"";

/// Titles the feed features, rotated by date so consecutive days differ.
pub(crate) const FEATURED_TITLES: &[&str] = &[
    "Earth",
    "Moon",
    "Mount_Everest",
    "Ada_Lovelace",
    "Great_Barrier_Reef",
    "Printing_press",
    "Amazon_River",
    "Marie_Curie",
    "Jupiter",
    "Silk_Road",
];

pub fn routes() -> Router<Shared> {
    Router::new().route("/{domain}/v1/feed/featured/{yyyy}/{mm}/{dd}", get(featured))
}

async fn featured(
    State(state): State<Shared>,
    params: Params<(String, String, String, String)>,
) -> Response {
    state.metrics.count(Service::Wikifeeds);
    let (domain, yyyy, mm, dd) = &params.values;
    let day = match (yyyy.len(), mm.len(), dd.len()) {
        (4, 2, 2) => match (dates::digits(yyyy), dates::digits(mm), dates::digits(dd)) {
            (Some(y), Some(m), Some(d)) => dates::checked_days(y, m, d),
            _ => None,
        },
        _ => None,
    };
    let Some(day) = day else {
        return error::bad_request(
            &params.method,
            &params.path,
            "date must be a valid yyyy/mm/dd",
        );
    };
    let site = Site::new(domain);
    let feed = Feed {
        state: &state,
        site: &site,
        day,
    };
    let body = json!({
        "tfa": feed.summary(0),
        "mostread": feed.most_read(),
        "image": feed.picture(),
        "news": feed.news(),
        "onthisday": feed.on_this_day(),
    });
    let etag = crate::respond::etag(format!("{yyyy}-{mm}-{dd}"), &state.tids.next());
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, FEED_CONTENT_TYPE),
            (header::ETAG, &etag),
            (header::CONTENT_LANGUAGE, site.lang),
            (header::VARY, "Accept-Language"),
        ],
        body.to_string(),
    )
}

struct Feed<'a> {
    state: &'a Shared,
    site: &'a Site<'a>,
    /// The feed's date as days since 1970-01-01.
    day: i64,
}

impl Feed<'_> {
    fn title(&self, slot: i64) -> &'static str {
        let len = i64::try_from(FEATURED_TITLES.len()).unwrap_or(1);
        let index = usize::try_from((self.day + slot).rem_euclid(len)).unwrap_or(0);
        FEATURED_TITLES.get(index).copied().unwrap_or("Earth")
    }

    fn summary_of(&self, title: &str) -> Value {
        match Page::lookup(title, None) {
            Some(page) => summary_json(self.site, &page, &self.state.tids.next()),
            None => Value::Null,
        }
    }

    fn summary(&self, slot: i64) -> Value {
        self.summary_of(self.title(slot))
    }

    /// Deterministic daily views for a title.
    fn views(&self, title: &str, day: i64) -> u64 {
        10_000
            + stable_hash(&[
                self.site.domain.as_bytes(),
                title.as_bytes(),
                &day.to_le_bytes(),
            ]) % 400_000
    }

    fn most_read(&self) -> Value {
        // Most-read lists cover the day before the feed date.
        let day = self.day - 1;
        let mut ranked: Vec<(&str, u64)> = (1..=5)
            .map(|slot| self.title(slot))
            .map(|t| (t, self.views(t, day)))
            .collect();
        ranked.sort_by_key(|(_, views)| std::cmp::Reverse(*views));
        let articles: Vec<Value> = ranked
            .iter()
            .enumerate()
            .map(|(rank, (title, views))| {
                let mut summary = self.summary_of(title);
                let history: Vec<Value> = (day - 4..=day)
                    .map(|d| json!({"date": date_z(d), "views": self.views(title, d)}))
                    .collect();
                if let Some(object) = summary.as_object_mut() {
                    object.insert("views".into(), (*views).into());
                    object.insert("rank".into(), (rank + 1).into());
                    object.insert("view_history".into(), history.into());
                }
                summary
            })
            .collect();
        json!({"date": date_z(day), "articles": articles})
    }

    fn picture(&self) -> Value {
        let images = samples::find("Earth").map_or(&[][..], |s| s.images);
        let index = usize::try_from(self.day.rem_euclid(2)).unwrap_or(0);
        match images.get(index).or(images.first()) {
            Some(image) => picture_json(image, self.site.lang),
            None => Value::Null,
        }
    }

    fn news(&self) -> Value {
        let stories = [
            (6, "Astronomers announce the discovery of an exoplanet orbiting within the habitable zone of a nearby star"),
            (7, "A new record is set for the deepest dive in the ocean, reaching the bottom of the Challenger Deep"),
        ];
        let items: Vec<Value> = stories
            .iter()
            .map(|(slot, story)| {
                let title = self.title(*slot);
                json!({
                    "links": [self.summary_of(title)],
                    "story": format!(
                        "<!--{}--> {story}. <b><a rel=\"mw:WikiLink\" href=\"./{title}\" title=\"{text}\">{text}</a></b>",
                        date_z(self.day),
                        text = title.replace('_', " "),
                    ),
                })
            })
            .collect();
        items.into()
    }

    fn on_this_day(&self) -> Value {
        let events = [
            (
                8,
                1972,
                "The crew of Apollo 17 photograph The Blue Marble on their way to the Moon",
            ),
            (
                9,
                1990,
                "Voyager 1 takes the Pale Blue Dot photograph from six billion kilometres away",
            ),
        ];
        let items: Vec<Value> = events
            .iter()
            .map(|(slot, year, text)| json!({"text": text, "pages": [self.summary(*slot)], "year": year}))
            .collect();
        items.into()
    }
}

fn date_z(day: i64) -> String {
    let (y, m, d) = dates::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}Z")
}

fn picture_json(image: &Image, lang: &str) -> Value {
    let width = 640;
    json!({
        "title": format!("File:{}", image.file),
        "thumbnail": {"source": image.thumb_url(width), "width": width, "height": image.thumb_height(width)},
        "image": {"source": image.original_url(), "width": image.width, "height": image.height},
        "file_page": format!("https://commons.wikimedia.org/wiki/File:{}", image.file),
        "artist": {"html": image.artist, "text": image.artist},
        "credit": {"html": "<a href=\"https://www.nasa.gov/\">NASA</a>", "text": "NASA"},
        "license": {"type": image.license, "code": "pd"},
        "description": {"html": image.caption_html, "text": image.caption_text, "lang": lang},
        "structured": {"captions": {lang: image.caption_text}},
    })
}
