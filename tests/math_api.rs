//! Math formulas through Envoy, on the development back-end's mathoid: a check stores the formula
//! under its hash in wikimedia.org's storage, whichever wiki was asked; a render missing from
//! storage is made from the stored formula (every format at once, each stored) and served from
//! storage next time without mathoid.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::time::Duration;
use support::{wait_until, DevBackend, Stack};

const FORM: &str = "application/x-www-form-urlencoded";
const RENDER_CACHE: &str = "s-maxage=864000, max-age=86400";

fn stack(dev: &DevBackend) -> Stack {
    Stack::with(&[("mathoid", dev.addr())])
}

/// How many requests the development mathoid has served.
fn mathoid_calls(dev: &DevBackend) -> u64 {
    let text = support::client::get(&format!("http://{}/metrics", dev.addr())).text();
    let line = text.lines().find(|l| l.starts_with("devbackend_requests_total{service=\"mathoid\"}")).unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn check(s: &Stack, domain: &str, q: &str) -> support::client::Response {
    let body = format!("q={}", q.replace('+', "%2B").replace('=', "%3D").replace('^', "%5E").replace('\\', "%5C"));
    s.envoy.send("POST", &format!("/{domain}/v1/media/math/check/tex"), &[("content-type", FORM)], Some(body.as_bytes()))
}

#[test]
fn check_then_formula_then_renders_stored_and_served_from_storage() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let r = check(&s, "en.wikipedia.org", "E=mc^2");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!((r.header("cache-control"), r.header("content-type")), (Some("no-cache"), Some("application/json")));
    assert_eq!((r.json()["success"].as_bool(), r.json()["checked"].as_str()), (Some(true), Some("E=mc^{2}")));
    let hash = r.header("x-resource-location").unwrap().to_string();
    assert_eq!(hash.len(), 40, "a SHA-1: {hash}");
    assert_eq!(mathoid_calls(&dev), 1);

    // The formula, from storage: the checked input.
    let f = s.envoy.get(&format!("/en.wikipedia.org/v1/media/math/formula/{hash}"));
    assert_eq!(f.status, 200, "{f}");
    assert_eq!((f.json()["q"].as_str(), f.json()["type"].as_str()), (Some("E=mc^{2}"), Some("tex")));
    assert_eq!(f.header("x-resource-location"), Some(hash.as_str()));
    // Stored in wikimedia.org's store, whichever wiki asked.
    assert_eq!(s.storage.get("wikimedia.org", "mathoid_ng.input", &hash).status, 200);

    // The first render: a miss, rendered by mathoid's /complete; all formats stored.
    let svg = s.envoy.get(&format!("/en.wikipedia.org/v1/media/math/render/svg/{hash}"));
    assert_eq!(svg.status, 200, "{svg}");
    assert_eq!(svg.header("content-type"), Some("image/svg+xml; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/SVG/1.0.0\""));
    assert_eq!(svg.header("cache-control"), Some(RENDER_CACHE));
    assert!(svg.text().starts_with("<svg"), "{svg}");
    assert_eq!(mathoid_calls(&dev), 2);
    for format in ["mml", "svg", "png"] {
        assert_eq!(s.storage.get("wikimedia.org", &format!("mathoid_ng.{format}"), &hash).status, 200, "{format}");
    }
    // The other formats, and the same again: from storage, mathoid is not asked.
    let mml = s.envoy.get(&format!("/de.wikipedia.org/v1/media/math/render/mml/{hash}"));
    assert_eq!(mml.status, 200, "{mml}");
    assert!(mml.header("content-type").unwrap().starts_with("application/mathml+xml"), "{mml}");
    assert!(mml.header("x-mathoid-style").is_some_and(|s| s.contains("vertical-align")), "{mml}");
    assert_eq!(mml.header("cache-control"), Some(RENDER_CACHE));
    let png = s.envoy.get(&format!("/wikimedia.org/v1/media/math/render/png/{hash}"));
    assert_eq!(png.status, 200, "{png}");
    assert!(png.header("content-type").unwrap().starts_with("image/png"), "{png}");
    assert_eq!(png.body.get(..8), Some(b"\x89PNG\r\n\x1a\n".as_slice()), "the PNG's bytes, not JSON");
    let again = s.envoy.get(&format!("/en.wikipedia.org/v1/media/math/render/svg/{hash}"));
    assert_eq!((again.status, again.text()), (200, svg.text()));
    assert_eq!(mathoid_calls(&dev), 2, "renders came from storage");

    // The renders were purged on wikimedia.org, as RESTBase's _invalidateCache.
    let uri = format!("http://wikimedia.org/api/rest_v1/media/math/render/png/{hash}");
    assert!(wait_until(Duration::from_secs(10), || s.events_received().iter().any(|e| e["meta"]["uri"] == uri.as_str())), "{:?}", s.events_received());
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn the_same_formula_from_another_wiki_has_the_same_hash_and_is_not_checked_again() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let first = check(&s, "en.wikipedia.org", "x^2+1");
    assert_eq!(first.status, 200, "{first}");
    let hash = first.header("x-resource-location").unwrap().to_string();
    let calls = mathoid_calls(&dev);
    // As sent (found through the hash table), and as checked.
    for q in ["x^2+1", "x^{2}+1"] {
        let r = check(&s, "fr.wiktionary.org", q);
        assert_eq!((r.status, r.header("x-resource-location")), (200, Some(hash.as_str())), "{q}: {r}");
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert_eq!(r.json()["checked"], "x^{2}+1");
    }
    assert_eq!(mathoid_calls(&dev), calls, "answered from storage");
    let r = check(&s, "wikimedia.org", "x^2+1");
    assert_eq!(r.header("x-resource-location"), Some(hash.as_str()));
    // The formula too, from any wiki.
    let f = s.envoy.get(&format!("/ja.wikipedia.org/v1/media/math/formula/{hash}"));
    assert_eq!((f.status, f.json()["q"].as_str()), (200, Some("x^{2}+1")), "{f}");
}

#[test]
fn bad_tex_is_mathoids_400_and_unknown_hashes_are_404() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let r = check(&s, "en.wikipedia.org", "\\foo{x}");
    assert_eq!((r.status, r.header("content-type")), (400, Some("application/problem+json")), "{r}");
    assert_eq!(r.json()["detail"], "SyntaxError: Illegal TeX function", "{r}");
    assert!(r.header("x-resource-location").is_none());
    let r = check(&s, "en.wikipedia.org", "{x");
    assert_eq!(r.status, 400, "{r}");
    // Nothing stored for an unknown hash: no formula, no render, and mathoid is not asked.
    let calls = mathoid_calls(&dev);
    let path = "/en.wikipedia.org/v1/media/math/formula/0000000000000000000000000000000000000000";
    s.envoy.get(path).assert_problem(404, "not_found", "GET", path);
    let path = "/en.wikipedia.org/v1/media/math/render/svg/0000000000000000000000000000000000000000";
    s.envoy.get(path).assert_problem(404, "not_found", "GET", path);
    assert_eq!(mathoid_calls(&dev), calls);
    // The spec's refusals: a type or format it does not know, a check without a formula.
    let path = "/en.wikipedia.org/v1/media/math/render/gif/abc";
    s.envoy.get(path).assert_problem(400, "bad_request", "GET", path);
    let path = "/en.wikipedia.org/v1/media/math/check/latex";
    s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"q=x")).assert_problem(400, "bad_request", "POST", path);
    let path = "/en.wikipedia.org/v1/media/math/check/tex";
    s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"other=x")).assert_problem(400, "bad_request", "POST", path);
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn mathoid_down_is_a_gateway_error_and_nothing_is_stored() {
    let s = Stack::with(&[("mathoid", "127.0.0.1:1")]);
    let path = "/en.wikipedia.org/v1/media/math/check/tex";
    let r = s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"q=y"));
    assert_eq!((r.status, r.header("content-type")), (502, Some("application/problem+json")), "{r}");
    assert!(r.header("x-resource-location").is_none());
}
