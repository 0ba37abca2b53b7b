use super::*;
use crate::client::Class;
use crate::router::{route, Target};
use crate::spec::Api;

fn api() -> Api {
    Api::compile(&crate::spec::tests::shipped()).unwrap()
}

fn flow(api: &Api, path: &str, rerender: bool) -> StoredFlow {
    let Ok(Target::Op(m)) = route(api, "GET", path, "", || Class::External) else { panic!("{path}") };
    StoredFlow::new(FlowInput {
        op: m.op,
        domain: m.domain,
        params: m.params,
        method: "GET".into(),
        uri: path.into(),
        rerender,
        bypass_storage: false,
        wanted_profile: None,
        resolved_revision: None,
        storage_cluster: "storage".into(),
        storage_timeout_ms: 1000,
        backend_timeout_ms: 5000,
    })
}

/// The upstream's own answer.
fn upstream(status: u16, headers: &[(&str, &str)], body: &str) -> Upstream {
    let h: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    Upstream { status, headers: h, body: body.as_bytes().to_vec(), failure: None }
}

/// Envoy's answer to a callout in place of the upstream (503 unreachable, 504 timed out).
fn envoy(status: u16) -> Upstream {
    Upstream::callout(status, vec![], b"upstream connect error".to_vec())
}

fn call(step: Step) -> Callout {
    match step {
        Step::Call(c) => c,
        Step::Respond(r) => panic!("expected a callout, got {r:?}"),
    }
}

/// The storage path a flow reads through Envoy's router.
fn read(begin: Begin) -> String {
    match begin {
        Begin::ReadThroughRouter(path) => path,
        Begin::Step(s) => panic!("expected a read through the router, got {s:?}"),
    }
}

fn first(begin: Begin) -> Step {
    match begin {
        Begin::Step(s) => s,
        Begin::ReadThroughRouter(p) => panic!("expected a step, got a read of {p}"),
    }
}

/// The step after a read that is not served as it is.
fn after_read(f: &mut StoredFlow, resp: Upstream) -> Step {
    f.on_read(&resp).expect("a step after the read")
}

fn reply(step: Step) -> Reply {
    match step {
        Step::Respond(r) => r,
        Step::Call(c) => panic!("expected a reply, got {c:?}"),
    }
}

const HTML: &str = "text/html; charset=utf-8";

#[test]
fn hit_is_served_from_storage() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/AC%2FDC", false);
    assert_eq!(read(f.start()), "/en.wikipedia.org/v1/key_value/parsoidphp/AC%2FDC");
    assert!(f.on_read(&upstream(200, &[("etag", "\"5/abc\""), ("content-type", HTML)], "")).is_none());
    assert_eq!(f.take_notes(), vec![Counter::StorageHit]);
    assert!(!f.content_changed());
    // The flow is over: a second answer is an internal error, not a second reply.
    assert_eq!(reply(f.on_response(upstream(200, &[], ""))).status, 500);
}

#[test]
fn miss_fetches_stores_and_reports_change() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", false);
    read(f.start());
    let c = call(after_read(&mut f, upstream(404, &[], "{}")));
    assert_eq!((c.cluster.as_str(), c.path.as_str()), ("parsoid", "/en.wikipedia.org/v3/page/html/Earth"));
    assert!(c.forward_client);
    assert_eq!(c.authority, "en.wikipedia.org");
    let put = call(f.on_response(upstream(200, &[("etag", "\"7/t1\""), ("content-type", HTML)], "<html>fresh</html>")));
    assert_eq!(put.method, "PUT");
    assert_eq!(put.path, "/en.wikipedia.org/v1/key_value/parsoidphp/Earth");
    assert_eq!(put.body.as_deref(), Some(&b"<html>fresh</html>"[..]));
    assert!(put.headers.contains(&("x-store-etag".into(), "\"7/t1\"".into())));
    assert!(put.headers.contains(&("x-store-content-type".into(), HTML.into())));
    assert!(put.headers.contains(&("if-none-hash-match".into(), "*".into())));
    let r = reply(f.on_response(upstream(201, &[], "")));
    assert_eq!(r.body, b"<html>fresh</html>");
    assert_eq!(r.header("etag"), Some("\"7/t1\""));
    assert!(f.content_changed());
    assert_eq!(f.take_notes(), vec![Counter::StorageMiss, Counter::StoreWritten]);
}

#[test]
fn unchanged_content_is_not_an_event() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", false);
    read(f.start());
    call(after_read(&mut f, upstream(404, &[], "")));
    call(f.on_response(upstream(200, &[("etag", "\"7/t1\"")], "x")));
    reply(f.on_response(upstream(412, &[], "")));
    assert!(!f.content_changed());
}

#[test]
fn storage_down_serves_from_backend_without_storing() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", false);
    read(f.start());
    let c = call(after_read(&mut f, envoy(503)));
    assert_eq!(c.cluster, "parsoid");
    let r = reply(f.on_response(upstream(200, &[("content-type", HTML)], "fresh")));
    assert_eq!(r.status, 200);
    assert_eq!(f.take_notes(), vec![Counter::StorageError]);
    // Storage reachable but broken (500) is an error too, never a miss.
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", false);
    read(f.start());
    call(after_read(&mut f, upstream(500, &[], "boom")));
    reply(f.on_response(upstream(200, &[], "fresh")));
    assert_eq!(f.take_notes(), vec![Counter::StorageError]);
}

#[test]
fn backend_failures_become_problems() {
    let api = api();
    for (resp, status, note) in [
        (envoy(504), 504, Some(Counter::BackendTimeout)),
        (envoy(503), 502, Some(Counter::BackendError)),
        (Upstream::callout(0, vec![], vec![]), 502, Some(Counter::BackendError)),
        (upstream(500, &[], "oops"), 502, Some(Counter::BackendError)),
        (upstream(404, &[], r#"{"detail":"Page or revision not found."}"#), 404, None),
    ] {
        let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", false);
        read(f.start());
        call(after_read(&mut f, upstream(404, &[], "")));
        let r = reply(f.on_response(resp));
        assert_eq!(r.status, status);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.header("cache-control"), Some(crate::policy::DEFAULT_CACHE_CONTROL));
        let notes = f.take_notes();
        assert_eq!(notes.last().copied().filter(|n| *n != Counter::StorageMiss), note);
        if status == 404 {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["detail"], "Page or revision not found.");
        }
    }
}

#[test]
fn rerender_skips_the_read_and_falls_back_to_the_stored_copy() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", true);
    let c = call(first(f.start()));
    assert_eq!(c.cluster, "parsoid");
    let c = call(f.on_response(envoy(504)));
    assert_eq!((c.cluster.as_str(), c.method), ("storage", "GET"));
    let r = reply(f.on_response(upstream(200, &[("etag", "\"1/x\"")], "old")));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"old"[..]));
    assert_eq!(f.take_notes(), vec![Counter::BackendTimeout, Counter::ServedStored]);
    // Without a stored copy the error stands.
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", true);
    call(first(f.start()));
    call(f.on_response(envoy(504)));
    assert_eq!(reply(f.on_response(upstream(404, &[], ""))).status, 504);
    // A successful re-render is stored.
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth", true);
    call(first(f.start()));
    assert_eq!(call(f.on_response(upstream(200, &[], "new"))).method, "PUT");
}

#[test]
fn another_stored_revision_is_not_served_or_replaced() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth/5", false);
    read(f.start());
    let c = call(after_read(&mut f, upstream(200, &[("etag", "\"9/abc\"")], "rev 9")));
    assert_eq!(c.path, "/en.wikipedia.org/v3/page/html/Earth/5");
    let r = reply(f.on_response(upstream(200, &[("etag", "\"5/def\"")], "rev 5")));
    assert_eq!(r.body, b"rev 5");
    // The same revision stored is a hit.
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/html/Earth/9", false);
    read(f.start());
    assert!(f.on_read(&upstream(200, &[("etag", "W/\"9/abc\"")], "rev 9")).is_none());
}

const SECTIONS: &str = r#"{"lead":{"revision":"7","sections":[{"id":0}]},"remaining":{"sections":[{"id":1}]}}"#;

#[test]
fn a_part_is_read_with_a_callout_and_answered_from_the_stored_whole() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/mobile-sections-lead/Earth", false);
    let read = call(first(f.start()));
    assert_eq!((read.method, read.path.as_str()), ("GET", "/en.wikipedia.org/v1/key_value/mobile-sections/Earth"));
    let r = reply(f.on_response(upstream(200, &[("etag", "\"7/abc\""), ("content-type", "application/json")], SECTIONS)));
    assert_eq!(r.status, 200);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(), serde_json::json!({"revision": "7", "sections": [{"id": 0}]}));
    assert_eq!(r.header("etag"), Some("\"7/abc\""));
    assert_eq!(f.take_notes(), vec![Counter::StorageHit]);
}

#[test]
fn a_part_miss_stores_the_whole_and_events_name_its_revision() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/mobile-sections-remaining/Earth", false);
    let _ = first(f.start());
    let fetch = call(f.on_response(upstream(404, &[], "")));
    assert_eq!(fetch.path, "/en.wikipedia.org/v1/page/mobile-sections/Earth");
    let put = call(f.on_response(upstream(200, &[("etag", "\"7/abc\""), ("content-type", "application/json")], SECTIONS)));
    assert_eq!((put.method, put.body.as_deref()), ("PUT", Some(SECTIONS.as_bytes())), "the whole is stored");
    let r = reply(f.on_response(upstream(201, &[], "")));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(), serde_json::json!({"sections": [{"id": 1}]}));
    assert!(f.content_changed());
    assert_eq!(f.stored_revision(), Some("7"));
    let input = f.input();
    let change = crate::events::change(&input.op, &input.params, &input.domain, "/api/rest_v1", f.stored_revision(), None, None).unwrap();
    assert_eq!(change.uris.len(), 6);
    assert!(change.uris.contains(&"//en.wikipedia.org/api/rest_v1/page/mobile-sections-lead/Earth/7".to_string()), "{:?}", change.uris);
    // Without a known revision, the revision's URIs are left out.
    let change = crate::events::change(&input.op, &input.params, &input.domain, "/api/rest_v1", None, None, None).unwrap();
    assert_eq!(change.uris.len(), 3);
}

#[test]
fn a_stored_whole_without_the_part_is_rendered_anew_and_a_back_end_without_it_is_a_502() {
    let api = api();
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/mobile-sections-lead/Earth", false);
    let _ = first(f.start());
    let fetch = call(f.on_response(upstream(200, &[("etag", "\"7/abc\"")], r#"{"remaining":{}}"#)));
    assert_eq!(fetch.path, "/en.wikipedia.org/v1/page/mobile-sections/Earth");
    let r = reply(f.on_response(upstream(200, &[("etag", "\"7/abc\"")], "not json")));
    assert_eq!(r.status, 502);
}

#[test]
fn a_part_path_names_a_nested_member() {
    let body = br#"{"data-parsoid":{"headers":{},"body":{"counter":1,"ids":{"mwAA":{}}}},"lead":[1]}"#;
    let v = |b: Option<Vec<u8>>| b.map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap());
    assert_eq!(v(json_member(body, "data-parsoid/body")), Some(serde_json::json!({"counter": 1, "ids": {"mwAA": {}}})));
    // The single-member form, and members that are no objects.
    assert_eq!(v(json_member(body, "lead")), Some(serde_json::json!([1])));
    assert_eq!(json_member(body, "lead/0"), None);
    assert_eq!(json_member(body, "data-parsoid/nope"), None);
    assert_eq!(json_member(b"[1]", "lead"), None);
    assert_eq!(json_member(b"not json", "lead"), None);
    // A `…/body` part's own content type, from its sibling headers.
    assert_eq!(part_content_type(br#"{"a":{"headers":{"content-type":"x/y"},"body":1}}"#, "a/body").as_deref(), Some("x/y"));
    assert_eq!(part_content_type(br#"{"a":{"headers":{},"body":1}}"#, "a/body"), None);
    assert_eq!(part_content_type(body, "lead"), None);
}

const BUNDLE: &str = r#"{"html":{"headers":{},"body":"<html/>"},"data-parsoid":{"headers":{"content-type":"application/json; profile=\"https://www.mediawiki.org/wiki/Specs/data-parsoid/2.1.0\""},"body":{"counter":0,"ids":{"mwAA":{}}}}}"#;
const DP: &str = "/en.wikipedia.org/v1/page/data-parsoid/Earth/7/abc";

#[test]
fn data_parsoid_answers_only_the_render_asked_for() {
    let api = api();
    let bundle = [("etag", "\"7/abc\""), ("content-type", "application/json; profile=\"https://www.mediawiki.org/wiki/Specs/pagebundle/2.1.0\"")];
    // A stored bundle of the render: its data-parsoid, typed as such.
    let mut f = flow(&api, DP, false);
    let get = call(first(f.start()));
    assert_eq!(get.path, "/en.wikipedia.org/v1/key_value/parsoidphp-pagebundle/Earth%3A7");
    let r = reply(f.on_response(upstream(200, &bundle, BUNDLE)));
    assert_eq!(r.status, 200);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(), serde_json::json!({"counter": 0, "ids": {"mwAA": {}}}));
    assert!(r.header("content-type").unwrap().contains("Specs/data-parsoid/2.1.0"), "{r:?}");
    // Another render stored: Parsoid's current one is asked for, and stored if it is the one.
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/data-parsoid/Earth/7/other", false);
    let _ = first(f.start());
    let fetch = call(f.on_response(upstream(200, &bundle, BUNDLE)));
    assert_eq!(fetch.path, "/en.wikipedia.org/v3/page/pagebundle/Earth/7");
    let put = call(f.on_response(upstream(200, &[("etag", "\"7/other\"")], BUNDLE)));
    assert_eq!(put.method, "PUT");
    assert_eq!(reply(f.on_response(upstream(201, &[], ""))).status, 200);
    let mut f = flow(&api, "/en.wikipedia.org/v1/page/data-parsoid/Earth/7/other", false);
    let _ = first(f.start());
    let _ = call(f.on_response(upstream(200, &bundle, BUNDLE)));
    assert_eq!(reply(f.on_response(upstream(200, &bundle, BUNDLE))).status, 404, "no render of that tid");
    // A miss renders and stores the bundle; Parsoid's render of another tid is a 404, unstored.
    let mut f = flow(&api, DP, false);
    let _ = first(f.start());
    let fetch = call(f.on_response(upstream(404, &[], "")));
    assert_eq!((fetch.cluster.as_str(), fetch.path.as_str()), ("parsoid", "/en.wikipedia.org/v3/page/pagebundle/Earth/7"));
    let put = call(f.on_response(upstream(200, &bundle, BUNDLE)));
    assert_eq!((put.method, put.body.as_deref()), ("PUT", Some(BUNDLE.as_bytes())));
    assert_eq!(reply(f.on_response(upstream(201, &[], ""))).status, 200);
    let mut f = flow(&api, DP, false);
    let _ = first(f.start());
    let _ = call(f.on_response(upstream(404, &[], "")));
    assert_eq!(reply(f.on_response(upstream(200, &[("etag", "\"7/new\"")], BUNDLE))).status, 404);
}

#[test]
fn only_todays_feed_and_later_is_live() {
    let api = api();
    let live = |path: &str, now_ms: u64| {
        let Ok(Target::Op(m)) = route(&api, "GET", path, "", || Class::External) else { panic!("{path}") };
        is_live(&m.op, &m.params, || now_ms)
    };
    // 2024-01-15T12:00:00Z
    let noon = 1_705_320_000_000;
    assert!(!live("/en.wikipedia.org/v1/feed/featured/2024/01/14", noon));
    assert!(live("/en.wikipedia.org/v1/feed/featured/2024/01/15", noon));
    assert!(live("/en.wikipedia.org/v1/feed/featured/2024/02/01", noon));
    assert!(!live("/en.wikipedia.org/v1/feed/featured/2023/12/31", noon));
    // The day turns at midnight UTC.
    assert!(!live("/en.wikipedia.org/v1/feed/featured/2024/01/15", 1_705_363_200_000));
    // Operations without a live date never are.
    assert!(!live("/en.wikipedia.org/v1/page/html/Earth", noon));
    let Ok(Target::Op(m)) = route(&api, "GET", "/en.wikipedia.org/v1/page/html/Earth", "", || Class::External) else { panic!("routes") };
    assert!(!is_live(&m.op, &m.params, || panic!("the clock is read only for a live date")));
    // A past day's feed is read from storage first: its key is the day.
    let f = flow(&api, "/en.wikipedia.org/v1/feed/featured/2024/01/14", false);
    assert_eq!(f.storage_path(), "/en.wikipedia.org/v1/key_value/feed.aggregated/2024-01-14");
}
