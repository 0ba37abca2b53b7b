//! Pageviews: per article, per project (aggregate), the most viewed articles, and views by
//! country (AQS `sys/pageviews.js`).

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::common::{
    self, check, count, items, param, series, year_month_day, Granularity, Named, Rejected, ACCESS,
    AGENTS, DAILY_MONTHLY, HOURLY_DAILY_MONTHLY,
};
use crate::metrics::Service;
use crate::Shared;

/// Articles in a top list; AQS answers up to 1000.
const TOP: usize = 20;
/// Countries in a by-country list.
const COUNTRIES: &[&str] = &["US", "GB", "IN", "DE", "CA", "AU", "FR", "PH", "NL", "ES"];

fn granularity_name(g: Granularity) -> &'static str {
    match g {
        Granularity::Hourly => "hourly",
        Granularity::Daily => "daily",
        Granularity::Monthly => "monthly",
    }
}

pub async fn per_article(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_per_article(&p).unwrap_or_else(|e| *e)
}

fn answer_per_article(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("access", ACCESS), ("agent", AGENTS)])?;
    let (granularity, points) = series(p, DAILY_MONTHLY)?;
    let project = common::project(p, "project")?;
    let (access, agent) = (param(p, "access"), param(p, "agent"));
    let article = param(p, "article").replace(' ', "_");
    if article.starts_with("Missing") || common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let base = count(&[&project, &article, access, agent], 50, 5_000);
    let list = points
        .into_iter()
        .map(|point| {
            let timestamp = point.compact();
            let per_day = base * count(&[&article, &timestamp], 60, 81) / 100;
            let views = match granularity {
                Granularity::Monthly => per_day * u64::from(point.days_in_month()),
                _ => per_day,
            };
            json!({"project": project, "article": article, "granularity": granularity_name(granularity), "timestamp": timestamp, "access": access, "agent": agent, "views": views})
        })
        .collect();
    Ok(items(list))
}

pub async fn aggregate(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_aggregate(&p).unwrap_or_else(|e| *e)
}

fn answer_aggregate(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("access", ACCESS), ("agent", AGENTS)])?;
    let (granularity, points) = series(p, HOURLY_DAILY_MONTHLY)?;
    let project = common::project(p, "project")?;
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let (access, agent) = (param(p, "access"), param(p, "agent"));
    let per_hour = count(&[&project, access, agent], 10_000, 1_000_000);
    let list = points
        .into_iter()
        .map(|point| {
            let timestamp = point.compact();
            let hours: u64 = match granularity {
                Granularity::Hourly => 1,
                Granularity::Daily => 24,
                Granularity::Monthly => 24 * u64::from(point.days_in_month()),
            };
            let views = per_hour * hours * count(&[&project, &timestamp], 80, 41) / 100;
            json!({"project": project, "access": access, "agent": agent, "granularity": granularity_name(granularity), "timestamp": timestamp, "views": views})
        })
        .collect();
    Ok(items(list))
}

pub async fn top(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_top(&p).unwrap_or_else(|e| *e)
}

fn answer_top(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("access", ACCESS)])?;
    let project = common::project(p, "project")?;
    year_month_day(p)?;
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let (access, year, month, day) = (
        param(p, "access"),
        param(p, "year"),
        param(p, "month"),
        param(p, "day"),
    );
    let mut views: Vec<u64> = (0..TOP)
        .map(|i| {
            count(
                &[&project, access, year, month, day, &i.to_string()],
                1_000,
                500_000,
            )
        })
        .collect();
    views.sort_unstable_by(|a, b| b.cmp(a));
    let articles: Vec<Value> = views
        .into_iter()
        .enumerate()
        .map(|(i, views)| json!({"article": if i == 0 { "Main_Page".to_owned() } else { format!("Article_{}", i + 1) }, "views": views, "rank": i + 1}))
        .collect();
    Ok(items(vec![
        json!({"project": project, "access": access, "year": year, "month": month, "day": day, "articles": articles}),
    ]))
}

pub async fn top_by_country(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_top_by_country(&p).unwrap_or_else(|e| *e)
}

fn answer_top_by_country(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("access", ACCESS)])?;
    let project = common::project(p, "project")?;
    year_month_day(p)?;
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let (access, year, month) = (param(p, "access"), param(p, "year"), param(p, "month"));
    let mut ceils: Vec<u64> = COUNTRIES
        .iter()
        .map(|c| count(&[&project, access, year, month, c], 100, 100_000_000))
        .collect();
    ceils.sort_unstable_by(|a, b| b.cmp(a));
    let countries: Vec<Value> = COUNTRIES
        .iter()
        .zip(ceils)
        .enumerate()
        .map(|(i, (country, views))| {
            // AQS gives views as the power-of-ten bucket they fall in, and the bucket's ceiling.
            let ceil = 10_u64.pow(views.ilog10() + 1);
            json!({"country": country, "views": format!("{}-{}", ceil / 10, ceil - 1), "rank": i + 1, "views_ceil": ceil})
        })
        .collect();
    Ok(items(vec![
        json!({"project": project, "access": access, "year": year, "month": month, "countries": countries}),
    ]))
}
