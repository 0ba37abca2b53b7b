//! Parsoid's pass-through operations through Envoy, on the development back-end's Parsoid:
//! HTML to wikitext, wikitext to HTML and to lint (with and without a title and revision) and a
//! page's lint (latest and by revision), each with its content type and profile; a missing body is refused
//! before Parsoid is asked.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::envoy::Envoy;
use support::{DevBackend, Stack, Storage};

const HTML: &str = "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";
const WIKITEXT: &str = "text/plain; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/wikitext/1.0.0\"";
const LINT: &str = "application/json; charset=utf-8";

fn post(s: &Stack, path: &str, content_type: &str, body: &str) -> support::Response {
    s.envoy.send("POST", path, &[("content-type", content_type)], Some(body.as_bytes()))
}

#[test]
fn every_transform_answers_with_its_content_type() {
    let dev = DevBackend::start();
    let s = Stack::with(&[("parsoid", dev.addr()), ("mwapi", dev.addr())]);
    let html = json!({"html": "<body><h2>Part</h2><p>a &amp; <b>b</b></p></body>"}).to_string();
    let wikitext = json!({"wikitext": "a <center>b</center>"}).to_string();
    for suffix in ["", "/Earth", "/Earth/123"] {
        let path = format!("/en.wikipedia.org/v1/transform/html/to/wikitext{suffix}");
        let r = post(&s, &path, "application/json", &html);
        assert_eq!((r.status, r.header("content-type")), (200, Some(WIKITEXT)), "{path}: {r}");
        assert_eq!(r.text(), "== Part ==\na & '''b'''\n");
        let r = post(&s, &path, "application/x-www-form-urlencoded", "html=%3Cp%3Ex%3C%2Fp%3E");
        assert_eq!((r.status, r.text()), (200, "x\n".to_string()), "{path}: {r}");

        let path = format!("/en.wikipedia.org/v1/transform/wikitext/to/lint{suffix}");
        let r = post(&s, &path, "application/json", &wikitext);
        assert_eq!((r.status, r.header("content-type")), (200, Some(LINT)), "{path}: {r}");
        assert_eq!(r.json()[0]["type"], "obsolete-tag", "{path}: {r}");
        let r = post(&s, &path, "application/x-www-form-urlencoded", "wikitext=plain");
        assert_eq!((r.status, r.json()), (200, json!([])), "{path}: {r}");
    }
    for suffix in ["/Earth", "/Earth/123"] {
        let path = format!("/en.wikipedia.org/v1/transform/wikitext/to/html{suffix}");
        let r = post(&s, &path, "application/json", &json!({"wikitext": "Hello"}).to_string());
        assert_eq!((r.status, r.header("content-type")), (200, Some(HTML)), "{path}: {r}");
        assert!(r.text().contains("<p>Hello</p>"), "{path}: {r}");
    }
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn a_missing_or_invalid_body_is_a_400_before_parsoid() {
    let dev = DevBackend::start();
    let s = Stack::with(&[("parsoid", dev.addr()), ("mwapi", dev.addr())]);
    let paths = [
        "/en.wikipedia.org/v1/transform/html/to/wikitext",
        "/en.wikipedia.org/v1/transform/html/to/wikitext/Earth",
        "/en.wikipedia.org/v1/transform/html/to/wikitext/Earth/123",
        "/en.wikipedia.org/v1/transform/wikitext/to/html/Earth",
        "/en.wikipedia.org/v1/transform/wikitext/to/html/Earth/123",
        "/en.wikipedia.org/v1/transform/wikitext/to/lint",
        "/en.wikipedia.org/v1/transform/wikitext/to/lint/Earth",
        "/en.wikipedia.org/v1/transform/wikitext/to/lint/Earth/123",
    ];
    for path in paths {
        let r = s.envoy.send("POST", path, &[("content-type", "application/json")], None);
        assert_eq!(r.status, 400, "{path}: {r}");
        // The other format's field is not this operation's body.
        let other = if path.contains("/html/to/") { r#"{"wikitext":"x"}"# } else { r#"{"html":"x"}"# };
        let r = post(&s, path, "application/json", other);
        assert_eq!(r.status, 400, "{path}: {r}");
    }
    let r = post(&s, "/en.wikipedia.org/v1/transform/wikitext/to/lint/Earth/abc", "application/json", r#"{"wikitext":"x"}"#);
    assert_eq!(r.status, 400, "{r}");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn page_lint_passes_through_unstored() {
    let dev = DevBackend::start();
    let s = Stack::with(&[("parsoid", dev.addr()), ("mwapi", dev.addr())]);
    let path = "/en.wikipedia.org/v1/page/lint/Earth/123";
    for _ in 0..2 {
        let r = s.envoy.get(path);
        assert_eq!((r.status, r.header("content-type")), (200, Some(LINT)), "{r}");
        assert_eq!(r.json(), json!([]));
    }
    let r = s.envoy.get("/en.wikipedia.org/v1/page/lint/Earth/abc");
    assert_eq!(r.status, 400, "{r}");
    s.envoy.assert_no_vm_trouble();
}

/// The latest lint: Parsoid redirects its latest form to the revision, so the revision is
/// resolved from storage's page_revisions (the action API behind it) and that path asked for.
#[test]
fn latest_page_lint_is_asked_for_the_resolved_revision() {
    let dev = DevBackend::start();
    let storage = Storage::with_mwapi(Some(dev.mwapi_url()));
    let sets = [("parsoid", dev.addr()), ("mwapi", dev.addr())];
    let s = Stack::with_storage(storage, Envoy::builder().sets(&sets));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/lint/Earth");
    assert_eq!((r.status, r.header("content-type")), (200, Some(LINT)), "{r}");
    assert_eq!(r.json(), json!([]));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/lint/Missing_page");
    assert_eq!(r.status, 404, "{r}");
    s.envoy.assert_no_vm_trouble();
}

fn parsoid_requests(dev: &DevBackend) -> f64 {
    let text = support::client::get(&format!("http://{}/metrics", dev.addr())).text();
    support::envoy::prometheus_value(&text, "devbackend_requests_total", &[("service", "parsoid")]).unwrap_or(0.0)
}

/// data-parsoid is answered for the render the HTML named (its ETag's revision and tid): the
/// first request renders Parsoid's page bundle and stores it, the next is served from storage;
/// another tid is a 404 and a malformed revision a 400; after the HTML is rendered anew, its
/// render's data-parsoid replaces the stored one.
#[test]
fn data_parsoid_follows_the_html_render_and_is_stored_once() {
    let dev = DevBackend::start();
    let s = Stack::on_devbackend(&dev);
    let html = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth");
    assert_eq!(html.status, 200, "{html}");
    let etag = html.header("etag").unwrap().trim_matches('"').to_string();
    let (revision, tid) = etag.split_once('/').unwrap();
    let path = format!("/en.wikipedia.org/v1/page/data-parsoid/Earth/{revision}/{tid}");

    let before = parsoid_requests(&dev);
    let first = s.envoy.get(&path);
    assert_eq!(first.status, 200, "{first}");
    assert_eq!(first.header("content-type"), Some("application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/data-parsoid/2.1.0\""));
    assert_eq!(first.header("etag"), Some(format!("\"{etag}\"").as_str()));
    assert_eq!(first.header("cache-control"), html.header("cache-control"));
    let body = first.json();
    let ids = body["ids"].as_object().unwrap_or_else(|| panic!("{body}"));
    assert!(!ids.is_empty() && ids.keys().all(|id| html.text().contains(&format!(" id=\"{id}\""))), "{body}");
    assert_eq!(parsoid_requests(&dev), before + 1.0, "the miss asks Parsoid once");

    let second = s.envoy.get(&path);
    assert_eq!((second.status, second.json()), (200, body));
    assert_eq!(parsoid_requests(&dev), before + 1.0, "the hit is served from storage");

    let other = s.envoy.get(&format!("/en.wikipedia.org/v1/page/data-parsoid/Earth/{revision}/00000000-0000-1000-8000-000000000000"));
    assert_eq!(other.status, 404, "{other}");
    assert_eq!(parsoid_requests(&dev), before + 2.0, "Parsoid's current render is asked for");

    // The HTML rendered anew (an internal client's no-cache): its render's data-parsoid replaces
    // the stored one, then is served from storage.
    let rerendered = s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[("cache-control", "no-cache")]);
    let new_etag = rerendered.header("etag").unwrap().trim_matches('"').to_string();
    assert_ne!(new_etag, etag, "{rerendered}");
    let new_path = format!("/en.wikipedia.org/v1/page/data-parsoid/Earth/{new_etag}");
    let before = parsoid_requests(&dev);
    for _ in 0..2 {
        let r = s.envoy.get(&new_path);
        assert_eq!((r.status, r.header("etag")), (200, Some(format!("\"{new_etag}\"").as_str())), "{r}");
    }
    assert_eq!(parsoid_requests(&dev), before + 1.0);
    assert_eq!(s.envoy.get(&path).status, 404, "the older render is no longer available");
    for bad in ["abc", "0", "-1"] {
        let r = s.envoy.get(&format!("/en.wikipedia.org/v1/page/data-parsoid/Earth/{bad}/{tid}"));
        assert_eq!(r.status, 400, "{bad}: {r}");
    }
    s.envoy.assert_no_vm_trouble();
}
