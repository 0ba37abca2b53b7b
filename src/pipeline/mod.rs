//! The per-request pipeline, written against [`Host`] only: route → validate → access → rate
//! check → stored flow or pass-through, then the response policy on whatever answers. The glue
//! forwards proxy-wasm's callbacks here; the tests drive it with a fake host.
//!
//! A request is in one [`Phase`] at a time:
//!
//! ```text
//! Start ──(body to validate)──▶ AwaitingBody ─┐
//!   │ invalid, 404, 403, 429 … ─▶ Replied      │
//!   │ (a title, siteinfo not cached) ─▶ Siteinfo ─▶ 301 / 400 / 503 ─▶ Replied, or on as below
//!   ├──pass-through──▶ Forwarded ──answer──▶ Proxied (policy; errors rewritten)
//!   ├──redirect from the back-end's JSON──▶ RedirectSource ──▶ Replied
//!   ├──related pages──▶ Related (search, then summaries) ──▶ Replied
//!   ├──page save──▶ Save (Parsoid's transform, then the edit) ──▶ Replied
//!   └──stored──▶ StorageRead ──hit──▶ Proxied
//!        │ (forced re-render)     └─miss/error─▶ Callout (replacing) ─▶ … ─▶ Replied (replacing)
//!        └──────────────────────────────────────▶ Callout ─▶ … ─▶ Replied
//! ```
//!
//! A fetch of content another request is rendering waits for it instead (`Waiting`, see
//! `coalesce`), then goes on as a callout.

mod coalesce;
mod page;
pub mod ratelimit;
mod redirect;
mod related;
mod save;

#[cfg(test)]
mod credential_tests;
#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;

use crate::client::{Class, Client, Trust};
use crate::config::{self, Settings};
use crate::events::Change;
use crate::flow::{failure_counter, Begin, Callout, Failure, FlowInput, Step, StoredFlow, Upstream};
use crate::host::{header, Headers, Host};
use crate::math::{MathFlow, MathInput};
use crate::metrics::{Counter, Metrics};
use crate::pages::{self, SiteCache};
use crate::paths::{expand, split_query};
use crate::policy::{self, Edit, Origin, RoutePolicy};
use crate::problem::{self, Problem};
use crate::ratelimit::Decision;
use crate::reply::Reply;
use crate::router::{self, Matched, Target};
use crate::spec::Api;
use page::PageHeaders;
use ratelimit::RateLimitState;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

/// Shared queue the workers hand changed-content notices to; the singleton owns it.
pub const EVENTS_QUEUE: &str = "restrouter.events";

/// Header the filter sets to pick the Envoy route of a pass-through back-end; a client's own
/// value is always removed first.
pub const CLUSTER_HEADER: &str = "x-restrouter-cluster";

/// How often a worker ships rate counts and picks up verdicts.
const RATELIMIT_TICK_MS: u64 = 200;
/// The client's credentials: they reach only the back-end of an operation that acts as the
/// client (`x-restrouter.credentials`), never storage, another back-end or a callout.
pub const CREDENTIAL_HEADERS: &[&str] = &["cookie", "authorization"];

/// How much of an upstream's error body becomes the detail of the problem replacing it.
const ERROR_DETAIL_BYTES: usize = 4096;

/// What the host does with the request or response after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    Pause,
}

/// What every request of a filter root reads: built once per VM, never changed.
pub struct Filter {
    pub api: Api,
    pub settings: Settings,
    trust: Trust,
    metrics: Metrics,
    vm_id: String,
    /// Resolved on first use: the singleton may start after the workers.
    events_queue: Cell<Option<u32>>,
    ratelimit: RateLimitState,
    sites: SiteCache,
    /// When the rate-limit part of the tick is due next.
    next_ratelimit_tick: Cell<u64>,
}

impl Filter {
    /// Compiles the filter's configuration. Fails closed: a configuration without a spec, or
    /// with one that does not compile, is refused with what is wrong.
    pub fn configure(host: &impl Host, bytes: &[u8], vm_id: String) -> Result<Filter, String> {
        Filter::from_config(host, config::parse(bytes)?, vm_id)
    }

    /// As [`Filter::configure`], from the parsed configuration (the glue frees the bytes first:
    /// what is allocated while the spec compiles stays in the VM's memory).
    pub fn from_config(host: &impl Host, config: config::PluginConfig, vm_id: String) -> Result<Filter, String> {
        let config::PluginConfig { spec, settings } = config;
        let spec = spec.ok_or("configuration: no `spec`: the filter (root_id restrouter) serves only the API a spec describes")?;
        let api = Api::compile(&spec).map_err(|e| format!("spec: {e}"))?;
        drop(spec);
        let metrics = Metrics::define(host, Some(&api));
        if settings.coalesce.wait_ms > 0 {
            coalesce::prepare(host);
        }
        Ok(Filter {
            trust: settings.trust(),
            ratelimit: RateLimitState::new(&settings),
            api,
            settings,
            metrics,
            vm_id,
            events_queue: Cell::new(None),
            sites: SiteCache::default(),
            next_ratelimit_tick: Cell::new(0),
        })
    }

    fn limits(&self) -> bool {
        self.settings.ratelimit.enabled && self.api.ops.iter().any(|o| o.rate_limit.is_some())
    }

    /// The worker's tick period, if it needs one: rate limiting ships counts and picks up
    /// verdicts on it, and requests waiting for another's render look at its lease.
    pub fn tick_ms(&self) -> Option<u64> {
        let coalesce = (self.settings.coalesce.wait_ms > 0).then_some(self.settings.coalesce.poll_ms.max(1));
        let limits = self.limits().then_some(RATELIMIT_TICK_MS);
        coalesce.into_iter().chain(limits).min()
    }

    /// The filter's part of the tick (the glue wakes waiting requests).
    pub fn on_tick(&self, host: &impl Host) {
        let now = host.now_ms();
        if self.limits() && now >= self.next_ratelimit_tick.get() {
            self.next_ratelimit_tick.set(now + RATELIMIT_TICK_MS);
            self.ratelimit.on_tick(host, &self.vm_id);
        }
    }
}

#[derive(Debug, Default)]
enum Phase {
    /// Before the request headers.
    #[default]
    Start,
    /// Path, query and headers are valid; the body is awaited (headers held).
    AwaitingBody(Matched),
    /// A page route waits for the wiki's siteinfo (headers held).
    Siteinfo { m: Matched, token: u32 },
    /// A page route waits for its revision's metadata from storage (headers held). `hops`:
    /// redirects followed so far for a cross-origin request.
    Revision { m: Matched, token: u32, hops: u8 },
    /// A redirect page waits for its target from the action API (headers held).
    RedirectTarget { m: Matched, token: u32, hops: u8 },
    /// A redirect waits for what it is built from, asked of the back-end (headers held).
    RedirectSource { m: Matched, token: u32 },
    /// Related pages: the search, then their summaries, are out (headers held).
    Related { m: Matched, state: related::Gathering },
    /// A page save waits on Parsoid's transform or (`editing`) the action API's edit (headers
    /// held).
    Save { save: Box<crate::save::Save>, route: RoutePolicy, token: u32, editing: bool },
    /// Pass-through: Envoy's router forwards the request to the back-end.
    Forwarded(RoutePolicy),
    /// A stored route's read, sent to storage by Envoy's router.
    StorageRead(StoredFlow),
    /// A math composite waits on a callout (headers held).
    Math { flow: MathFlow, token: u32 },
    /// A stored flow waits on a callout. `replacing`: storage's answer is held, to be replaced.
    Callout { flow: StoredFlow, token: u32, replacing: bool },
    /// A stored flow waits for another request's render of the same content.
    Waiting(Box<coalesce::Waiting>),
    /// The filter answered itself, with the policy of `route` (Envoy may still answer in its
    /// place). `replacing` as above: storage's body is dropped.
    Replied { route: RoutePolicy, replacing: bool },
    /// An answer on its way out, with the policy applied; an error's body is replaced by a
    /// problem once complete.
    Proxied { rewrite: Option<u16> },
}

pub struct Request {
    filter: Rc<Filter>,
    phase: Phase,
    start_ms: u64,
    method: String,
    uri: String,
    domain: String,
    /// Worked out on first use: most requests (a hit on a route without a limit) never need
    /// it, and `source.address` is one of the dearest host calls.
    client: Option<Client>,
    /// The request headers as they came, read once: Envoy takes them away from the filter once
    /// it lets them through, and a callout may need some later.
    headers: Headers,
    /// Index of the matched operation, for per-route metrics.
    op_index: Option<usize>,
    /// Status of the answer, for per-route metrics.
    status: u16,
    /// What page semantics add to the answer, whoever gives it.
    page: PageHeaders,
    /// The latest revision, as page_revisions named it for a request without one.
    resolved_revision: Option<String>,
    /// The wiki's content language, for a back-end that wants one the client did not send.
    wiki_language: Option<String>,
    /// The request body, kept for the operations that act on its fields (a math check's
    /// formula, a page save).
    body: Option<Vec<u8>>,
    /// The render lease it holds, or how long it may wait for another's.
    coalescing: coalesce::Coalescing,
}

impl Request {
    pub fn new(filter: Rc<Filter>) -> Request {
        Request {
            filter,
            phase: Phase::Start,
            start_ms: 0,
            method: String::new(),
            uri: String::new(),
            domain: String::new(),
            client: None,
            headers: Vec::new(),
            op_index: None,
            status: 0,
            page: PageHeaders::default(),
            resolved_revision: None,
            wiki_language: None,
            body: None,
            coalescing: coalesce::Coalescing::default(),
        }
    }

    pub fn on_request_headers(&mut self, host: &impl Host, end_of_stream: bool) -> Action {
        self.start_ms = host.now_ms();
        self.headers = host.request_headers();
        if self.header(CLUSTER_HEADER).is_some() {
            // Only the filter may choose a back-end route.
            host.remove_request_header(CLUSTER_HEADER);
        }
        self.method = self.header(":method").unwrap_or_default().to_string();
        self.uri = self.header(":path").unwrap_or_default().to_string();
        let authority = self.header(":authority").unwrap_or_default().to_string();
        self.domain = router::domain_of(&self.uri, &authority).chars().take(256).collect();

        let filter = self.filter.clone();
        let (cache, x_client_ip) = (&mut self.client, header(&self.headers, "x-client-ip"));
        let target = router::route(&filter.api, &self.method, &self.uri, &authority, || client(host, cache, &filter.trust, x_client_ip).class);
        let m = match target {
            Ok(Target::Op(m)) => m,
            Ok(Target::Spec(body) | Target::Listing(body)) => return self.reply(host, Reply::document("application/json", body, &self.domain), RoutePolicy::default()),
            Ok(Target::Preflight) => return self.reply(host, Reply::document("text/plain", Vec::new(), &self.domain), RoutePolicy::default()),
            Err(p) => {
                filter.metrics.count(host, Counter::Unrouted);
                return self.problem(host, &p);
            }
        };
        self.op_index = Some(m.op.index);
        if m.op.internal_only && self.client(host).class == Class::External {
            return self.problem(host, &Problem::forbidden("This route is restricted to internal clients"));
        }
        if m.op.validator.wants_body() && !end_of_stream {
            // Headers are held (allow_on_headers_stop_iteration) until the body is validated.
            if let Err(p) = self.validate(&m, None, true) {
                return self.problem(host, &p);
            }
            self.phase = Phase::AwaitingBody(m);
            return Action::Pause;
        }
        if let Err(p) = self.validate(&m, None, false) {
            return self.problem(host, &p);
        }
        self.proceed(host, m)
    }

    pub fn on_request_body(&mut self, host: &impl Host, body_size: usize, end_of_stream: bool) -> Action {
        if !matches!(self.phase, Phase::AwaitingBody(_)) {
            return Action::Continue;
        }
        let max = self.filter.settings.max_body_bytes;
        if body_size > max {
            return self.problem(host, &Problem::too_large(format!("The request body is larger than {max} bytes")));
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let Phase::AwaitingBody(m) = std::mem::take(&mut self.phase) else { return Action::Continue };
        let body = host.request_body(body_size).unwrap_or_default();
        if let Err(p) = self.validate(&m, Some(&body), false) {
            return self.problem(host, &p);
        }
        if m.op.math.is_some() || m.op.save.is_some() {
            self.body = Some(body);
        }
        self.proceed(host, m)
    }

    /// The answer of a callout (`Upstream::callout`) with this token.
    pub fn on_callout(&mut self, host: &impl Host, token: u32, resp: Upstream) {
        match std::mem::take(&mut self.phase) {
            Phase::Siteinfo { m, token: t } if t == token => return self.on_siteinfo(host, m, resp),
            Phase::Revision { m, token: t, hops } if t == token => {
                let action = self.on_revision(host, m, hops, resp);
                return self.resume_if(host, action);
            }
            Phase::RedirectTarget { m, token: t, hops } if t == token => {
                let action = self.on_redirect_target(host, m, hops, resp);
                return self.resume_if(host, action);
            }
            Phase::Math { mut flow, token: t } if t == token => {
                let step = flow.on_response(resp);
                self.run_math(host, flow, step);
                return;
            }
            Phase::RedirectSource { m, token: t } if t == token => {
                // Always answered by the filter: nothing to resume.
                let _ = self.on_redirect_source(host, m, resp);
                return;
            }
            Phase::Related { m, state } if state.awaits(token) => {
                // Always answered by the filter in the end: nothing to resume.
                let _ = self.on_related(host, m, state, token, resp);
                return;
            }
            Phase::Save { save, route, token: t, editing } if t == token => return self.on_save(host, *save, route, editing, resp),
            other => self.phase = other,
        }
        if !matches!(self.phase, Phase::Callout { token: t, .. } if t == token) {
            return;
        }
        let Phase::Callout { mut flow, replacing, .. } = std::mem::take(&mut self.phase) else { return };
        let step = flow.on_response(resp);
        // A reply was sent (or the next callout dispatched) inside `run`: nothing to resume.
        let _ = self.run(host, flow, step, replacing);
    }

    pub fn on_response_headers(&mut self, host: &impl Host) -> Action {
        // One read of the whole map rather than a host call per header.
        let headers = host.response_headers();
        self.status = header(&headers, ":status").and_then(|s| s.parse().ok()).unwrap_or(0);
        let (route, origin) = match std::mem::take(&mut self.phase) {
            Phase::StorageRead(mut flow) => {
                // Only an error needs the flags (a hit never reads them).
                let failure = if self.status >= 400 { Failure::of_router(host.response_flags()) } else { None };
                let read = Upstream { status: self.status, headers, body: Vec::new(), failure };
                let next = flow.on_read(&read);
                self.note(host, &mut flow);
                if let Some(step) = next {
                    // A miss or a storage failure: the flow's answer replaces this one, which is
                    // held (Envoy sends a local reply from here as long as no headers went out).
                    let _ = self.run(host, flow, step, true);
                    return Action::Pause;
                }
                return self.shape(host, &RoutePolicy::of(&flow.input().op), &read.headers, Origin::Route);
            }
            Phase::Forwarded(route) => {
                if self.status >= 500 {
                    let failure = Failure::of_router(host.response_flags());
                    let resp = Upstream { status: self.status, failure, ..Upstream::default() };
                    if let Some(c) = failure_counter(&resp) {
                        self.filter.metrics.count(host, c);
                    }
                    if self.status == 503 && failure == Some(Failure::Unreachable) {
                        // Envoy could not reach the back-end at all: as a gateway, that is a 502.
                        self.status = 502;
                        host.set_response_header(":status", "502");
                    }
                }
                if self.status >= 400 {
                    // Every error of a back-end is rewritten: a problem it sent names its own
                    // path, which is not the client's business (see `problem::retarget`). Checked in
                    // full: Envoy may have answered in the upstream's place outside the route.
                    let action = self.shape(host, &route, &headers, Origin::Local);
                    if !matches!(self.phase, Phase::Proxied { rewrite: Some(_) }) {
                        host.remove_response_header("content-length");
                        self.phase = Phase::Proxied { rewrite: Some(self.status) };
                    }
                    return action;
                }
                (route, Origin::Route)
            }
            Phase::Replied { route, replacing: true } => {
                self.phase = Phase::Replied { route, replacing: true };
                return Action::Continue;
            }
            // The filter's own reply (the policy finds nothing to change), or Envoy's answer in
            // its place, such as its 413 for a body past its buffer: the policy either way.
            Phase::Replied { route, replacing: false } => (route, Origin::Local),
            // Envoy answered before the filter decided (a callout still out is then ignored).
            _ => (RoutePolicy::default(), Origin::Local),
        };
        self.shape(host, &route, &headers, origin)
    }

    pub fn on_response_body(&mut self, host: &impl Host, body_size: usize, end_of_stream: bool) -> Action {
        match self.phase {
            Phase::Replied { replacing: true, .. } | Phase::Callout { replacing: true, .. } => {
                // Nothing of storage's answer reaches the client; keep no copy of it either.
                host.replace_response_body(&[]);
                Action::Pause
            }
            Phase::Waiting(ref w) if w.replacing => {
                // Nothing of storage's answer reaches the client; keep no copy of it either.
                host.replace_response_body(&[]);
                Action::Pause
            }
            Phase::Proxied { rewrite: Some(status) } => {
                if !end_of_stream {
                    return Action::Pause;
                }
                let upstream = host.response_body(body_size.min(ERROR_DETAIL_BYTES));
                let body = problem::retarget(status, &upstream, &self.method, &self.uri)
                    .unwrap_or_else(|| problem::from_upstream(status, String::from_utf8_lossy(&upstream).trim()).body(&self.method, &self.uri));
                host.replace_response_body(&body);
                Action::Continue
            }
            _ => Action::Continue,
        }
    }

    pub fn on_log(&mut self, host: &impl Host) {
        if let (Some(index), true) = (self.op_index, self.status > 0) {
            let latency = host.now_ms().saturating_sub(self.start_ms);
            self.filter.metrics.request(host, index, self.status, latency);
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    fn client(&mut self, host: &impl Host) -> Client {
        client(host, &mut self.client, &self.filter.trust, header(&self.headers, "x-client-ip"))
    }

    fn note(&self, host: &impl Host, flow: &mut StoredFlow) {
        for c in flow.take_notes() {
            self.filter.metrics.count(host, c);
        }
    }

    /// Applies the response policy to the answer on its way out.
    fn shape(&mut self, host: &impl Host, route: &RoutePolicy, headers: &[(String, String)], origin: Origin) -> Action {
        let mut shaping = policy::shape(route, self.status, headers, &self.domain, origin);
        for (name, value) in self.page_headers(route, self.status, headers) {
            // Page semantics have the last word on the headers they set.
            shaping.edits.retain(|e| edit_name(e) != name);
            if header(headers, name) != Some(value.as_str()) {
                shaping.edits.push(Edit::Set(name, value));
            }
        }
        for edit in &shaping.edits {
            match edit {
                Edit::Add(n, v) => host.add_response_header(n, v),
                Edit::Set(n, v) => host.set_response_header(n, v),
                Edit::Remove(n) => host.remove_response_header(n),
            }
        }
        self.phase = Phase::Proxied { rewrite: shaping.rewrite_body.then_some(self.status) };
        Action::Continue
    }

    /// What page semantics add to an answer under `route`: a private answer keeps its
    /// cache-control (a normalized title's `no-cache` would let shared caches store it).
    fn page_headers(&self, route: &RoutePolicy, status: u16, headers: &[(String, String)]) -> Vec<(&'static str, String)> {
        let mut wanted = self.page.wanted(status, headers);
        if route.private {
            wanted.retain(|(name, _)| *name != "cache-control");
        }
        wanted
    }

    /// Answers the request itself, before anything was forwarded.
    fn reply(&mut self, host: &impl Host, reply: Reply, route: RoutePolicy) -> Action {
        self.reply_with(host, reply, route, false)
    }

    fn reply_with(&mut self, host: &impl Host, mut reply: Reply, route: RoutePolicy, replacing: bool) -> Action {
        self.status = reply.status;
        for (name, value) in self.page_headers(&route, reply.status, &reply.headers) {
            reply = reply.setting(name, &value);
        }
        if replacing {
            reply = reply.without_static();
        }
        self.phase = Phase::Replied { route, replacing };
        // Always with the body: Envoy derives content-length (and keeps content-type) from it,
        // then leaves it out itself when the request was a HEAD.
        if !host.send_reply(reply.status, &reply.headers, &reply.body) {
            log::warn!("restrouter: could not send the local reply for {}", self.uri);
        }
        Action::Pause
    }

    fn problem(&mut self, host: &impl Host, p: &Problem) -> Action {
        let reply = Reply::problem(p, &self.method, &self.uri, &self.domain);
        self.reply(host, reply, RoutePolicy::default())
    }

    fn validate(&self, m: &Matched, body: Option<&[u8]>, headers_only: bool) -> Result<(), Problem> {
        let headers: HashMap<String, String> = m.op.validator.header_names().filter_map(|n| self.header(n).map(|v| (n.to_string(), v.to_string()))).collect();
        if headers_only {
            // Path, query and headers now; the body is checked when it has arrived.
            return m.validate_without_body(&headers);
        }
        m.validate(&headers, body, self.header("content-type"))
    }

    /// Everything up to the body (if any) is known to be valid: rate check, then on.
    fn proceed(&mut self, host: &impl Host, m: Matched) -> Action {
        let limit = m.op.rate_limit.as_ref().filter(|_| self.filter.settings.ratelimit.enabled);
        if let Some(rl) = limit {
            let client = self.client(host);
            let limit = match client.class {
                Class::Internal => rl.internal,
                Class::External => rl.external,
            };
            if let (Some(limit), Some(ip)) = (limit, client.ip) {
                let decision = self.filter.ratelimit.check(&m.op, &ip, limit, rl.log_only);
                self.filter.metrics.ratelimit(host, m.op.index, decision);
                if let Decision::Limit { retry_after_s } = decision {
                    return self.problem(host, &Problem::rate_exceeded(limit, retry_after_s));
                }
            }
        }
        if m.op.method.eq_ignore_ascii_case("get") {
            self.page.content_location = Some(pages::content_location(&m.domain, &self.uri));
        }
        if m.op.title || m.op.site_lang || m.op.backend.wiki_language {
            return self.page_route(host, m);
        }
        self.serve(host, m)
    }

    /// A request held for a callout goes on if the step after it lets it.
    fn resume_if(&self, host: &impl Host, action: Action) {
        if action == Action::Continue {
            host.resume_request();
        }
    }

    fn serve(&mut self, host: &impl Host, m: Matched) -> Action {
        if m.op.revisions.is_some() {
            return self.check_revision(host, m, 0);
        }
        self.serve_content(host, m)
    }

    fn serve_content(&mut self, host: &impl Host, m: Matched) -> Action {
        if m.op.redirect.is_some() {
            self.fetch_for_redirect(host, m)
        } else if m.op.related.is_some() {
            self.search_related(host, m)
        } else if m.op.save.is_some() {
            self.start_save(host, m)
        } else if m.op.math.is_some() {
            self.start_math(host, m)
        } else if m.op.storage.is_some() {
            self.start_flow(host, m)
        } else {
            self.forward(host, m)
        }
    }

    fn start_flow(&mut self, host: &impl Host, m: Matched) -> Action {
        let cache_control = self.header("cache-control").map(str::to_string);
        let no_cache = self.no_cache();
        // Today's content (`live_date`) is fetched anew like a re-render, and stored.
        let rerender = self.rerender(host) || crate::flow::is_live(&m.op, &m.params, || host.now_ms());
        // A variant is rendered for the request alone: the stored copy is the default variant.
        let bypass_storage = self.page.vary_language && self.header("accept-language").is_some();
        // Content negotiation on the HTML routes (RESTBase's: ignored for no-cache requests).
        let wanted_profile = if m.op.template.starts_with("/page/html/") && !no_cache { self.header("accept").and_then(pages::html_profile) } else { None };
        let s = &self.filter.settings;
        let input = FlowInput {
            op: m.op,
            domain: m.domain,
            params: m.params,
            method: self.method.clone(),
            uri: self.uri.clone(),
            rerender,
            bypass_storage,
            wanted_profile,
            resolved_revision: self.resolved_revision.take(),
            storage_cluster: s.storage_cluster.clone(),
            storage_timeout_ms: s.timeouts_ms.storage,
            backend_timeout_ms: s.timeouts_ms.backend,
        };
        let mut flow = StoredFlow::new(input);
        match flow.start() {
            Begin::Step(step) => self.run(host, flow, step, false),
            Begin::ReadThroughRouter(path) => {
                host.set_request_header(":path", &path);
                host.set_request_header(":authority", &flow.input().domain);
                host.set_request_header(CLUSTER_HEADER, &flow.input().storage_cluster);
                if cache_control.is_some() {
                    // Storage answers a no-cache read with 404; only the flow decides on re-renders.
                    host.remove_request_header("cache-control");
                }
                self.drop_credentials(host);
                self.phase = Phase::StorageRead(flow);
                Action::Continue
            }
        }
    }

    /// Carries out steps until one waits on the network or answers.
    fn run(&mut self, host: &impl Host, mut flow: StoredFlow, mut step: Step, replacing: bool) -> Action {
        loop {
            self.note(host, &mut flow);
            match step {
                Step::Respond(reply) => {
                    self.release_lease(host, &flow);
                    if flow.content_changed() {
                        self.emit_change(host, &flow);
                    }
                    let route = RoutePolicy::of(&flow.input().op);
                    return self.reply_with(host, reply, route, replacing);
                }
                Step::Call(mut callout) => {
                    // A render another request is making already is waited for.
                    if let Some(lease) = self.lease_to_wait_on(host, &flow) {
                        return self.wait(flow, callout, replacing, lease);
                    }
                    match self.dispatch(host, &mut callout) {
                        Some(token) => {
                            self.phase = Phase::Callout { flow, token, replacing };
                            return Action::Pause;
                        }
                        None => {
                            log::warn!("restrouter: callout to {} not dispatched", callout.cluster);
                            self.filter.metrics.count(host, Counter::CalloutFailed);
                            step = flow.on_response(Upstream::callout(0, Vec::new(), Vec::new()));
                        }
                    }
                }
            }
        }
    }

    /// A GET of JSON from the matched operation's back-end, at its path expanded with `params`.
    fn backend_json_get(&self, m: &Matched, params: &HashMap<String, String>) -> Callout {
        Callout {
            cluster: m.op.backend.cluster.clone(),
            method: "GET",
            path: expand(&m.op.backend.path, params),
            authority: m.domain.clone(),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
            timeout_ms: self.filter.settings.timeouts_ms.backend,
            forward_client: true,
        }
    }

    fn dispatch(&mut self, host: &impl Host, callout: &mut Callout) -> Option<u32> {
        if let Some(id) = self.header("x-request-id") {
            callout.headers.push(("x-request-id".into(), id.to_string()));
        }
        if callout.forward_client {
            // What a back-end learns of the client.
            if let Some(v) = self.header("accept-language") {
                callout.headers.push(("accept-language".into(), v.to_string()));
            }
            if let Some(ip) = self.client(host).ip {
                callout.headers.push(("x-client-ip".into(), ip.to_string()));
            }
        }
        host.dispatch(callout)
    }

    fn emit_change(&self, host: &impl Host, flow: &StoredFlow) {
        let input = flow.input();
        let (request_id, triggered_by) = (self.header("x-request-id").map(str::to_string), self.header("x-triggered-by").map(str::to_string));
        if let Some(change) = crate::events::change(&input.op, &input.params, &input.domain, &self.filter.settings.event_base_path, flow.stored_revision(), request_id, triggered_by) {
            self.emit(host, change);
        }
    }

    /// Hands a change to the singleton, which sends it with the others of its tick. A queue
    /// message is a list of changes.
    fn emit(&self, host: &impl Host, change: Change) {
        let queue = self.filter.events_queue.get().or_else(|| {
            let q = host.resolve_queue(&self.filter.vm_id, EVENTS_QUEUE);
            self.filter.events_queue.set(q);
            q
        });
        let sent = match (queue, serde_json::to_vec(&[change])) {
            (Some(q), Ok(bytes)) => host.enqueue(q, &bytes),
            _ => false,
        };
        self.filter.metrics.count(host, if sent { Counter::EventsQueued } else { Counter::EventsDropped });
    }

    /// A math composite (`crate::math`): callouts only, the filter answers.
    fn start_math(&mut self, host: &impl Host, m: Matched) -> Action {
        let s = &self.filter.settings;
        let q = self.body.take().and_then(|b| crate::math::query_of(&b, self.header("content-type")));
        let input = MathInput {
            op: m.op,
            domain: m.domain,
            params: m.params,
            q,
            method: self.method.clone(),
            uri: self.uri.clone(),
            no_cache: self.no_cache(),
            storage_cluster: s.storage_cluster.clone(),
            storage_timeout_ms: s.timeouts_ms.storage,
            backend_timeout_ms: s.timeouts_ms.backend,
            event_base_path: s.event_base_path.clone(),
        };
        let mut flow = MathFlow::new(input);
        let step = flow.start();
        self.run_math(host, flow, step);
        Action::Pause
    }

    /// Carries out a math flow's steps until one waits on the network or answers.
    fn run_math(&mut self, host: &impl Host, mut flow: MathFlow, mut step: Step) {
        loop {
            for c in flow.take_notes() {
                self.filter.metrics.count(host, c);
            }
            match step {
                Step::Respond(reply) => {
                    if let Some(mut change) = flow.take_purge() {
                        change.request_id = self.header("x-request-id").map(str::to_string);
                        change.triggered_by = self.header("x-triggered-by").map(str::to_string);
                        self.emit(host, change);
                    }
                    let route = RoutePolicy::of(&flow.input().op);
                    let _ = self.reply_with(host, reply, route, false);
                    return;
                }
                Step::Call(mut callout) => match self.dispatch(host, &mut callout) {
                    Some(token) => {
                        self.phase = Phase::Math { flow, token };
                        return;
                    }
                    None => {
                        log::warn!("restrouter: callout to {} not dispatched", callout.cluster);
                        self.filter.metrics.count(host, Counter::CalloutFailed);
                        step = flow.on_response(Upstream::callout(0, Vec::new(), Vec::new()));
                    }
                },
            }
        }
    }

    /// Pass-through: point the request at the back-end and let Envoy's router forward it.
    fn forward(&mut self, host: &impl Host, m: Matched) -> Action {
        let (_, client_query) = split_query(&self.uri);
        let query = m.op.backend.query_for(&m.params, client_query);
        // A revision resolved from page_revisions goes to the back-end's path for it.
        let mut path = match (self.resolved_revision.take(), m.op.revisions.as_ref().and_then(|r| r.backend_path.as_ref())) {
            (Some(rev), Some(at_revision)) => {
                let mut params = m.params.clone();
                params.entry("revision".into()).or_insert(rev);
                crate::paths::expand(at_revision, &params)
            }
            _ => crate::paths::expand(&m.op.backend.path, &m.params),
        };
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query);
        }
        host.set_request_header(":path", &path);
        // Back-ends serve many wikis and tell them apart by Host, as RESTBase sent it.
        host.set_request_header(":authority", &m.domain);
        host.set_request_header(CLUSTER_HEADER, &m.op.backend.cluster);
        for (name, value) in &m.op.backend.headers {
            host.set_request_header(name, value);
        }
        if !m.op.credentials {
            self.drop_credentials(host);
        }
        // The client's accept-language goes on as it is (else the wiki's language, where the
        // route says so); x-client-ip is the filter's word.
        if let Some(lang) = self.wiki_language.take() {
            host.set_request_header("accept-language", &lang);
        }
        match self.client(host).ip {
            Some(ip) => host.set_request_header("x-client-ip", &ip.to_string()),
            None if self.header("x-client-ip").is_some() => host.remove_request_header("x-client-ip"),
            None => {}
        }
        self.phase = Phase::Forwarded(RoutePolicy::of(&m.op));
        Action::Continue
    }

    /// Takes the client's credentials off a request Envoy's router forwards.
    fn drop_credentials(&self, host: &impl Host) {
        for name in CREDENTIAL_HEADERS {
            if self.header(name).is_some() {
                host.remove_request_header(name);
            }
        }
    }
}

/// The client, worked out once into `cache`.
fn client(host: &impl Host, cache: &mut Option<Client>, trust: &Trust, x_client_ip: Option<&str>) -> Client {
    *cache.get_or_insert_with(|| trust.client(host.source_address().as_deref(), x_client_ip))
}

fn edit_name(edit: &Edit) -> &'static str {
    match edit {
        Edit::Add(n, _) | Edit::Set(n, _) | Edit::Remove(n) => n,
    }
}
