//! A fake host for the pipeline's tests, and [`serve`], which plays Envoy around it: the filter
//! chain, the router (forwarding to whatever upstream the request points at) and callouts, all
//! answered by a test's `upstream` function.

use crate::flow::{Callout, Upstream};
use crate::host::{header, Headers, Host, MetricKind};
use crate::pipeline::{Action, Filter, Request, CLUSTER_HEADER};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// A fake host and the filter configured on it with the shipped spec and no settings.
pub fn shipped_filter() -> (FakeHost, Rc<Filter>) {
    let h = FakeHost::default();
    let config = serde_json::json!({"spec": crate::spec::tests::shipped(), "settings": {}});
    let f = Filter::configure(&h, &serde_json::to_vec(&config).unwrap(), "restrouter".into()).unwrap();
    (h, Rc::new(f))
}

#[derive(Default)]
pub struct FakeHost {
    pub request_headers: RefCell<Headers>,
    pub request_body: RefCell<Vec<u8>>,
    pub response_headers: RefCell<Headers>,
    pub response_body: RefCell<Vec<u8>>,
    /// The local reply sent, if any.
    pub reply: RefCell<Option<(u16, Headers, Vec<u8>)>>,
    /// Callouts dispatched and not yet answered, with their tokens.
    pub pending: RefCell<Vec<(u32, Callout)>>,
    next_token: Cell<u32>,
    /// Dispatch refuses every callout.
    pub refuse_callouts: Cell<bool>,
    pub source: RefCell<Option<String>>,
    pub flags: Cell<u64>,
    /// How often the dearer properties were read.
    pub flag_reads: Cell<u32>,
    pub source_reads: Cell<u32>,
    /// Response header edits made (set, add, remove).
    pub response_edits: Cell<u32>,
    metrics: RefCell<Vec<String>>,
    values: RefCell<HashMap<u32, i64>>,
    pub now: Cell<u64>,
    queues: RefCell<Vec<String>>,
    pub enqueued: RefCell<Vec<Vec<u8>>>,
    pub shared: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    /// The held request was let go on.
    pub resumed: Cell<bool>,
}

fn set(map: &RefCell<Headers>, name: &str, value: &str) {
    let mut m = map.borrow_mut();
    m.retain(|(n, _)| n != name);
    m.push((name.to_string(), value.to_string()));
}

impl FakeHost {
    /// A counter's value by its name (0 when never incremented).
    pub fn counter(&self, name: &str) -> i64 {
        let id = self.metrics.borrow().iter().position(|n| n == name);
        id.and_then(|id| u32::try_from(id).ok()).and_then(|id| self.values.borrow().get(&id).copied()).unwrap_or(0)
    }

    pub fn set_shared(&self, key: &str, value: &[u8]) {
        let mut shared = self.shared.borrow_mut();
        let cas = shared.get(key).map_or(1, |(_, c)| c + 1);
        shared.insert(key.to_string(), (value.to_vec(), cas));
    }

    /// Forgets the last request (metrics and shared data stay).
    fn clear_request(&self) {
        self.request_headers.borrow_mut().clear();
        self.request_body.borrow_mut().clear();
        self.response_headers.borrow_mut().clear();
        self.response_body.borrow_mut().clear();
        *self.reply.borrow_mut() = None;
        self.pending.borrow_mut().clear();
        self.flags.set(0);
        self.flag_reads.set(0);
        self.source_reads.set(0);
        self.response_edits.set(0);
        self.resumed.set(false);
    }
}

impl Host for FakeHost {
    fn request_headers(&self) -> Headers {
        self.request_headers.borrow().clone()
    }
    fn set_request_header(&self, name: &str, value: &str) {
        set(&self.request_headers, name, value);
    }
    fn remove_request_header(&self, name: &str) {
        self.request_headers.borrow_mut().retain(|(n, _)| n != name);
    }
    fn request_body(&self, size: usize) -> Option<Vec<u8>> {
        Some(self.request_body.borrow().iter().copied().take(size).collect())
    }
    fn response_headers(&self) -> Headers {
        self.response_headers.borrow().clone()
    }
    fn set_response_header(&self, name: &str, value: &str) {
        self.response_edits.set(self.response_edits.get() + 1);
        set(&self.response_headers, name, value);
    }
    fn add_response_header(&self, name: &str, value: &str) {
        self.response_edits.set(self.response_edits.get() + 1);
        self.response_headers.borrow_mut().push((name.to_string(), value.to_string()));
    }
    fn remove_response_header(&self, name: &str) {
        self.response_edits.set(self.response_edits.get() + 1);
        self.response_headers.borrow_mut().retain(|(n, _)| n != name);
    }
    fn response_body(&self, max: usize) -> Vec<u8> {
        self.response_body.borrow().iter().copied().take(max).collect()
    }
    fn replace_response_body(&self, body: &[u8]) {
        *self.response_body.borrow_mut() = body.to_vec();
    }
    fn resume_request(&self) {
        self.resumed.set(true);
    }
    fn send_reply(&self, status: u16, headers: &[(String, String)], body: &[u8]) -> bool {
        *self.reply.borrow_mut() = Some((status, headers.to_vec(), body.to_vec()));
        true
    }
    fn dispatch(&self, callout: &Callout) -> Option<u32> {
        if self.refuse_callouts.get() {
            return None;
        }
        let token = self.next_token.get() + 1;
        self.next_token.set(token);
        self.pending.borrow_mut().push((token, callout.clone()));
        Some(token)
    }
    fn source_address(&self) -> Option<String> {
        self.source_reads.set(self.source_reads.get() + 1);
        self.source.borrow().clone()
    }
    fn response_flags(&self) -> u64 {
        self.flag_reads.set(self.flag_reads.get() + 1);
        self.flags.get()
    }
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn define_metric(&self, _kind: MetricKind, name: &str) -> Option<u32> {
        let mut metrics = self.metrics.borrow_mut();
        metrics.push(name.to_string());
        u32::try_from(metrics.len() - 1).ok()
    }
    fn increment(&self, metric: u32, by: i64) {
        *self.values.borrow_mut().entry(metric).or_default() += by;
    }
    fn record(&self, metric: u32, value: u64) {
        self.values.borrow_mut().insert(metric, i64::try_from(value).unwrap_or(i64::MAX));
    }
    fn register_queue(&self, name: &str) -> Option<u32> {
        let mut queues = self.queues.borrow_mut();
        queues.push(name.to_string());
        u32::try_from(queues.len()).ok()
    }
    fn resolve_queue(&self, _vm_id: &str, name: &str) -> Option<u32> {
        let queues = self.queues.borrow();
        // Unregistered (no singleton yet) reads as the first queue, so workers can enqueue.
        Some(queues.iter().position(|q| q == name).and_then(|i| u32::try_from(i + 1).ok()).unwrap_or(1))
    }
    fn enqueue(&self, _queue: u32, bytes: &[u8]) -> bool {
        self.enqueued.borrow_mut().push(bytes.to_vec());
        true
    }
    fn dequeue(&self, _queue: u32) -> Option<Vec<u8>> {
        let mut q = self.enqueued.borrow_mut();
        (!q.is_empty()).then(|| q.remove(0))
    }
    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        match self.shared.borrow().get(key) {
            Some((v, cas)) => (Some(v.clone()), Some(*cas)),
            None => (None, None),
        }
    }
    fn set_shared_data(&self, key: &str, value: &[u8]) -> bool {
        self.set_shared(key, value);
        true
    }
    fn set_shared_data_if(&self, key: &str, value: &[u8], cas: u32) -> bool {
        // The host's rule: a key that exists must still have `cas`; a new key is written.
        let current = self.shared.borrow().get(key).map(|(_, c)| *c);
        if current.is_some_and(|c| c != cas) {
            return false;
        }
        self.set_shared(key, value);
        true
    }
    fn set_tick_period_ms(&self, _ms: u64) {}
}

/// What an upstream (storage or a back-end, through the router or a callout) answers; status 0
/// is a reset. `flags`: Envoy's response flags, when Envoy answered in its place.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub flags: u64,
}

impl Answer {
    pub fn new(status: u16, content_type: &str, body: &str) -> Answer {
        Answer { status, headers: vec![("content-type".into(), content_type.into())], body: body.as_bytes().to_vec(), flags: 0 }
    }
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Envoy's own answer in place of the upstream's, with its response flags.
    pub fn envoy(status: u16, flags: u64, body: &str) -> Answer {
        Answer { flags, ..Answer::new(status, "text/plain", body) }
    }
    pub fn reset() -> Answer {
        Answer::default()
    }
}

/// A request the upstream saw: `cluster method path`, and its headers.
#[derive(Debug, Clone)]
pub struct Seen {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// What the client got.
#[derive(Debug)]
pub struct Served {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// Every request an upstream saw, in order (router forwards and callouts alike).
    pub seen: Vec<Seen>,
    /// The answer was the filter's own reply.
    pub local: bool,
}

impl Served {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn lines(&self) -> Vec<&str> {
        self.seen.iter().map(|s| s.line.as_str()).collect()
    }
    /// The problem body, checked to be one: status, type suffix and the five fields.
    pub fn problem(&self, status: u16, kind: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{self:?}\n{}", self.text());
        assert_eq!(self.header("content-type"), Some(crate::problem::CONTENT_TYPE), "{self:?}");
        assert_eq!(self.header("cache-control"), Some(crate::policy::DEFAULT_CACHE_CONTROL), "{self:?}");
        assert_eq!(self.header("access-control-allow-origin"), Some("*"), "{self:?}");
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()));
        assert_eq!(v["type"], format!("{}{kind}", crate::problem::TYPE_PREFIX), "{v}");
        assert_eq!(v.as_object().map(|o| o.len()), Some(5), "{v}");
        v
    }
}

/// A client request.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Option<Vec<u8>>,
    pub source: &'a str,
}

impl<'a> Req<'a> {
    pub fn get(path: &'a str) -> Req<'a> {
        Req { method: "GET", path, headers: Vec::new(), body: None, source: "198.51.100.7:4000" }
    }
    pub fn header(mut self, name: &'a str, value: &'a str) -> Req<'a> {
        self.headers.push((name, value));
        self
    }
    pub fn internal(mut self) -> Req<'a> {
        self.source = "127.0.0.1:4000";
        self
    }
}

/// Plays Envoy for one request: the filter's callbacks in order, the router's forward to the
/// upstream the request points at, callouts, and local replies (through the filter chain when
/// sent while decoding, straight to the client when sent in place of a held response).
pub fn serve(h: &FakeHost, filter: &Rc<Filter>, req: Req<'_>, upstream: &dyn Fn(&str) -> Answer) -> Served {
    h.clear_request();
    *h.source.borrow_mut() = Some(req.source.to_string());
    let mut headers = vec![(":method".to_string(), req.method.to_string()), (":path".to_string(), req.path.to_string())];
    if !req.headers.iter().any(|(n, _)| *n == ":authority") {
        headers.push((":authority".to_string(), "localhost".to_string()));
    }
    headers.extend(req.headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    *h.request_headers.borrow_mut() = headers;
    let mut seen = Vec::new();
    let mut r = Request::new(filter.clone());
    let mut action = r.on_request_headers(h, req.body.is_none());
    if let Some(body) = &req.body {
        if h.reply.borrow().is_none() {
            *h.request_body.borrow_mut() = body.clone();
            action = r.on_request_body(h, body.len(), true);
        }
    }
    answer_callouts(h, &mut r, upstream, &mut seen);
    let reply = h.reply.borrow_mut().take();
    if let Some(reply) = reply {
        // A reply while decoding goes through the encoder filters, this one included.
        return encode(h, &mut r, reply, seen);
    }
    assert!(action == Action::Continue || h.resumed.get(), "the request was neither answered nor let through");
    let req_headers = h.request_headers.borrow().clone();
    let cluster = header(&req_headers, CLUSTER_HEADER).unwrap_or("none").to_string();
    let line = format!("{cluster} {} {}", req.method, header(&req_headers, ":path").unwrap_or_default());
    let a = upstream(&line);
    seen.push(Seen { line, headers: req_headers, body: req.body.clone() });
    h.flags.set(a.flags);
    let mut resp = vec![(":status".to_string(), a.status.to_string())];
    resp.extend(a.headers.iter().cloned());
    resp.push(("content-length".into(), a.body.len().to_string()));
    if cluster != "none" && a.flags == 0 {
        // The filter's routes set the policy's static headers on an upstream's answer,
        // replacing its own (`response_headers_to_add`, OVERWRITE_IF_EXISTS_OR_ADD).
        for (name, value) in crate::policy::STATIC {
            resp.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            resp.push((name.to_string(), value.to_string()));
        }
    }
    *h.response_headers.borrow_mut() = resp;
    *h.response_body.borrow_mut() = a.body.clone();
    if r.on_response_headers(h) == Action::Pause {
        answer_callouts(h, &mut r, upstream, &mut seen);
        let held = r.on_response_body(h, a.body.len(), true);
        assert_eq!(held, Action::Pause, "storage's answer is held while it is replaced");
        assert!(h.response_body.borrow().is_empty(), "storage's body is dropped");
        let Some((status, mut headers, body)) = h.reply.borrow_mut().take() else { panic!("a held answer was never replaced") };
        // Envoy's route adds its headers to a reply sent in place of the route's answer.
        headers.extend(crate::policy::STATIC.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        // Sent straight to the client: response headers had started through the filters.
        r.on_log(h);
        return Served { status, headers, body, seen, local: true };
    }
    let len = h.response_body.borrow().len();
    assert_eq!(r.on_response_body(h, len, true), Action::Continue);
    r.on_log(h);
    let headers = h.response_headers.borrow().clone();
    let status = header(&headers, ":status").and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = h.response_body.borrow().clone();
    Served { status, headers, body, seen, local: false }
}

fn answer_callouts(h: &FakeHost, r: &mut Request, upstream: &dyn Fn(&str) -> Answer, seen: &mut Vec<Seen>) {
    loop {
        let next = h.pending.borrow_mut().pop();
        let Some((token, c)) = next else { return };
        let line = format!("{} {} {}", c.cluster, c.method, c.path);
        let a = upstream(&line);
        let headers = c.all_headers().into_iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        seen.push(Seen { line, headers, body: c.body.clone() });
        let resp = if a.status == 0 { Upstream::callout(0, Vec::new(), Vec::new()) } else { Upstream::callout(a.status, a.headers, a.body) };
        r.on_callout(h, token, resp);
    }
}

/// A local reply on its way out through the filter chain.
fn encode(h: &FakeHost, r: &mut Request, (status, headers, body): (u16, Headers, Vec<u8>), seen: Vec<Seen>) -> Served {
    let mut resp = vec![(":status".to_string(), status.to_string())];
    resp.extend(headers);
    resp.push(("content-length".into(), body.len().to_string()));
    *h.response_headers.borrow_mut() = resp;
    *h.response_body.borrow_mut() = body;
    assert_eq!(r.on_response_headers(h), Action::Continue);
    let len = h.response_body.borrow().len();
    assert_eq!(r.on_response_body(h, len, true), Action::Continue);
    r.on_log(h);
    let headers = h.response_headers.borrow().clone();
    let status = header(&headers, ":status").and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = h.response_body.borrow().clone();
    Served { status, headers, body, seen, local: true }
}
