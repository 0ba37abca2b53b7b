//! Hostile requests through the real Envoy: oversize paths, headers and bodies, broken
//! percent-encoding, invalid UTF-8, NUL and CR/LF, dot segments, huge numbers, deep JSON.
//! Each gets a 4xx (a problem+json from the filter, or Envoy's own answer for what never reaches
//! it), the worker VM never traps (no reload, no panic in the log), and no parameter reaches
//! beyond its own segment of the back-end path or the storage key.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::{Envoy, Reply, Stack, EXTERNAL};

const HTML: &str = "text/html; charset=utf-8";

/// Status, lower-case headers and body of an answer to raw request bytes (one request per
/// connection), for what an HTTP library refuses to send.
fn raw(envoy: &Envoy, request: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", envoy.http_port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no answer: {:?}", String::from_utf8_lossy(&out)));
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    (status, headers, out[end + 4..].to_vec())
}

fn raw_get(envoy: &Envoy, target: &[u8], extra_headers: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    req.extend_from_slice(extra_headers);
    req.extend_from_slice(b"\r\n");
    raw(envoy, &req)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn oversize_requests_are_refused() {
    let s = Stack::with(&[("max_body_bytes", "4096")]);
    s.backend.on_any(Reply::html("should not be reached"));

    // Over max_request_headers_kb (32): Envoy's codec answers 431 before any filter runs.
    let long_title = "A".repeat(40 * 1024);
    let r = s.envoy.get(&format!("/en.wikipedia.org/v1/page/html/{long_title}"));
    assert_eq!(r.status, 431, "{r}");
    let big = "x".repeat(40 * 1024);
    let r = s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[("x-padding", big.as_str())]);
    assert_eq!(r.status, 431, "{r}");
    // Under the limit, the filter decides: a title holds at most 255 bytes (MediaWiki's limit;
    // the spec's 1024 characters come first).
    let title = format!("A{}", "%C3%A9".repeat(127));
    s.backend.on(&format!("/en.wikipedia.org/v3/page/html/{title}"), Reply::html("long"));
    let r = s.envoy.get(&format!("/en.wikipedia.org/v1/page/html/{title}"));
    assert_eq!((r.status, r.text().as_str()), (200, "long"), "a 255-byte title");
    let r = s.envoy.get(&format!("/en.wikipedia.org/v1/page/html/{title}x"));
    r.assert_problem(400, "bad_request", "GET", &format!("/en.wikipedia.org/v1/page/html/{title}x"));
    let r = s.envoy.get(&format!("/en.wikipedia.org/v1/page/html/{}", "%C3%A9".repeat(1025)));
    assert_eq!(r.status, 400, "a 1025-character title");

    // A body over max_body_bytes: the filter's 413 problem, nothing forwarded.
    let uri = "/en.wikipedia.org/v1/transform/wikitext/to/html";
    let body = format!(r#"{{"wikitext":"{}"}}"#, "x".repeat(10_000));
    let r = s.envoy.send("POST", uri, &[("content-type", "application/json")], Some(body.as_bytes()));
    r.assert_problem(413, "too_large", "POST", uri);
    // Far over it, past Envoy's own per-connection buffer (1 MiB) in the same chunk: Envoy's
    // own 413 replaces the filter's, and gets the same problem body and policy.
    for size in [2_000_000, 3 << 20] {
        let body = vec![b'x'; size];
        let r = s.envoy.send("POST", uri, &[("content-type", "application/json")], Some(&body));
        r.assert_problem(413, "too_large", "POST", uri);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{r}");
    }
    assert_eq!(s.backend.total(), 1, "only the long title reached the back-end: {:?}", s.backend.requests().iter().map(|r| r.path.clone()).collect::<Vec<_>>());
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn broken_encodings_are_problems() {
    let s = Stack::start();
    s.backend.on_any(Reply::html("should not be reached"));
    let cases = [
        ("/en.wikipedia.org/v1/page/html/%zz", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/abc%", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/%ff%fe", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/%C3", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/Earth?redirect=%ff", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/Earth?x=%g1", "bad_request"),
        // Dot segments, encoded or not, never reach a back-end that would resolve them.
        ("/en.wikipedia.org/v1/page/html/%2e%2e", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/%2E", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/Earth/%2e%2e", "bad_request"),
        // Huge and signed numbers where an integer is declared.
        ("/en.wikipedia.org/v1/page/html/Earth/99999999999999999999999", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/Earth/1e3", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/Earth/0x10", "bad_request"),
        ("/en.wikipedia.org/v1/page/html/Earth/%2B1", "bad_request"),
        ("/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/99999999999999999999/20240131", "bad_request"),
        // A domain cannot smuggle a path.
        ("/en.wikipedia.org%2F..%2Fsys/v1/page/html/Earth", "not_found#route"),
    ];
    for (uri, kind) in cases {
        let status = if kind == "bad_request" { 400 } else { 404 };
        let r = s.envoy.get_with(uri, &[EXTERNAL]);
        r.assert_problem(status, kind, "GET", uri);
    }
    assert_eq!(s.backend.total(), 0, "{:?}", s.backend.requests().iter().map(|r| r.path.clone()).collect::<Vec<_>>());

    // A method the route lacks: 405 with the methods it has (RFC 9110).
    let r = s.envoy.send("DELETE", "/en.wikipedia.org/v1/page/html/Earth", &[], None);
    r.assert_problem(405, "method_not_allowed", "DELETE", "/en.wikipedia.org/v1/page/html/Earth");
    assert_eq!(r.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    let r = s.envoy.send("PUT", "/en.wikipedia.org/v1/transform/wikitext/to/html", &[], None);
    assert_eq!((r.status, r.header("allow")), (405, Some("POST, OPTIONS")));

    // Plain `..` segments: Envoy's codec leaves the path alone, the filter refuses the title.
    let (status, headers, _) = raw_get(&s.envoy, b"/en.wikipedia.org/v1/page/html/..", b"");
    assert_eq!(status, 400);
    assert_eq!(header(&headers, "content-type"), Some("application/problem+json"));
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn invalid_utf8_and_control_bytes() {
    let s = Stack::start();
    s.backend.on_any(Reply::html("fallback"));

    // Raw non-UTF-8 and control bytes in the request target: Envoy's codec refuses them itself
    // (400, the filter never runs), with a problem body like every error (its local reply
    // mapping). Should one pass, the router refuses a path that is not UTF-8 with a problem.
    let raw_cases: [(&[u8], &[u8]); 5] = [
        // A header name with characters HTTP does not allow.
        (b"/en.wikipedia.org/v1/page/html/Earth", b"ba\"d`name: x\r\n"),
        (b"/en.wikipedia.org/v1/page/html/\xff\xfe", b""),
        (b"/en.wikipedia.org/v1/page/html/Earth?x=\xc3", b""),
        (b"/en.wikipedia.org/v1/page/html/a\x01b", b""),
        (b"/en.wikipedia.org/v1/page/html/a\x00b", b""),
    ];
    for (target, headers) in raw_cases {
        let (status, h, body) = raw_get(&s.envoy, target, headers);
        let what = String::from_utf8_lossy(target);
        assert_eq!((status, header(&h, "content-type")), (400, Some("application/problem+json")), "{what}: {:?}", String::from_utf8_lossy(&body));
        let p: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{what}: {e}: {:?}", String::from_utf8_lossy(&body)));
        assert_eq!(p["type"], "https://mediawiki.org/wiki/HyperSwitch/errors/bad_request", "{what}: {p}");
        assert_eq!(p.as_object().map(|o| o.len()), Some(5), "{what}: {p}");
        assert!(["type", "title", "method", "detail", "uri"].iter().all(|f| p[f].is_string()), "{what}: {p}");
    }
    assert_eq!(s.backend.total(), 0);

    // A bare CR inside a header value: Envoy's codec drops it, so the value stays one header
    // on its way to the back-end (no header injected).
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth"));
    let (status, _, _) = raw_get(&s.envoy, b"/en.wikipedia.org/v1/page/html/Earth", b"accept-language: en\rx-evil: 1\r\n");
    assert_eq!(status, 200);
    let seen = s.backend.last("/en.wikipedia.org/v3/page/html/Earth").unwrap();
    assert!(seen.header("x-evil").is_none() && !seen.header("accept-language").unwrap_or_default().contains('\r'), "{seen:?}");

    // Non-UTF-8 header values (obs-text) pass Envoy; the filter reads them lossily, never traps.
    let (status, _, body) = raw_get(&s.envoy, b"/en.wikipedia.org/v1/page/html/Earth", b"accept-language: \xff\xfe\r\nx-client-ip: \xff\r\ncache-control: \xc3\r\n");
    assert_eq!((status, body.as_slice()), (200, &b"earth"[..]));

    // NUL and CR/LF, percent-encoded in a title: not a title (400), nothing forwarded or stored,
    // no header injected.
    let title = "A%00b%0D%0AHost:%20evil%0D%0A%0D%0AGET%20%2Fx";
    let path = format!("/en.wikipedia.org/v1/page/html/{title}");
    s.envoy.get(&path).assert_problem(400, "bad_request", "GET", &path);
    assert!(s.backend.requests().iter().all(|r| r.path_only() == "/en.wikipedia.org/v3/page/html/Earth"));
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "A%00b%0D%0AHost%3A%20evil%0D%0A%0D%0AGET%20%2Fx").status, 404);
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn parameters_stay_in_their_segment() {
    let s = Stack::start();
    // (public path, the only back-end path it may reach, storage key in parsoidphp or None)
    let cases = [
        ("/en.wikipedia.org/v1/page/html/..%2F..%2Fsys%2Fkey_value", "/en.wikipedia.org/v3/page/html/..%2F..%2Fsys%2Fkey_value", Some("..%2F..%2Fsys%2Fkey_value")),
        ("/en.wikipedia.org/v1/page/html/X%3Fy%3D1", "/en.wikipedia.org/v3/page/html/X%3Fy%3D1", Some("X%3Fy%3D1")),
        ("/en.wikipedia.org/v1/page/html/%252e%252e", "/en.wikipedia.org/v3/page/html/%252e%252e", Some("%252e%252e")),
        ("/en.wikipedia.org/v1/page/html/A%5Cb", "/en.wikipedia.org/v3/page/html/A%5Cb", Some("A%5Cb")),
        ("/en.wikipedia.org/v1/data/css/mobile/..%2F..%2Fx", "/en.wikipedia.org/v1/data/css/mobile/..%2F..%2Fx", None),
    ];
    for (public, backend, key) in cases {
        s.backend.on(backend, Reply::ok(HTML, public));
        let r = s.envoy.get(public);
        if r.status == 400 {
            // A route may refuse such a value outright: then nothing is forwarded.
            r.assert_problem(400, "bad_request", "GET", public);
            assert_eq!(s.backend.count(backend), 0);
            continue;
        }
        assert_eq!((r.status, r.text().as_str()), (200, public), "{r}");
        assert_eq!(s.backend.count(backend), 1, "{public}");
        if let Some(key) = key {
            let kept = s.storage.get("en.wikipedia.org", "parsoidphp", key);
            assert_eq!((kept.status, kept.text().as_str()), (200, public), "{public} stored under {key}");
        }
    }
    let paths: Vec<String> = s.backend.requests().iter().map(|r| r.path.clone()).collect();
    let allowed: Vec<&str> = cases.iter().map(|c| c.1).collect();
    assert!(paths.iter().all(|p| allowed.contains(&p.as_str())), "unexpected back-end paths: {paths:?}");
    // The storage service saw only its own key_value paths, one segment per key.
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn hostile_bodies_are_problems() {
    let s = Stack::start();
    s.backend.on_any(Reply::html("should not be reached"));
    let uri = "/en.wikipedia.org/v1/transform/wikitext/to/html";
    let json = [("content-type", "application/json")];
    // Deep nesting (serde_json stops at 128 levels: no stack overflow in the VM).
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let r = s.envoy.send("POST", uri, &json, Some(deep.as_bytes()));
    r.assert_problem(400, "invalid_request", "POST", uri);
    let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    let r = s.envoy.send("POST", uri, &json, Some(deep_obj.as_bytes()));
    r.assert_problem(400, "invalid_request", "POST", uri);
    // Not UTF-8, truncated, huge numbers, a NUL in a string.
    for body in [&b"\xff\xfe{"[..], br#"{"wikitext":"#, br#"{"wikitext":1e999999}"#, b"{\"wikitext\":\"a\x00b\"}"] {
        let r = s.envoy.send("POST", uri, &json, Some(body));
        assert_eq!(r.status, 400, "{:?}: {r}", String::from_utf8_lossy(body));
        assert!(r.header("content-type").unwrap_or_default().starts_with("application/problem+json"));
    }
    // A form body with broken escapes or non-UTF-8.
    let form = [("content-type", "application/x-www-form-urlencoded")];
    for body in [&b"wikitext=%zz"[..], b"wikitext=%ff", b"\xff=\xfe"] {
        let r = s.envoy.send("POST", uri, &form, Some(body));
        assert_eq!(r.status, 400, "{:?}: {r}", String::from_utf8_lossy(body));
    }
    assert_eq!(s.backend.total(), 0);
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn spoofed_identity_and_routing_headers_change_nothing() {
    let s = Stack::start();
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth"));
    let sys = "/en.wikipedia.org/sys/key_value/parsoidphp/Earth";
    // An external client claiming an internal address is still external.
    for spoof in [("x-client-ip", "127.0.0.1"), ("x-client-ip", "10.0.0.1"), ("x-forwarded-for", "10.0.0.1, 198.51.100.7")] {
        let r = s.envoy.get_with(sys, &[EXTERNAL, spoof]);
        r.assert_problem(403, "forbidden#sys", "GET", sys);
    }
    // Its no-cache is no forced re-render: the stored copy is served, the back-end not asked again.
    assert_eq!(s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[EXTERNAL]).status, 200);
    let r = s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[EXTERNAL, ("cache-control", "no-cache"), ("x-client-ip", "10.0.0.1")]);
    assert_eq!(r.status, 200);
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/Earth"), 1);
    // A client cannot pick the back-end route: its x-restrouter-cluster is removed, and an
    // unrouted path stays a 404 problem.
    for cluster in ["parsoid", "storage"] {
        let r = s.envoy.get_with("/en.wikipedia.org/v1/nope", &[EXTERNAL, ("x-restrouter-cluster", cluster)]);
        r.assert_problem(404, "not_found#route", "GET", "/en.wikipedia.org/v1/nope");
    }
    let r = s.envoy.get_with("/", &[EXTERNAL, ("x-restrouter-cluster", "parsoid")]);
    assert_eq!(r.status, 404, "{r}");
    assert!(s.backend.requests().iter().all(|r| r.header("x-restrouter-cluster").is_none()));
    assert_eq!(s.backend.total(), 1);
    // Header names with underscores are refused by Envoy (no x_client_ip aliasing).
    let r = s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[EXTERNAL, ("x_client_ip", "10.0.0.1")]);
    assert_eq!(r.status, 400, "{r}");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn only_trusted_proxies_name_the_client() {
    // Loopback is a trusted proxy here: its x-client-ip is the client, in both directions.
    let s = Stack::with(&[("trusted_proxies", "127.0.0.0/8")]);
    let sys = "/en.wikipedia.org/sys/key_value/parsoidphp/Earth";
    let r = s.envoy.get_with(sys, &[("x-client-ip", "198.51.100.9")]);
    r.assert_problem(403, "forbidden#sys", "GET", sys);
    let r = s.envoy.get_with(sys, &[("x-client-ip", "10.1.2.3")]);
    assert_ne!(r.status, 403, "{r}");
    // An external peer (by its trusted x-forwarded-for hop) is no trusted proxy.
    let r = s.envoy.get_with(sys, &[EXTERNAL, ("x-client-ip", "10.1.2.3")]);
    r.assert_problem(403, "forbidden#sys", "GET", sys);
    // The back-end hears the client the router decided on, never the client's own header.
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("earth"));
    assert_eq!(s.envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[EXTERNAL, ("x-client-ip", "10.9.9.9")]).status, 200);
    assert_eq!(s.backend.last("/en.wikipedia.org/v3/page/html/Earth").unwrap().header("x-client-ip"), Some(support::EXTERNAL_IP));
    // The admin interface listens on loopback only.
    let config = s.envoy.config();
    let admin = config.split("admin:").nth(1).unwrap().lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(admin.contains("address: 127.0.0.1"), "{admin}");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn internal_only_operations_refuse_external_clients() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(support::repo_root().join("spec/wikimedia.yaml")).unwrap();
    let mut spec: serde_json::Value = serde_norway::from_str(&text).unwrap();
    spec["paths"]["/data/css/mobile/{type}"]["get"]["x-restrouter"]["internal_only"] = serde_json::json!(true);
    let path = dir.path().join("spec.json");
    std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let s = Stack::with(&[("spec", path.to_str().unwrap())]);
    let css = "/en.wikipedia.org/v1/data/css/mobile/base";
    s.backend.on(css, Reply::ok("text/css", "body{}"));
    let r = s.envoy.get_with(css, &[EXTERNAL, ("x-client-ip", "10.0.0.1")]);
    r.assert_problem(403, "forbidden", "GET", css);
    assert_eq!(s.backend.count(css), 0);
    let r = s.envoy.get(css);
    assert_eq!((r.status, r.text().as_str()), (200, "body{}"), "{r}");
    s.envoy.assert_no_vm_trouble();
}
