//! Analytics Query Service (pageviews) stand-in: per-article daily or monthly views.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::dates;
use crate::error;
use crate::metrics::Service;
use crate::page::stable_hash;
use crate::params::Params;
use crate::respond::with_headers;
use crate::Shared;

const ACCESS: &[&str] = &["all-access", "desktop", "mobile-app", "mobile-web"];
const AGENTS: &[&str] = &["all-agents", "user", "spider", "automated"];
/// Longest range answered, so a careless request cannot produce a huge body.
const MAX_ITEMS: i64 = 10_000;

type PerArticle = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

pub fn routes() -> Router<Shared> {
    Router::new().route(
        "/{domain}/v1/pageviews/per-article/{project}/{access}/{agent}/{article}/{granularity}/{start}/{end}",
        get(per_article),
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Granularity {
    Daily,
    Monthly,
}

async fn per_article(State(state): State<Shared>, params: Params<PerArticle>) -> Response {
    state.metrics.count(Service::Aqs);
    let (_domain, project, access, agent, article, granularity, start, end) = &params.values;
    let bad = |detail: &str| error::bad_request(&params.method, &params.path, detail);
    if !ACCESS.contains(&access.as_str()) {
        return bad("access must be one of all-access, desktop, mobile-app, mobile-web");
    }
    if !AGENTS.contains(&agent.as_str()) {
        return bad("agent must be one of all-agents, user, spider, automated");
    }
    let granularity = match granularity.as_str() {
        "daily" => Granularity::Daily,
        "monthly" => Granularity::Monthly,
        _ => return bad("granularity must be daily or monthly"),
    };
    let (Some(first), Some(last)) = (parse_timestamp(start), parse_timestamp(end)) else {
        return bad("start and end must be dates in YYYYMMDD or YYYYMMDDHH format");
    };
    if first > last {
        return bad("start timestamp should be before the end timestamp");
    }
    if last - first >= MAX_ITEMS {
        return bad("the requested range is too long");
    }
    let project = project.strip_suffix(".org").unwrap_or(project);
    let article = article.replace(' ', "_");
    if article.starts_with("Missing") {
        return error::problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found.",
            &params.method,
            &params.path,
            "The date(s) you used are valid, but we either do not have data for those date(s), or the project you asked for is not loaded yet.",
        );
    }
    let base = 50
        + stable_hash(&[
            project.as_bytes(),
            article.as_bytes(),
            access.as_bytes(),
            agent.as_bytes(),
        ]) % 5_000;
    let days: Vec<i64> = match granularity {
        Granularity::Daily => (first..=last).collect(),
        Granularity::Monthly => (first..=last)
            .filter(|day| dates::civil_from_days(*day).2 == 1)
            .collect(),
    };
    let items: Vec<Value> = days
        .into_iter()
        .map(|day| {
            let (y, m, d) = dates::civil_from_days(day);
            let timestamp = format!("{y:04}{m:02}{d:02}00");
            let factor = 60 + stable_hash(&[article.as_bytes(), timestamp.as_bytes()]) % 81;
            let per_day = base * factor / 100;
            let views = match granularity {
                Granularity::Daily => per_day,
                Granularity::Monthly => per_day * u64::from(dates::days_in_month(y, m)),
            };
            json!({
                "project": project,
                "article": article,
                "granularity": if granularity == Granularity::Daily { "daily" } else { "monthly" },
                "timestamp": timestamp,
                "access": access,
                "agent": agent,
                "views": views,
            })
        })
        .collect();
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({"items": items}).to_string(),
    )
}

/// `YYYYMMDD` or `YYYYMMDDHH` as days since 1970-01-01 (the hour only has to be valid).
fn parse_timestamp(text: &str) -> Option<i64> {
    if text.len() != 8 && text.len() != 10 {
        return None;
    }
    let year = dates::digits(text.get(0..4)?)?;
    let month = dates::digits(text.get(4..6)?)?;
    let day = dates::digits(text.get(6..8)?)?;
    if let Some(hour) = text.get(8..10).filter(|h| !h.is_empty()) {
        if dates::digits(hour)? > 23 {
            return None;
        }
    }
    dates::checked_days(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("19700102"), Some(1));
        assert_eq!(parse_timestamp("1970010223"), Some(1));
        assert_eq!(parse_timestamp("1970010224"), None);
        assert_eq!(parse_timestamp("19700230"), None);
        assert_eq!(parse_timestamp("1970-01-01"), None);
        assert_eq!(parse_timestamp("2024é0101"), None);
    }
}
