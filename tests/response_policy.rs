//! What every answer carries: per-route cache-control, CORS and security headers (upstream
//! values replaced, never doubled), and the request id.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::{Reply, Response, Stack};

const PRIVATE: &str = "private, max-age=0, s-maxage=0, must-revalidate";
const STRICT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The CORS and security headers every answer has, each exactly once.
fn assert_security_headers(r: &Response) {
    for (name, value) in [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET,HEAD"),
        ("access-control-expose-headers", "etag"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "SAMEORIGIN"),
        ("referrer-policy", "origin-when-cross-origin"),
        ("x-xss-protection", "1; mode=block"),
    ] {
        assert_eq!(r.header(name), Some(value), "{name} in\n{r}");
        assert_eq!(r.header_count(name), 1, "{name} once in\n{r}");
    }
    assert!(r.header("access-control-allow-headers").is_some_and(|h| h.contains("api-user-agent")), "{r}");
    let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("no CSP in\n{r}"));
    assert_eq!(r.header("x-content-security-policy"), Some(csp));
    assert_eq!(r.header("x-webkit-csp"), Some(csp));
    assert_eq!(r.header_count("content-security-policy"), 1, "{r}");
}

#[test]
fn cache_control_follows_the_route() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth").header("cache-control", "no-store"));
    s.backend.on("/en.wikipedia.org/v1/page/summary/Earth", Reply::json(&json!({"title": "Earth"})));
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/15", Reply::json(&json!({})).header("cache-control", "no-store"));
    s.backend.on("/en.wikipedia.org/v1/data/css/mobile/base", Reply::ok("text/css", "body{}"));
    s.backend.on("/en.wikipedia.org/v1/data/css/mobile/site", Reply::ok("text/css", "p{}").header("cache-control", "public, max-age=86400"));

    let html = "s-maxage=1209600, max-age=0, must-revalidate";
    for (path, want) in [
        ("/en.wikipedia.org/v1/page/html/Earth", html), // miss
        ("/en.wikipedia.org/v1/page/html/Earth", html), // hit
        ("/en.wikipedia.org/v1/page/summary/Earth", "s-maxage=1209600, max-age=300"),
        // A pass-through route's own value replaces the back-end's.
        ("/en.wikipedia.org/v1/feed/onthisday/births/01/15", "s-maxage=300, max-age=60"),
        // No route value: the back-end's, else the private default.
        ("/en.wikipedia.org/v1/data/css/mobile/site", "public, max-age=86400"),
        ("/en.wikipedia.org/v1/data/css/mobile/base", PRIVATE),
        // Errors are never cached.
        ("/en.wikipedia.org/v1/page/html/Earth/abc", PRIVATE),
        ("/en.wikipedia.org/v1/nothing", PRIVATE),
    ] {
        let r = s.envoy.get(path);
        assert_eq!(r.header("cache-control"), Some(want), "{path}:\n{r}");
        assert_eq!(r.header_count("cache-control"), 1, "{path}:\n{r}");
    }
    // A back-end error on a route with its own cache-control is private too.
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/16", Reply::status(404).header("content-type", "text/plain").body("no feed"));
    let r = s.envoy.get("/en.wikipedia.org/v1/feed/onthisday/births/01/16");
    r.assert_problem(404, "not_found", "GET", "/en.wikipedia.org/v1/feed/onthisday/births/01/16");
    assert_eq!(r.header("cache-control"), Some(PRIVATE), "{r}");
}

#[test]
fn cors_and_security_headers_on_every_answer() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth"));
    s.backend.on("/en.wikipedia.org/v1/page/mobile-html/Earth", Reply::html("mobile"));
    s.backend.on("/en.wikipedia.org/v1/page/summary/Earth", Reply::json(&json!({})));
    // A back-end's own policy headers are replaced, not added to.
    s.backend.on(
        "/en.wikipedia.org/v1/feed/onthisday/births/01/15",
        Reply::json(&json!({})).header("access-control-allow-origin", "https://evil.example").header("content-security-policy", "default-src *").header("x-frame-options", "ALLOW"),
    );

    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth");
    assert_security_headers(&r);
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("style-src http://*.wikipedia.org https://*.wikipedia.org"), "{csp}");
    assert_security_headers(&s.envoy.get("/en.wikipedia.org/v1/page/html/Earth")); // from storage

    let r = s.envoy.get("/en.wikipedia.org/v1/page/mobile-html/Earth");
    assert_security_headers(&r);
    assert!(r.header("content-security-policy").unwrap().contains("connect-src app://*.wikipedia.org"), "{r}");

    for path in ["/en.wikipedia.org/v1/page/summary/Earth", "/en.wikipedia.org/v1/feed/onthisday/births/01/15", "/en.wikipedia.org/v1/nothing", "/en.wikipedia.org/v1/?spec"] {
        let r = s.envoy.get(path);
        assert_security_headers(&r);
        assert_eq!(r.header("content-security-policy"), Some(STRICT_CSP), "{path}:\n{r}");
    }

    // CORS preflight is answered by the router.
    let r = s.envoy.send("OPTIONS", "/en.wikipedia.org/v1/page/html/Earth", &[("origin", "https://example.org"), ("access-control-request-method", "GET")], None);
    assert_eq!(r.status, 200, "{r}");
    assert_security_headers(&r);
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/Earth"), 1);
}

#[test]
fn request_id_is_kept_or_generated() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth"));
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/15", Reply::json(&json!({})));

    // Sent: kept in the answer and passed on, on stored and pass-through routes and on errors.
    for path in ["/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v1/feed/onthisday/births/01/15"] {
        let r = s.envoy.get_with(path, &[("x-request-id", "client-chosen-id")]);
        assert_eq!(r.status, 200, "{r}");
        assert_eq!(r.header("x-request-id"), Some("client-chosen-id"), "{path}:\n{r}");
        assert_eq!(s.backend.last_any().unwrap().header("x-request-id"), Some("client-chosen-id"), "{path}");
    }
    let r = s.envoy.get_with("/en.wikipedia.org/v1/nothing", &[("x-request-id", "error-id")]);
    assert_eq!(r.header("x-request-id"), Some("error-id"), "{r}");

    // Not sent: a fresh one per request, the same one the back-end saw.
    let a = s.envoy.get("/en.wikipedia.org/v1/feed/onthisday/births/01/15");
    let id_a = a.header("x-request-id").unwrap_or_else(|| panic!("no request id:\n{a}")).to_string();
    assert_eq!(s.backend.last_any().unwrap().header("x-request-id"), Some(id_a.as_str()));
    let b = s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[("cache-control", "no-cache")]);
    let id_b = b.header("x-request-id").unwrap().to_string();
    assert_eq!(s.backend.last_any().unwrap().header("x-request-id"), Some(id_b.as_str()));
    assert!(!id_a.is_empty() && id_a != id_b && id_a != "client-chosen-id", "{id_a} / {id_b}");
}

#[test]
fn head_on_a_pass_through_route() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/15", Reply::json(&json!({"tfa": {}})));
    let get = s.envoy.get("/en.wikipedia.org/v1/feed/onthisday/births/01/15");
    let head = s.envoy.send("HEAD", "/en.wikipedia.org/v1/feed/onthisday/births/01/15", &[], None);
    assert_eq!((head.status, get.status), (200, 200), "{head}");
    assert_eq!(s.backend.last_any().unwrap().method, "HEAD");
    for name in ["content-type", "cache-control", "content-security-policy", "access-control-allow-origin"] {
        assert_eq!(head.header(name), get.header(name), "{name}: HEAD\n{head}\nGET\n{get}");
    }
    // HEAD of an error: the problem's headers, no body.
    let head = s.envoy.send("HEAD", "/en.wikipedia.org/v1/page/html/Earth/abc", &[], None);
    assert_eq!(head.status, 400, "{head}");
    assert!(head.header("content-type").is_some_and(|ct| ct.starts_with("application/problem+json")), "{head}");
}
