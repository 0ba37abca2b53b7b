//! Metrics in Envoy's `/stats/prometheus`: per-route requests by status class and latency,
//! storage hit/miss/error, back-end errors, unrouted requests and events.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::time::Duration;
use support::envoy::prometheus_value;
use support::{wait_until, Reply, Stack};

fn route(name: &'static str, class: &'static str) -> [(&'static str, &'static str); 2] {
    [("restrouter_route", name), ("status_class", class)]
}

#[test]
fn requests_storage_and_back_end_outcomes_are_counted() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth"));
    s.backend.on("/en.wikipedia.org/v1/page/summary/Earth", Reply::status(500).body("boom"));

    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/page/html/Earth").status, 200); // miss, stored
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/page/html/Earth").status, 200); // hit
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/page/html/Earth/abc").status, 400);
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/page/summary/Earth").status, 502); // miss, back-end error
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/page/nothing").status, 404); // the filter's (a known first segment)

    let e = &s.envoy;
    // The last request's counters land once it is logged: wait for them, then read exactly.
    e.wait_counter("restrouter_unrouted", &[], 1.0);
    e.wait_counter("restrouter_route_rq", &route("getPageSummary", "5xx"), 1.0);
    let text = e.prometheus();
    let value = |name: &str, labels: &[(&str, &str)]| prometheus_value(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} missing from\n{text}"));
    assert_eq!(value("restrouter_route_rq", &route("getPageHtml", "2xx")), 2.0);
    assert_eq!(value("restrouter_route_rq", &route("getPageHtml", "4xx")), 0.0);
    assert_eq!(value("restrouter_route_rq", &route("getPageHtmlRevision", "4xx")), 1.0);
    assert_eq!(value("restrouter_route_rq", &route("getPageSummary", "5xx")), 1.0);
    assert_eq!(value("restrouter_route_rq", &route("getPageSummary", "2xx")), 0.0);
    assert_eq!(value("restrouter_storage_hit", &[]), 1.0);
    assert_eq!(value("restrouter_storage_miss", &[]), 2.0);
    assert_eq!(value("restrouter_storage_error", &[]), 0.0);
    assert_eq!(value("restrouter_storage_write_ok", &[]), 1.0);
    assert_eq!(value("restrouter_backend_error", &[]), 1.0);
    assert_eq!(value("restrouter_unrouted", &[]), 1.0);
    assert_eq!(e.wait_counter("restrouter_events_sent", &[], 1.0), 1.0);

    // Latency histograms reach the admin endpoint on Envoy's stats flush (every 5 s).
    let labels = [("restrouter_route", "getPageHtml")];
    let flushed = wait_until(Duration::from_secs(15), || e.metric("restrouter_route_latency_ms_count", &labels).is_some_and(|v| v >= 2.0));
    assert!(flushed, "no latency samples for getPageHtml:\n{}", e.prometheus());
    assert_eq!(e.counter("restrouter_route_latency_ms_count", &[("restrouter_route", "getPageSummary")]), 1.0);
    assert!(e.metric("restrouter_route_latency_ms_bucket", &[("restrouter_route", "getPageHtml"), ("le", "+Inf")]).is_some_and(|v| v >= 2.0));
}
