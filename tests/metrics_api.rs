//! The metrics operations of wikimedia.org (the analytics query service) through the real
//! Envoy and the development back-end's AQS: every operation of the spec answers JSON, a value
//! outside a parameter's enum is refused before the back-end, AQS's 404 comes through, and each
//! of RESTBase's limit families (100/s, 25/s, 5/s) refuses a client over it with a 429.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::{repo_root, DevBackend, Response, Stack};

/// The spec's metrics operations: (path template, parameters).
fn metrics_operations() -> Vec<(String, Vec<Value>)> {
    let text = std::fs::read_to_string(repo_root().join("spec/wikimedia.yaml")).unwrap();
    let spec: Value = serde_norway::from_str(&text).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    paths.iter().filter(|(path, _)| path.starts_with("/metrics/")).map(|(path, item)| (path.clone(), item["get"]["parameters"].as_array().unwrap().clone())).collect()
}

/// A valid value for a parameter: its enum's first (daily for granularities), else a sample by name.
fn sample(param: &Value) -> String {
    let name = param["name"].as_str().unwrap();
    if let Some(values) = param["schema"]["enum"].as_array() {
        let values: Vec<&str> = values.iter().map(|v| v.as_str().unwrap()).collect();
        return if values.contains(&"daily") { "daily" } else { values[0] }.to_owned();
    }
    match name {
        "project" | "referer" => "en.wikipedia",
        "article" | "page-title" => "Earth",
        "file_path" => "%2Fwikipedia%2Fcommons%2Fa%2Fa9%2FExample.jpg",
        "start" => "20240101",
        "end" => "20240103",
        "year" => "2024",
        "month" => "01",
        "day" => "15",
        other => panic!("no sample for parameter {other}"),
    }
    .to_owned()
}

/// The public path of an operation with every parameter at its sample, except `overrides`.
fn fill(template: &str, params: &[Value], overrides: &[(&str, &str)]) -> String {
    let mut path = format!("/wikimedia.org/v1{template}");
    for p in params {
        let name = p["name"].as_str().unwrap();
        let value = overrides.iter().find(|(n, _)| *n == name).map_or_else(|| sample(p), |(_, v)| (*v).to_owned());
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

#[test]
fn every_metrics_operation_answers_json_and_checks_its_enums() {
    let dev = DevBackend::start();
    let s = Stack::with(&[("aqs", dev.addr())]);
    let ops = metrics_operations();
    assert_eq!(ops.len(), 26, "the 26 AQS operations of RESTBase's 2020 wikimedia.org API");
    for (template, params) in &ops {
        let path = fill(template, params, &[]);
        let r = s.envoy.get(&path);
        assert_eq!(r.status, 200, "{path}: {r}");
        let ct = r.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "{path}: content-type {ct}");
        assert_eq!(r.header("cache-control"), Some("s-maxage=14400, max-age=14400"), "{path}");
        let items = r.json()["items"].as_array().cloned().unwrap_or_default();
        assert!(!items.is_empty(), "{path}: no items in {r}");

        // Every enum parameter refuses a value outside it, at the router.
        for p in params.iter().filter(|p| p["schema"]["enum"].is_array()) {
            let name = p["name"].as_str().unwrap();
            let bad = fill(template, params, &[(name, "bogus")]);
            let r = s.envoy.get(&bad);
            let problem = r.assert_problem(400, "bad_request", "get", &bad);
            assert!(problem["detail"].as_str().unwrap().contains(name), "{bad}: detail does not name {name}: {r}");
        }
    }

    // AQS's own answers come through: no data is its 404, a reversed range its 400.
    let (template, params) = ops.iter().find(|(t, _)| t.starts_with("/metrics/pageviews/aggregate/")).unwrap();
    let r = s.envoy.get(&fill(template, params, &[("project", "missing.wikipedia")]));
    assert_eq!(r.status, 404, "{r}");
    assert_eq!(r.json()["type"], "https://mediawiki.org/wiki/HyperSwitch/errors/not_found");
    let r = s.envoy.get(&fill(template, params, &[("start", "20240105"), ("end", "20240101")]));
    assert_eq!(r.status, 400, "{r}");
}

/// Requests `path` as one external client as fast as it can, for at most 5 s, until refused.
/// Returns the answers up to and including the first 429.
fn until_limited(s: &Stack, path: &str, ip: &str) -> Vec<Response> {
    let started = Instant::now();
    let mut answers = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        let r = s.envoy.get_with(path, &[("x-forwarded-for", ip)]);
        let limited = r.status == 429;
        answers.push(r);
        if limited {
            break;
        }
    }
    answers
}

/// The limit tests measure rates: one at a time, so they do not compete for the CPU.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A client over an operation's limit sees RESTBase's 429, with the operation's limit in
/// `ratelimit-policy`.
fn assert_limited(template_prefix: &str, limit: u32, ip: &str) {
    let _serial = serial();
    let dev = DevBackend::start();
    let s = Stack::with(&[("aqs", dev.addr()), ("ratelimit_sidecar", "")]);
    let ops = metrics_operations();
    let (template, params) = ops.iter().find(|(t, _)| t.starts_with(template_prefix)).unwrap();
    let path = fill(template, params, &[]);
    let answers = until_limited(&s, &path, ip);
    let (last, before) = answers.split_last().unwrap();
    assert!(!before.is_empty() && before.iter().all(|r| r.status == 200), "{path}: statuses before the limit {:?}", before.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(last.status, 429, "{path}: not limited after {} requests in 5 s", answers.len());
    last.assert_problem(429, "request_rate_exceeded", "get", &path);
    assert_eq!(last.header("ratelimit-policy"), Some(format!("\"route\";q={limit};w=1").as_str()), "{path}");
    // Verdicts come from whole seconds of counts: more than the limit passed first.
    assert!(before.len() >= limit as usize, "{path}: refused after only {} requests at a {limit}/s limit", before.len());
}

#[test]
fn pageviews_family_is_limited_at_100_per_second() {
    assert_limited("/metrics/pageviews/aggregate/", 100, "198.51.100.21");
}

#[test]
fn edit_history_family_is_limited_at_25_per_second() {
    assert_limited("/metrics/edits/aggregate/", 25, "198.51.100.22");
}

#[test]
fn edits_per_page_is_limited_at_5_per_second() {
    assert_limited("/metrics/edits/per-page/", 5, "198.51.100.23");
}

/// Every metrics operation carries RESTBase's limit for its family (internal and external alike).
#[test]
fn every_metrics_operation_has_restbases_limit() {
    let text = std::fs::read_to_string(repo_root().join("spec/wikimedia.yaml")).unwrap();
    let spec: Value = serde_norway::from_str(&text).unwrap();
    let mut seen = 0;
    for (path, item) in spec["paths"].as_object().unwrap().iter().filter(|(p, _)| p.starts_with("/metrics/")) {
        let family = path.trim_start_matches("/metrics/");
        let expected = if family.starts_with("edits/per-page/") {
            5
        } else if family.starts_with("editors/by-country/") {
            100
        } else if ["edited-pages/", "editors/", "edits/aggregate/", "registered-users/", "bytes-difference/"].iter().any(|f| family.starts_with(f)) {
            25
        } else {
            100
        };
        let limit = &item["get"]["x-restrouter"]["rate_limit"];
        assert_eq!((limit["internal"].as_u64(), limit["external"].as_u64()), (Some(expected), Some(expected)), "{path}");
        assert!(limit.get("log_only").is_none(), "{path}: enforced, not log-only");
        seen += 1;
    }
    assert_eq!(seen, 26);
}
