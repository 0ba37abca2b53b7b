//! The apps' pass-through operations through Envoy, on the development back-end's mobileapps
//! and wikifeeds: offline resources, talk pages, JavaScript, messages, announcements,
//! on-this-day, feed availability, and the random page (a 303 built from wikifeeds' random
//! title, as RESTBase answered it); their parameters validated before any back-end is asked.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::envoy::Envoy;
use support::{DevBackend, Reply, Stack, Storage};

fn profile(kind: &str, name: &str, version: &str) -> String {
    format!("{kind}; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/{name}/{version}\"")
}

/// Envoy with storage and the back-ends all real (development) services.
fn stack(dev: &DevBackend) -> Stack {
    let storage = Storage::with_mwapi(Some(dev.mwapi_url()));
    let sets = [("mobileapps", dev.addr()), ("wikifeeds", dev.addr()), ("mwapi", dev.addr()), ("parsoid", dev.addr())];
    Stack::with_storage(storage, Envoy::builder().sets(&sets))
}

#[test]
fn every_operation_answers_with_its_content_type_and_cache_control() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let json = |name: &str, version: &str| profile("application/json", name, version);
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth", json("Mobile-HTML-Offline-Resources", "1.2.1"), None),
        ("/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth/1234", json("Mobile-HTML-Offline-Resources", "1.2.1"), None),
        ("/en.wikipedia.org/v1/page/talk/Talk:Earth", json("Talk", "0.1.1"), None),
        ("/en.wikipedia.org/v1/page/talk/Talk:Earth/42", json("Talk", "0.1.1"), None),
        ("/en.wikipedia.org/v1/data/javascript/mobile/pcs", profile("text/javascript", "JavaScript", "1.0.0"), None),
        ("/en.wikipedia.org/v1/data/javascript/mobile/pagelib", profile("text/javascript", "JavaScript", "1.0.0"), None),
        ("/en.wikipedia.org/v1/data/i18n/pcs", json("i18n", "0.0.1"), None),
        ("/en.wikipedia.org/v1/feed/announcements", json("Announcements", "0.3.0"), Some("s-maxage=86400, max-age=86400")),
        ("/en.wikipedia.org/v1/feed/onthisday/all/03/15", json("OnThisDay", "0.5.0"), Some("s-maxage=300, max-age=60")),
        ("/en.wikipedia.org/v1/feed/onthisday/births/3/15", json("OnThisDay", "0.5.0"), Some("s-maxage=300, max-age=60")),
        ("/wikimedia.org/v1/feed/availability", json("Availability", "1.0.1"), None),
        // Mounted for every project with the apps' content, not the Wikipedias alone.
        ("/en.wiktionary.org/v1/data/i18n/pcs", json("i18n", "0.0.1"), None),
    ];
    for (path, content_type, cache_control) in &cases {
        let r = s.envoy.get(path);
        assert_eq!(r.status, 200, "{path}: {r}");
        assert_eq!(r.header("content-type"), Some(content_type.as_str()), "{path}");
        if let Some(cc) = cache_control {
            assert_eq!(r.header("cache-control"), Some(*cc), "{path}");
        }
    }
    // What each answer is made of, as the back-end said it.
    let talk = s.envoy.get("/en.wikipedia.org/v1/page/talk/Talk:Earth/42").json();
    assert_eq!((talk["revision"].as_u64(), talk["topics"].as_array().map(Vec::len)), (Some(42), Some(2)));
    let onthisday = s.envoy.get("/en.wikipedia.org/v1/feed/onthisday/births/3/15").json();
    assert!(onthisday["births"][0]["year"].is_i64(), "{onthisday}");
    let resources = s.envoy.get("/de.wikipedia.org/v1/page/mobile-html-offline-resources/Erde").json();
    assert_eq!(resources[4], "https://de.wikipedia.org/api/rest_v1/data/i18n/pcs");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn random_redirects_to_a_random_titles_page_in_the_wanted_format() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let r = s.envoy.get("/en.wikipedia.org/v1/page/random/summary");
    assert_eq!(r.status, 303, "{r}");
    assert_eq!(r.header("cache-control"), Some("s-maxage=2, max-age=1"));
    assert_eq!(r.header("content-location"), None);
    let location = r.header("location").unwrap().to_string();
    let title = location.strip_prefix("../summary/").unwrap_or_else(|| panic!("location {location}"));
    assert!(!title.is_empty() && !title.contains('/'), "{location}");
    // The location, resolved against the request's path, is the title's summary.
    let summary = s.envoy.get(&format!("/en.wikipedia.org/v1/page/summary/{title}"));
    assert_eq!(summary.status, 200, "{summary}");
    assert_eq!(summary.json()["title"], title);
    // The public URL form answers the same way.
    let r = s.envoy.get_with("/api/rest_v1/page/random/title", &[("host", "en.wikipedia.org")]);
    assert_eq!(r.status, 303, "{r}");
    assert!(r.header("location").unwrap().starts_with("../title/"), "{r}");
}

#[test]
fn bad_parameters_are_400s_and_other_projects_paths_are_not_routed() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    for path in [
        "/en.wikipedia.org/v1/data/i18n/css",
        "/en.wikipedia.org/v1/data/javascript/mobile/site",
        "/en.wikipedia.org/v1/feed/onthisday/weddings/03/15",
        "/en.wikipedia.org/v1/page/random/pdf",
        "/en.wikipedia.org/v1/page/talk/Talk:Earth/0",
        "/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth/x",
    ] {
        s.envoy.get(path).assert_problem(400, "bad_request", "GET", path);
    }
    // Talk pages and the feed are the Wikipedias'; availability is wikimedia.org's.
    for path in ["/en.wiktionary.org/v1/page/talk/Talk:Earth", "/en.wikipedia.org/v1/feed/availability", "/wikimedia.org/v1/feed/announcements"] {
        s.envoy.get(path).assert_problem(404, "not_found#route", "GET", path);
    }
    // The back-end's own errors come through as problems.
    let path = "/en.wikipedia.org/v1/feed/onthisday/events/02/30";
    s.envoy.get(path).assert_problem(400, "bad_request", "GET", path);
    let path = "/en.wikipedia.org/v1/page/talk/Missing_talk";
    s.envoy.get(path).assert_problem(404, "not_found", "GET", path);
}

#[test]
fn random_without_a_title_from_wikifeeds_is_a_502_or_the_back_ends_error() {
    let s = Stack::start();
    let random = "/en.wikipedia.org/v1/page/random/title";
    s.backend.on(random, Reply::json(&serde_json::json!({"items": [{"title": "Earth"}]})));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/random/html");
    assert_eq!((r.status, r.header("location")), (303, Some("../html/Earth")), "{r}");
    let call = s.backend.last(random).unwrap();
    assert_eq!(call.header("host"), Some("en.wikipedia.org"));

    s.backend.on(random, Reply::json(&serde_json::json!({"items": []})));
    let path = "/en.wikipedia.org/v1/page/random/summary";
    s.envoy.get(path).assert_problem(502, "bad_gateway", "GET", path);
    // A back-end that answers is the answer's status; one that is unavailable is a 502.
    s.backend.on(random, Reply::status(500));
    let r = s.envoy.get(path);
    r.assert_problem(500, "server_error", "GET", path);
    assert_eq!(r.header("cache-control"), Some("private, max-age=0, s-maxage=0, must-revalidate"));
    s.backend.on(random, Reply::status(503));
    s.envoy.get(path).assert_problem(502, "bad_gateway", "GET", path);
}
