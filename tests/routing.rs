//! Routing and validation through the real Envoy: the shipped routes reach the right back-end
//! path, `%2F` stays in a title, parameters and JSON bodies are checked against the spec, and
//! every routing or validation error is a RESTBase problem+json.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::{Reply, Response, Stack, EXTERNAL};

const HTML: &str = "text/html; charset=utf-8";

/// A 400 `bad_request` whose detail names `param`.
fn assert_bad_param(r: &Response, method: &str, uri: &str, param: &str) {
    let p = r.assert_problem(400, "bad_request", method, uri);
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.to_ascii_lowercase().contains(param), "detail '{detail}' does not name {param}");
}

#[test]
fn shipped_routes_reach_their_back_ends() {
    let s = Stack::start();
    // (public path, back-end path, stored in bucket)
    let stored = [
        ("/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v3/page/html/Earth", "parsoidphp"),
        ("/en.wikipedia.org/v1/page/summary/Earth", "/en.wikipedia.org/v1/page/summary/Earth", "page_summary"),
        ("/en.wikipedia.org/v1/page/mobile-html/Earth", "/en.wikipedia.org/v1/page/mobile-html/Earth", "mobile-html"),
        ("/en.wikipedia.org/v1/page/media-list/Earth", "/en.wikipedia.org/v1/page/media-list/Earth", "media-list"),
    ];
    for (public, backend, bucket) in stored {
        let body = format!("content of {backend}");
        s.backend.on(backend, Reply::ok(HTML, body.as_str()).header("etag", "\"42/abc\""));
        let r = s.envoy.get(public);
        assert_eq!(r.status, 200, "{public}: {r}");
        assert_eq!(r.text(), body, "{public}");
        assert_eq!(s.backend.count(backend), 1, "{public} → {backend}");
        let kept = s.storage.get("en.wikipedia.org", bucket, "Earth");
        assert_eq!((kept.status, kept.text()), (200, body), "{public} stored in {bucket}");
    }

    // A revision is rendered by the back-end (nothing of that revision is stored yet).
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth/123", Reply::html("rev 123").header("etag", "\"123/t\""));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth/123");
    assert_eq!((r.status, r.text().as_str()), (200, "rev 123"), "{r}");
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/Earth/123"), 1);

    // Pass-through routes.
    let passthrough = [
        ("/en.wikipedia.org/v1/feed/onthisday/births/01/15", "/en.wikipedia.org/v1/feed/onthisday/births/01/15"),
        ("/en.wikipedia.org/v1/data/css/mobile/base", "/en.wikipedia.org/v1/data/css/mobile/base"),
        ("/en.wikipedia.org/v1/data/javascript/mobile/pcs", "/en.wikipedia.org/v1/data/javascript/mobile/pcs"),
        ("/en.wikipedia.org/v1/data/i18n/pcs", "/en.wikipedia.org/v1/data/i18n/pcs"),
        ("/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth", "/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth"),
        ("/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth/123", "/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth/123"),
        ("/en.wikipedia.org/v1/page/talk/Talk:Earth", "/en.wikipedia.org/v1/page/talk/Talk%3AEarth"),
        ("/en.wikipedia.org/v1/page/talk/Talk:Earth/123", "/en.wikipedia.org/v1/page/talk/Talk%3AEarth/123"),
        ("/en.wikipedia.org/v1/feed/announcements", "/en.wikipedia.org/v1/feed/announcements"),
        ("/en.wikipedia.org/v1/feed/onthisday/all/01/15", "/en.wikipedia.org/v1/feed/onthisday/all/01/15"),
        ("/wikimedia.org/v1/feed/availability", "/wikimedia.org/v1/feed/availability"),
        (
            "/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20240101/20240131",
            "/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20240101/20240131",
        ),
    ];
    for (public, backend) in passthrough {
        s.backend.on(backend, Reply::json(&json!({ "from": backend })));
        let r = s.envoy.get(public);
        assert_eq!(r.status, 200, "{public}: {r}");
        assert_eq!(r.json()["from"], backend);
        assert_eq!(s.backend.count(backend), 1, "{public} → {backend}");
    }

    // The transform POST carries its body to Parsoid.
    let backend = "/en.wikipedia.org/v3/transform/wikitext/to/html";
    s.backend.on(backend, Reply::html("<i>hi</i>"));
    let body = br#"{"wikitext":"''hi''"}"#;
    let r = s.envoy.send("POST", "/en.wikipedia.org/v1/transform/wikitext/to/html", &[("content-type", "application/json")], Some(body));
    assert_eq!((r.status, r.text().as_str()), (200, "<i>hi</i>"), "{r}");
    let seen = s.backend.last(backend).unwrap();
    assert_eq!((seen.method.as_str(), seen.body.as_slice()), ("POST", &body[..]));
}

/// The public URL form, `https://en.wikipedia.org/api/rest_v1/...`: the wiki is the Host header,
/// and the answer is the one `/en.wikipedia.org/v1/...` gives (Envoy's edge routes leave it to
/// the filter), from the same storage.
#[test]
fn host_form_is_served_as_the_domain_form() {
    let s = Stack::start();
    let host = [("host", "en.wikipedia.org")];
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("<p>Earth</p>").header("etag", "\"42/abc\""));
    let by_domain = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth");
    assert_eq!(by_domain.status, 200, "{by_domain}");
    for r in [s.envoy.get_with("/api/rest_v1/page/html/Earth", &host), s.envoy.get_with("/api/rest_v1/page/html/Earth", &[("host", "EN.wikipedia.org:7231")])] {
        assert_eq!((r.status, r.text()), (by_domain.status, by_domain.text()), "{r}");
        for h in ["content-type", "etag", "cache-control", "content-security-policy", "access-control-allow-origin"] {
            assert_eq!(r.header(h), by_domain.header(h), "{h}");
        }
    }
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/Earth"), 1, "the host form read what the domain form stored");

    // A miss through the host form is stored under the domain.
    s.backend.on("/en.wikipedia.org/v3/page/html/Moon", Reply::html("<p>Moon</p>").header("etag", "\"7/def\""));
    let r = s.envoy.get_with("/api/rest_v1/page/html/Moon", &host);
    assert_eq!((r.status, r.text().as_str()), (200, "<p>Moon</p>"), "{r}");
    let kept = s.storage.get("en.wikipedia.org", "parsoidphp", "Moon");
    assert_eq!((kept.status, kept.text().as_str()), (200, "<p>Moon</p>"));

    // Pass-through, on another project's host.
    let backend = "/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20240101/20240131";
    s.backend.on(backend, Reply::json(&json!({ "from": backend })));
    let r = s.envoy.get_with("/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20240101/20240131", &[("host", "wikimedia.org")]);
    assert_eq!((r.status, r.json()["from"].as_str()), (200, Some(backend)), "{r}");

    // Errors name the path as the client sent it; an unknown host has no route (not named).
    let uri = "/api/rest_v1/page/html/Earth/abc";
    assert_bad_param(&s.envoy.get_with(uri, &host), "GET", uri, "revision");
    let uri = "/api/rest_v1/page/html/Earth";
    let p = s.envoy.get_with(uri, &[("host", "unknown.example.org")]).assert_problem(404, "not_found#route", "GET", uri);
    assert_eq!(p["detail"], format!("Not found: {uri}"), "{p}");

    // The document and the listings address the API as the client did.
    let r = s.envoy.get_with("/api/rest_v1/?spec", &host);
    assert_eq!((r.status, r.json()["servers"][0]["url"].as_str()), (200, Some("/api/rest_v1")), "{r}");
    // The listing names what the project's document has under /page/.
    let listing = s.envoy.get("/en.wikipedia.org/v1/page/");
    let spec = s.envoy.get("/en.wikipedia.org/v1/?spec").json();
    let mut under_page: Vec<&str> = spec["paths"].as_object().unwrap().keys().filter_map(|p| p.strip_prefix("/page/")?.split('/').next()).collect();
    under_page.sort_unstable();
    under_page.dedup();
    assert!(under_page.len() > 10, "{under_page:?}");
    assert_eq!((listing.status, listing.json()["items"].clone()), (200, json!(under_page)), "{listing}");
    let r = s.envoy.get_with("/api/rest_v1/page/", &host);
    assert_eq!((r.status, r.text()), (200, listing.text()), "{r}");
}

#[test]
fn encoded_slash_stays_in_the_title() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v3/page/html/AC%2FDC", Reply::html("band"));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/AC%2FDC");
    assert_eq!((r.status, r.text().as_str()), (200, "band"), "{r}");
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/AC%2FDC"), 1, "back-end requests: {:?}", s.backend.requests());
    // The storage key is the one title, one segment.
    let kept = s.storage.get("en.wikipedia.org", "parsoidphp", "AC%2FDC");
    assert_eq!((kept.status, kept.text().as_str()), (200, "band"), "{kept}");
    // A lower-case escape is the same title.
    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/AC%2fDC");
    assert_eq!((r.status, r.text().as_str()), (200, "band"), "{r}");
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/AC%2FDC"), 1, "served from storage");

    // Non-ASCII titles arrive percent-encoded as UTF-8.
    s.backend.on("/en.wikipedia.org/v1/page/summary/Caf%C3%A9", Reply::json(&json!({"title": "Café"})));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/summary/Caf%C3%A9");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(s.storage.get("en.wikipedia.org", "page_summary", "Caf%C3%A9").status, 200);

    // Pass-through: the article keeps its slash too.
    let aqs = "/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia/all-access/user/AC%2FDC/daily/20240101/20240131";
    s.backend.on(aqs, Reply::json(&json!({"items": []})));
    let r = s.envoy.get("/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/AC%2FDC/daily/20240101/20240131");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(s.backend.count(aqs), 1, "back-end requests: {:?}", s.backend.requests());
}

#[test]
fn path_query_and_header_parameters_are_validated() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth"));
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/15", Reply::json(&json!({})));
    let bad = [
        ("/en.wikipedia.org/v1/page/html/Earth/abc", "revision"),
        ("/en.wikipedia.org/v1/page/html/Earth/0", "revision"),
        ("/en.wikipedia.org/v1/page/html/Earth?redirect=maybe", "redirect"),
        ("/en.wikipedia.org/v1/feed/featured/2024/13/15", "mm"),
        ("/en.wikipedia.org/v1/feed/featured/24/01/15", "yyyy"),
        ("/en.wikipedia.org/v1/data/css/mobile/bogus", "type"),
        ("/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/bogus-access/user/Earth/daily/20240101/20240131", "access"),
        ("/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/robots/Earth/daily/20240101/20240131", "agent"),
        ("/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/hourly/20240101/20240131", "granularity"),
        ("/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/2024-01-01/20240131", "start"),
    ];
    for (uri, param) in bad {
        assert_bad_param(&s.envoy.get(uri), "GET", uri, param);
    }
    let long_language = "x".repeat(65);
    let uri = "/en.wikipedia.org/v1/page/html/Earth";
    assert_bad_param(&s.envoy.get_with(uri, &[("accept-language", &long_language)]), "GET", uri, "accept-language");
    assert_eq!(s.backend.total(), 0, "nothing invalid reaches a back-end: {:?}", s.backend.requests());

    // Valid values pass, and reach the back-end.
    let r = s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth?redirect=false", &[("accept-language", "sr-ec")]);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(s.backend.last("/en.wikipedia.org/v3/page/html/Earth").unwrap().header("accept-language"), Some("sr-ec"));
    let r = s.envoy.get("/en.wikipedia.org/v1/feed/onthisday/births/01/15?lang=de");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(s.backend.last("/en.wikipedia.org/v1/feed/onthisday/births/01/15").unwrap().path, "/en.wikipedia.org/v1/feed/onthisday/births/01/15?lang=de");
}

#[test]
fn json_bodies_are_validated() {
    let s = Stack::start();
    let backend = "/en.wikipedia.org/v3/transform/wikitext/to/html";
    let uri = "/en.wikipedia.org/v1/transform/wikitext/to/html";
    s.backend.on(backend, Reply::html("ok"));
    let json_ct = [("content-type", "application/json")];
    let post = |headers: &[(&str, &str)], body: &[u8]| s.envoy.send("POST", uri, headers, Some(body));

    // Schema keywords: required, minLength, type.
    for (body, param) in [(&br#"{}"#[..], "wikitext"), (br#"{"wikitext":""}"#, "wikitext"), (br#"{"wikitext":"x","body_only":"yes"}"#, "body_only"), (br#"{"wikitext":7}"#, "wikitext")] {
        let r = post(&json_ct, body);
        assert_bad_param(&r, "POST", uri, param);
    }
    // Not JSON, no body, a media type the route does not take.
    post(&json_ct, b"{\"wikitext\":").assert_problem(400, "invalid_request", "POST", uri);
    assert_bad_param(&s.envoy.send("POST", uri, &json_ct, None), "POST", uri, "body");
    post(&[("content-type", "text/plain")], b"''hi''").assert_problem(400, "invalid_request", "POST", uri);
    assert_eq!(s.backend.count(backend), 0, "invalid bodies never reach Parsoid");

    // Valid JSON and form bodies go through untouched.
    let r = post(&json_ct, br#"{"wikitext":"x","body_only":true}"#);
    assert_eq!(r.status, 200, "{r}");
    let r = post(&[("content-type", "application/x-www-form-urlencoded")], b"wikitext=%27%27hi%27%27");
    assert_eq!(r.status, 200, "{r}");
    let seen = s.backend.last(backend).unwrap();
    assert_eq!(seen.body, b"wikitext=%27%27hi%27%27");
    assert_eq!(seen.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(s.backend.count(backend), 2);
}

#[test]
fn routing_errors_are_problems() {
    let s = Stack::start();
    for uri in [
        "/en.wikipedia.org/v1/page/nothing/Earth",
        "/en.wikipedia.org/v2/page/html/Earth",
        "/en.wikipedia.org/v1/page/html",
        // Route sets: the feed is mounted for Wikipedias only, metrics for wikimedia.org only.
        "/en.wiktionary.org/v1/feed/onthisday/births/01/15",
        "/en.wikipedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20240101/20240131",
    ] {
        let p = s.envoy.get(uri).assert_problem(404, "not_found#route", "GET", uri);
        assert!(p["detail"].as_str().unwrap().contains("Not found"), "{p}");
    }
    let uri = "/unknown.example.org/v1/page/html/Earth";
    let p = s.envoy.get(uri).assert_problem(404, "not_found#route", "GET", uri);
    assert_eq!(p["detail"], format!("Not found: {uri}"), "{p}");

    let uri = "/en.wikipedia.org/v1/page/html/Earth";
    // POST saves the page (writes_api).
    for method in ["PUT", "DELETE", "PATCH"] {
        s.envoy.send(method, uri, &[("content-type", "application/json")], Some(b"{}")).assert_problem(405, "method_not_allowed", method, uri);
    }
    let uri = "/en.wikipedia.org/v1/transform/wikitext/to/html";
    s.envoy.get(uri).assert_problem(405, "method_not_allowed", "GET", uri);

    // sys is internal: forbidden from outside, and not a public route from inside either.
    let uri = "/en.wikipedia.org/sys/key_value/parsoidphp/Earth";
    s.envoy.get_with(uri, &[EXTERNAL]).assert_problem(403, "forbidden#sys", "GET", uri);
    let r = s.envoy.get(uri);
    assert_ne!(r.status, 403, "internal clients are not refused sys: {r}");
    assert_eq!(s.backend.total(), 0, "{:?}", s.backend.requests());
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 404, "nothing was written");
}
