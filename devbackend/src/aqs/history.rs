//! The edit history metrics: edited pages, editors, edits, registered users, bytes difference
//! (AQS `sys/mediawiki-history-metrics.js`). Time series and tops come from Druid there: one
//! item holding the request's parameters and `results`, ISO timestamps; editors by country
//! comes from Cassandra.

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::common::{
    self, check, count, items, param, series, year_month_day, Named, Rejected, ACTIVITY_LEVELS,
    COUNTRY_ACTIVITY_LEVELS, DAILY_MONTHLY, EDITOR_TYPES, PAGE_TYPES,
};
use crate::metrics::Service;
use crate::Shared;

/// The request parameters AQS copies into the item, in its order (`AQS_PARAMS`).
const ITEM_PARAMS: &[&str] = &[
    "project",
    "editor-type",
    "page-type",
    "activity-level",
    "page-title",
    "user-text",
    "granularity",
];
/// Longest range of the per-page series, in days (AQS `MAX_SPAN_SECONDS`: 367 days).
const MAX_SPAN_DAYS: i64 = 367;
/// Entries in a top list; AQS answers up to 100.
const TOP: usize = 10;
const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB", "JP", "IT", "ES", "RU", "IN", "CA"];

/// The enum parameters of whichever of them the route has, and the project.
fn validate(p: &Named) -> Result<String, Rejected> {
    let rules: [(&str, &[&str]); 3] = [
        ("editor-type", EDITOR_TYPES),
        ("page-type", PAGE_TYPES),
        ("activity-level", ACTIVITY_LEVELS),
    ];
    let present: Vec<(&str, &[&str])> = rules
        .into_iter()
        .filter(|(name, _)| p.values.contains_key(*name))
        .collect();
    check(p, &present)?;
    common::project(p, "project")
}

fn item(p: &Named, project: &str, granularity: &str) -> Map<String, Value> {
    let mut item = Map::new();
    for name in ITEM_PARAMS {
        let value = match *name {
            "project" => project,
            "granularity" => granularity,
            other => param(p, other),
        };
        if !value.is_empty() {
            item.insert((*name).to_owned(), Value::from(value));
        }
    }
    item
}

/// A time series of `metric` (`new_pages`, `edits`, `net_bytes_diff`, ...).
pub async fn timeseries(State(state): State<Shared>, p: Named, metric: &'static str) -> Response {
    state.metrics.count(Service::Aqs);
    answer_timeseries(&p, metric).unwrap_or_else(|e| *e)
}

fn answer_timeseries(p: &Named, metric: &str) -> Result<Response, Rejected> {
    let project = validate(p)?;
    let (_, points) = series(p, DAILY_MONTHLY)?;
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        if p.values.contains_key("page-title") && last.day - first.day > MAX_SPAN_DAYS {
            return Err(common::bad(
                p,
                &format!(
                    "Query timespan is too long (max: ) {} seconds",
                    MAX_SPAN_DAYS * 86_400
                ),
            ));
        }
    }
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let key = common::key(p);
    let results: Vec<Value> = points
        .into_iter()
        .map(|point| {
            let timestamp = point.iso();
            let value = count(&[&key, &timestamp, metric], 0, 10_000)
                * u64::from(if param(p, "granularity") == "monthly" {
                    point.days_in_month()
                } else {
                    1
                });
            // Net differences can be negative.
            let value = if metric.starts_with("net_") {
                i64::try_from(value).unwrap_or(0) - 5_000
            } else {
                i64::try_from(value).unwrap_or(0)
            };
            json!({"timestamp": timestamp, metric: value})
        })
        .collect();
    let mut item = item(p, &project, param(p, "granularity"));
    item.insert("results".to_owned(), Value::from(results));
    Ok(items(vec![Value::Object(item)]))
}

/// A top list of pages (`page_title`) or editors (`user_text`) by `metric`.
pub async fn top(
    State(state): State<Shared>,
    p: Named,
    subject: &'static str,
    metric: &'static str,
) -> Response {
    state.metrics.count(Service::Aqs);
    answer_top(&p, subject, metric).unwrap_or_else(|e| *e)
}

fn answer_top(p: &Named, subject: &str, metric: &str) -> Result<Response, Rejected> {
    let project = validate(p)?;
    let (first, whole_month) = year_month_day(p)?;
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let granularity = if whole_month { "monthly" } else { "daily" };
    let key = common::key(p);
    let mut values: Vec<u64> = (0..TOP)
        .map(|i| count(&[&key, metric, &i.to_string()], 1, 100_000))
        .collect();
    values.sort_unstable_by(|a, b| b.cmp(a));
    let top: Vec<Value> = values
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let name = if subject == "page_title" {
                format!("Page_{}", i + 1)
            } else {
                format!("Editor {}", i + 1)
            };
            json!({subject: name, metric: value, "rank": i + 1})
        })
        .collect();
    let mut item = item(p, &project, granularity);
    item.insert(
        "results".to_owned(),
        json!([{"timestamp": first.iso(), "top": top}]),
    );
    Ok(items(vec![Value::Object(item)]))
}

pub async fn by_country(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_by_country(&p).unwrap_or_else(|e| *e)
}

fn answer_by_country(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("activity-level", COUNTRY_ACTIVITY_LEVELS)])?;
    let project = common::project(p, "project")?;
    if project.starts_with("all-") {
        return Err(common::bad(
            p,
            "`all-...` project values are not accepted for this metric.",
        ));
    }
    year_month_day(p)?;
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let (level, year, month) = (
        param(p, "activity-level"),
        param(p, "year"),
        param(p, "month"),
    );
    // AQS gives editor counts rounded up to the next multiple of ten.
    let mut ceils: Vec<u64> = COUNTRIES
        .iter()
        .map(|c| count(&[&project, level, year, month, c], 1, 500) * 10)
        .collect();
    ceils.sort_unstable_by(|a, b| b.cmp(a));
    let countries: Vec<Value> = COUNTRIES
        .iter()
        .zip(ceils)
        .map(|(country, ceil)| json!({"country": country, "editors-ceil": ceil}))
        .collect();
    Ok(items(vec![
        json!({"project": project, "activity-level": level, "year": year, "month": month, "countries": countries}),
    ]))
}
