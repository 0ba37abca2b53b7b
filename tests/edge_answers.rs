//! Error answers at the edge, through the real Envoy: a 400, 404 or 405 to a well-formed
//! HTTP/1.1 request keeps the client's connection (a CDN would otherwise open a new one per
//! error), while malformed requests still close it.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;
mod validate;

use support::keepalive::Connection;
use support::Envoy;

/// A document the filter answers itself (no storage or back-end needed).
const SPEC: &str = "/en.wikipedia.org/v1/?spec";

/// Method, path, headers, body, expected status, what it is.
type ErrorCase<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], Option<&'a [u8]>, u16, &'a str);

#[test]
fn errors_keep_the_connection() {
    let envoy = Envoy::start(&[]);
    let json = [("content-type", "application/json")];
    // (method, path, headers, body, status, problem type)
    let errors: [ErrorCase; 6] = [
        ("GET", "/en.wikipedia.org/v1/page/html/Earth/abc", &[], None, 400, "bad_request"),
        ("POST", "/en.wikipedia.org/v1/transform/wikitext/to/html", &json, Some(b"{\"wikitext\":"), 400, "invalid_request"),
        ("POST", "/en.wikipedia.org/v1/transform/wikitext/to/html", &json, Some(b"{}"), 400, "bad_request"),
        ("GET", "/unknown.example.org/v1/page/html/Earth", &[], None, 404, "not_found#route"),
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
    c.send_raw(b"PUT /en.wikipedia.org/v1/page/html/Earth HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{");
    let r = c.read_response(false);
    assert_eq!((r.status, r.header("connection")), (405, Some("close")), "{r}");
    assert!(c.closed_by_server());
}

/// Status, sorted headers and body of an answer.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// An answer without the headers that differ per request, headers sorted.
fn comparable(status: u16, headers: impl IntoIterator<Item = (String, String)>, body: Vec<u8>) -> Answer {
    let mut headers: Vec<(String, String)> = headers.into_iter().filter(|(n, _)| n != "date" && n != "x-request-id").collect();
    headers.sort();
    (status, headers, body)
}

/// Status, body and headers of an answer, without those that differ per request.
fn answer(envoy: &Envoy, method: &str, path: &str) -> Answer {
    let mut c = Connection::open(envoy.http_port());
    let r = c.send(method, path, &[], None);
    comparable(r.status, r.headers, r.body)
}

fn direct_responses(envoy: &Envoy) -> f64 {
    envoy.stats().lines().find_map(|l| l.strip_prefix("http.restrouter_http.rq_direct_response: ")).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// Envoy answers unknown domains, paths outside the API, unknown path prefixes of served
/// domains and methods a served path does not take itself (the filter disabled on those
/// routes), with exactly what the filter answers: same status, body and headers.
#[test]
fn envoy_answers_routing_errors_as_the_filter_does() {
    let edge = Envoy::start(&[]);
    let filter = Envoy::start(&[("edge_answers", "off")]);
    let long_domain = format!("/{}/v1/page", "a".repeat(300));
    // (method, path, answered by Envoy)
    let cases = [
        // Unknown first segments of served domains: by suffix (en.wikipedia.org) and exact
        // domain, whatever the method, with a query that parses.
        ("GET", "/en.wikipedia.org/v1/no/such/route", true),
        ("GET", "/en.wikipedia.org/v1/no", true),
        ("GET", "/en.wikipedia.org/v1/no/", true),
        ("HEAD", "/en.wikipedia.org/v1/no/such", true),
        ("OPTIONS", "/en.wikipedia.org/v1/no/such", true),
        ("DELETE", "/de.wikipedia.org/v1/nothing", true),
        ("POST", "/en.wikipedia.org/v1/no/such?x=1&y=a+b&spec", true),
        ("GET", "/en.wikipedia.org/v1/no?spec", true),
        ("GET", "/en.wikipedia.org/v1/pages/Earth", true),
        ("GET", "/en.wikipedia.org/v1/sys/x", true),
        ("GET", "/en.wikipedia.org/v1/.../x", true),
        ("GET", "/commons.wikimedia.org/v1/no/such", true),
        ("GET", "/www.wikidata.org/v1/feed/featured/2025/01/01", true),
        // Each project's own first segments: wikimedia.org has metrics and no page,
        // wikipedia has feed and no metrics, wiktionary neither.
        ("GET", "/wikimedia.org/v1/page/html/Earth", true),
        ("GET", "/en.wikipedia.org/v1/metrics/x", true),
        ("GET", "/en.wiktionary.org/v1/feed/x", true),
        // The filter's: known first segments, listings, `?spec`, empty and dot segments,
        // capitals, escapes, characters JSON escapes, a query that may not parse.
        ("GET", "/wikimedia.org/v1/metrics/x", false),
        ("GET", "/en.wikipedia.org/v1/feed/x", false),
        ("GET", "/en.wikipedia.org/v1/page/", false),
        ("GET", "/en.wikipedia.org/v1/page", false),
        ("GET", "/en.wikipedia.org/v1/page?x=1", false),
        ("GET", "/en.wikipedia.org/v1", false),
        ("GET", "/en.wikipedia.org/v1/", false),
        ("GET", "/en.wikipedia.org/v1?spec", false),
        ("GET", "/en.wikipedia.org/v1//no", false),
        ("GET", "/en.wikipedia.org/v1/no//such", false),
        ("GET", "/en.wikipedia.org/v1/./no", false),
        ("GET", "/en.wikipedia.org/v1/../no", false),
        ("GET", "/en.wikipedia.org/v1/no/../page/html/Earth", false),
        ("GET", "/en.wikipedia.org/v1/no/.", false),
        ("GET", "/EN.wikipedia.org/v1/no", false),
        ("GET", "/en.wikipedia.org/v1/no%20such", false),
        ("GET", "/en.wikipedia.org/v1/no?x=%zz", false),
        ("GET", "/en.wikipedia.org/v1/no\"such", false),
        ("GET", "/en.wikipedia.org/v1/no?x=\\", false),
        ("GET", "/", true),
        ("GET", "/favicon.ico", true),
        ("GET", "/en.wikipedia.org/", true),
        ("POST", "/en.wikipedia.org/v2/page/html/Earth?x=1", true),
        ("GET", "/en.wikipedia.org/v10/page", true),
        ("DELETE", "/nope.example.org/v1/page/html/Earth", true),
        ("HEAD", "/nope.example.org/v1?a=b", true),
        ("OPTIONS", "/wikipedia.org/v1/", true),
        ("GET", "/a.b.wikipedia.org/v1/page/html/Earth", true),
        ("GET", long_domain.as_str(), true),
        // The unknown-domain route comes first and names the served domains itself: a served
        // name inside a longer one is unknown, a served domain with a query is not.
        ("GET", "/en.wikipedia.org.example.org/v1/page/html/Earth", true),
        ("GET", "/xwikimedia.org/v1/page", true),
        ("GET", "/nope.org/v1/x?spec", true),
        ("GET", "/www.wikidata.org/v1?spec", false),
        ("GET", "/wikimedia.org/v1?x=1", false),
        ("GET", "/api/rest_v1/page/html/Earth", false),
        ("GET", "/api/rest_v1/no/such", false),
        // The filter's: served domains, sys, capitals it lower-cases, escapes it decodes,
        // characters JSON escapes.
        ("GET", "/en.wikipedia.org/v1/page/nothing/Earth", false),
        ("GET", "/en.wikipedia.org/v1/?spec", false),
        ("GET", "/wikimedia.org/v1/", false),
        ("GET", "/en.wikipedia.org/sys/key_value/x/y", false),
        ("GET", "/Nope.org/v1/x", false),
        ("GET", "/nope.org/v1/%41", false),
        ("GET", "/x/%22y", false),
        ("GET", "/x/a\"b\\c", false),
        ("GET", "//x/v1", false),
        // Methods a path's operations do not take, in any spelling the filter does not serve,
        // with a query that parses: 405 with the path's `allow`.
        ("DELETE", "/en.wikipedia.org/v1/page/html/Earth", true),
        ("PUT", "/en.wikipedia.org/v1/page/summary/Earth?redirect=false&x", true),
        ("POST", "/en.wikipedia.org/v1/page/summary/Earth", true),
        ("PATCH", "/www.wikidata.org/v1/page/html/Earth/123", true),
        ("GET", "/en.wikipedia.org/v1/transform/wikitext/to/html", true),
        ("HEAD", "/en.wikipedia.org/v1/transform/wikitext/to/html", true),
        ("DELETE", "/en.wikipedia.org/v1/data/lists/", true),
        ("PUT", "/wikimedia.org/v1/transform/list/pair/en/fr/", true),
        ("DELETE", "/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20200101/20200110", true),
        // The filter's: methods it serves, paths another template with other operations may
        // also match, a path or query it must decode.
        ("OPTIONS", "/en.wikipedia.org/v1/transform/wikitext/to/html", false),
        ("GET", "/en.wikipedia.org/v1/data/lists/setup", false),
        ("POST", "/en.wikipedia.org/v1/data/lists/7", false),
        ("PUT", "/en.wikipedia.org/v1/page/html/Earth/", false),
        ("PUT", "/en.wikipedia.org/v1/page/html/a%20b", false),
        ("PUT", "/en.wikipedia.org/v1/page/html/..", false),
        ("PUT", "/en.wikipedia.org/v1/page/html/Earth?x=%zz", false),
        ("PUT", "/EN.wikipedia.org/v1/page/html/Earth", false),
    ];
    for (method, path, by_envoy) in cases {
        let before = direct_responses(&edge);
        let got = answer(&edge, method, path);
        let want = answer(&filter, method, path);
        assert_eq!(got, want, "{method} {path}");
        assert_eq!(direct_responses(&edge) - before, if by_envoy { 1.0 } else { 0.0 }, "{method} {path} answered by Envoy: {by_envoy}");
    }
    // HTTP/1.1's codec refuses methods it does not know (lower-case ones too) before any
    // route: other spellings reach the routes over HTTP/2. (method, path, status, by Envoy)
    for (method, path, status, by_envoy) in [
        ("get", "/en.wikipedia.org/v1/transform/wikitext/to/html", 405, true),
        ("post", "/de.wikipedia.org/v1/page/summary/Earth", 405, true),
        ("head", "/en.wikipedia.org/v1/page/summary/Earth", 405, true),
        ("options", "/en.wikipedia.org/v1/page/summary/Earth", 405, true),
        ("delete", "/en.wikipedia.org/v1/page/html/Earth?redirect=false", 405, true),
        ("FOO", "/en.wikipedia.org/v1/page/html/Earth", 405, true),
        ("DELETE", "/en.wikipedia.org/v1/page/html/Earth", 405, true),
        ("delete", "/en.wikipedia.org/v1/data/lists/setup", 405, false),
        // Served: no back-end here, or the body is missing.
        ("get", "/en.wikipedia.org/v1/page/summary/Earth", 503, false),
        ("Post", "/en.wikipedia.org/v1/transform/wikitext/to/html", 400, false),
    ] {
        let before = direct_responses(&edge);
        let got = answer_h2(&edge, method, path);
        assert_eq!(got, answer_h2(&filter, method, path), "HTTP/2 {method} {path}");
        assert_eq!(got.0, status, "HTTP/2 {method} {path}");
        assert_eq!(direct_responses(&edge) - before, if by_envoy { 1.0 } else { 0.0 }, "HTTP/2 {method} {path} answered by Envoy: {by_envoy}");
    }
    assert_eq!(direct_responses(&filter), 0.0);
}

/// [`answer`] over HTTP/2 (cleartext, prior knowledge), whose codec takes any method token.
fn answer_h2(envoy: &Envoy, method: &str, path: &str) -> Answer {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", envoy.http_port())).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        let request = http::Request::builder().method(method).uri(format!("http://localhost{path}")).body(()).unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        let (parts, mut body) = response.await.unwrap().into_parts();
        let headers: Vec<(String, String)> = parts.headers.iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string())).collect();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            bytes.extend_from_slice(&chunk);
        }
        comparable(parts.status.as_u16(), headers, bytes)
    })
}

/// The edge routes stay within what Envoy accepts (RE2 program sizes), for the shipped spec
/// and a Wikimedia-sized domain list (the benchmarks' 800 extra exact domains: several regexes
/// of domains per route kind).
#[test]
fn the_edge_routes_validate() {
    validate::validate("envoy/restrouter.yaml.j2", &[]);
    validate::validate_with("envoy/restrouter.yaml.j2", &[], &["--extra-domains", "800"]);
}
