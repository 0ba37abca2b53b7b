//! Stored routes: storage first, then the back-end; what is rendered is written back with its
//! headers, served from storage next time, re-rendered only for internal clients, and a change
//! is announced to the event service exactly when storage took new content.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::sync::{Arc, Barrier};
use std::time::Duration;
use support::{client, wait_until, Reply, Stack, EXTERNAL};

const PAGE: &str = "/en.wikipedia.org/v1/page/html/Earth";
const PARSOID: &str = "/en.wikipedia.org/v3/page/html/Earth";
const HTML: &str = "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";
const EARTH_URI: &str = "http://en.wikipedia.org/api/rest_v1/page/html/Earth";

/// Events received for `uri`, waiting (bounded) until there are at least `at_least`.
fn events_for(s: &Stack, uri: &str, at_least: usize) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    wait_until(Duration::from_secs(10), || {
        found = s.events_received().into_iter().filter(|e| e["meta"]["uri"] == uri).collect();
        found.len() >= at_least
    });
    found
}

/// Changes close together share a POST to the event service (a JSON array), and every URI
/// is delivered exactly once.
#[test]
fn the_changes_of_concurrent_misses_share_posts_and_each_uri_arrives_once() {
    const TITLES: usize = 12;
    let s = Stack::start();
    // The wiki's siteinfo first, as a running Envoy has it.
    s.envoy.get("/en.wikipedia.org/v1/page/title/Earth");
    // Every render takes as long, so the misses end together whatever the machine's speed.
    for i in 0..TITLES {
        s.backend.on(&format!("/en.wikipedia.org/v3/page/html/Page_{i}"), Reply::ok(HTML, format!("page {i}")).header("etag", &format!("\"{}/x\"", 100 + i)).delay(Duration::from_millis(500)));
    }
    let start = Arc::new(Barrier::new(TITLES));
    let clients: Vec<_> = (0..TITLES)
        .map(|i| {
            let (url, start) = (s.envoy.url(&format!("/en.wikipedia.org/v1/page/html/Page_{i}")), start.clone());
            std::thread::spawn(move || {
                start.wait();
                client::get(&url)
            })
        })
        .collect();
    for c in clients {
        let r = c.join().unwrap();
        assert_eq!(r.status, 200, "{r}");
    }
    assert_eq!(s.envoy.wait_counter("restrouter_events_sent", &[], TITLES as f64), TITLES as f64);
    let mut uris: Vec<String> = s.events_received().iter().map(|e| e["meta"]["uri"].as_str().unwrap().to_string()).collect();
    uris.sort();
    let mut expected: Vec<String> =
        (0..TITLES).flat_map(|i| [format!("http://en.wikipedia.org/api/rest_v1/page/html/Page_{i}"), format!("http://en.wikipedia.org/api/rest_v1/page/html/Page_{i}/{}", 100 + i)]).collect();
    expected.sort();
    assert_eq!(uris, expected, "each URI exactly once");
    let posts = s.events.count("/v1/events");
    assert!(posts <= TITLES / 3, "{posts} POSTs for {TITLES} changes");
    assert_eq!(s.envoy.counter("restrouter_events_dropped", &[]), 0.0);
}

#[test]
fn miss_renders_stores_and_the_next_request_is_a_hit() {
    let s = Stack::start();
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "\"100/aaa\"").header("content-language", "en"));

    // The read goes to storage through Envoy's router; the back-end is called from the response
    // phase, when Envoy no longer shows the filter the request headers.
    let first = s.envoy.get_with(PAGE, &[("x-request-id", "first-render"), ("accept-language", "sr-ec")]);
    assert_eq!(first.status, 200, "{first}");
    assert_eq!(first.text(), "<p>Earth</p>");
    assert_eq!(first.header("etag"), Some("\"100/aaa\""));
    assert_eq!(first.header("content-type"), Some(HTML));
    assert_eq!(s.backend.count(PARSOID), 1);
    // The back-end call names the domain and carries the request id and client address.
    let call = s.backend.last(PARSOID).unwrap();
    assert_eq!(call.method, "GET");
    assert_eq!(call.header("host"), Some("en.wikipedia.org"));
    assert_eq!(call.header("x-request-id"), Some("first-render"));
    assert_eq!(call.header("x-client-ip"), Some("127.0.0.1"));
    assert_eq!(call.header("accept-language"), Some("sr-ec"));

    // Written with its headers (x-store-*).
    let kept = s.storage.get("en.wikipedia.org", "parsoidphp", "Earth");
    assert_eq!(kept.status, 200, "{kept}");
    assert_eq!(kept.text(), "<p>Earth</p>");
    assert_eq!(kept.header("etag"), Some("\"100/aaa\""));
    assert_eq!(kept.header("content-type"), Some(HTML));
    assert_eq!(kept.header("content-language"), Some("en"));

    // Served from storage: same ETag, body and type, and Parsoid is not asked again.
    let second = s.envoy.get(PAGE);
    assert_eq!(second.status, 200, "{second}");
    assert_eq!((second.text(), second.header("etag"), second.header("content-type")), (first.text(), first.header("etag"), first.header("content-type")));
    assert_eq!(s.backend.count(PARSOID), 1, "the second request is a storage hit");

    // New content announced once, to the configured stream: the revision's URI and the
    // latest, in one batch, as RESTBase sent them.
    let events = events_for(&s, EARTH_URI, 1);
    assert_eq!(events.len(), 1, "events: {:?}", s.events_received());
    let uris: Vec<_> = s.events_received().iter().map(|e| e["meta"]["uri"].clone()).collect();
    assert_eq!(uris, [format!("{EARTH_URI}/100"), EARTH_URI.to_string()], "{uris:?}");
    assert_eq!(events[0]["tags"], serde_json::json!(["restbase"]));
    assert!(events[0].get("triggered_by").is_none(), "{}", events[0]);
    let meta = &events[0]["meta"];
    assert_eq!(meta["stream"], "resource_change");
    assert_eq!(meta["domain"], "en.wikipedia.org");
    assert_eq!(meta["request_id"], "first-render");
    assert!(meta["id"].as_str().is_some_and(|id| !id.is_empty()), "{meta}");
    assert!(meta["dt"].as_str().is_some_and(|dt| dt.starts_with("20")), "{meta}");
    assert_eq!(s.events.last("/v1/events").unwrap().header("content-type"), Some("application/json"));
}

#[test]
fn stored_content_is_served_without_the_back_end() {
    let s = Stack::start();
    assert_eq!(s.storage.put("en.wikipedia.org", "parsoidphp", "Earth", HTML, "\"7/stored\"", "stored earth").status, 201);

    let r = s.envoy.get(PAGE);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!((r.text().as_str(), r.header("etag"), r.header("content-type")), ("stored earth", Some("\"7/stored\""), Some(HTML)));

    // The stored revision serves its revision route; another revision is rendered, and the
    // stored latest is left alone.
    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth/7");
    assert_eq!((r.status, r.text().as_str()), (200, "stored earth"), "{r}");
    assert_eq!(s.backend.total(), 0, "{:?}", s.backend.requests());
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth/6", Reply::ok(HTML, "older earth").header("etag", "\"6/old\""));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth/6");
    assert_eq!((r.status, r.text().as_str(), r.header("etag")), (200, "older earth", Some("\"6/old\"")), "{r}");
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").header("etag"), Some("\"7/stored\""));
    assert_eq!(s.backend.total(), 1);
}

#[test]
fn no_cache_rerenders_for_internal_clients_only() {
    let s = Stack::start();
    assert_eq!(s.storage.put("en.wikipedia.org", "parsoidphp", "Earth", HTML, "\"1/old\"", "old earth").status, 201);
    s.backend.on(PARSOID, Reply::ok(HTML, "new earth").header("etag", "\"2/new\""));
    let no_cache = ("cache-control", "no-cache");

    // From outside, no-cache is ignored: the stored copy, and no back-end call.
    let r = s.envoy.get_with(PAGE, &[no_cache, EXTERNAL]);
    assert_eq!((r.status, r.text().as_str(), r.header("etag")), (200, "old earth", Some("\"1/old\"")), "{r}");
    assert_eq!(s.backend.count(PARSOID), 0);

    // From inside, it re-renders, stores and announces the change.
    let r = s.envoy.get_with(PAGE, &[no_cache]);
    assert_eq!((r.status, r.text().as_str(), r.header("etag")), (200, "new earth", Some("\"2/new\"")), "{r}");
    assert_eq!(s.backend.count(PARSOID), 1);
    let kept = s.storage.get("en.wikipedia.org", "parsoidphp", "Earth");
    assert_eq!((kept.text().as_str(), kept.header("etag")), ("new earth", Some("\"2/new\"")));
    assert_eq!(events_for(&s, EARTH_URI, 1).len(), 1);

    // The same content again: storage answers 412, nothing is announced.
    let r = s.envoy.get_with(PAGE, &[no_cache]);
    assert_eq!((r.status, r.text().as_str()), (200, "new earth"), "{r}");
    assert_eq!(s.backend.count(PARSOID), 2);
    assert_eq!(s.envoy.wait_counter("restrouter_storage_write_unchanged", &[], 1.0), 1.0);
    // Events go out in order: once the next change has arrived, an event for the unchanged
    // re-render would have too.
    s.backend.on("/en.wikipedia.org/v3/page/html/Moon", Reply::ok(HTML, "moon"));
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/page/html/Moon").status, 200);
    assert_eq!(events_for(&s, "http://en.wikipedia.org/api/rest_v1/page/html/Moon", 1).len(), 1);
    assert_eq!(events_for(&s, EARTH_URI, 1).len(), 1, "unchanged content emits no event: {:?}", s.events_received());
}

/// change-propagation's re-render after a change it is processing: the chain goes on in the
/// events, the event that caused the re-render is not sent again (RESTBase's loop guard), a
/// transcluded page's change goes to the transclusion stream, and titles are encoded as
/// `encodeURIComponent` encodes them.
#[test]
fn rerenders_carry_change_propagations_chain_without_looping() {
    let s = Stack::start();
    let page = "/en.wikipedia.org/v1/page/html/AC%2FDC_(band)";
    s.backend.on("/en.wikipedia.org/v3/page/html/AC%2FDC_%28band%29", Reply::ok(HTML, "v1").header("etag", "\"5/a\""));
    let latest = "http://en.wikipedia.org/api/rest_v1/page/html/AC%2FDC_(band)";
    let chain = format!("mediawiki.revision-create:https://en.wikipedia.org/wiki/AC/DC_(band),resource_change:{latest}");
    let r = s.envoy.get_with(page, &[("cache-control", "no-cache"), ("x-triggered-by", &chain)]);
    assert_eq!(r.status, 200, "{r}");
    let sent = events_for(&s, &format!("{latest}/5"), 1);
    assert_eq!(sent.len(), 1, "{:?}", s.events_received());
    assert_eq!(sent[0]["triggered_by"], chain.as_str());
    assert_eq!(sent[0]["meta"]["stream"], "resource_change");
    assert!(s.events_received().iter().all(|e| e["meta"]["uri"] != latest), "the looping event was sent: {:?}", s.events_received());

    s.backend.on("/en.wikipedia.org/v3/page/html/AC%2FDC_%28band%29", Reply::ok(HTML, "v2").header("etag", "\"6/b\""));
    let chain = "change-prop.transcludes.resource-change:https://en.wikipedia.org/wiki/Template:Band";
    assert_eq!(s.envoy.get_with(page, &[("cache-control", "no-cache"), ("x-triggered-by", chain)]).status, 200);
    let sent = events_for(&s, &format!("{latest}/6"), 1);
    assert_eq!(sent[0]["meta"]["stream"], "change-prop.transcludes.resource-change", "{:?}", sent[0]);
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let s = Stack::start();
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "\"3/h\""));
    // A HEAD miss renders and stores like a GET.
    let head = s.envoy.send("HEAD", PAGE, &[], None);
    assert_eq!(head.status, 200, "{head}");
    assert_eq!(s.backend.last(PARSOID).unwrap().method, "GET");
    let get = s.envoy.get(PAGE);
    assert_eq!(get.text(), "<p>Earth</p>");
    for name in ["etag", "content-type", "content-length", "cache-control", "content-security-policy", "access-control-allow-origin"] {
        assert_eq!(head.header(name), get.header(name), "{name}: HEAD\n{head}\nGET\n{get}");
    }
    assert_eq!(s.backend.count(PARSOID), 1, "the GET was a hit after the HEAD");
}

/// The aggregated feed is stored per day, as RESTBase kept it: a past day's is served from
/// storage, today's (UTC) is asked of wikifeeds on every request, stored each time.
#[test]
fn a_past_days_feed_is_stored_and_todays_is_fetched_anew() {
    let s = Stack::start();
    const FEED: &str = "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/aggregated-feed/0.5.0\"";
    let past = "/en.wikipedia.org/v1/feed/featured/2020/01/15";
    s.backend.on(past, Reply::ok(FEED, "{\"tfa\":{\"title\":\"Past\"}}"));
    for _ in 0..2 {
        let r = s.envoy.get(past);
        assert_eq!((r.status, r.text().as_str(), r.header("content-type")), (200, "{\"tfa\":{\"title\":\"Past\"}}", Some(FEED)), "{r}");
        assert_eq!(r.header("cache-control"), Some("s-maxage=300, max-age=60"));
    }
    assert_eq!(s.backend.count(past), 1, "the second request is a storage hit");
    assert_eq!(s.storage.get("en.wikipedia.org", "feed.aggregated", "2020-01-15").text(), "{\"tfa\":{\"title\":\"Past\"}}");

    let today = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let (y, m, d) = (&today[0..4], &today[5..7], &today[8..10]);
    let current = format!("/en.wikipedia.org/v1/feed/featured/{y}/{m}/{d}");
    s.backend.on(&current, Reply::ok("application/json", "{\"mostread\":1}"));
    assert_eq!(s.envoy.get(&current).text(), "{\"mostread\":1}");
    s.backend.on(&current, Reply::ok("application/json", "{\"mostread\":2}"));
    assert_eq!(s.envoy.get(&current).text(), "{\"mostread\":2}", "today's feed is asked for again");
    assert_eq!(s.backend.count(&current), 2);
    assert_eq!(s.storage.get("en.wikipedia.org", "feed.aggregated", &format!("{y}-{m}-{d}")).text(), "{\"mostread\":2}");
}
