//! What the AQS stand-in's endpoints share: parameter checks, the date range as points in time,
//! the not-found answer and the JSON answer with AQS's headers.
//!
//! Shaped on AQS itself (wikimedia/analytics-aqs, `lib/aqsUtil.js`): an unknown enum value or a
//! bad date is a 400, a valid request for data that is not loaded a 404 `not_found` with AQS's
//! description, and every answer is `{"items": [...]}` with
//! `cache-control: s-maxage=14400, max-age=14400` and a content ETag.

use std::collections::HashMap;

use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::dates;
use crate::error;
use crate::page::stable_hash;
use crate::params::Params;
use crate::respond::with_headers;

/// Path parameters by name.
pub type Named = Params<HashMap<String, String>>;

/// Longest range answered, so a careless request cannot produce a huge body.
pub const MAX_ITEMS: i64 = 10_000;

pub const ACCESS: &[&str] = &["all-access", "desktop", "mobile-app", "mobile-web"];
pub const AGENTS: &[&str] = &["all-agents", "user", "spider", "automated"];
pub const MEDIA_AGENTS: &[&str] = &["all-agents", "user", "spider"];
pub const ACCESS_SITE: &[&str] = &["all-sites", "desktop-site", "mobile-site"];
pub const EDITOR_TYPES: &[&str] = &[
    "all-editor-types",
    "anonymous",
    "group-bot",
    "name-bot",
    "user",
];
pub const PAGE_TYPES: &[&str] = &["all-page-types", "content", "non-content"];
pub const ACTIVITY_LEVELS: &[&str] = &[
    "all-activity-levels",
    "1..4-edits",
    "5..24-edits",
    "25..99-edits",
    "100..-edits",
];
pub const COUNTRY_ACTIVITY_LEVELS: &[&str] = &["5..99-edits", "100..-edits"];
pub const MEDIA_TYPES: &[&str] = &[
    "all-media-types",
    "image",
    "video",
    "audio",
    "document",
    "other",
];
pub const DAILY_MONTHLY: &[&str] = &["daily", "monthly"];
pub const HOURLY_DAILY_MONTHLY: &[&str] = &["hourly", "daily", "monthly"];

/// A named parameter (empty when the route has none of that name).
pub fn param<'a>(p: &'a Named, name: &str) -> &'a str {
    p.values.get(name).map_or("", String::as_str)
}

/// A refused request's answer, boxed: it is far larger than what succeeds.
pub type Rejected = Box<Response>;

pub fn bad(p: &Named, detail: &str) -> Rejected {
    Box::new(error::bad_request(&p.method, &p.path, detail))
}

/// Each named parameter must be one of its values.
pub fn check(p: &Named, rules: &[(&str, &[&str])]) -> Result<(), Rejected> {
    for (name, allowed) in rules {
        if !allowed.contains(&param(p, name)) {
            return Err(bad(
                p,
                &format!("{name} must be one of {}", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

/// AQS's project normalization: `en.wikipedia.org` and `www.` forms answer as `en.wikipedia`.
pub fn project(p: &Named, name: &str) -> Result<String, Rejected> {
    let text = param(p, name).trim().to_ascii_lowercase();
    let text = text.strip_prefix("www.").unwrap_or(&text);
    let text = text.strip_suffix(".org").unwrap_or(text);
    if text.is_empty()
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(bad(
            p,
            "The parameter `project` contains invalid charaters.",
        ));
    }
    Ok(text.to_owned())
}

/// AQS's 404 for a valid request whose data is not loaded. The stand-in has no data for
/// projects (or referers) whose name starts with `missing`.
pub fn not_loaded(p: &Named) -> Response {
    error::problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "Not found.",
        &p.method,
        &p.path,
        "The date(s) you used are valid, but we either do not have data for those date(s), or the project you asked for is not loaded yet.",
    )
}

pub fn is_missing(name: &str) -> bool {
    name.starts_with("missing")
}

/// `{"items": items}` as AQS answers it.
pub fn items(items: Vec<Value>) -> Response {
    let body = serde_json::json!({ "items": items }).to_string();
    let etag = format!("\"{:016x}\"", stable_hash(&[body.as_bytes()]));
    with_headers(
        StatusCode::OK,
        &[
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CACHE_CONTROL, "s-maxage=14400, max-age=14400"),
            (header::ETAG, &etag),
        ],
        body,
    )
}

/// Every parameter, in name order: the seed of a request's generated numbers (the map's own
/// order differs from one request to the next).
pub fn key(p: &Named) -> String {
    let mut pairs: Vec<(&String, &String)> = p.values.iter().collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("/")
}

/// A deterministic count in `low..low + span` for the given key parts.
pub fn count(parts: &[&str], low: u64, span: u64) -> u64 {
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    low + stable_hash(&bytes) % span.max(1)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Granularity {
    Hourly,
    Daily,
    Monthly,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hourly" => Some(Self::Hourly),
            "daily" => Some(Self::Daily),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }
}

/// One point of a time series: days since 1970-01-01 and the hour.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Point {
    pub day: i64,
    pub hour: i64,
}

impl Point {
    fn civil(self) -> (i64, u32, u32) {
        dates::civil_from_days(self.day)
    }

    /// `YYYYMMDDHH`, as pageviews, pagecounts and mediarequests write timestamps.
    pub fn compact(self) -> String {
        let (y, m, d) = self.civil();
        format!("{y:04}{m:02}{d:02}{:02}", self.hour)
    }

    /// `YYYYMMDD`, as unique devices writes timestamps.
    pub fn date(self) -> String {
        let (y, m, d) = self.civil();
        format!("{y:04}{m:02}{d:02}")
    }

    /// ISO 8601, as the edit history metrics (served from Druid) write timestamps.
    pub fn iso(self) -> String {
        let (y, m, d) = self.civil();
        format!("{y:04}-{m:02}-{d:02}T{:02}:00:00.000Z", self.hour)
    }

    pub fn days_in_month(self) -> u32 {
        let (y, m, _) = self.civil();
        dates::days_in_month(y, m)
    }
}

/// `YYYYMMDD` or `YYYYMMDDHH` as a point in time.
pub fn parse_timestamp(text: &str) -> Option<Point> {
    if text.len() != 8 && text.len() != 10 {
        return None;
    }
    let year = dates::digits(text.get(0..4)?)?;
    let month = dates::digits(text.get(4..6)?)?;
    let day = dates::digits(text.get(6..8)?)?;
    let hour = match text.get(8..10).filter(|h| !h.is_empty()) {
        Some(hour) => dates::digits(hour).filter(|h| *h <= 23)?,
        None => 0,
    };
    Some(Point {
        day: dates::checked_days(year, month, day)?,
        hour: i64::from(hour),
    })
}

/// The `granularity`, `start` and `end` parameters as the series' points: every hour, every
/// day, or the first day of every month in the range.
pub fn series(p: &Named, allowed: &[&str]) -> Result<(Granularity, Vec<Point>), Rejected> {
    check(p, &[("granularity", allowed)])?;
    let granularity = Granularity::parse(param(p, "granularity"))
        .ok_or_else(|| bad(p, "granularity is invalid"))?;
    let (Some(first), Some(last)) = (
        parse_timestamp(param(p, "start")),
        parse_timestamp(param(p, "end")),
    ) else {
        return Err(bad(
            p,
            "start and end timestamps must be valid dates in YYYYMMDD or YYYYMMDDHH format",
        ));
    };
    let (from, to) = (first.day * 24 + first.hour, last.day * 24 + last.hour);
    if from > to {
        return Err(bad(p, "start timestamp should be before the end timestamp"));
    }
    let long = match granularity {
        Granularity::Hourly => to - from >= MAX_ITEMS,
        _ => last.day - first.day >= MAX_ITEMS,
    };
    if long {
        return Err(bad(p, "the requested range is too long"));
    }
    let points = match granularity {
        Granularity::Hourly => (from..=to)
            .map(|h| Point {
                day: h.div_euclid(24),
                hour: h.rem_euclid(24),
            })
            .collect(),
        Granularity::Daily => (first.day..=last.day)
            .map(|day| Point { day, hour: 0 })
            .collect(),
        Granularity::Monthly => (first.day..=last.day)
            .filter(|day| dates::civil_from_days(*day).2 == 1)
            .map(|day| Point { day, hour: 0 })
            .collect(),
    };
    Ok((granularity, points))
}

/// `year`, `month` and, when the route has one, `day` (two digits or `all-days`): the first day
/// they name, and whether it is a whole month.
pub fn year_month_day(p: &Named) -> Result<(Point, bool), Rejected> {
    let day = p.values.get("day").map(String::as_str);
    let whole_month = day.is_none_or(|d| d == "all-days");
    let day_digits = if whole_month {
        "01"
    } else {
        day.unwrap_or("01")
    };
    let (year, month) = (param(p, "year"), param(p, "month"));
    let valid = year.len() == 4 && month.len() == 2 && day_digits.len() == 2;
    match parse_timestamp(&format!("{year}{month}{day_digits}")).filter(|_| valid) {
        Some(point) => Ok((point, whole_month)),
        None => Err(bad(p, "Given year/month/day is invalid date")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("19700102"), Some(Point { day: 1, hour: 0 }));
        assert_eq!(
            parse_timestamp("1970010223"),
            Some(Point { day: 1, hour: 23 })
        );
        assert_eq!(parse_timestamp("1970010224"), None);
        assert_eq!(parse_timestamp("19700230"), None);
        assert_eq!(parse_timestamp("1970-01-01"), None);
        assert_eq!(parse_timestamp("2024é0101"), None);
        let point = Point {
            day: 19_782,
            hour: 5,
        };
        assert_eq!(
            (point.compact(), point.date(), point.iso()),
            (
                "2024022905".into(),
                "20240229".into(),
                "2024-02-29T05:00:00.000Z".into()
            )
        );
    }
}
