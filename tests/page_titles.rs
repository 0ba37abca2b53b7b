//! Page semantics through Envoy: the wiki's siteinfo from the action API (once, shared by the
//! workers), titles sent to their normal form with a relative 301 or refused with a 400, served
//! in place for no-cache and cross-origin requests, `content-location`, language variants kept
//! out of storage, HTML profile negotiation, and the action API's failure.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{DevBackend, Reply, Stack, DEAD_ADDRESS};

const PAGE: &str = "/en.wikipedia.org/v1/page/html/Earth";
const PARSOID: &str = "/en.wikipedia.org/v3/page/html/Earth";
const HTML: &str = "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";
const REDIRECT_CC: &str = "s-maxage=1209600, max-age=0, must-revalidate";

#[test]
fn titles_are_normalized_with_the_wikis_siteinfo() {
    let s = Stack::start();
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "\"100/aaa\""));
    // RESTBase, observed: main%20Page → 301 location: Main_Page.
    for (path, location) in [
        ("/en.wikipedia.org/v1/page/html/earth", "Earth"),
        ("/en.wikipedia.org/v1/page/html/main%20Page", "Main_Page"),
        ("/en.wikipedia.org/v1/page/html/talk:earth/42?redirect=false", "../Talk%3AEarth/42?redirect=false"),
        ("/en.wikipedia.org/v1/page/summary/image:x.jpg", "File%3AX.jpg"),
    ] {
        let r = s.envoy.get(path);
        assert_eq!(r.status, 301, "{path}: {r}");
        assert_eq!(r.header("location"), Some(location), "{path}");
        assert_eq!(r.header("cache-control"), Some(REDIRECT_CC), "{path}");
        assert_eq!(r.header("content-location"), None, "{path}");
    }
    assert_eq!(s.backend.total(), 0, "a redirect asks no back-end");
    // The normal form is served, with its public URL.
    let r = s.envoy.get(PAGE);
    assert_eq!((r.status, r.text()), (200, "<p>Earth</p>".to_string()), "{r}");
    assert_eq!(r.header("content-location"), Some("https://en.wikipedia.org/api/rest_v1/page/html/Earth"));
    // One siteinfo fetch for all of it, with the wiki as Host, shared by both workers.
    assert_eq!(s.mwapi.count("/w/api.php"), 1);
    let call = s.mwapi.last("/w/api.php").unwrap();
    assert_eq!((call.method.as_str(), call.header("host")), ("POST", Some("en.wikipedia.org")));
    assert!(String::from_utf8_lossy(&call.body).contains("meta=siteinfo"));
}

#[test]
fn illegal_titles_are_400s() {
    let s = Stack::start();
    for path in ["/en.wikipedia.org/v1/page/html/a%3Cb%3E", "/en.wikipedia.org/v1/page/html/%5B%5Bx%5D%5D", "/en.wikipedia.org/v1/page/summary/a%7Cb", "/en.wikipedia.org/v1/page/html/Talk:"] {
        s.envoy.get(path).assert_problem(400, "bad_request", "GET", path);
    }
    let long = format!("/en.wikipedia.org/v1/page/html/{}", "x".repeat(256));
    s.envoy.get(&long).assert_problem(400, "bad_request", "GET", &long);
    assert_eq!(s.backend.total(), 0);
}

#[test]
fn no_cache_and_cross_origin_requests_are_served_under_the_normal_title() {
    let s = Stack::start();
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "\"100/aaa\""));
    // change-propagation's re-render of a title in another spelling: no redirect, stored
    // under the normal title, not cached.
    let r = s.envoy.get_with("/en.wikipedia.org/v1/page/html/earth", &[("cache-control", "no-cache")]);
    assert_eq!((r.status, r.header("cache-control")), (200, Some("no-cache")), "{r}");
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 200);
    // A browser's cross-origin request: CORS does not follow redirects.
    let r = s.envoy.get_with("/en.wikipedia.org/v1/page/html/earth", &[("origin", "https://example.org")]);
    assert_eq!((r.status, r.text()), (200, "<p>Earth</p>".to_string()), "{r}");
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(s.backend.count(PARSOID), 1, "the second was a storage hit");
}

#[test]
fn the_action_api_down_is_a_503_and_counted() {
    let s = Stack::with(&[("mwapi", DEAD_ADDRESS)]);
    let r = s.envoy.get(PAGE);
    let p = r.assert_problem(503, "service_unavailable#siteinfo", "GET", PAGE);
    assert_eq!(p["title"], "Site info fetch failed.");
    assert_eq!(r.header("retry-after"), Some("5"));
    assert_eq!(s.backend.total(), 0);
    assert_eq!(s.envoy.wait_counter("restrouter_mwapi_error", &[], 1.0), 1.0);
    // For siteinfo_failure_ttl_s the wiki is answered 503 at once, without asking again.
    let again = s.envoy.get(PAGE);
    again.assert_problem(503, "service_unavailable#siteinfo", "GET", PAGE);
    assert_eq!(again.header("retry-after"), Some("5"));
    // Routes without a title do not need it.
    s.backend.on("/en.wikipedia.org/v1/data/css/mobile/base", Reply::ok("text/css", "a{}"));
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/data/css/mobile/base").status, 200);
}

#[test]
fn an_action_api_error_answer_is_not_kept() {
    // Failures not remembered: the next request asks again.
    let s = Stack::with(&[("siteinfo_failure_ttl_s", "0")]);
    s.mwapi.on("/w/api.php", Reply::ok("application/json", r#"{"error":{"code":"readonly","info":"The wiki is in read-only mode."}}"#));
    s.envoy.get(PAGE).assert_problem(503, "service_unavailable#siteinfo", "GET", PAGE);
    // Fixed: the next request fetches again and is served.
    s.mwapi.on("/w/api.php", Reply::ok("application/json; charset=utf-8", support::EN_SITEINFO));
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "\"100/aaa\""));
    assert_eq!(s.envoy.get(PAGE).status, 200);
    assert_eq!(s.mwapi.count("/w/api.php"), 2);
}

#[test]
fn html_profile_negotiation() {
    let s = Stack::start();
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "W/\"100/aaa\""));
    let r = s.envoy.get(PAGE);
    // A weak ETag from the back-end goes out strong, as RESTBase's did.
    assert_eq!((r.status, r.header("etag")), (200, Some("\"100/aaa\"")), "{r}");
    let accept = |v: &str| format!("text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/{v}\"");
    assert_eq!(s.envoy.get_with(PAGE, &[("accept", &accept("2.0.0"))]).status, 200);
    // A newer major: asked of the back-end (as RESTBase retried with no-cache), which has only
    // 2.x: 406, and the stored copy stays.
    let r = s.envoy.get_with(PAGE, &[("accept", &accept("3.0.0"))]);
    r.assert_problem(406, "not_acceptable", "GET", PAGE);
    assert_eq!(s.backend.count(PARSOID), 2);
    // An older major: 406 at once (RESTBase downgraded through Parsoid).
    s.envoy.get_with(PAGE, &[("accept", &accept("1.0.0"))]).assert_problem(406, "not_acceptable", "GET", PAGE);
    assert_eq!(s.backend.count(PARSOID), 2);
    assert_eq!(s.envoy.get(PAGE).status, 200);
}

#[test]
fn language_variants_never_reach_storage() {
    let dev = DevBackend::start();
    let s = Stack::with(&[("mwapi", dev.addr())]);
    let page = "/sr.wikipedia.org/v1/page/html/Zemlja";
    let parsoid = "/sr.wikipedia.org/v3/page/html/Zemlja";
    s.backend.on(parsoid, Reply::ok(HTML, "<p>Земља</p>").header("etag", "\"7/bbb\"").header("content-language", "sr"));
    let default = s.envoy.get(page);
    assert_eq!((default.status, default.header("vary")), (200, Some("accept-language")), "{default}");
    s.backend.on(parsoid, Reply::ok(HTML, "<p>Zemlja</p>").header("etag", "\"7/bbb\"").header("content-language", "sr-el"));
    let latin = s.envoy.get_with(page, &[("accept-language", "sr-el")]);
    assert_eq!((latin.status, latin.text()), (200, "<p>Zemlja</p>".to_string()), "{latin}");
    assert_eq!(latin.header("vary"), Some("accept-language"));
    // The variant was rendered for its request alone: the default is still what is stored and
    // served.
    let again = s.envoy.get(page);
    assert_eq!(again.text(), "<p>Земља</p>");
    assert_eq!(s.storage.get("sr.wikipedia.org", "parsoidphp", "Zemlja").text(), "<p>Земља</p>");
    assert_eq!(s.backend.count(parsoid), 2);
    // en has no variants: no vary.
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "\"100/aaa\""));
    assert_eq!(s.envoy.get(PAGE).header("vary"), None);
}
