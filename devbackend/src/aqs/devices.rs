//! Unique devices, legacy pagecounts and media requests (AQS `sys/unique-devices.js`,
//! `sys/legacy/pagecounts.js`, `sys/mediarequests.js`).

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::common::{
    self, check, count, items, param, series, year_month_day, Granularity, Named, Rejected,
    ACCESS_SITE, DAILY_MONTHLY, HOURLY_DAILY_MONTHLY, MEDIA_AGENTS, MEDIA_TYPES,
};
use crate::metrics::Service;
use crate::Shared;

/// Referers that are not projects (AQS `NON_PROJECT_REFERERS`, plus the all-referers total).
const NON_PROJECT_REFERERS: &[&str] = &[
    "all-referers",
    "internal",
    "external",
    "search-engine",
    "unknown",
    "none",
];
/// Files in a top list; AQS answers up to 1000.
const TOP: usize = 20;

fn name(g: Granularity) -> &'static str {
    match g {
        Granularity::Hourly => "hourly",
        Granularity::Daily => "daily",
        Granularity::Monthly => "monthly",
    }
}

fn days(g: Granularity, point: common::Point) -> u64 {
    match g {
        Granularity::Hourly | Granularity::Daily => 1,
        Granularity::Monthly => u64::from(point.days_in_month()),
    }
}

pub async fn unique_devices(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_unique_devices(&p).unwrap_or_else(|e| *e)
}

fn answer_unique_devices(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("access-site", ACCESS_SITE)])?;
    let (granularity, points) = series(p, DAILY_MONTHLY)?;
    let project = common::project(p, "project")?;
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let site = param(p, "access-site");
    let list = points
        .into_iter()
        .map(|point| {
            let timestamp = point.date();
            let devices = count(&[&project, site, &timestamp], 100_000, 10_000_000) * days(granularity, point).min(3);
            let offset = count(&[&project, site, &timestamp, "offset"], 1_000, 100_000);
            json!({"project": project, "access-site": site, "granularity": name(granularity), "timestamp": timestamp, "devices": devices, "offset": offset, "underestimate": devices - offset})
        })
        .collect();
    Ok(items(list))
}

pub async fn pagecounts(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_pagecounts(&p).unwrap_or_else(|e| *e)
}

fn answer_pagecounts(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("access-site", ACCESS_SITE)])?;
    let (granularity, points) = series(p, HOURLY_DAILY_MONTHLY)?;
    let project = common::project(p, "project")?;
    if common::is_missing(&project) {
        return Ok(common::not_loaded(p));
    }
    let site = param(p, "access-site");
    let list = points
        .into_iter()
        .map(|point| {
            let timestamp = point.compact();
            let hours = if granularity == Granularity::Hourly { 1 } else { 24 };
            let counted = count(&[&project, site, &timestamp], 10_000, 1_000_000) * hours * days(granularity, point);
            json!({"project": project, "access-site": site, "granularity": name(granularity), "timestamp": timestamp, "count": counted})
        })
        .collect();
    Ok(items(list))
}

/// AQS's referer: a project (normalized as projects are) or one of the non-project referers.
fn referer(p: &Named) -> Result<String, Rejected> {
    let text = param(p, "referer").trim().to_ascii_lowercase();
    if NON_PROJECT_REFERERS.contains(&text.as_str()) {
        Ok(text)
    } else {
        common::project(p, "referer")
    }
}

pub async fn media_aggregate(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_media_aggregate(&p).unwrap_or_else(|e| *e)
}

fn answer_media_aggregate(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("media_type", MEDIA_TYPES), ("agent", MEDIA_AGENTS)])?;
    let (granularity, points) = series(p, DAILY_MONTHLY)?;
    let referer = referer(p)?;
    if common::is_missing(&referer) {
        return Ok(common::not_loaded(p));
    }
    let (media_type, agent) = (param(p, "media_type"), param(p, "agent"));
    let list = points
        .into_iter()
        .map(|point| {
            let timestamp = point.compact();
            let requests = count(&[&referer, media_type, agent, &timestamp], 1_000_000, 100_000_000) * days(granularity, point);
            json!({"referer": referer, "media_type": media_type, "agent": agent, "granularity": name(granularity), "timestamp": timestamp, "requests": requests})
        })
        .collect();
    Ok(items(list))
}

pub async fn media_per_file(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_media_per_file(&p).unwrap_or_else(|e| *e)
}

fn answer_media_per_file(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("agent", MEDIA_AGENTS)])?;
    let (granularity, points) = series(p, DAILY_MONTHLY)?;
    let referer = referer(p)?;
    let (agent, file_path) = (param(p, "agent"), param(p, "file_path"));
    if common::is_missing(&referer) || file_path.contains("Missing") {
        return Ok(common::not_loaded(p));
    }
    let list = points
        .into_iter()
        .map(|point| {
            let timestamp = point.compact();
            let requests = count(&[&referer, agent, file_path, &timestamp], 0, 5_000) * days(granularity, point);
            json!({"referer": referer, "file_path": file_path, "agent": agent, "granularity": name(granularity), "timestamp": timestamp, "requests": requests})
        })
        .collect();
    Ok(items(list))
}

pub async fn media_top(State(state): State<Shared>, p: Named) -> Response {
    state.metrics.count(Service::Aqs);
    answer_media_top(&p).unwrap_or_else(|e| *e)
}

fn answer_media_top(p: &Named) -> Result<Response, Rejected> {
    check(p, &[("media_type", MEDIA_TYPES)])?;
    let referer = referer(p)?;
    year_month_day(p)?;
    if common::is_missing(&referer) {
        return Ok(common::not_loaded(p));
    }
    let (media_type, year, month, day) = (
        param(p, "media_type"),
        param(p, "year"),
        param(p, "month"),
        param(p, "day"),
    );
    let mut requests: Vec<u64> = (0..TOP)
        .map(|i| {
            count(
                &[&referer, media_type, year, month, day, &i.to_string()],
                10_000,
                10_000_000,
            )
        })
        .collect();
    requests.sort_unstable_by(|a, b| b.cmp(a));
    let files: Vec<Value> = requests
        .into_iter()
        .enumerate()
        .map(|(i, requests)| json!({"file_path": format!("/wikipedia/commons/{:x}/File_{}.jpg", i % 16, i + 1), "requests": requests, "rank": i + 1}))
        .collect();
    Ok(items(vec![
        json!({"referer": referer, "media_type": media_type, "year": year, "month": month, "day": day, "files": files}),
    ]))
}
