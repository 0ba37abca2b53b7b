use super::*;
use crate::client::Class;
use crate::router::{route, Target};
use crate::spec::Api;

fn api() -> Api {
    Api::compile(&crate::spec::tests::shipped()).unwrap()
}

fn flow(api: &Api, method: &str, path: &str, q: Option<&str>, no_cache: bool) -> MathFlow {
    let Ok(Target::Op(m)) = route(api, method, path, "", || Class::External) else { panic!("{path}") };
    MathFlow::new(MathInput {
        op: m.op,
        domain: m.domain,
        params: m.params,
        q: q.map(str::to_string),
        method: method.into(),
        uri: path.into(),
        no_cache,
        storage_cluster: "storage".into(),
        storage_timeout_ms: 1000,
        backend_timeout_ms: 5000,
        event_base_path: "/api/rest_v1".into(),
    })
}

fn upstream(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Upstream {
    let h = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    Upstream { status, headers: h, body: body.to_vec(), failure: None }
}

fn call(step: Step) -> Callout {
    match step {
        Step::Call(c) => c,
        Step::Respond(r) => panic!("expected a callout, got {r:?}"),
    }
}

fn reply(step: Step) -> Reply {
    match step {
        Step::Respond(r) => r,
        Step::Call(c) => panic!("expected an answer, got a call to {} {}", c.method, c.path),
    }
}

fn stored(header: &str, c: &Callout) -> Option<String> {
    c.headers.iter().find(|(n, _)| n == &format!("x-store-{header}")).map(|(_, v)| v.clone())
}

#[test]
fn the_hash_is_restbases_post_data_hash() {
    // sha1('{"q":"E=mc^{2}","type":"tex"}'), as fast-json-stable-stringify writes it.
    assert_eq!(input_json("E=mc^{2}", "tex"), r#"{"q":"E=mc^{2}","type":"tex"}"#);
    assert_eq!(input_hash("E=mc^{2}", "tex"), sha1_smol::Sha1::from(r#"{"q":"E=mc^{2}","type":"tex"}"#).digest().to_string());
    assert_eq!(input_hash("abc", "tex").len(), 40);
    // Escapes as JSON.stringify: quotes, backslashes, control characters.
    assert_eq!(input_json("a\"\\\n", "chem"), r#"{"q":"a\"\\\n","type":"chem"}"#);
    assert_ne!(input_hash("x", "tex"), input_hash("x", "inline-tex"));
}

#[test]
fn the_formula_comes_from_a_form_or_json_body() {
    assert_eq!(query_of(b"q=E%3Dmc%5E2", Some("application/x-www-form-urlencoded")).as_deref(), Some("E=mc^2"));
    assert_eq!(query_of(br#"{"q":"x^2"}"#, Some("application/json; charset=utf-8")).as_deref(), Some("x^2"));
    assert_eq!(query_of(b"other=1", None), None);
}

#[test]
fn a_new_formula_is_checked_stored_by_its_checked_hash_and_purged() {
    let api = api();
    let mut f = flow(&api, "POST", "/en.wikipedia.org/v1/media/math/check/tex", Some("E=mc^2"), false);
    let sent = input_hash("E=mc^2", "tex");
    let checked = input_hash("E=mc^{2}", "tex");
    let read = call(f.start());
    // Every domain's formulas live in wikimedia.org's storage.
    assert_eq!((read.method, read.path.as_str(), read.authority.as_str()), ("GET", format!("/wikimedia.org/v1/key_value/mathoid_ng.check/{sent}").as_str(), "wikimedia.org"));
    let table = call(f.on_response(upstream(404, &[], b"")));
    assert_eq!(table.path, format!("/wikimedia.org/v1/key_value/mathoid_ng.hash_table/{sent}"));
    let mathoid = call(f.on_response(upstream(404, &[], b"")));
    assert_eq!((mathoid.cluster.as_str(), mathoid.method, mathoid.path.as_str()), ("mathoid", "POST", "/texvcinfo"));
    assert_eq!(mathoid.body.as_deref(), Some(br#"{"q":"E=mc^2","type":"tex"}"#.as_slice()));
    let result = br#"{"success":true,"checked":"E=mc^{2}","identifiers":["E","m","c"]}"#;
    let input = call(f.on_response(upstream(200, &[("content-type", "application/json")], result)));
    assert_eq!((input.method, input.path.as_str()), ("PUT", format!("/wikimedia.org/v1/key_value/mathoid_ng.input/{checked}").as_str()));
    assert_eq!(input.body.as_deref(), Some(br#"{"q":"E=mc^{2}","type":"tex"}"#.as_slice()));
    let indirection = call(f.on_response(upstream(201, &[], b"")));
    assert_eq!(indirection.path, format!("/wikimedia.org/v1/key_value/mathoid_ng.hash_table/{sent}"));
    assert_eq!(indirection.body.as_deref(), Some(checked.as_bytes()));
    let check = call(f.on_response(upstream(201, &[], b"")));
    assert_eq!(check.path, format!("/wikimedia.org/v1/key_value/mathoid_ng.check/{checked}"));
    assert_eq!(stored("x-resource-location", &check).as_deref(), Some(checked.as_str()));
    assert_eq!(stored("cache-control", &check).as_deref(), Some("no-cache"));
    let r = reply(f.on_response(upstream(201, &[], b"")));
    assert_eq!((r.status, r.header("x-resource-location"), r.header("cache-control")), (200, Some(checked.as_str()), Some("no-cache")));
    assert_eq!(r.body, result);
    let purge = f.take_purge().unwrap();
    assert_eq!(purge.domain, "wikimedia.org");
    assert_eq!(purge.uris.first().map(String::as_str), Some(format!("//wikimedia.org/api/rest_v1/media/math/formula/{checked}").as_str()));
    assert!(purge.uris.contains(&format!("//wikimedia.org/api/rest_v1/media/math/render/png/{checked}")));
    assert!(f.take_notes().contains(&Counter::StoreWritten));
}

#[test]
fn a_known_formula_is_answered_from_storage_via_the_hash_table() {
    let api = api();
    let mut f = flow(&api, "POST", "/wikimedia.org/v1/media/math/check/tex", Some("x^2"), false);
    let _ = call(f.start());
    let _ = call(f.on_response(upstream(404, &[], b"")));
    let checked = input_hash("x^{2}", "tex");
    let check = call(f.on_response(upstream(200, &[], checked.as_bytes())));
    assert_eq!(check.path, format!("/wikimedia.org/v1/key_value/mathoid_ng.check/{checked}"));
    let r = reply(f.on_response(upstream(200, &[("content-type", "application/json"), ("x-resource-location", &checked)], b"{}")));
    assert_eq!((r.header("x-resource-location"), r.header("cache-control")), (Some(checked.as_str()), Some("no-cache")));
    assert!(f.take_purge().is_none(), "nothing new, nothing purged");
}

#[test]
fn no_cache_goes_straight_to_mathoid_and_its_refusal_is_a_400() {
    let api = api();
    let mut f = flow(&api, "POST", "/wikimedia.org/v1/media/math/check/tex", Some("\\foo"), true);
    let c = call(f.start());
    assert_eq!(c.path, "/texvcinfo");
    let body = br#"{"status":400,"type":"bad_request","title":"Bad Request","detail":{"success":false},"success":false,"error":"SyntaxError: Illegal TeX function"}"#;
    let r = reply(f.on_response(upstream(400, &[("content-type", "application/json")], body)));
    assert_eq!(r.status, 400);
    let problem: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(problem["detail"], "SyntaxError: Illegal TeX function");
    // mathoid down: a gateway error.
    let mut f = flow(&api, "POST", "/wikimedia.org/v1/media/math/check/tex", Some("x"), true);
    let _ = call(f.start());
    assert_eq!(reply(f.on_response(Upstream::callout(503, vec![], vec![]))).status, 502);
}

#[test]
fn a_formula_is_read_directly_or_through_the_hash_table_else_404() {
    let api = api();
    let mut f = flow(&api, "GET", "/de.wikipedia.org/v1/media/math/formula/abc", None, false);
    assert_eq!(call(f.start()).path, "/wikimedia.org/v1/key_value/mathoid_ng.input/abc");
    let r = reply(f.on_response(upstream(200, &[("content-type", "application/json")], br#"{"q":"x","type":"tex"}"#)));
    assert_eq!((r.status, r.header("x-resource-location"), r.header("content-type")), (200, Some("abc"), Some("application/json")));

    let mut f = flow(&api, "GET", "/wikimedia.org/v1/media/math/formula/sent", None, false);
    let _ = call(f.start());
    assert_eq!(call(f.on_response(upstream(404, &[], b""))).path, "/wikimedia.org/v1/key_value/mathoid_ng.hash_table/sent");
    assert_eq!(call(f.on_response(upstream(200, &[], b"checked"))).path, "/wikimedia.org/v1/key_value/mathoid_ng.input/checked");
    let r = reply(f.on_response(upstream(200, &[("content-type", "application/json")], b"{}")));
    assert_eq!(r.header("x-resource-location"), Some("checked"));

    let mut f = flow(&api, "GET", "/wikimedia.org/v1/media/math/formula/nope", None, false);
    let _ = call(f.start());
    let _ = call(f.on_response(upstream(404, &[], b"")));
    assert_eq!(reply(f.on_response(upstream(404, &[], b""))).status, 404);
}

#[test]
fn a_missing_render_is_made_from_the_stored_input_and_all_formats_stored() {
    let api = api();
    let mut f = flow(&api, "GET", "/en.wikipedia.org/v1/media/math/render/png/h1", None, false);
    assert_eq!(call(f.start()).path, "/wikimedia.org/v1/key_value/mathoid_ng.png/h1");
    assert_eq!(call(f.on_response(upstream(404, &[], b""))).path, "/wikimedia.org/v1/key_value/mathoid_ng.input/h1");
    let input = br#"{"q":"x^{2}","type":"tex"}"#;
    let complete = call(f.on_response(upstream(200, &[("content-type", "application/json")], input)));
    assert_eq!((complete.cluster.as_str(), complete.path.as_str(), complete.body.as_deref()), ("mathoid", "/complete", Some(input.as_slice())));
    let answer = serde_json::json!({
        "mml": {"headers": {"content-type": "application/mathml+xml", "x-mathoid-style": "width:1ex;"}, "body": "<math/>"},
        "svg": {"headers": {"content-type": "image/svg+xml"}, "body": "<svg/>"},
        "png": {"headers": {"content-type": "image/png"}, "body": {"type": "Buffer", "data": [137, 80, 78, 71]}},
    });
    let mut writes = vec![call(f.on_response(upstream(200, &[], answer.to_string().as_bytes())))];
    writes.push(call(f.on_response(upstream(201, &[], b""))));
    writes.push(call(f.on_response(upstream(201, &[], b""))));
    let paths: Vec<&str> = writes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["/wikimedia.org/v1/key_value/mathoid_ng.mml/h1", "/wikimedia.org/v1/key_value/mathoid_ng.svg/h1", "/wikimedia.org/v1/key_value/mathoid_ng.png/h1"]);
    assert_eq!(writes[2].body.as_deref(), Some([137u8, 80, 78, 71].as_slice()), "the PNG as bytes");
    assert_eq!(stored("x-mathoid-style", &writes[0]).as_deref(), Some("width:1ex;"));
    assert_eq!(stored("content-type", &writes[1]).as_deref(), Some("image/svg+xml"));
    let r = reply(f.on_response(upstream(201, &[], b"")));
    assert_eq!((r.status, r.header("content-type"), r.header("cache-control")), (200, Some("image/png"), Some("s-maxage=864000, max-age=86400")));
    assert_eq!(r.body, [137u8, 80, 78, 71]);
    assert!(f.take_purge().is_some());
}

#[test]
fn a_stored_render_is_served_with_its_headers() {
    let api = api();
    let mut f = flow(&api, "GET", "/wikimedia.org/v1/media/math/render/mml/h1", None, false);
    let _ = call(f.start());
    let r = reply(f.on_response(upstream(200, &[("content-type", "application/mathml+xml"), ("x-mathoid-style", "w"), ("x-resource-location", "h1")], b"<math/>")));
    assert_eq!((r.header("content-type"), r.header("x-mathoid-style"), r.header("cache-control")), (Some("application/mathml+xml"), Some("w"), Some("s-maxage=864000, max-age=86400")));
    assert_eq!(f.take_notes(), vec![Counter::StorageHit]);
}

#[test]
fn a_render_of_an_unknown_hash_or_a_broken_complete_answer_fails() {
    let api = api();
    let mut f = flow(&api, "GET", "/wikimedia.org/v1/media/math/render/svg/none", None, false);
    let _ = call(f.start());
    let _ = call(f.on_response(upstream(404, &[], b"")));
    let _ = call(f.on_response(upstream(404, &[], b"")));
    assert_eq!(reply(f.on_response(upstream(404, &[], b""))).status, 404);

    let mut f = flow(&api, "GET", "/wikimedia.org/v1/media/math/render/svg/h", None, true);
    assert_eq!(call(f.start()).path, "/wikimedia.org/v1/key_value/mathoid_ng.input/h", "no-cache: no stored render");
    let _ = call(f.on_response(upstream(200, &[], b"{}")));
    assert_eq!(reply(f.on_response(upstream(200, &[], br#"{"svg":{"headers":{},"body":"<svg/>"}}"#))).status, 502);
}
