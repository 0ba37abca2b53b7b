//! Dependencies failing: storage down or hanging, back-ends down, slow, resetting or failing.
//! Every failure has a defined answer (served from the back-end, the stored copy, or a
//! problem+json 502/504), is counted, and nothing hangs (the client's timeout is bounded).

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::time::Duration;
use support::envoy::EnvoyBuilder;
use support::{Envoy, Reply, Stack, Upstream, DEAD_ADDRESS};

const PAGE: &str = "/en.wikipedia.org/v1/page/html/Earth";
const PARSOID: &str = "/en.wikipedia.org/v3/page/html/Earth";
const FEED: &str = "/en.wikipedia.org/v1/feed/onthisday/births/01/15";
const WIKIFEEDS: &str = "/en.wikipedia.org/v1/feed/onthisday/births/01/15";
const HTML: &str = "text/html; charset=utf-8";

/// Back-end calls give up after this long here.
const SHORT_TIMEOUT_MS: &str = "400";

#[test]
fn storage_down_is_served_from_the_back_end_and_not_stored() {
    let mut s = Stack::start();
    s.backend.on(PARSOID, Reply::html("fresh earth").header("etag", "\"5/x\""));
    s.storage.kill();
    for n in 1..=2 {
        let r = s.envoy.get(PAGE);
        assert_eq!((r.status, r.text().as_str()), (200, "fresh earth"), "{r}");
        assert_eq!(s.backend.count(PARSOID), n, "every request goes to the back-end while storage is down");
    }
    assert_eq!(s.envoy.wait_counter("restrouter_storage_error", &[], 2.0), 2.0);
    assert_eq!(s.envoy.counter("restrouter_storage_write_ok", &[]), 0.0);
    s.storage.restart();
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 404, "nothing was stored");
    // Back in service: stored again.
    assert_eq!(s.envoy.get(PAGE).status, 200);
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 200);
}

#[test]
fn a_failed_storage_write_still_serves_the_fresh_content() {
    // A storage service that reads (a miss) but fails every write.
    let storage = Upstream::start();
    let key = "/en.wikipedia.org/v1/key_value/parsoidphp/Earth";
    // page_revisions without an action API behind it: the page is served as without it.
    let revisions = "/en.wikipedia.org/v1/page_revisions/page/Earth";
    storage.on_method("GET", revisions, Reply::status(503).header("content-type", "application/problem+json").body(r#"{"type":"service_unavailable"}"#));
    storage.on_method("GET", key, Reply::status(404).header("content-type", "application/problem+json").body(r#"{"type":"not_found"}"#));
    storage.on_method("PUT", key, Reply::status(500).header("content-type", "application/problem+json").body(r#"{"type":"internal_error","detail":"disk full"}"#));
    let s = Stack::with(&[("storage", storage.addr().as_str())]);
    s.backend.on(PARSOID, Reply::html("fresh earth").header("etag", "\"5/x\""));
    let r = s.envoy.get(PAGE);
    assert_eq!((r.status, r.text().as_str(), r.header("etag")), (200, "fresh earth", Some("\"5/x\"")), "{r}");
    let methods: Vec<String> = storage.requests().iter().map(|q| format!("{} {}", q.method, q.path_only())).collect();
    assert_eq!(methods, [format!("GET {revisions}"), format!("GET {key}"), format!("PUT {key}")]);
    assert_eq!(storage.last(key).unwrap().body, b"fresh earth");
    assert_eq!(s.envoy.wait_counter("restrouter_storage_write_error", &[], 1.0), 1.0);
    assert_eq!(s.envoy.counter("restrouter_storage_write_ok", &[]), 0.0);
    assert_eq!(s.envoy.counter("restrouter_storage_miss", &[]), 1.0);
    assert_eq!(s.envoy.counter("restrouter_storage_error", &[]), 0.0, "a failed write is not a failed read");
    // Nothing was stored, so nothing changed: no resource_change event.
    assert_eq!(s.envoy.counter("restrouter_events_queued", &[]), 0.0);
    // The next request tries again (it is a miss again).
    assert_eq!(s.envoy.get(PAGE).text(), "fresh earth");
    assert_eq!(s.envoy.wait_counter("restrouter_storage_write_error", &[], 2.0), 2.0);
}

#[test]
fn storage_hanging_is_served_from_the_back_end() {
    // A storage service that never answers in time: the storage timeout applies, then the
    // back-end serves.
    let storage = Upstream::start();
    storage.on_any(Reply::status(404).delay(Duration::from_secs(30)));
    let backend = Upstream::start();
    backend.on(PARSOID, Reply::html("fresh earth"));
    let mwapi = support::siteinfo_upstream();
    let envoy = Envoy::builder().concurrency(1).set("storage", &storage.addr()).set("parsoid", &backend.addr()).set("mwapi", &mwapi.addr()).set("storage_timeout_ms", "300").start();
    let r = envoy.get(PAGE);
    assert_eq!((r.status, r.text().as_str()), (200, "fresh earth"), "{r}");
    assert_eq!(storage.count("/en.wikipedia.org/v1/key_value/parsoidphp/Earth"), 1);
    assert_eq!(envoy.wait_counter("restrouter_storage_error", &[], 1.0), 1.0);
}

fn backend_down() -> EnvoyBuilder {
    Envoy::builder().sets(&[("parsoid", DEAD_ADDRESS), ("mobileapps", DEAD_ADDRESS), ("wikifeeds", DEAD_ADDRESS)])
}

#[test]
fn back_end_down_is_a_502() {
    let s = Stack::with_builder(backend_down());
    s.envoy.get(PAGE).assert_problem(502, "bad_gateway", "GET", PAGE);
    s.envoy.get(FEED).assert_problem(502, "bad_gateway", "GET", FEED);
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 404);
    // Counted for the stored route's callout and the pass-through route alike.
    assert_eq!(s.envoy.wait_counter("restrouter_backend_error", &[], 2.0), 2.0);
    assert_eq!(s.envoy.wait_counter("restrouter_route_rq", &[("restrouter_route", "onThisDay"), ("status_class", "5xx")], 1.0), 1.0);
}

#[test]
fn back_end_timing_out_is_a_504() {
    let s = Stack::with(&[("backend_timeout_ms", SHORT_TIMEOUT_MS)]);
    s.backend.on(PARSOID, Reply::html("too late").delay(Duration::from_secs(5)));
    s.backend.on(WIKIFEEDS, Reply::html("too late").delay(Duration::from_secs(5)));
    let p = s.envoy.get(PAGE).assert_problem(504, "gateway_timeout", "GET", PAGE);
    assert!(p["detail"].as_str().unwrap().contains("parsoid"), "{p}");
    s.envoy.get(FEED).assert_problem(504, "gateway_timeout", "GET", FEED);
    // Counted for the stored route's callout and the pass-through route alike.
    assert_eq!(s.envoy.wait_counter("restrouter_backend_timeout", &[], 2.0), 2.0);
    assert_eq!(s.envoy.counter("restrouter_backend_error", &[]), 0.0);
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 404);
}

#[test]
fn back_end_resetting_or_failing_is_a_502() {
    let s = Stack::start();
    s.backend.on(PARSOID, Reply::reset());
    s.backend.on(WIKIFEEDS, Reply::reset());
    s.envoy.get(PAGE).assert_problem(502, "bad_gateway", "GET", PAGE);
    s.envoy.get(FEED).assert_problem(502, "bad_gateway", "GET", FEED);

    // A 5xx from the back-end: 502, the back-end's words in the detail, nothing stored.
    s.backend.on(PARSOID, Reply::status(500).header("content-type", "application/json").body(r#"{"detail":"parser exploded"}"#));
    let p = s.envoy.get(PAGE).assert_problem(502, "bad_gateway", "GET", PAGE);
    assert!(p["detail"].as_str().unwrap().contains("parser exploded"), "{p}");
    // The back-end's own 404 (no such page) is passed on as a problem, and not stored.
    s.backend.on(PARSOID, Reply::status(404).header("content-type", "application/json").body(r#"{"detail":"Page not found"}"#));
    s.envoy.get(PAGE).assert_problem(404, "not_found", "GET", PAGE);
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 404);
    // Both resets (stored and pass-through) and the 5xx; the 404 is an answer, not a failure.
    assert_eq!(s.envoy.wait_counter("restrouter_backend_error", &[], 3.0), 3.0);
}

#[test]
fn forced_rerender_with_the_back_end_failing_serves_the_stored_copy() {
    let s = Stack::with(&[("backend_timeout_ms", SHORT_TIMEOUT_MS)]);
    assert_eq!(s.storage.put("en.wikipedia.org", "parsoidphp", "Earth", HTML, "\"9/kept\"", "kept earth").status, 201);
    let no_cache = [("cache-control", "no-cache")];
    for failure in [Reply::reset(), Reply::status(503).body("down"), Reply::html("late").delay(Duration::from_secs(5))] {
        s.backend.on(PARSOID, failure.clone());
        let r = s.envoy.get_with(PAGE, &no_cache);
        assert_eq!((r.status, r.text().as_str(), r.header("etag")), (200, "kept earth", Some("\"9/kept\"")), "{failure:?}:\n{r}");
    }
    assert_eq!(s.backend.count(PARSOID), 3);
    assert_eq!(s.envoy.wait_counter("restrouter_backend_served_stored_copy", &[], 3.0), 3.0);
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").text(), "kept earth");
}

#[test]
fn everything_down_still_answers() {
    let s = Stack::with_builder(backend_down().set("storage", DEAD_ADDRESS));
    s.envoy.get(PAGE).assert_problem(502, "bad_gateway", "GET", PAGE);
    let r = s.envoy.get_with(PAGE, &[("cache-control", "no-cache")]);
    r.assert_problem(502, "bad_gateway", "GET", PAGE);
    // Envoy itself is fine.
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/nothing").status, 404);
}
