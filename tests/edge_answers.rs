//! Error answers at the edge, through the real Envoy: a 400, 404 or 405 to a well-formed
//! HTTP/1.1 request keeps the client's connection (a CDN would otherwise open a new one per
//! error), while malformed requests still close it.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::keepalive::Connection;
use support::Envoy;

/// A document the filter answers itself (no storage or back-end needed).
const SPEC: &str = "/en.wikipedia.org/v1/?spec";

#[test]
fn errors_keep_the_connection() {
    let envoy = Envoy::start(&[]);
    let json = [("content-type", "application/json")];
    // (method, path, headers, body, status, problem type)
    let errors: [(&str, &str, &[(&str, &str)], Option<&[u8]>, u16, &str); 6] = [
        ("GET", "/en.wikipedia.org/v1/page/html/Earth/abc", &[], None, 400, "bad_request"),
        ("POST", "/en.wikipedia.org/v1/transform/wikitext/to/html", &json, Some(b"{\"wikitext\":"), 400, "invalid_request"),
        ("POST", "/en.wikipedia.org/v1/transform/wikitext/to/html", &json, Some(b"{}"), 400, "bad_request"),
        ("GET", "/unknown.example.org/v1/page/html/Earth", &[], None, 404, "not_found"),
        ("GET", "/en.wikipedia.org/v1/page/nothing/Earth", &[], None, 404, "not_found#route"),
        ("DELETE", "/en.wikipedia.org/v1/page/html/Earth", &[], None, 405, "method_not_allowed"),
    ];
    for (method, path, headers, body, status, kind) in errors {
        let mut c = Connection::open(envoy.http_port());
        let r = c.send(method, path, headers, body);
        r.assert_problem(status, kind, method, path);
        assert_eq!(r.header("connection"), None, "{method} {path}: {r}");
        // The same connection serves the next request.
        let next = c.get(SPEC);
        assert_eq!(next.status, 200, "after {method} {path}: {next}");
        assert_eq!(next.header("connection"), None, "{next}");
        // Several errors in a row, then a success, all on the one connection.
        for _ in 0..3 {
            let r = c.send(method, path, headers, body);
            assert_eq!((r.status, r.header("connection")), (status, None), "again {method} {path}: {r}");
        }
        assert_eq!(c.get(SPEC).status, 200, "after {method} {path} again");
    }
}

#[test]
fn malformed_requests_still_close_the_connection() {
    let envoy = Envoy::start(&[]);
    // Bytes that are not HTTP, and a request whose framing is ambiguous (request smuggling):
    // the codec refuses them and nothing after them on the connection is read.
    for raw in [
        &b"GET /en.wikipedia.org/v1/?spec HTTP/1.1\r\nhost: localhost\r\nno colon here\r\n\r\n"[..],
        b"POST /en.wikipedia.org/v1/transform/wikitext/to/html HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /en.wikipedia.org/v1/?spec HTTP/1.1\r\nhost: localhost\r\nbad_name: 1\r\n\r\n",
    ] {
        let mut c = Connection::open(envoy.http_port());
        c.send_raw(raw);
        c.send_raw(format!("GET {SPEC} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes());
        let r = c.read_response(false);
        assert_eq!((r.status, r.header("connection")), (400, Some("close")), "{}: {r}", String::from_utf8_lossy(raw));
        assert!(c.closed_by_server(), "{}", String::from_utf8_lossy(raw));
    }

    // An error answered before the request body arrived: the rest of the body is not read, so
    // the connection cannot serve another request.
    let mut c = Connection::open(envoy.http_port());
    c.send_raw(b"POST /en.wikipedia.org/v1/page/html/Earth HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{");
    let r = c.read_response(false);
    assert_eq!((r.status, r.header("connection")), (405, Some("close")), "{r}");
    assert!(c.closed_by_server());
}
