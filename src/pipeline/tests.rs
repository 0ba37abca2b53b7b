//! The whole pipeline against a fake host: every answer a client can get, with its status,
//! headers and body, and what the upstreams saw.

use super::fake::{serve, Answer, FakeHost, Req, Served};
use super::*;
use crate::flow::FLAG_TIMEOUT;
use crate::pipeline::ratelimit::VERDICTS_KEY;
use serde_json::json;

const PAGE: &str = "/en.wikipedia.org/v1/page/html/Earth";
const READ: &str = "storage GET /en.wikipedia.org/v1/key_value/parsoidphp/Earth";
const FETCH: &str = "parsoid GET /en.wikipedia.org/v3/page/html/Earth";
const STORE: &str = "storage PUT /en.wikipedia.org/v1/key_value/parsoidphp/Earth";
const FEED: &str = "/en.wikipedia.org/v1/feed/onthisday/births/01/15";
const FEED_UPSTREAM: &str = "wikifeeds GET /en.wikipedia.org/v1/feed/onthisday/births/01/15";
const TRANSFORM: &str = "/en.wikipedia.org/v1/transform/wikitext/to/html";
const HTML: &str = "text/html; charset=utf-8";
const PAGE_CC: &str = "s-maxage=1209600, max-age=0, must-revalidate";
const CSP_STRICT: &str = "default-src 'none'; frame-ancestors 'none'";
/// Envoy's response flag for a failed upstream connection (`UF`).
const UF: u64 = 0x20;

/// The shipped spec without page_revisions lookups: these tests are about the flow around
/// them (page_tests has the lookups).
fn setup(settings: serde_json::Value) -> (FakeHost, Rc<Filter>) {
    with_spec(without_revisions(), settings)
}

fn without_revisions() -> serde_json::Value {
    let mut spec = crate::spec::tests::shipped();
    for methods in spec["paths"].as_object_mut().unwrap().values_mut() {
        for op in methods.as_object_mut().unwrap().values_mut() {
            op["x-restrouter"].as_object_mut().unwrap().remove("revisions");
        }
    }
    spec
}

fn with_spec(spec: serde_json::Value, settings: serde_json::Value) -> (FakeHost, Rc<Filter>) {
    let h = FakeHost::default();
    let config = json!({"spec": spec, "settings": settings});
    let f = Filter::configure(&h, &serde_json::to_vec(&config).unwrap(), "restrouter".into()).unwrap();
    // The wikis' siteinfo, as if another worker had fetched it (page_tests fetch it).
    for (domain, body) in [("en.wikipedia.org", crate::pages::tests::EN), ("sr.wikipedia.org", crate::pages::tests::SR)] {
        crate::pages::SiteCache::default().put(&h, domain, body).unwrap();
    }
    (h, Rc::new(f))
}

fn stored() -> Answer {
    Answer::new(200, HTML, "stored earth").header("etag", "\"5/abc\"")
}

fn fresh() -> Answer {
    Answer::new(200, HTML, "fresh earth").header("etag", "\"6/def\"")
}

fn missing() -> Answer {
    Answer::new(404, "application/problem+json", r#"{"type":"not_found"}"#)
}

fn created() -> Answer {
    Answer::new(201, "application/json", "")
}

fn unexpected(line: &str) -> Answer {
    panic!("no upstream request expected: {line}")
}

fn post(path: &str, body: &str) -> Req<'static> {
    let path: &'static str = Box::leak(path.to_string().into_boxed_str());
    Req { method: "POST", path, headers: vec![("content-type", "application/json")], body: Some(body.as_bytes().to_vec()), source: "198.51.100.7:4000" }
}

fn assert_html_policy(s: &Served) {
    assert_eq!(s.header("access-control-allow-origin"), Some("*"), "{s:?}");
    assert_eq!(s.header("x-content-type-options"), Some("nosniff"), "{s:?}");
    let csp = s.header("content-security-policy").unwrap();
    assert!(csp.contains("style-src http://*.wikipedia.org"), "{csp}");
}

/// The filter's own replies already follow the policy: passing the filter on the way out
/// changes nothing.
fn assert_untouched(h: &FakeHost, s: &Served) {
    assert!(s.local);
    assert_eq!(h.response_edits.get(), 0, "the policy rewrote the filter's own reply: {s:?}");
}

#[test]
fn hit_streams_storage_answer_with_the_route_policy_and_no_dear_host_calls() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE).header("x-restrouter-cluster", "parsoid"), &|l| match l {
        READ => stored(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    assert_eq!(s.header("etag"), Some("\"5/abc\""));
    assert_eq!(s.header("content-type"), Some(HTML));
    assert_eq!(s.header("cache-control"), Some(PAGE_CC));
    assert_html_policy(&s);
    // A client's cluster header is replaced: the read went to storage.
    assert_eq!(s.lines(), [READ]);
    assert!(!s.local);
    assert_eq!(h.counter("restrouter.storage.hit"), 1);
    assert_eq!(h.counter("restrouter.route.getPageHtml.rq_2xx"), 1);
    // The hit path stays cheap: neither response flags nor the client address are read.
    assert_eq!((h.flag_reads.get(), h.source_reads.get()), (0, 0));
}

#[test]
fn miss_fetches_stores_emits_and_replaces_storage_answer() {
    let (h, f) = setup(json!({}));
    let req = Req::get(PAGE).header("accept-language", "de").header("x-request-id", "r1");
    let s = serve(&h, &f, req, &|l| match l {
        READ => missing(),
        FETCH => fresh(),
        STORE => created(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.header("etag"), Some("\"6/def\""));
    assert_eq!(s.header("cache-control"), Some(PAGE_CC));
    assert_html_policy(&s);
    assert!(s.local);
    assert_eq!(s.lines(), [READ, FETCH, STORE]);
    let fetch = &s.seen[1].headers;
    assert!(fetch.contains(&("x-client-ip".into(), "198.51.100.7".into())), "{fetch:?}");
    assert!(fetch.contains(&("accept-language".into(), "de".into())), "{fetch:?}");
    assert!(fetch.contains(&("x-request-id".into(), "r1".into())), "{fetch:?}");
    assert!(fetch.contains(&(":authority".into(), "en.wikipedia.org".into())), "{fetch:?}");
    let store = &s.seen[2];
    assert!(store.headers.contains(&("x-store-etag".into(), "\"6/def\"".into())));
    assert!(store.headers.contains(&("if-none-hash-match".into(), "*".into())));
    assert!(!store.headers.iter().any(|(n, _)| n == "x-client-ip"), "storage learns nothing of the client");
    assert_eq!(store.body.as_deref(), Some(b"fresh earth".as_slice()));
    assert_eq!((h.counter("restrouter.storage.miss"), h.counter("restrouter.storage.write_ok")), (1, 1));
    let events = h.enqueued.borrow();
    let changes: Vec<crate::events::Change> = serde_json::from_slice(&events[0]).unwrap();
    let change = &changes[0];
    assert_eq!(change.uris, ["//en.wikipedia.org/api/rest_v1/page/html/Earth/6", "//en.wikipedia.org/api/rest_v1/page/html/Earth"]);
    assert_eq!(change.request_id.as_deref(), Some("r1"));
    assert_eq!(h.counter("restrouter.events.queued"), 1);
}

#[test]
fn each_static_header_once_whoever_sets_it() {
    // Envoy's route sets them on a hit and on a reply in place of storage's miss; the filter's
    // reply before anything was forwarded carries them itself.
    let hit = |l: &str| match l {
        READ => stored(),
        l => unexpected(l),
    };
    let miss = |l: &str| match l {
        READ => missing(),
        FETCH => fresh(),
        STORE => created(),
        l => unexpected(l),
    };
    let nothing = |l: &str| unexpected(l);
    let upstreams: [&dyn Fn(&str) -> Answer; 3] = [&hit, &miss, &nothing];
    for (path, upstream) in [PAGE, PAGE, "/en.wikipedia.org/v1/nothing"].into_iter().zip(upstreams) {
        let (h, f) = setup(json!({}));
        let s = serve(&h, &f, Req::get(path), upstream);
        for (name, value) in crate::policy::STATIC {
            let values: Vec<&str> = s.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
            assert_eq!(values, [*value], "{name}: {s:?}");
        }
    }
}

#[test]
fn forced_rerender_is_for_internal_clients_only() {
    let (h, f) = setup(json!({}));
    let upstream = |l: &str| match l {
        READ => stored(),
        FETCH => fresh(),
        STORE => created(),
        l => unexpected(l),
    };
    let s = serve(&h, &f, Req::get(PAGE).header("cache-control", "no-cache").internal(), &upstream);
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.lines(), [FETCH, STORE], "no read first");
    assert_eq!(s.header("cache-control"), Some(PAGE_CC));
    assert_html_policy(&s);
    assert_untouched(&h, &s);
    // An external client's no-cache is a plain read, and storage never sees the no-cache.
    let s = serve(&h, &f, Req::get(PAGE).header("cache-control", "no-cache"), &upstream);
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    assert_eq!(s.lines(), [READ]);
    assert!(!s.seen[0].headers.iter().any(|(n, _)| n == "cache-control"));
}

#[test]
fn invalid_parameter_is_a_400() {
    let (h, f) = setup(json!({}));
    let uri = "/en.wikipedia.org/v1/page/html/Earth/abc";
    let s = serve(&h, &f, Req::get(uri), &unexpected);
    let p = s.problem(400, "bad_request");
    assert_eq!((p["method"].as_str(), p["uri"].as_str()), (Some("get"), Some(uri)));
    assert!(p["detail"].as_str().unwrap().contains("revision"), "{p}");
    assert_eq!(s.header("content-security-policy"), Some(CSP_STRICT));
    assert_untouched(&h, &s);
    assert_eq!(h.counter("restrouter.route.getPageHtmlRevision.rq_4xx"), 1);
}

#[test]
fn unknown_route_and_domain_are_404s() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/no/such/route"), &unexpected);
    s.problem(404, "not_found#route");
    assert_untouched(&h, &s);
    let s = serve(&h, &f, Req::get("/example.org/v1/page/html/Earth"), &unexpected);
    let p = s.problem(404, "not_found#route");
    assert_eq!(p["detail"], "Not found: /example.org/v1/page/html/Earth");
    assert_eq!(h.counter("restrouter.unrouted"), 2);
}

/// The public URL form, `https://en.wikipedia.org/api/rest_v1/...`: the wiki is the host (port
/// dropped, case folded), and everything else is as for `/en.wikipedia.org/v1/...`.
#[test]
fn host_form_is_served_as_the_domain_form() {
    let (h, f) = setup(json!({}));
    let upstream = |l: &str| match l {
        READ => missing(),
        FETCH => fresh(),
        STORE => created(),
        l => unexpected(l),
    };
    let by_domain = serve(&h, &f, Req::get(PAGE).header("x-request-id", "r1"), &upstream);
    let req = Req::get("/api/rest_v1/page/html/Earth").header(":authority", "EN.Wikipedia.org:8443").header("x-request-id", "r1");
    let by_host = serve(&h, &f, req, &upstream);
    assert_eq!((by_host.status, by_host.text()), (by_domain.status, by_domain.text()));
    assert_eq!(by_host.headers, by_domain.headers);
    assert_eq!(by_host.lines(), [READ, FETCH, STORE]);
    assert!(by_host.seen[1].headers.contains(&(":authority".into(), "en.wikipedia.org".into())), "{:?}", by_host.seen[1].headers);
    let events = h.enqueued.borrow();
    let uris = |i: usize| serde_json::from_slice::<Vec<crate::events::Change>>(&events[i]).unwrap()[0].uris.clone();
    assert_eq!(uris(1), uris(0));
    assert_eq!(h.counter("restrouter.route.getPageHtml.rq_2xx"), 2);
}

#[test]
fn host_form_errors_name_the_path_as_sent_and_unknown_hosts_have_no_route() {
    let (h, f) = setup(json!({}));
    let path = "/api/rest_v1/page/html/Earth/abc";
    let p = serve(&h, &f, Req::get(path).header(":authority", "en.wikipedia.org"), &unexpected).problem(400, "bad_request");
    assert_eq!((p["detail"].as_str(), p["uri"].as_str()), (Some("data.params.revision should be an integer"), Some(path)));
    // An unknown host names no wiki, and the answer does not name the host.
    let p = serve(&h, &f, Req::get("/api/rest_v1/page/html/Earth").header(":authority", "example.org:80"), &unexpected).problem(404, "not_found#route");
    assert_eq!(p["detail"], "Not found: /api/rest_v1/page/html/Earth");
    // Not a host name: no wiki, whatever the suffix.
    let p = serve(&h, &f, Req::get("/api/rest_v1/page/html/Earth").header(":authority", "a_b.wikipedia.org"), &unexpected).problem(404, "not_found#route");
    assert_eq!(p["detail"], "Not found: /api/rest_v1/page/html/Earth");
    // The host form is only `/api/rest_v1`.
    serve(&h, &f, Req::get("/api/v1/page/html/Earth").header(":authority", "en.wikipedia.org"), &unexpected).problem(404, "not_found#route");
    serve(&h, &f, Req::get("/api/rest_v2/page/html/Earth").header(":authority", "en.wikipedia.org"), &unexpected).problem(404, "not_found#route");
}

#[test]
fn wrong_method_is_a_405_with_allow() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req { method: "PUT", ..Req::get(PAGE) }, &unexpected);
    s.problem(405, "method_not_allowed");
    assert_eq!(s.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    assert_untouched(&h, &s);
}

#[test]
fn sys_is_forbidden_to_external_clients() {
    let (h, f) = setup(json!({}));
    let sys = "/en.wikipedia.org/sys/key_value/parsoidphp/Earth";
    serve(&h, &f, Req::get(sys), &unexpected).problem(403, "forbidden#sys");
    serve(&h, &f, Req::get(sys).internal(), &unexpected).problem(404, "not_found#route");
}

#[test]
fn over_the_rate_limit_is_a_429_with_restbase_title_and_rate_headers() {
    let (h, f) = setup(json!({}));
    let ip = "198.51.100.7".parse().unwrap();
    let key = crate::ratelimit::key("transformWikitextToHtml", "post", &ip);
    h.set_shared(VERDICTS_KEY, json!([{"key": key, "rate": 100.0, "limit": 25.0, "admit": 0.0}]).to_string().as_bytes());
    f.on_tick(&h);
    let s = serve(&h, &f, post(TRANSFORM, r#"{"wikitext":"''x''"}"#), &unexpected);
    let p = s.problem(429, "request_rate_exceeded");
    assert_eq!(p["title"], "HyperSwitch request rate limit exceeded");
    assert_eq!(s.header("retry-after"), Some("1"));
    assert_eq!(s.header("ratelimit-policy"), Some("\"route\";q=25;w=1"));
    assert_untouched(&h, &s);
    assert_eq!(h.counter("restrouter.route.transformWikitextToHtml.ratelimit_limited"), 1);
    // An upstream's 429 gets the same title.
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(FEED), &|_| Answer::new(429, "text/plain", "slow down"));
    assert_eq!(s.problem(429, "request_rate_exceeded")["title"], "HyperSwitch request rate limit exceeded");
}

#[test]
fn back_end_unavailable_is_a_502_and_counted() {
    let (h, f) = setup(json!({}));
    // Stored route: the callout's 503.
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        FETCH => Answer::envoy(503, 0, "upstream connect error"),
        l => unexpected(l),
    });
    let p = s.problem(502, "bad_gateway");
    assert_eq!(p["detail"], "The back-end service (parsoid) is unavailable");
    assert_eq!(s.lines(), [READ, FETCH], "nothing stored");
    assert_eq!(h.counter("restrouter.backend.error"), 1);
    // Pass-through: Envoy's 503 for a failed connection becomes a 502, counted alike.
    let s = serve(&h, &f, Req::get(FEED), &|l| match l {
        FEED_UPSTREAM => Answer::envoy(503, UF, "upstream connect error or disconnect/reset before headers"),
        l => unexpected(l),
    });
    let p = s.problem(502, "bad_gateway");
    assert!(p["detail"].as_str().unwrap().starts_with("upstream connect error"), "{p}");
    assert_eq!(h.counter("restrouter.backend.error"), 2);
    assert_eq!(h.counter("restrouter.route.onThisDay.rq_5xx"), 1);
    // A back-end's own 503 (no response flags) stays a 503, and is a back-end error too.
    let s = serve(&h, &f, Req::get(FEED), &|_| Answer::new(503, "text/plain", "maintenance"));
    assert_eq!(s.problem(503, "service_unavailable")["detail"], "maintenance");
    assert_eq!(h.counter("restrouter.backend.error"), 3);
    assert_eq!(h.counter("restrouter.backend.timeout"), 0);
}

#[test]
fn back_end_too_slow_is_a_504_and_counted() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        FETCH => Answer::envoy(504, 0, "upstream request timeout"),
        l => unexpected(l),
    });
    let p = s.problem(504, "gateway_timeout");
    assert_eq!(p["detail"], "The back-end service (parsoid) did not answer in time");
    assert_eq!(h.counter("restrouter.backend.timeout"), 1);
    let s = serve(&h, &f, Req::get(FEED), &|_| Answer::envoy(504, FLAG_TIMEOUT, "upstream request timeout"));
    s.problem(504, "gateway_timeout");
    assert_eq!(h.counter("restrouter.backend.timeout"), 2);
    assert_eq!(h.counter("restrouter.backend.error"), 0);
}

#[test]
fn back_end_reset_is_a_502() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        FETCH => Answer::reset(),
        l => unexpected(l),
    });
    assert_eq!(s.problem(502, "bad_gateway")["detail"], "The back-end service (parsoid) reset the connection");
    assert_eq!(h.counter("restrouter.backend.error"), 1);
    // A callout the host refuses to dispatch reads as a reset.
    h.refuse_callouts.set(true);
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        l => unexpected(l),
    });
    s.problem(502, "bad_gateway");
    assert_eq!(h.counter("restrouter.callout.dispatch_failed"), 1);
}

#[test]
fn oversize_body_is_a_413() {
    let (h, f) = setup(json!({"max_body_bytes": 100}));
    let body = format!(r#"{{"wikitext":"{}"}}"#, "x".repeat(200));
    let s = serve(&h, &f, post(TRANSFORM, &body), &unexpected);
    let p = s.problem(413, "too_large");
    assert_eq!(p["detail"], "The request body is larger than 100 bytes");
    assert_untouched(&h, &s);
    // Under the limit and valid: forwarded, body and all.
    let s = serve(&h, &f, post(TRANSFORM, r#"{"wikitext":"x"}"#), &|l| match l {
        "parsoid POST /en.wikipedia.org/v3/transform/wikitext/to/html" => Answer::new(200, HTML, "<p>x</p>"),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "<p>x</p>"));
}

#[test]
fn envoy_answering_in_place_of_the_filter_gets_the_policy() {
    // Envoy's own 413 (a body past its buffer, in the same chunk the filter refused it) replaces
    // the filter's reply: the answer that reaches the client is still a problem with the policy.
    let (h, f) = setup(json!({"max_body_bytes": 100}));
    *h.request_headers.borrow_mut() = vec![(":method".into(), "POST".into()), (":path".into(), TRANSFORM.into()), ("content-type".into(), "application/json".into())];
    let mut r = Request::new(f.clone());
    assert_eq!(r.on_request_headers(&h, false), Action::Pause);
    assert_eq!(r.on_request_body(&h, 5_000_000, false), Action::Pause);
    assert_eq!(h.reply.borrow().as_ref().map(|r| r.0), Some(413));
    *h.response_headers.borrow_mut() = vec![(":status".into(), "413".into()), ("content-type".into(), "text/plain".into()), ("content-length".into(), "17".into())];
    *h.response_body.borrow_mut() = b"Payload Too Large".to_vec();
    assert_eq!(r.on_response_headers(&h), Action::Continue);
    assert_eq!(r.on_response_body(&h, 17, true), Action::Continue);
    let headers = h.response_headers.borrow().clone();
    let s = Served { status: 413, headers, body: h.response_body.borrow().clone(), seen: Vec::new(), local: true };
    assert_eq!(s.header("content-length"), None);
    assert_eq!(s.problem(413, "too_large")["detail"], "Payload Too Large");
}

#[test]
fn storage_down_is_served_from_the_back_end_and_not_stored() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => Answer::envoy(503, UF, "upstream connect error"),
        FETCH => fresh(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.lines(), [READ, FETCH]);
    assert_eq!(h.counter("restrouter.storage.error"), 1);
    assert_eq!(h.counter("restrouter.storage.miss"), 0);
    assert_eq!(h.counter("restrouter.backend.error"), 0, "a storage failure is not the back-end's");
}

#[test]
fn storage_miss_is_judged_without_envoy_timing_headers() {
    // Envoy's headers may be suppressed: a plain 404 from storage is a miss, not a failure.
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => Answer { status: 404, ..Answer::default() },
        FETCH => fresh(),
        STORE => created(),
        l => unexpected(l),
    });
    assert_eq!(s.status, 200);
    assert_eq!(s.lines(), [READ, FETCH, STORE]);
    assert_eq!((h.counter("restrouter.storage.miss"), h.counter("restrouter.storage.error")), (1, 0));
}

#[test]
fn failed_store_still_serves_fresh_content() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        FETCH => fresh(),
        STORE => Answer::new(500, "text/plain", "disk full"),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.header("etag"), Some("\"6/def\""));
    assert_eq!(h.counter("restrouter.storage.write_error"), 1);
    assert!(h.enqueued.borrow().is_empty(), "no event for content that was not stored");
}

#[test]
fn pass_through_errors_become_problems_and_answers_get_the_policy() {
    let (h, f) = setup(json!({}));
    let css = "/en.wikipedia.org/v1/data/css/mobile/base";
    let upstream_line = "mobileapps GET /en.wikipedia.org/v1/data/css/mobile/base";
    let s = serve(&h, &f, Req::get(css), &|l| match l {
        l if l == upstream_line => Answer::new(404, "text/plain", "no such bundle\n"),
        l => unexpected(l),
    });
    let p = s.problem(404, "not_found");
    assert_eq!((p["detail"].as_str(), p["uri"].as_str()), (Some("no such bundle"), Some(css)));
    assert_eq!(s.header("content-length"), None, "the length of the body it replaced");
    assert_eq!(h.counter("restrouter.backend.error"), 0, "a 404 is an answer, not a failure");
    // Success: the route sets no cache-control, so the back-end's stands; an upstream's own
    // policy headers are replaced by the router's.
    let s = serve(&h, &f, Req::get(css), &|_| Answer::new(200, "text/css", "body{}").header("cache-control", "max-age=10").header("access-control-allow-origin", "https://evil.example"));
    assert_eq!((s.status, s.text().as_str()), (200, "body{}"));
    assert_eq!(s.header("cache-control"), Some("max-age=10"));
    assert_eq!(s.header("access-control-allow-origin"), Some("*"));
    assert_eq!(s.header("content-security-policy"), Some(CSP_STRICT));
    // The back-end learned the client's address from the filter and was addressed by domain.
    let seen = &s.seen[0].headers;
    assert!(seen.contains(&("x-client-ip".into(), "198.51.100.7".into())), "{seen:?}");
    assert!(seen.contains(&(":authority".into(), "en.wikipedia.org".into())), "{seen:?}");
}

#[test]
fn route_cache_control_wins_over_the_upstream_on_hits_and_built_replies_alike() {
    let (h, f) = setup(json!({}));
    let stored_cc = || stored().header("cache-control", "no-store");
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => stored_cc(),
        l => unexpected(l),
    });
    assert_eq!(s.header("cache-control"), Some(PAGE_CC));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        FETCH => fresh().header("cache-control", "no-store"),
        STORE => created(),
        l => unexpected(l),
    });
    assert!(s.local);
    assert_eq!(s.header("cache-control"), Some(PAGE_CC));
}

#[test]
fn spec_and_preflight_are_answered_by_the_router() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/?spec"), &unexpected);
    assert_eq!(s.status, 200);
    assert_eq!(s.header("content-type"), Some("application/json"));
    assert_eq!(s.header("cache-control"), Some(crate::policy::DEFAULT_CACHE_CONTROL));
    let doc: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
    assert!(doc["paths"].get("/page/html/{title}").is_some());
    assert_untouched(&h, &s);
    let s = serve(&h, &f, Req { method: "OPTIONS", ..Req::get(PAGE) }, &unexpected);
    assert_eq!((s.status, s.header("access-control-allow-methods")), (200, Some("GET,HEAD")));
}

#[test]
fn configuration_without_a_working_spec_is_refused() {
    let h = FakeHost::default();
    let e = Filter::configure(&h, br#"{"settings": {}}"#, "vm".into()).err().unwrap();
    assert!(e.contains("no `spec`"), "{e}");
    let e = Filter::configure(&h, br#"{"spec": {"openapi": "3.0.1", "paths": {"/x": {"get": {}}}}}"#, "vm".into()).err().unwrap();
    assert!(e.starts_with("spec: "), "{e}");
    let e = Filter::configure(&h, b"{not json", "vm".into()).err().unwrap();
    assert!(e.starts_with("configuration: "), "{e}");
}

/// Page semantics: siteinfo, title normalization, content-location, variants, negotiation.
#[path = "page_tests.rs"]
mod page;

/// Citoid's query string is the spec's (the client's is not passed on), and a client without
/// Accept-Language is sent with the wiki's language.
#[test]
fn citoid_is_asked_with_the_specs_query_and_the_wikis_language() {
    let (h, f) = setup(json!({}));
    let en = || Answer { status: 200, headers: vec![("content-type".into(), "application/json".into())], body: crate::pages::tests::EN.to_vec(), flags: 0 };
    let citoid = "citoid GET /api?format=mediawiki&search=https%3A%2F%2Fexample.org%2Fa%20b";
    let upstream = |l: &str| match l {
        "mwapi POST /w/api.php" => en(),
        l if l == citoid => Answer::new(200, "application/json; charset=utf-8", "[]"),
        l => unexpected(l),
    };
    let path = "/en.wikipedia.org/v1/data/citation/mediawiki/https%3A%2F%2Fexample.org%2Fa%20b?search=evil&format=zotero";
    let s = serve(&h, &f, Req::get(path), &upstream);
    assert_eq!(s.status, 200, "{}", s.text());
    assert_eq!(s.lines().last().copied(), Some(citoid));
    let sent = &s.seen.last().unwrap().headers;
    assert!(sent.contains(&("accept-language".into(), "en".into())), "{sent:?}");
    let s = serve(&h, &f, Req::get(path).header("accept-language", "de-AT"), &upstream);
    let sent = &s.seen.last().unwrap().headers;
    assert!(sent.contains(&("accept-language".into(), "de-AT".into())), "{sent:?}");
    assert!(!sent.iter().any(|(n, v)| n == "accept-language" && v == "en"), "{sent:?}");
}
