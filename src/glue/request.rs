//! The per-request context: route → validate → access → rate check → storage flow or
//! pass-through, then the response policy on whatever comes back.

use super::{host, Filter, EVENTS_QUEUE};
use crate::client::{Class, Client};
use crate::flow::{Begin, FlowInput, Step, StoredFlow, Upstream};
use crate::headers::{self, DEFAULT_CACHE_CONTROL};
use crate::metrics::Counter;
use crate::paths::split_query;
use crate::problem::{self, Problem};
use crate::ratelimit::Decision;
use crate::reply::Reply;
use crate::router::{self, Matched, Target};
use crate::spec::model::CspProfile;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::collections::HashMap;
use std::rc::Rc;

pub use super::ratelimit::RateLimitState;

/// Header the filter sets to pick the Envoy route of a pass-through back-end; a client's own
/// value is always removed first.
pub const CLUSTER_HEADER: &str = "x-restrouter-cluster";

/// Envoy response flags (`response.flags`) that mean the back-end was never reached or went
/// away: no healthy upstream, connection failure or termination, remote reset, overflow.
const UPSTREAM_UNREACHABLE: u64 = 0x2 | 0x10 | 0x20 | 0x40 | 0x80;

/// A context for roots that are not filters: lets everything through untouched.
pub struct Inert;
impl Context for Inert {}
impl HttpContext for Inert {}

pub struct Request {
    filter: Rc<Filter>,
    start_ms: u64,
    method: String,
    uri: String,
    domain: String,
    /// Worked out on first use: most requests (a hit on a route without a limit) never need
    /// it, and `source.address` is one of the dearest host calls.
    client: Option<Client>,
    /// The request headers as they came, read once: Envoy takes them away from the filter once
    /// it lets them through, and a callout may need some later.
    headers: Vec<(String, String)>,
    /// Waiting for the request body before validating.
    awaiting_body: Option<Matched>,
    flow: Option<(StoredFlow, u32)>,
    /// A stored route whose request went to storage through Envoy's router.
    stored_read: Option<StoredFlow>,
    /// Storage's answer is being replaced by the flow's: its body is dropped.
    replacing: bool,
    /// Index of the matched operation, for per-route metrics.
    op_index: Option<usize>,
    /// Response policy of a pass-through route.
    passthrough: Option<(Option<String>, Option<String>, CspProfile)>,
    status: u16,
    /// The filter answered itself, with this content type: its reply already carries the policy.
    local_reply: Option<String>,
    /// An upstream error without a problem+json body: the body is replaced at its end.
    rewrite_error: Option<u16>,
    head: bool,
    rate_headers: Vec<(String, String)>,
}

impl Request {
    pub fn new(filter: Rc<Filter>) -> Request {
        Request {
            filter,
            start_ms: 0,
            method: String::new(),
            uri: String::new(),
            domain: String::new(),
            client: None,
            headers: Vec::new(),
            awaiting_body: None,
            flow: None,
            stored_read: None,
            replacing: false,
            op_index: None,
            passthrough: None,
            status: 0,
            local_reply: None,
            rewrite_error: None,
            head: false,
            rate_headers: Vec::new(),
        }
    }

    fn send(&mut self, reply: Reply) -> Action {
        self.local_reply = Some(reply.header("content-type").unwrap_or_default().to_string());
        let mut headers = reply.headers;
        headers.append(&mut self.rate_headers);
        self.status = reply.status;
        // Always with the body: Envoy derives content-length (and keeps content-type) from it,
        // then leaves it out itself when the request was a HEAD.
        if host::send_response(reply.status, &headers, Some(reply.body.as_slice())).is_err() {
            log::warn!("restrouter: could not send the local reply for {}", self.uri);
        }
        Action::Pause
    }

    fn send_problem(&mut self, p: &Problem) -> Action {
        let reply = Reply::problem(p, &self.method, &self.uri, &self.domain);
        self.send(reply)
    }

    fn settings(&self) -> &crate::config::Settings {
        &self.filter.config.settings
    }

    fn header(&self, name: &str) -> Option<&str> {
        host::header(&self.headers, name)
    }

    fn client(&mut self) -> Client {
        client(&mut self.client, &self.filter.trust, host::header(&self.headers, "x-client-ip"))
    }

    /// Everything after the body (if any) is known to be valid.
    fn proceed(&mut self, m: Matched) -> Action {
        let limit = m.op.rate_limit.as_ref().filter(|_| self.settings().ratelimit.enabled);
        if let Some(rl) = limit {
            let client = self.client();
            let limit = match client.class {
                Class::Internal => rl.internal,
                Class::External => rl.external,
            };
            if let (Some(limit), Some(ip)) = (limit, client.ip) {
                let decision = self.filter.ratelimit.check(&m.op, &ip, limit, rl.log_only);
                self.filter.metrics.ratelimit(m.op.index, decision);
                match decision {
                    Decision::Allow | Decision::LogOnly => {}
                    Decision::Limit { retry_after_s } => {
                        self.rate_headers = crate::ratelimit::limited_headers(limit, retry_after_s);
                        let p = Problem::new(429, "request_rate_exceeded", "HyperSwitch request rate limit exceeded", format!("The rate limit of {limit} requests per second for this route was exceeded; retry later"));
                        return self.send_problem(&p);
                    }
                }
            }
        }
        if m.op.storage.is_some() {
            self.start_flow(m)
        } else {
            self.forward(m)
        }
    }

    /// What a back-end learns of the client.
    fn forwarded_headers(&mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(v) = self.header("accept-language") {
            out.push(("accept-language".into(), v.to_string()));
        }
        if let Some(ip) = self.client().ip {
            out.push(("x-client-ip".into(), ip.to_string()));
        }
        out
    }

    fn start_flow(&mut self, m: Matched) -> Action {
        let cache_control = self.header("cache-control").map(str::to_string);
        let no_cache = cache_control.as_deref().is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"));
        // Re-renders are for trusted internal clients only; others' no-cache is ignored.
        let rerender = no_cache && self.client().class == Class::Internal;
        let s = self.settings();
        let input = FlowInput {
            op: m.op,
            domain: m.domain,
            params: m.params,
            method: self.method.clone(),
            uri: self.uri.clone(),
            rerender,
            storage_cluster: s.storage_cluster.clone(),
            storage_timeout_ms: s.timeouts_ms.storage,
            backend_timeout_ms: s.timeouts_ms.backend,
        };
        let mut flow = StoredFlow::new(input);
        match flow.start() {
            Begin::Step(step) => self.run(flow, step),
            Begin::ReadThroughRouter(path) => {
                let op = &flow.input().op;
                host::set_request_header(":path", &path);
                host::set_request_header(":authority", &flow.input().domain);
                host::set_request_header(CLUSTER_HEADER, &flow.input().storage_cluster);
                if cache_control.is_some() {
                    // Storage answers a no-cache read with 404; only the flow decides on re-renders.
                    host::remove_request_header("cache-control");
                }
                self.passthrough = Some((op.cache_control.clone(), op.content_type.clone(), op.csp));
                self.stored_read = Some(flow);
                Action::Continue
            }
        }
    }

    /// Carries out steps until one waits on the network or answers.
    fn run(&mut self, mut flow: StoredFlow, mut step: Step) -> Action {
        loop {
            for note in flow.take_notes() {
                self.filter.metrics.count(note);
            }
            match step {
                Step::Respond(reply) => {
                    if flow.content_changed() {
                        self.emit_change(&flow);
                    }
                    return self.send(reply);
                }
                Step::Call(mut callout) => match self.dispatch(&mut callout) {
                    Ok(token) => {
                        self.flow = Some((flow, token));
                        return Action::Pause;
                    }
                    Err(status) => {
                        log::warn!("restrouter: callout to {} not dispatched: {status:?}", callout.cluster);
                        self.filter.metrics.count(Counter::CalloutFailed);
                        step = flow.on_response(crate::flow::Upstream::default());
                    }
                },
            }
        }
    }

    fn dispatch(&mut self, callout: &mut crate::flow::Callout) -> Result<u32, proxy_wasm::types::Status> {
        if let Some(id) = self.header("x-request-id") {
            callout.headers.push(("x-request-id".into(), id.to_string()));
        }
        if callout.forward_client {
            let forwarded = self.forwarded_headers();
            callout.headers.extend(forwarded);
        }
        host::dispatch(callout)
    }

    fn emit_change(&self, flow: &StoredFlow) {
        let input = flow.input();
        let Some(change) = crate::events::change(&input.op, &input.params, &input.domain, &self.settings().event_base_path, self.header("x-request-id").map(str::to_string)) else {
            return;
        };
        let queue = self.filter.events_queue.get().or_else(|| {
            let q = host::resolve_queue(&self.filter.vm_id, EVENTS_QUEUE);
            self.filter.events_queue.set(q);
            q
        });
        let sent = match (queue, serde_json::to_vec(&change)) {
            (Some(q), Ok(bytes)) => host::enqueue(q, &bytes),
            _ => false,
        };
        self.filter.metrics.count(if sent { Counter::EventsQueued } else { Counter::EventsDropped });
    }

    /// Pass-through: point the request at the back-end and let Envoy's router forward it.
    fn forward(&mut self, m: Matched) -> Action {
        let (_, query) = split_query(&self.uri);
        let mut path = crate::paths::expand(&m.op.backend.path, &m.params);
        if !query.is_empty() {
            path.push('?');
            path.push_str(query);
        }
        host::set_request_header(":path", &path);
        // Back-ends serve many wikis and tell them apart by Host, as RESTBase sent it.
        host::set_request_header(":authority", &m.domain);
        host::set_request_header(CLUSTER_HEADER, &m.op.backend.cluster);
        // The client's accept-language goes on as it is; x-client-ip is the filter's word.
        match self.client().ip {
            Some(ip) => host::set_request_header("x-client-ip", &ip.to_string()),
            None if self.header("x-client-ip").is_some() => host::remove_request_header("x-client-ip"),
            None => {}
        }
        self.passthrough = Some((m.op.cache_control.clone(), m.op.content_type.clone(), m.op.csp));
        Action::Continue
    }
}

/// The client, worked out once into `cache`.
fn client(cache: &mut Option<Client>, trust: &crate::client::Trust, x_client_ip: Option<&str>) -> Client {
    *cache.get_or_insert_with(|| trust.client(host::property(&["source", "address"]).as_deref(), x_client_ip))
}

impl Context for Request {
    fn on_http_call_response(&mut self, token: u32, num_headers: usize, body_size: usize, _num_trailers: usize) {
        let Some((mut flow, expected)) = self.flow.take() else { return };
        if token != expected {
            self.flow = Some((flow, expected));
            return;
        }
        let step = flow.on_response(host::callout_response(num_headers, body_size));
        // A reply was sent (or the next callout dispatched) inside `run`; nothing to resume.
        let _ = self.run(flow, step);
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.start_ms = host::now_ms();
        self.headers = host::request_headers();
        #[cfg(all(feature = "test-trap", target_arch = "wasm32"))]
        if self.header("x-restrouter-test-trap").is_some() {
            core::arch::wasm32::unreachable();
        }
        if self.header(CLUSTER_HEADER).is_some() {
            // Only the filter may choose a back-end route.
            host::remove_request_header(CLUSTER_HEADER);
        }
        self.method = self.header(":method").unwrap_or_default().to_string();
        self.uri = self.header(":path").unwrap_or_default().to_string();
        self.domain = router::domain_of(&self.uri).chars().take(256).collect();
        self.head = self.method == "HEAD";

        let filter = self.filter.clone();
        let (cache, x_client_ip) = (&mut self.client, host::header(&self.headers, "x-client-ip"));
        let target = match router::route(&filter.api, &self.method, &self.uri, || client(cache, &filter.trust, x_client_ip).class) {
            Ok(t) => t,
            Err(p) => {
                self.filter.metrics.count(Counter::Unrouted);
                return self.send_problem(&p);
            }
        };
        let m = match target {
            Target::Op(m) => m,
            Target::Spec(body) => return self.send(Reply::content(200, "application/json", body, None, CspProfile::Auto, &self.domain.clone())),
            Target::Listing(body) => return self.send(Reply::content(200, "application/json", body, None, CspProfile::Auto, &self.domain.clone())),
            Target::Preflight => return self.send(Reply::content(200, "text/plain", Vec::new(), None, CspProfile::Auto, &self.domain.clone())),
        };
        self.op_index = Some(m.op.index);
        if m.op.internal_only && self.client().class == Class::External {
            return self.send_problem(&Problem::forbidden("This route is restricted to internal clients"));
        }
        if m.op.validator.wants_body() && !end_of_stream {
            // Headers are held (allow_on_headers_stop_iteration) until the body is validated.
            if let Err(p) = self.validate(&m, None, true) {
                return self.send_problem(&p);
            }
            self.awaiting_body = Some(m);
            return Action::Pause;
        }
        if let Err(p) = self.validate(&m, None, false) {
            return self.send_problem(&p);
        }
        self.proceed(m)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.awaiting_body.is_none() {
            return Action::Continue;
        }
        let max = self.settings().max_body_bytes;
        if body_size > max {
            self.awaiting_body = None;
            return self.send_problem(&Problem::too_large(format!("The request body is larger than {max} bytes")));
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let Some(m) = self.awaiting_body.take() else { return Action::Continue };
        let body = host::request_body(body_size).unwrap_or_default();
        if let Err(p) = self.validate(&m, Some(&body), false) {
            return self.send_problem(&p);
        }
        self.proceed(m)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // One read of the whole map rather than a host call per header.
        let headers = host::response_headers();
        if let Some(ours) = &self.local_reply {
            if host::header(&headers, "content-type") == Some(ours.as_str()) {
                return Action::Continue;
            }
            // Envoy answered in place of the filter (its own 413 when a body outgrows the
            // listener's buffer in the same chunk the filter refused it): that answer gets the
            // policy like any other.
            self.local_reply = None;
        }
        self.status = host::header(&headers, ":status").and_then(|s| s.parse().ok()).unwrap_or(0);
        let upstream = Upstream { status: self.status, headers, body: Vec::new() };
        if let Some(mut flow) = self.stored_read.take() {
            let next = flow.on_read(&upstream);
            for note in flow.take_notes() {
                self.filter.metrics.count(note);
            }
            if let Some(step) = next {
                // A miss or a storage failure: the flow's answer replaces this one, which is
                // held (Envoy sends a local reply from here as long as no headers went out).
                self.replacing = true;
                let _ = self.run(flow, step);
                return Action::Pause;
            }
        }
        if self.status == 503 && host::response_flags() & UPSTREAM_UNREACHABLE != 0 {
            // Envoy could not reach the back-end at all: as a gateway, that is a 502.
            self.status = 502;
            host::set_response_header(":status", "502");
        }
        let (cache_control, default_ct, csp) = self.passthrough.clone().unwrap_or((None, None, CspProfile::Auto));
        let ct = match upstream.header("content-type") {
            Some(ct) => ct.to_string(),
            None => {
                let ct = default_ct.unwrap_or_else(|| "application/octet-stream".into());
                host::add_response_header("content-type", &ct);
                ct
            }
        };
        let error = self.status >= 400;
        if error && !ct.starts_with(problem::CONTENT_TYPE) {
            // Errors are always problem+json: the body is replaced once it is complete.
            self.rewrite_error = Some(self.status);
            host::set_response_header("content-type", problem::CONTENT_TYPE);
            host::remove_response_header("content-length");
        }
        let cc = if error { Some(DEFAULT_CACHE_CONTROL.to_string()) } else { cache_control.or_else(|| upstream.header("cache-control").map(str::to_string)) };
        host::set_response_header("cache-control", cc.as_deref().unwrap_or(DEFAULT_CACHE_CONTROL));
        let effective_ct = if self.rewrite_error.is_some() { problem::CONTENT_TYPE.to_string() } else { ct };
        // The policy's own values replace an upstream's: removed if sent, then added.
        for name in headers::managed_names().filter(|n| upstream.header(n).is_some()) {
            host::remove_response_header(name);
        }
        for (n, v) in headers::security(&effective_ct, csp, &self.domain) {
            host::add_response_header(n, &v);
        }
        for (n, v) in &self.rate_headers {
            host::set_response_header(n, v);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.replacing {
            // Nothing of storage's answer reaches the client; keep no copy of it either.
            host::replace_response_body(&[]);
            return Action::Pause;
        }
        let Some(status) = self.rewrite_error else { return Action::Continue };
        if !end_of_stream {
            return Action::Pause;
        }
        let upstream = proxy_wasm::hostcalls::get_buffer(proxy_wasm::types::BufferType::HttpResponseBody, 0, body_size.min(4096)).ok().flatten().unwrap_or_default();
        let detail = String::from_utf8_lossy(&upstream).into_owned();
        let p = problem::from_upstream(status, detail.trim());
        host::replace_response_body(&p.body(&self.method, &self.uri));
        Action::Continue
    }

    fn on_log(&mut self) {
        if let (Some(index), true) = (self.op_index, self.status > 0) {
            let latency = host::now_ms().saturating_sub(self.start_ms);
            self.filter.metrics.request(index, self.status, latency);
        }
    }
}

impl Request {
    fn validate(&self, m: &Matched, body: Option<&[u8]>, headers_only: bool) -> Result<(), Problem> {
        let headers: HashMap<String, String> = m.op.validator.header_names().filter_map(|n| self.header(n).map(|v| (n.to_string(), v.to_string()))).collect();
        if headers_only {
            // Path, query and headers now; the body is checked when it has arrived.
            return m.validate_without_body(&headers);
        }
        m.validate(&headers, body, self.header("content-type"))
    }
}
