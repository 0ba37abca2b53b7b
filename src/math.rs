//! The math composites of RESTBase's sys/mathoid, as a state machine with no host calls (like
//! [`crate::flow::StoredFlow`]): the pipeline carries out the callouts it returns.
//!
//! Formulas and renders live in one store, under the domain the spec names (`wikimedia.org`),
//! whichever wiki was asked; RESTBase's buckets and keys are kept:
//!
//! - `mathoid_ng.input/{hash}`: the checked input `{"q": <checked TeX>, "type": <type>}`, the
//!   hash being the SHA-1 of its stable (sorted-key) JSON, as RESTBase's post_data bucket;
//! - `mathoid_ng.hash_table/{hash of the input as sent}`: the hash of its checked form, when the
//!   two differ;
//! - `mathoid_ng.check/{hash}`: mathoid's check result;
//! - `mathoid_ng.{mml,svg,png}/{hash}`: the renders.
//!
//! ```text
//! check:   read check/{sent} ─hit─▶ answer stored        (no-cache: straight to mathoid)
//!            └miss─▶ hash_table/{sent} ─▶ check/{checked} ─hit─▶ answer stored
//!                      └miss─▶ mathoid /texvcinfo ─▶ put input, hash_table, check ─▶ answer, purge
//! formula: input/{hash} (else via hash_table) ─▶ answer, or 404
//! render:  {format}/{hash} ─hit─▶ answer      (no-cache: straight to the input)
//!            └miss─▶ input ─▶ mathoid /complete ─▶ put mml, svg, png ─▶ answer, purge
//! ```

use crate::events::Change;
use crate::flow::{Callout, Failure, Step, Upstream};
use crate::host::Headers;
use crate::metrics::Counter;
use crate::policy::{self, RoutePolicy};
use crate::problem::{self, Problem};
use crate::reply::Reply;
use crate::spec::model::MathStep;
use crate::spec::Op;
use std::collections::HashMap;
use std::rc::Rc;

/// The renders mathoid's `/complete` answers and RESTBase stored (2020: png too).
pub const FORMATS: [&str; 3] = ["mml", "svg", "png"];

const INPUT: &str = "mathoid_ng.input";
const HASH_TABLE: &str = "mathoid_ng.hash_table";
const CHECK: &str = "mathoid_ng.check";
const JSON: &str = "application/json";

/// RESTBase's post_data hash of a math input: SHA-1 (hex) of `{"q":…,"type":…}` with sorted
/// keys and no spaces (fast-json-stable-stringify; serde_json escapes strings as JSON.stringify).
pub fn input_hash(q: &str, kind: &str) -> String {
    sha1_smol::Sha1::from(input_json(q, kind)).digest().to_string()
}

fn input_json(q: &str, kind: &str) -> String {
    let s = |v: &str| serde_json::Value::from(v).to_string();
    format!("{{\"q\":{},\"type\":{}}}", s(q), s(kind))
}

/// The `q` of a check request body (JSON or form); validation made sure it is there.
pub fn query_of(body: &[u8], content_type: Option<&str>) -> Option<String> {
    let json = content_type.is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    if json {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        return v.get("q").and_then(|q| q.as_str()).map(str::to_string);
    }
    let text = std::str::from_utf8(body).ok()?;
    crate::paths::parse_query(text).ok()?.into_iter().find(|(k, _)| k == "q").map(|(_, v)| v)
}

/// Everything a math flow needs from the request and the settings.
#[derive(Debug, Clone)]
pub struct MathInput {
    pub op: Rc<Op>,
    /// The wiki asked (for problem bodies); storage is the spec's math domain.
    pub domain: String,
    pub params: HashMap<String, String>,
    /// The check's formula (`q` of the body).
    pub q: Option<String>,
    pub method: String,
    pub uri: String,
    /// `cache-control: no-cache`: skip the stored check or render (RESTBase's no-cache reads).
    pub no_cache: bool,
    pub storage_cluster: String,
    pub storage_timeout_ms: u64,
    pub backend_timeout_ms: u64,
    /// Where the public API lives on a domain (`/api/rest_v1`), for purges.
    pub event_base_path: String,
}

#[derive(Debug)]
enum State {
    /// check: the stored check under the hash of the input as sent, or via the hash table.
    CheckRead {
        sent: String,
        indirect: bool,
    },
    HashTableRead {
        sent: String,
        then: Then,
    },
    /// check: mathoid's verdict.
    Checking {
        sent: String,
    },
    /// check: the writes, in order; the reply waits for the last.
    CheckStore {
        hash: String,
        left: Vec<Callout>,
        reply: Reply,
    },
    /// formula or render: the stored input.
    InputRead {
        hash: String,
        indirect: bool,
    },
    /// render: the stored render.
    RenderRead,
    Rendering,
    RenderStore {
        left: Vec<Callout>,
        reply: Reply,
    },
    Done,
}

/// What a hash-table indirection leads to.
#[derive(Debug, Clone, Copy)]
enum Then {
    Check,
    Input,
}

#[derive(Debug)]
pub struct MathFlow {
    input: MathInput,
    state: State,
    notes: Vec<Counter>,
    /// Public URIs to purge once answered.
    purge: Option<Change>,
}

impl MathFlow {
    pub fn new(input: MathInput) -> MathFlow {
        MathFlow { input, state: State::Done, notes: Vec::new(), purge: None }
    }

    pub fn input(&self) -> &MathInput {
        &self.input
    }

    pub fn take_notes(&mut self) -> Vec<Counter> {
        std::mem::take(&mut self.notes)
    }

    /// The purge to emit with the answer, when formulas or renders were stored anew.
    pub fn take_purge(&mut self) -> Option<Change> {
        self.purge.take()
    }

    fn step(&self) -> Option<MathStep> {
        self.input.op.math.as_ref().map(|m| m.step)
    }

    fn param(&self, name: &str) -> String {
        self.input.params.get(name).cloned().unwrap_or_default()
    }

    pub fn start(&mut self) -> Step {
        match self.step() {
            Some(MathStep::Check) => {
                let Some(q) = self.input.q.clone() else { return self.fail(&Problem::bad_request("data.body should have required property 'q'")) };
                let sent = input_hash(&q, &self.param("type"));
                if self.input.no_cache {
                    return self.check(sent);
                }
                self.read(CHECK, &sent, State::CheckRead { sent: sent.clone(), indirect: false })
            }
            Some(MathStep::Formula) => {
                let hash = self.param("hash");
                self.read(INPUT, &hash, State::InputRead { hash: hash.clone(), indirect: false })
            }
            Some(MathStep::Render) if self.input.no_cache => {
                let hash = self.param("hash");
                self.read(INPUT, &hash, State::InputRead { hash: hash.clone(), indirect: false })
            }
            Some(MathStep::Render) => {
                let (format, hash) = (self.param("format"), self.param("hash"));
                self.read(&format!("mathoid_ng.{format}"), &hash, State::RenderRead)
            }
            None => self.fail(&Problem::internal("not a math operation")),
        }
    }

    /// The answer to the last callout.
    pub fn on_response(&mut self, resp: Upstream) -> Step {
        let ok = resp.failure.is_none() && resp.status == 200;
        let missing = resp.failure.is_none() && resp.status == 404;
        match std::mem::replace(&mut self.state, State::Done) {
            State::CheckRead { .. } if ok => {
                self.notes.push(Counter::StorageHit);
                let hash = resp.header("x-resource-location").unwrap_or_default().to_string();
                self.respond(self.check_reply(resp.body, &hash))
            }
            State::CheckRead { sent, indirect: false } if missing => self.read(HASH_TABLE, &sent, State::HashTableRead { sent: sent.clone(), then: Then::Check }),
            State::CheckRead { sent, .. } => self.miss_or_error(&resp, |f| f.check(sent)),
            State::HashTableRead { sent, then } if ok => {
                let hash = String::from_utf8_lossy(&resp.body).trim().to_string();
                match then {
                    Then::Check => self.read(CHECK, &hash, State::CheckRead { sent, indirect: true }),
                    Then::Input => self.read(INPUT, &hash, State::InputRead { hash: hash.clone(), indirect: true }),
                }
            }
            State::HashTableRead { sent, then: Then::Check } => self.miss_or_error(&resp, |f| f.check(sent)),
            State::HashTableRead { then: Then::Input, .. } => self.storage_verdict(&resp),
            State::Checking { sent } => self.after_check(resp, sent),
            State::CheckStore { hash, left, reply } => self.next_write(Some(&resp), left, reply, hash, true),
            State::InputRead { hash, .. } if ok => self.with_input(resp, hash),
            State::InputRead { hash, indirect: false } if missing => self.read(HASH_TABLE, &hash, State::HashTableRead { sent: hash.clone(), then: Then::Input }),
            State::InputRead { .. } => self.storage_verdict(&resp),
            State::RenderRead if ok => {
                self.notes.push(Counter::StorageHit);
                self.respond(self.render_reply(&resp.headers, resp.body))
            }
            State::RenderRead => {
                let hash = self.param("hash");
                self.miss_or_error(&resp, |f| f.read(INPUT, &hash, State::InputRead { hash: hash.clone(), indirect: false }))
            }
            State::Rendering => self.after_render(resp),
            State::RenderStore { left, reply } => {
                let hash = self.param("hash");
                self.next_write(Some(&resp), left, reply, hash, false)
            }
            State::Done => self.fail(&Problem::internal("unexpected callout response")),
        }
    }

    /// A stored copy is missing (counted a miss) or storage failed (counted, then on alike).
    fn miss_or_error(&mut self, resp: &Upstream, next: impl FnOnce(&mut Self) -> Step) -> Step {
        let missing = resp.failure.is_none() && resp.status == 404;
        self.notes.push(if missing { Counter::StorageMiss } else { Counter::StorageError });
        next(self)
    }

    /// Nothing stored for the hash: 404; storage down: 502/504.
    fn storage_verdict(&mut self, resp: &Upstream) -> Step {
        match (resp.failure, resp.status) {
            (None, 404) => {
                self.notes.push(Counter::StorageMiss);
                self.fail(&Problem::not_found("No formula is stored under this hash."))
            }
            (Some(Failure::Timeout), _) => {
                self.notes.push(Counter::StorageError);
                self.fail(&Problem::gateway_timeout("The storage service did not answer in time"))
            }
            (_, s) => {
                self.notes.push(Counter::StorageError);
                self.fail(&Problem::bad_gateway(format!("The storage service failed: {s}")))
            }
        }
    }

    /// formula: answer the input; render: have mathoid render it.
    fn with_input(&mut self, resp: Upstream, hash: String) -> Step {
        if self.step() == Some(MathStep::Formula) {
            let route = RoutePolicy::of(&self.input.op);
            let ct = policy::content_type(resp.header("content-type"), &route).to_string();
            let reply = Reply::content(200, &ct, resp.body, &route, None, &self.input.domain).with_header("x-resource-location", &hash);
            return self.respond(reply);
        }
        self.ask_mathoid(resp.body, State::Rendering)
    }

    fn check(&mut self, sent: String) -> Step {
        let i = &self.input;
        let body = input_json(i.q.as_deref().unwrap_or_default(), i.params.get("type").map(String::as_str).unwrap_or_default());
        self.ask_mathoid(body.into_bytes(), State::Checking { sent })
    }

    /// A JSON POST to the operation's back-end (mathoid), which learns of the client as back-ends do.
    fn ask_mathoid(&mut self, body: Vec<u8>, next: State) -> Step {
        self.state = next;
        let i = &self.input;
        Step::Call(Callout {
            cluster: i.op.backend.cluster.clone(),
            method: "POST",
            path: i.op.backend.path.clone(),
            authority: self.store_domain(),
            headers: vec![("content-type".into(), JSON.into())],
            body: Some(body),
            timeout_ms: i.backend_timeout_ms,
            forward_client: true,
        })
    }

    fn after_check(&mut self, resp: Upstream, sent: String) -> Step {
        if let Some(p) = self.mathoid_failure(&resp) {
            return self.fail(&p);
        }
        let checked = serde_json::from_slice::<serde_json::Value>(&resp.body).ok().and_then(|v| v.get("checked").and_then(|c| c.as_str()).map(str::to_string));
        let Some(checked) = checked else {
            self.notes.push(Counter::BackendError);
            return self.fail(&Problem::bad_gateway("The back-end service (mathoid) answered a check without `checked`"));
        };
        let kind = self.param("type");
        let hash = input_hash(&checked, &kind);
        let mut writes = vec![self.put(INPUT, &hash, input_json(&checked, &kind).into_bytes(), &[("content-type", JSON)])];
        if hash != sent {
            writes.push(self.put(HASH_TABLE, &sent, hash.clone().into_bytes(), &[("content-type", "text/plain")]));
        }
        writes.push(self.put(CHECK, &hash, resp.body.clone(), &[("content-type", JSON), ("cache-control", "no-cache"), ("x-resource-location", &hash)]));
        let reply = self.check_reply(resp.body, &hash);
        self.next_write(None, writes, reply, hash, true)
    }

    fn after_render(&mut self, resp: Upstream) -> Step {
        if let Some(p) = self.mathoid_failure(&resp) {
            return self.fail(&p);
        }
        let complete: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        let hash = self.param("hash");
        let mut writes = Vec::new();
        let mut wanted = None;
        for format in FORMATS {
            let Some((headers, body)) = complete.get(format).and_then(render_of) else {
                self.notes.push(Counter::BackendError);
                return self.fail(&Problem::bad_gateway(format!("Math: missing or malformed response for format {format}")));
            };
            let mut stored: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            stored.push(("x-resource-location", &hash));
            writes.push(self.put(&format!("mathoid_ng.{format}"), &hash, body.clone(), &stored));
            if format == self.param("format") {
                let mut all = headers.clone();
                all.push(("x-resource-location".into(), hash.clone()));
                wanted = Some(self.render_reply(&all, body));
            }
        }
        let Some(reply) = wanted else { return self.fail(&Problem::not_found("Unknown format")) };
        self.next_write(None, writes, reply, hash, false)
    }

    /// The previous write's outcome counted, then the next write, or the answer (and its purge).
    fn next_write(&mut self, last: Option<&Upstream>, mut left: Vec<Callout>, reply: Reply, hash: String, check: bool) -> Step {
        if let Some(resp) = last {
            self.notes.push(match (resp.failure, resp.status) {
                (None, 200..=299) => Counter::StoreWritten,
                (None, 412) => Counter::StoreUnchanged,
                _ => Counter::StoreError,
            });
        }
        if left.is_empty() {
            self.purge = Some(self.purge_of(&hash));
            return self.respond(reply);
        }
        let next = left.remove(0);
        self.state = if check { State::CheckStore { hash, left, reply } } else { State::RenderStore { left, reply } };
        Step::Call(next)
    }

    /// RESTBase's `_invalidateCache`: the formula and its renders on the math domain.
    fn purge_of(&self, hash: &str) -> Change {
        let domain = self.store_domain();
        let base = format!("//{domain}{}/media/math/", self.input.event_base_path);
        let mut uris = vec![format!("{base}formula/{hash}")];
        uris.extend(FORMATS.iter().map(|f| format!("{base}render/{f}/{hash}")));
        Change { domain, uris, request_id: None, triggered_by: None }
    }

    fn mathoid_failure(&mut self, resp: &Upstream) -> Option<Problem> {
        let p = match (resp.failure, resp.status) {
            (None, 200..=299) => return None,
            (Some(Failure::Timeout), _) => Problem::gateway_timeout("The back-end service (mathoid) did not answer in time"),
            (Some(_), _) | (None, 0) => Problem::bad_gateway("The back-end service (mathoid) is unavailable"),
            (None, s) if !(400..500).contains(&s) => Problem::bad_gateway(format!("The back-end service (mathoid) answered {s}")),
            // Mathoid's verdict on the formula (400 with `error`, the parser's message).
            (None, s) => return Some(problem::from_upstream(s, &mathoid_detail(&resp.body))),
        };
        self.notes.push(if resp.failure == Some(Failure::Timeout) { Counter::BackendTimeout } else { Counter::BackendError });
        Some(p)
    }

    fn check_reply(&self, body: Vec<u8>, hash: &str) -> Reply {
        let route = RoutePolicy { cache_control: Some("no-cache".into()), ..RoutePolicy::of(&self.input.op) };
        Reply::content(200, JSON, body, &route, None, &self.input.domain).with_header("x-resource-location", hash)
    }

    /// A render, stored or fresh, with the headers mathoid gave it.
    fn render_reply(&self, headers: &[(String, String)], body: Vec<u8>) -> Reply {
        let find = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let route = RoutePolicy::of(&self.input.op);
        let ct = policy::content_type(find("content-type"), &route).to_string();
        let mut reply = Reply::content(200, &ct, body, &route, None, &self.input.domain);
        for name in ["x-resource-location", "x-mathoid-style"] {
            if let Some(v) = find(name) {
                reply = reply.with_header(name, v);
            }
        }
        reply
    }

    fn store_domain(&self) -> String {
        self.input.op.math.as_ref().map(|m| m.domain.clone()).unwrap_or_default()
    }

    fn storage_path(&self, bucket: &str, key: &str) -> String {
        use crate::paths::encode_segment;
        format!("/{}/v1/key_value/{}/{}", encode_segment(&self.store_domain()), encode_segment(bucket), encode_segment(key))
    }

    fn read(&mut self, bucket: &str, key: &str, next: State) -> Step {
        self.state = next;
        let i = &self.input;
        Step::Call(Callout {
            cluster: i.storage_cluster.clone(),
            method: "GET",
            path: self.storage_path(bucket, key),
            authority: self.store_domain(),
            headers: Vec::new(),
            body: None,
            timeout_ms: i.storage_timeout_ms,
            forward_client: false,
        })
    }

    /// A write, every header stored (`x-store-…`) as RESTBase's prefixHeaders did.
    fn put(&self, bucket: &str, key: &str, body: Vec<u8>, stored: &[(&str, &str)]) -> Callout {
        let mut headers = vec![("content-type".to_string(), "application/octet-stream".to_string())];
        headers.extend(stored.iter().map(|(n, v)| (format!("x-store-{}", n.to_ascii_lowercase()), v.to_string())));
        Callout {
            cluster: self.input.storage_cluster.clone(),
            method: "PUT",
            path: self.storage_path(bucket, key),
            authority: self.store_domain(),
            headers,
            body: Some(body),
            timeout_ms: self.input.storage_timeout_ms,
            forward_client: false,
        }
    }

    fn respond(&mut self, reply: Reply) -> Step {
        self.state = State::Done;
        Step::Respond(reply)
    }

    fn fail(&mut self, p: &Problem) -> Step {
        let reply = Reply::problem(p, &self.input.method, &self.input.uri, &self.input.domain);
        self.respond(reply)
    }
}

/// Mathoid's reason for refusing a formula: its `error` (the parser's message), else `detail`.
fn mathoid_detail(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |f: &str| v.get(f).and_then(|d| d.as_str()).map(str::to_string);
    text("error").or_else(|| text("detail")).unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

/// One render of mathoid's `/complete` answer: `{headers, body}`, the body a string, or a PNG as
/// Node's JSON form of a Buffer (`{"type": "Buffer", "data": [bytes]}`).
fn render_of(v: &serde_json::Value) -> Option<(Headers, Vec<u8>)> {
    let headers = v.get("headers")?.as_object()?.iter().filter_map(|(n, v)| Some((n.to_ascii_lowercase(), v.as_str()?.to_string()))).filter(|(n, v)| header_safe(n, v)).collect();
    let body = match v.get("body")? {
        serde_json::Value::String(s) if !s.is_empty() => s.clone().into_bytes(),
        serde_json::Value::Object(o) if o.get("type").and_then(|t| t.as_str()) == Some("Buffer") => {
            let data = o.get("data")?.as_array()?;
            data.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect::<Option<Vec<u8>>>().filter(|d| !d.is_empty())?
        }
        _ => return None,
    };
    Some((headers, body))
}

/// A header mathoid set that may be stored and sent on: a token name, no control characters.
fn header_safe(name: &str, value: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !value.bytes().any(|b| b.is_ascii_control())
}

#[cfg(test)]
mod tests;
