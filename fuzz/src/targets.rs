//! The targets. Requests are given as text, like HTTP/1.1 (the corpus stays readable):
//!
//! ```text
//! GET /en.wikipedia.org/v1/page/html/Earth?redirect=false external
//! content-type: application/json
//! x-client-ip: 10.0.0.1
//!
//! {"body": "after the blank line"}
//! ```

use restrouter::client::{Class, Trust};
use restrouter::flow::{Begin, Failure, FlowInput, Step, StoredFlow, Upstream};
use restrouter::paths;
use restrouter::router::{self, Matched, Target};
use restrouter::spec::Api;
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    static SHIPPED: Value = serde_norway::from_str(include_str!("../../spec/wikimedia.yaml")).expect("shipped spec is YAML");
    static API: Rc<Api> = Rc::new(SHIPPED.with(|s| Api::compile(s)).expect("shipped spec compiles"));
    /// JSON pointers of every node of the shipped spec, for structural mutations.
    static POINTERS: Vec<String> = SHIPPED.with(|s| { let mut v = Vec::new(); pointers(s, String::new(), &mut v); v });
}

fn api() -> Rc<Api> {
    API.with(Rc::clone)
}

fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| pointers(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// A request as the glue would see it (header values already lossily UTF-8).
struct Request {
    method: String,
    path: String,
    class: Class,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn request(data: &[u8]) -> Request {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], data[i + 2..].to_vec()),
        None => (data, Vec::new()),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or_default();
    let mut words = first.splitn(3, ' ');
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let class = if words.next() == Some("internal") { Class::Internal } else { Class::External };
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    Request { method, path, class, headers, body }
}

/// Bytes that must never reach an upstream request line from a parameter.
fn assert_clean_upstream_path(path: &str, template: &str, what: &str) {
    assert!(path.starts_with('/'), "{what}: {path}");
    assert_eq!(path.matches('/').count(), template.matches('/').count(), "{what}: a parameter added a segment: {template} -> {path}");
    assert!(!path.bytes().any(|b| b.is_ascii_control() || b == b' ' || b == b'?' || b == b'#' || !b.is_ascii()), "{what}: unencoded byte in {path:?}");
    assert!(!path.split('/').any(|s| s == "." || s == ".."), "{what}: dot segment in {path}");
}

fn check_problem(p: &restrouter::problem::Problem, req: &Request) {
    assert!(matches!(p.status, 400 | 403 | 404 | 405 | 413), "unexpected status {} for {}", p.status, req.path);
    let body: Value = serde_json::from_slice(&p.body(&req.method, &req.path)).expect("problem body is JSON");
    assert_eq!(body.as_object().map(|o| o.len()), Some(5), "problem fields");
}

/// What a matched operation would send upstream: one segment per parameter, nothing else.
fn check_matched(m: &Matched) {
    assert!(!m.domain.contains('/') && !m.domain.is_empty(), "domain {:?}", m.domain);
    let backend = paths::expand(&m.op.backend.path, &m.params);
    assert_clean_upstream_path(&backend, &m.op.backend.path, "back-end path");
    if m.op.storage.is_some() {
        let mut flow = StoredFlow::new(flow_input(m, false));
        if let Begin::ReadThroughRouter(path) = flow.start() {
            assert_clean_upstream_path(&path, "/{domain}/v1/key_value/{bucket}/{key}", "storage path");
        }
    }
    if let Some(change) = restrouter::events::change(&m.op, &m.params, &m.domain, "/api/rest_v1", Some("42"), None, None) {
        for (uri, template) in change.uris.iter().zip(&m.op.events) {
            let path = uri.trim_start_matches("//").split_once('/').map_or("", |(_, p)| p);
            assert_clean_upstream_path(&format!("/{path}"), &format!("/api/rest_v1{template}"), "event uri");
        }
    }
}

fn flow_input(m: &Matched, rerender: bool) -> FlowInput {
    FlowInput {
        op: m.op.clone(),
        domain: m.domain.clone(),
        params: m.params.clone(),
        method: "GET".into(),
        uri: "/".into(),
        rerender,
        bypass_storage: false,
        wanted_profile: None,
        resolved_revision: None,
        storage_cluster: "storage".into(),
        storage_timeout_ms: 1000,
        backend_timeout_ms: 1000,
    }
}

/// Method and path through the router of the shipped spec.
pub fn route(data: &[u8]) {
    let req = request(data);
    let api = api();
    // The host form (`/api/rest_v1/...`) takes the wiki from the Host header.
    let authority = req.headers.get("host").map(String::as_str).unwrap_or_default();
    let _ = router::domain_of(&req.path, authority);
    match router::route(&api, &req.method, &req.path, authority, || req.class) {
        Ok(Target::Op(m)) => {
            check_matched(&m);
            if let Err(p) = m.validate_without_body(&req.headers) {
                check_problem(&p, &req);
            }
        }
        Ok(Target::Spec(body) | Target::Listing(body)) => {
            serde_json::from_slice::<Value>(&body).expect("spec and listing are JSON");
        }
        Ok(Target::Preflight) => {}
        Err(p) => check_problem(&p, &req),
    }
}

/// A whole request: route, client class from `source`/`x-client-ip`, parameters and body.
pub fn validate(data: &[u8]) {
    let req = request(data);
    let trust = Trust { internal: vec!["10.0.0.0/8".parse().expect("net")], trusted_proxies: vec!["10.64.0.0/16".parse().expect("net")] };
    let client = trust.client(req.headers.get("source").map(String::as_str), req.headers.get("x-client-ip").map(String::as_str));
    let mapped = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    };
    let peer = req.headers.get("source").and_then(|s| restrouter::client::parse_address(s)).map(mapped);
    if peer.is_none_or(|ip| !trust.trusted_proxies.iter().any(|n| n.contains(&ip))) {
        // Only a trusted proxy may name the client: otherwise the header changes nothing.
        assert_eq!(client, trust.client(req.headers.get("source").map(String::as_str), None), "x-client-ip believed from an untrusted peer");
    }
    let api = api();
    let authority = req.headers.get("host").map(String::as_str).unwrap_or_default();
    match router::route(&api, &req.method, &req.path, authority, || client.class) {
        Ok(Target::Op(m)) => {
            check_matched(&m);
            let ct = req.headers.get("content-type").map(String::as_str);
            let body = (!req.body.is_empty()).then_some(req.body.as_slice());
            if let Err(p) = m.validate(&req.headers, body, ct) {
                check_problem(&p, &req);
            }
        }
        Ok(_) => {}
        Err(p) => check_problem(&p, &req),
    }
}

/// Values a structural mutation puts in place of a node.
fn palette(i: u8, text: &str) -> Value {
    match i % 16 {
        0 => Value::Null,
        1 => Value::String(text.to_string()),
        2 => Value::String(format!("{{{text}}}")),
        3 => Value::from(-1),
        4 => Value::from(u64::MAX),
        5 => Value::from(1e300),
        6 => Value::Bool(true),
        7 => Value::Array(Vec::new()),
        8 => Value::Object(Default::default()),
        9 => serde_json::json!({"type": "integer", "minimum": text, "maximum": -1}),
        10 => serde_json::json!({"type": "string", "pattern": text}),
        11 => serde_json::json!({"$ref": format!("#/components/schemas/{text}")}),
        12 => serde_json::json!({"$ref": "#"}),
        13 => serde_json::json!({"enum": [], "multipleOf": 0}),
        14 => serde_json::json!({"name": text, "in": "path", "required": true}),
        _ => Value::String(String::new()),
    }
}

/// Spec loading: raw JSON (first byte even) or the shipped spec with structural edits.
pub fn spec(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let doc = if mode % 2 == 0 {
        match serde_json::from_slice::<Value>(rest) {
            Ok(v) => v,
            Err(_) => return,
        }
    } else {
        let mut doc = SHIPPED.with(Value::clone);
        let mut chunks = rest.split(|b| *b == 0);
        while let Some(edit) = chunks.next() {
            let [hi, lo, op, text @ ..] = edit else { continue };
            let text = String::from_utf8_lossy(text);
            let pointer = POINTERS.with(|p| p.get(usize::from(u16::from_be_bytes([*hi, *lo])) % p.len().max(1)).cloned().unwrap_or_default());
            let Some(node) = doc.pointer_mut(&pointer) else { continue };
            match op % 4 {
                // Remove a key by emptying it (a missing field and a wrong type are both errors to name).
                0 => *node = Value::Null,
                1 | 2 => *node = palette(*op / 4, &text),
                _ => {
                    if let Value::Object(m) = node {
                        m.insert(text.into_owned(), palette(*op / 4, "x"));
                    } else if let Value::Array(a) = node {
                        a.push(palette(*op / 4, &text));
                    }
                }
            }
        }
        doc
    };
    if let Ok(api) = Api::compile(&doc) {
        for path in ["/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v1/page/html/Earth/1", "/en.wikipedia.org/v1/", "/wikimedia.org/v1/metrics/x"] {
            if let Ok(Target::Op(m)) = router::route(&api, "GET", path, "", || Class::External) {
                let _ = m.validate(&HashMap::new(), Some(b"{}"), Some("application/json"));
            }
        }
    }
}

/// The plugin configuration Envoy hands over.
pub fn config(data: &[u8]) {
    if let Ok(cfg) = restrouter::config::parse(data) {
        let trust = cfg.settings.trust();
        let _ = trust.client(Some("127.0.0.1:1"), Some("10.0.0.1"));
        if let Some(spec) = &cfg.spec {
            let _ = Api::compile(spec);
        }
    }
}

const FLOW_PATHS: &[&str] =
    &["/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v1/page/html/Earth/123", "/en.wikipedia.org/v1/page/summary/AC%2FDC", "/en.wikipedia.org/v1/page/mobile-html/Caf%C3%A9"];
const STATUSES: &[u16] = &[0, 200, 201, 202, 204, 304, 400, 404, 412, 429, 500, 502, 503, 504];

/// One scripted upstream answer: status (2 bytes), flags (1), body length (1), body.
fn upstream(data: &mut &[u8]) -> Upstream {
    let [hi, lo, flags, len, rest @ ..] = *data else {
        *data = &[];
        return Upstream::default();
    };
    let len = usize::from(*len).min(rest.len());
    let (body, rest) = rest.split_at(len);
    *data = rest;
    let raw = u16::from_be_bytes([*hi, *lo]);
    // Envoy passes on only statuses 100..=599 (and 0 for a reset).
    let status = if raw < 0x8000 { STATUSES[usize::from(raw) % STATUSES.len()] } else { 100 + raw % 500 };
    let mut headers = Vec::new();
    let text = String::from_utf8_lossy(body).into_owned();
    let h = |n: &str, v: &str| (n.to_string(), v.to_string());
    if flags & 1 != 0 {
        headers.push(h("etag", "\"42/tid\""));
    }
    if flags & 2 != 0 {
        headers.push(h("content-type", "text/html; charset=utf-8"));
    }

    if flags & 8 != 0 {
        headers.push(h("content-language", &text));
    }
    if flags & 16 != 0 {
        headers.push(h("etag", "\"123/tid\""));
    }
    if flags & 32 != 0 {
        headers.push(h("etag", &text));
    }
    if flags & 64 != 0 {
        headers.push(h("vary", "accept-language"));
    }
    // Flag 4: the upstream's own answer; without it, Envoy's (a reset, 503 or 504 callout
    // answer reads as a failure).
    let failure = if flags & 4 == 0 { Failure::of_callout(status) } else { None };
    Upstream { status, headers, body: body.to_vec(), failure }
}

/// The stored-route state machine fed arbitrary upstream answers.
pub fn flow(data: &[u8]) {
    let Some((&first, mut rest)) = data.split_first() else { return };
    let rerender = first & 1 != 0;
    let path = FLOW_PATHS[usize::from(first >> 1) % FLOW_PATHS.len()];
    let api = api();
    let Ok(Target::Op(m)) = router::route(&api, "GET", path, "", || Class::Internal) else { panic!("{path} routes") };
    let has_revision = m.op.storage.as_ref().is_some_and(|s| s.revision_param.is_some());
    let mut flow = StoredFlow::new(flow_input(&m, rerender));
    let mut storage_key: Option<String> = None;
    // (cluster of the call, the answer it got)
    let mut last: Option<(String, Upstream)> = None;
    let mut seen_bodies: Vec<Vec<u8>> = Vec::new();
    let mut step = match flow.start() {
        Begin::Step(step) => {
            assert!(rerender, "{path}: only a re-render skips the read");
            step
        }
        Begin::ReadThroughRouter(read) => {
            assert!(!rerender, "{path}: a re-render read storage first");
            assert_clean_upstream_path(&read, "/{domain}/v1/key_value/{bucket}/{key}", "storage path");
            storage_key = Some(read);
            let answer = upstream(&mut rest);
            seen_bodies.push(answer.body.clone());
            last = Some(("storage".into(), answer.clone()));
            match flow.on_read(&answer) {
                None => {
                    // Storage's answer is served as it is: only a 200 may be.
                    assert_eq!(answer.status, 200, "{path}: a {} from storage served", answer.status);
                    return;
                }
                Some(step) => step,
            }
        }
    };
    let mut puts = 0;
    let mut put_ok = false;
    for calls in 0.. {
        assert!(calls <= 4, "{path}: more than 4 callouts");
        match step {
            Step::Respond(reply) => {
                if reply.status >= 400 {
                    assert!(reply.header("content-type").is_some_and(|c| c.starts_with("application/problem+json")), "error reply {reply:?}");
                    serde_json::from_slice::<Value>(&reply.body).expect("error body is JSON");
                } else {
                    assert_eq!(reply.status, 200);
                    assert!(seen_bodies.contains(&reply.body), "a 200 with a body no upstream sent");
                }
                assert!(!flow.content_changed() || put_ok, "content_changed without a successful store");
                return;
            }
            Step::Call(c) => {
                if calls == 0 && rerender {
                    assert_ne!(c.cluster, "storage", "a re-render reads storage first");
                }
                if c.cluster == "storage" {
                    assert_clean_upstream_path(&c.path, "/{domain}/v1/key_value/{bucket}/{key}", "storage path");
                    let key = storage_key.get_or_insert_with(|| c.path.clone());
                    assert_eq!(key, &c.path, "one storage key per request");
                }
                if c.method == "PUT" {
                    puts += 1;
                    assert_eq!(puts, 1, "stored twice");
                    assert!(!has_revision, "{path}: content of an explicit revision stored over the latest");
                    let (cluster, answer) = last.as_ref().expect("a PUT follows a fetch");
                    assert!(cluster != "storage" && (200..300).contains(&answer.status), "stored after a {} from {cluster}", answer.status);
                    assert_eq!(c.body.as_deref(), Some(answer.body.as_slice()), "stored body differs from the fetched one");
                }
                let answer = upstream(&mut rest);
                if c.method == "PUT" {
                    put_ok = matches!(answer.status, 200 | 201 | 204);
                }
                seen_bodies.push(answer.body.clone());
                last = Some((c.cluster.clone(), answer.clone()));
                step = flow.on_response(answer);
            }
        }
    }
}

/// Rate-limit sync messages: the sidecar's answer as the filter's singleton parses it, and
/// (feature `sidecar`) the sync request and peer messages as the sidecar parses them.
pub fn sidecar_sync(data: &[u8]) {
    use restrouter::ratelimit::{Count, Local, SyncResponse, Window};
    if let Ok(r) = serde_json::from_slice::<SyncResponse>(data) {
        let mut local = Local::new(64);
        local.set_verdicts(r.over_limit);
        let _ = local.check("k", 1.0, false, 1);
    }
    if let Ok(counts) = serde_json::from_slice::<Vec<Count>>(data) {
        let mut w = Window::new(5000, 64);
        for (i, c) in counts.iter().enumerate() {
            w.add(&c.key, c.count, c.limit, i as u64 * 700);
        }
        for v in w.verdicts(u64::MAX / 2) {
            assert!(v.admit.is_finite(), "admit share {v:?}");
        }
    }
    #[cfg(feature = "sidecar")]
    sidecar_side(data);
}

#[cfg(feature = "sidecar")]
fn sidecar_side(data: &[u8]) {
    use restrouter_proto::rate::RateTable;
    use restrouter_proto::ratelimit::{admit_share, SyncRequest};
    use restrouter_ratelimit::owner_protocol::{split_by_size, RateAnswer, ReportBatch};
    use restrouter_ratelimit::sync::MAX_KEY_BYTES;
    if let Ok(req) = serde_json::from_slice::<SyncRequest>(data) {
        let mut table = RateTable::new(5000, 64);
        for (i, c) in req.counts.iter().enumerate() {
            if c.key.is_empty() || c.key.len() > MAX_KEY_BYTES || !c.limit.is_finite() || c.limit < 0.0 {
                continue;
            }
            let rate = table.add(&c.key, c.count, c.limit, i as u64 * 300);
            let _ = admit_share(rate, c.limit);
        }
        let _ = table.over_limit_keys(u64::MAX / 2);
        table.expire(u64::MAX / 2);
    }
    if let Ok(batch) = serde_json::from_slice::<ReportBatch>(data) {
        for chunk in split_by_size(batch.entries, |e| e.key.len()) {
            assert!(!chunk.is_empty());
        }
    }
    let _ = serde_json::from_slice::<RateAnswer>(data);
}
