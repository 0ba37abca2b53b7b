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

/// What, path, status, content-type, cache-control, CSP, and the headers besides the policy's
/// and date, server and x-request-id.
type Case<'a> = (&'a str, &'a str, u16, &'a str, &'a str, &'a str, &'a [&'a str]);

/// Every answer's whole header set, whoever built it: the policy's headers exactly once each
/// (an upstream's own copies replaced), whether Envoy's route set them on a proxied answer or
/// the filter built them into its own reply, plus only the transport's and Envoy's own.
#[test]
fn every_answer_has_exactly_the_policy_headers() {
    let mut s = Stack::with(&[("backend_timeout_ms", "300")]);
    // Back-ends that send their own values of the policy's headers, some twice.
    let rogue = |r: Reply| r.header("access-control-allow-origin", "https://evil.example").header("x-frame-options", "ALLOW").header("x-frame-options", "DENY").header("referrer-policy", "unsafe-url");
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", rogue(Reply::html("earth")));
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/15", rogue(Reply::json(&json!({}))));
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/16", rogue(Reply::status(500).header("content-type", "text/plain").body("boom")));
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/17", Reply::reset());

    let html_csp = "default-src 'none'; media-src *; img-src *; style-src http://*.wikipedia.org https://*.wikipedia.org 'unsafe-inline'; frame-ancestors 'self'";
    let html_cc = "s-maxage=1209600, max-age=0, must-revalidate";
    let stored: &[&str] = &["content-length", "content-location"];
    let problem: &[&str] = &["content-length"];
    let streamed: &[&str] = &["content-location", "transfer-encoding"];
    let cases: [Case; 9] = [
        ("a miss, answered in place of storage's 404", "/en.wikipedia.org/v1/page/html/Earth", 200, "text/html; charset=utf-8", html_cc, html_csp, stored),
        ("a storage hit", "/en.wikipedia.org/v1/page/html/Earth", 200, "text/html; charset=utf-8", html_cc, html_csp, &["content-length", "content-location", "etag", "x-envoy-upstream-service-time"]),
        (
            "a pass-through answer",
            "/en.wikipedia.org/v1/feed/onthisday/births/01/15",
            200,
            "application/json; charset=utf-8",
            "s-maxage=300, max-age=60",
            STRICT_CSP,
            &["content-length", "content-location", "x-envoy-upstream-service-time"],
        ),
        (
            "a back-end's error",
            "/en.wikipedia.org/v1/feed/onthisday/births/01/16",
            500,
            "application/problem+json",
            PRIVATE,
            STRICT_CSP,
            &["content-location", "transfer-encoding", "x-envoy-upstream-service-time"],
        ),
        ("Envoy's answer for a reset back-end", "/en.wikipedia.org/v1/feed/onthisday/births/01/17", 502, "application/problem+json", PRIVATE, STRICT_CSP, streamed),
        ("the filter's 400", "/en.wikipedia.org/v1/page/html/Earth/abc", 400, "application/problem+json", PRIVATE, STRICT_CSP, problem),
        ("the filter's 404", "/en.wikipedia.org/v1/page/nothing", 404, "application/problem+json", PRIVATE, STRICT_CSP, problem),
        ("the filter's document", "/en.wikipedia.org/v1/?spec", 200, "application/json", PRIVATE, STRICT_CSP, problem),
        ("Envoy's direct_response at the edge", "/unknown.example.org/v1/page/html/Earth", 404, "application/problem+json", PRIVATE, STRICT_CSP, problem),
    ];
    for (what, path, status, ct, cc, csp, extra) in cases {
        let r = s.envoy.get(path);
        assert_eq!(r.status, status, "{what}:\n{r}");
        assert_security_headers(&r);
        let mut want = vec![("content-type", ct), ("cache-control", cc), ("content-security-policy", csp), ("x-content-security-policy", csp), ("x-webkit-csp", csp)];
        want.push((
            "access-control-allow-headers",
            "accept, content-type, content-length, cache-control, accept-language, api-user-agent, if-match, if-modified-since, if-none-match, dnt, accept-encoding",
        ));
        for (name, value) in want {
            assert_eq!((r.header(name), r.header_count(name)), (Some(value), 1), "{what}: {name} in\n{r}");
        }
        let mut names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let mut expected = vec![
            "access-control-allow-headers",
            "access-control-allow-methods",
            "access-control-allow-origin",
            "access-control-expose-headers",
            "cache-control",
            "content-security-policy",
            "content-type",
            "date",
            "referrer-policy",
            "server",
            "x-content-security-policy",
            "x-content-type-options",
            "x-frame-options",
            "x-request-id",
            "x-webkit-csp",
            "x-xss-protection",
        ];
        expected.extend(extra);
        expected.sort_unstable();
        assert_eq!(names, expected, "{what}:\n{r}");
    }
    // Storage down: the back-end's content in place of Envoy's own 503 for storage.
    s.backend.on("/en.wikipedia.org/v3/page/html/Moon", rogue(Reply::html("moon")));
    s.storage.kill();
    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/Moon");
    assert_eq!((r.status, r.text().as_str()), (200, "moon"), "{r}");
    assert_security_headers(&r);
    let mut names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "each header once:\n{r}");
}
