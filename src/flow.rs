//! The storage-then-back-end flow of a stored route, as an explicit state machine with no host
//! calls: the glue feeds it upstream answers and carries out the steps it returns.
//!
//! The read is the request itself, sent by Envoy's router to storage (as cheap as plain
//! proxying); a hit streams through untouched. Everything after it is callouts, and the answer
//! they build replaces storage's.
//!
//! ```text
//! Read (router) ──hit─────────────────────────────────────▶ serve storage's answer
//!  │ miss / storage error / other revision / forced re-render
//!  │        (an operation answering a part of the stored JSON reads with a callout, and its
//!  │         hit is answered with that part)
//!  ▼
//! Fetch ──2xx──▶ Store ──201──▶ respond(fresh) + resource_change event
//!  │               └──202/412/error──▶ respond(fresh)
//!  └──fails──▶ (forced re-render) FallbackRead ──hit──▶ respond(stored) / respond(error)
//! ```

use crate::metrics::Counter;
use crate::pages::{self, Version};
use crate::policy::{self, RoutePolicy};
use crate::problem::{self, Problem};
use crate::reply::Reply;
use crate::spec::Op;
use std::collections::HashMap;
use std::rc::Rc;

/// An HTTP call to an Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    pub cluster: String,
    pub method: &'static str,
    pub path: String,
    /// `:authority`: the wiki's domain (storage and back-ends serve many) or the service's name.
    pub authority: String,
    /// Headers besides the three above.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u64,
    /// A back-end call: the glue adds what the back-end learns of the client (accept-language,
    /// x-client-ip). The glue adds the request's x-request-id to every call.
    pub forward_client: bool,
}

impl Callout {
    /// The whole header list of the call: pseudo-headers first.
    pub fn all_headers(&self) -> Vec<(&str, &str)> {
        let pseudo = [(":method", self.method), (":path", self.path.as_str()), (":authority", self.authority.as_str())];
        pseudo.into_iter().chain(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))).collect()
    }
}

/// Envoy's response flags (the `response.flags` property) that mean the upstream was never
/// reached or went away: no healthy upstream, remote reset, connection failure or termination,
/// overflow.
pub const FLAGS_UNREACHABLE: u64 = 0x2 | 0x10 | 0x20 | 0x40 | 0x80;
/// Envoy's response flag for an upstream request timeout (`UT`).
pub const FLAG_TIMEOUT: u64 = 0x4;

/// Why an answer is Envoy's own rather than the upstream's. The one place this is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer at all: a callout that ended without headers.
    Reset,
    /// The upstream could not be reached, or went away.
    Unreachable,
    /// The upstream did not answer in time.
    Timeout,
}

impl Failure {
    /// An answer that came through Envoy's router, judged by its response flags.
    pub fn of_router(flags: u64) -> Option<Failure> {
        if flags & FLAG_TIMEOUT != 0 {
            Some(Failure::Timeout)
        } else if flags & FLAGS_UNREACHABLE != 0 {
            Some(Failure::Unreachable)
        } else {
            None
        }
    }

    /// A callout's answer, which carries no response flags: Envoy answers a callout itself only
    /// with 503 (unreachable) and 504 (timed out), and no answer at all is a reset. An
    /// upstream's own 503 or 504 says the same about the dependency, so both read alike.
    pub fn of_callout(status: u16) -> Option<Failure> {
        match status {
            0 => Some(Failure::Reset),
            503 => Some(Failure::Unreachable),
            504 => Some(Failure::Timeout),
            _ => None,
        }
    }
}

/// What came back from upstream: a callout's answer (`status` 0 when it failed without one,
/// a reset), or the headers of an answer through Envoy's router.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Set when Envoy answered in place of the upstream.
    pub failure: Option<Failure>,
}

/// The dependency counter an upstream's answer calls for, if it failed: a timeout, or an
/// unreachable, resetting or 5xx-answering upstream. Used for callouts and proxied answers alike.
pub fn failure_counter(resp: &Upstream) -> Option<Counter> {
    match resp.failure {
        Some(Failure::Timeout) => Some(Counter::BackendTimeout),
        Some(_) => Some(Counter::BackendError),
        None if resp.status >= 500 => Some(Counter::BackendError),
        None => None,
    }
}

impl Upstream {
    /// A callout's answer, its failure judged by [`Failure::of_callout`].
    pub fn callout(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Upstream {
        Upstream { status, headers, body, failure: Failure::of_callout(status) }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn detail(&self) -> String {
        if let Some(d) = serde_json::from_slice::<serde_json::Value>(&self.body).ok().and_then(|v| v.get("detail").or_else(|| v.get("title")).and_then(|d| d.as_str().map(str::to_string))) {
            return d;
        }
        String::from_utf8_lossy(&self.body).chars().take(200).collect()
    }
}

/// How a flow begins.
#[derive(Debug)]
pub enum Begin {
    /// Send the request to this storage path through Envoy's router; its answer goes to
    /// [`StoredFlow::on_read`].
    ReadThroughRouter(String),
    Step(Step),
}

#[derive(Debug)]
pub enum Step {
    Call(Callout),
    Respond(Reply),
}

/// Everything the flow needs from the request and the settings.
#[derive(Debug, Clone)]
pub struct FlowInput {
    pub op: Rc<Op>,
    pub domain: String,
    pub params: HashMap<String, String>,
    /// `:method` and `:path` of the client request, for problem bodies.
    pub method: String,
    pub uri: String,
    /// An internal client asked for a re-render (`cache-control: no-cache`).
    pub rerender: bool,
    /// Neither read nor write storage (a language variant, which the stored copy is not).
    pub bypass_storage: bool,
    /// The HTML profile version the client asked for (`Accept`), if any.
    pub wanted_profile: Option<Version>,
    /// The revision page_revisions named for a request without one (the latest): a stored
    /// copy of another revision is not served, and the back-end is asked for this one.
    pub resolved_revision: Option<String>,
    pub storage_cluster: String,
    pub storage_timeout_ms: u64,
    pub backend_timeout_ms: u64,
}

#[derive(Debug)]
enum State {
    Read,
    /// The read as a callout, for an operation that answers a part of what is stored.
    ReadPart,
    /// `redirected`: the back-end's redirect to the revision was already followed once.
    Fetch {
        store: bool,
        redirected: bool,
    },
    Store {
        reply: Reply,
    },
    FallbackRead {
        problem: Problem,
    },
    /// Another request rendered the same content (`crate::pipeline::coalesce`): storage is
    /// read again; on a miss the back-end is asked after all.
    Recheck {
        store: bool,
    },
    Done,
}

#[derive(Debug)]
pub struct StoredFlow {
    input: FlowInput,
    state: State,
    notes: Vec<Counter>,
    /// Set when stored content changed: the public URIs to purge.
    changed: bool,
    /// The revision of the content stored (its ETag's).
    stored_revision: Option<String>,
    /// The status of the back-end's failed answer (0: reset), once the fetch failed.
    failed: Option<u16>,
}

/// The path (and query) of a back-end's redirect `location`, absolute or not.
fn redirect_path(location: &str) -> Option<String> {
    let path = match location.split_once("://") {
        Some((_, rest)) => rest.find('/').and_then(|at| rest.get(at..))?,
        None => location,
    };
    path.starts_with('/').then(|| path.to_string())
}

/// Whether a stored operation's content is of today (UTC) or later, by its `live_date`
/// template (`{yyyy}-{mm}-{dd}`): such content is fetched anew. Dates compare as strings, so the
/// template spells the date as ISO 8601 does (year first, zero-padded). The clock is read only
/// for such an operation (a host call the hit path of every other route does without).
pub fn is_live(op: &Op, params: &HashMap<String, String>, now_ms: impl FnOnce() -> u64) -> bool {
    let Some(template) = op.storage.as_ref().and_then(|s| s.live_date.as_ref()) else {
        return false;
    };
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms());
    let today = humantime::format_rfc3339_seconds(now).to_string();
    crate::paths::expand(template, params).as_str() >= today.get(..10).unwrap_or_default()
}

/// The revision part of an ETag `"<revision>/<tid>"`.
fn etag_revision(etag: &str) -> Option<&str> {
    restrouter_proto::etag::parse(etag).map(|e| e.revision)
}

impl StoredFlow {
    pub fn new(input: FlowInput) -> StoredFlow {
        StoredFlow { input, state: State::Read, notes: Vec::new(), changed: false, stored_revision: None, failed: None }
    }

    pub fn input(&self) -> &FlowInput {
        &self.input
    }

    /// Counters to increment since the last call.
    pub fn take_notes(&mut self) -> Vec<Counter> {
        std::mem::take(&mut self.notes)
    }

    /// True once the answer was built from content the back-end just rendered and storage took
    /// as new: the caller emits the `resource_change` event.
    pub fn content_changed(&self) -> bool {
        self.changed
    }

    /// The stored resource the pending fetch renders and stores (`domain:bucket:key:revision`),
    /// when it is one requests for the same content can share: a fetch of content that is
    /// stored (a miss of the latest, or a re-render of it), not a redirect being followed.
    pub fn render_key(&self) -> Option<String> {
        let State::Fetch { store, redirected: false } = self.state else { return None };
        let rerender_latest = self.input.rerender && self.requested_revision().is_none();
        if self.input.bypass_storage || !(store || rerender_latest) {
            return None;
        }
        let s = self.input.op.storage.as_ref()?;
        let key = crate::paths::expand(&s.key, &self.input.params);
        let revision = self.input.resolved_revision.as_deref().unwrap_or("latest");
        Some(format!("{}:{}:{key}:{revision}", self.input.domain, s.bucket))
    }

    /// The status of the back-end's failed answer (0: a reset), if the fetch failed.
    pub fn failed_status(&self) -> Option<u16> {
        self.failed
    }

    /// Instead of the pending fetch: read storage again, for content another request just
    /// rendered; fetch after all if it is not there.
    pub fn recheck(&mut self) -> Step {
        let store = match self.state {
            State::Fetch { store, .. } => store,
            _ => false,
        };
        self.state = State::Recheck { store };
        Step::Call(self.storage_get())
    }

    /// The revision of the content this flow stored, for the events' revision URIs.
    pub fn stored_revision(&self) -> Option<&str> {
        self.stored_revision.as_deref()
    }

    /// The member of the stored JSON object this operation answers with, if not all of it.
    fn part(&self) -> Option<&str> {
        self.input.op.storage.as_ref()?.part.as_deref()
    }

    /// The render (tid) the request names, for an operation answering only that render.
    fn wanted_tid(&self) -> Option<&str> {
        let name = self.input.op.storage.as_ref()?.tid_param.as_ref()?;
        self.input.params.get(name).map(String::as_str)
    }

    /// Content (stored or fetched) of another render than the request names: RESTBase answered
    /// 404 (`_getContentWithFallback`).
    fn other_render(&self, resp: &Upstream) -> Option<Problem> {
        let wanted = self.wanted_tid()?;
        let have = resp.header("etag").and_then(restrouter_proto::etag::parse).map(|e| e.tid);
        (have != Some(wanted)).then(|| Problem::not_found(format!("No render {wanted} of this revision is available")))
    }

    pub fn start(&mut self) -> Begin {
        if self.input.bypass_storage {
            return Begin::Step(self.fetch(false));
        }
        if self.input.rerender {
            Begin::Step(self.fetch(false))
        } else if self.part().is_some() || self.wanted_tid().is_some() {
            // Storage's answer is not the client's: read it whole, answer the part (or judge
            // its render).
            self.state = State::ReadPart;
            Begin::Step(Step::Call(self.storage_get()))
        } else {
            self.state = State::Read;
            Begin::ReadThroughRouter(self.storage_path())
        }
    }

    /// Storage's answer to the read (its body is not needed): `None` serves it as it is.
    pub fn on_read(&mut self, resp: &Upstream) -> Option<Step> {
        if !matches!(std::mem::replace(&mut self.state, State::Done), State::Read) {
            return Some(self.respond(self.problem_reply(&Problem::internal("unexpected storage read"))));
        }
        self.judge_read(resp)
    }

    /// What storage's answer to the read calls for: `None` serves it.
    fn judge_read(&mut self, resp: &Upstream) -> Option<Step> {
        match resp.status {
            200 if self.holds_requested_revision(resp) => match self.profile_verdict(resp, true) {
                Profile::Fine => {
                    self.notes.push(Counter::StorageHit);
                    None
                }
                Profile::Newer => {
                    // A newer version of the same major than stored: re-render (RESTBase's
                    // content negotiation retried with no-cache).
                    self.notes.push(Counter::StorageMiss);
                    Some(self.fetch(self.requested_revision().is_none()))
                }
                Profile::Impossible(p) => Some(self.respond(self.problem_reply(&p))),
            },
            200 => {
                // Another revision is stored: render the one asked for. The latest (the page
                // was edited since) replaces it; an explicit older one is not stored.
                self.notes.push(Counter::StorageMiss);
                Some(self.fetch(self.requested_revision().is_none()))
            }
            404 if resp.failure.is_none() => {
                self.notes.push(Counter::StorageMiss);
                // An explicit revision is rendered, not stored: the key holds the latest.
                let store = self.requested_revision().is_none();
                Some(self.fetch(store))
            }
            _ => {
                // Storage down, slow or confused: serve from the back-end, do not store.
                self.notes.push(Counter::StorageError);
                Some(self.fetch(false))
            }
        }
    }

    /// The answer to the last callout.
    pub fn on_response(&mut self, resp: Upstream) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::ReadPart => match self.judge_read(&resp) {
                None => match (self.other_render(&resp), self.content_reply(&resp)) {
                    // Another render is stored: the HTML may have been rendered anew since, and
                    // Parsoid's current render replaces the stored one if it is the one asked
                    // for (RESTBase kept the latest render's data-parsoid with its HTML).
                    (Some(_), _) => {
                        self.notes.push(Counter::StorageMiss);
                        self.fetch(true)
                    }
                    (None, Some(reply)) => self.respond(reply),
                    (None, None) => {
                        // The stored copy lacks the part: rendered and stored anew.
                        self.notes.push(Counter::StorageMiss);
                        let store = self.requested_revision().is_none();
                        self.fetch(store)
                    }
                },
                Some(step) => step,
            },
            State::Fetch { store, redirected } => self.after_fetch(resp, store, redirected),
            State::Store { reply } => self.after_store(resp, reply),
            State::FallbackRead { problem } => match (resp.status, self.content_reply(&resp)) {
                (200, Some(reply)) => {
                    self.notes.push(Counter::ServedStored);
                    self.respond(reply)
                }
                _ => self.respond(self.problem_reply(&problem)),
            },
            State::Recheck { store } => {
                let fine = resp.status == 200 && self.holds_requested_revision(&resp) && matches!(self.profile_verdict(&resp, true), Profile::Fine);
                match self.content_reply(&resp).filter(|_| fine) {
                    Some(reply) => {
                        self.notes.push(Counter::CoalescedServed);
                        self.respond(reply)
                    }
                    None => self.fetch(store),
                }
            }
            State::Read | State::Done => self.respond(self.problem_reply(&Problem::internal("unexpected callout response"))),
        }
    }

    /// The `key_value` path of this request's content on the storage service.
    pub fn storage_path(&self) -> String {
        let s = self.input.op.storage.as_ref();
        let bucket = s.map(|s| s.bucket.as_str()).unwrap_or_default();
        let key = s.map(|s| crate::paths::expand(&s.key, &self.input.params)).unwrap_or_default();
        // The key template's own characters are literal; the whole key is one path segment.
        let key = crate::paths::encode_segment(&crate::paths::decode(&key).unwrap_or(key));
        format!("/{}/v1/key_value/{}/{}", crate::paths::encode_segment(&self.input.domain), crate::paths::encode_segment(bucket), key)
    }

    fn storage_get(&self) -> Callout {
        let i = &self.input;
        Callout {
            cluster: i.storage_cluster.clone(),
            method: "GET",
            path: self.storage_path(),
            authority: i.domain.clone(),
            headers: Vec::new(),
            body: None,
            timeout_ms: i.storage_timeout_ms,
            forward_client: false,
        }
    }

    fn fetch(&mut self, store: bool) -> Step {
        let i = &self.input;
        let template = match (&i.resolved_revision, i.op.revisions.as_ref().and_then(|r| r.backend_path.as_ref())) {
            (Some(_), Some(at_revision)) => at_revision,
            _ => &i.op.backend.path,
        };
        let mut params = i.params.clone();
        if let Some(rev) = &i.resolved_revision {
            params.entry("revision".into()).or_insert_with(|| rev.clone());
        }
        let path = crate::paths::expand(template, &params);
        self.backend_get(path, store, false)
    }

    fn backend_get(&mut self, path: String, store: bool, redirected: bool) -> Step {
        self.state = State::Fetch { store, redirected };
        let i = &self.input;
        Step::Call(Callout {
            cluster: i.op.backend.cluster.clone(),
            method: "GET",
            path,
            authority: i.domain.clone(),
            headers: i.op.backend.headers.clone(),
            body: None,
            timeout_ms: i.backend_timeout_ms,
            forward_client: true,
        })
    }

    fn respond(&mut self, reply: Reply) -> Step {
        self.state = State::Done;
        Step::Respond(reply)
    }

    fn problem_reply(&self, p: &Problem) -> Reply {
        Reply::problem(p, &self.input.method, &self.input.uri, &self.input.domain)
    }

    /// An answer from stored or fetched content, with the route's policy; `None` when the
    /// operation answers a part of it and the content has no such part.
    fn content_reply(&self, resp: &Upstream) -> Option<Reply> {
        let op = &self.input.op;
        let route = RoutePolicy::of(op);
        let (own_type, body) = match self.part() {
            Some(part) => (part_content_type(&resp.body, part), json_member(&resp.body, part)?),
            None => (None, resp.body.clone()),
        };
        let ct = own_type.as_deref().unwrap_or_else(|| policy::content_type(resp.header("content-type"), &route));
        let mut reply = Reply::content(200, ct, body, &route, resp.header("cache-control"), &self.input.domain);
        if let Some(etag) = resp.header("etag") {
            // RESTBase's ETags were strong: a weak one from the back-end is made strong.
            reply = reply.with_header("etag", etag.strip_prefix("W/").unwrap_or(etag));
        }
        for name in ["content-language", "vary"] {
            if let Some(v) = resp.header(name) {
                reply = reply.with_header(name, v);
            }
        }
        Some(reply)
    }

    /// Whether content (stored or fetched) is in the HTML version the client asked for.
    fn profile_verdict(&self, resp: &Upstream, stored: bool) -> Profile {
        let Some(wanted) = self.input.wanted_profile else { return Profile::Fine };
        let have = resp.header("content-type").and_then(pages::html_profile);
        match have {
            Some(have) if pages::satisfies(have, wanted) => Profile::Fine,
            // Only stored content can be older than what the back-end renders now.
            Some(have) if stored && wanted > have => Profile::Newer,
            _ => Profile::Impossible(pages::not_acceptable(wanted, have)),
        }
    }

    fn requested_revision(&self) -> Option<&str> {
        self.input.op.revision_in(&self.input.params)
    }

    /// A stored answer is for the request when it holds the revision asked for, or the latest
    /// one page_revisions named (if any).
    fn holds_requested_revision(&self, resp: &Upstream) -> bool {
        let wanted = self.requested_revision().or(self.input.resolved_revision.as_deref());
        wanted.is_none_or(|wanted| resp.header("etag").and_then(etag_revision) == Some(wanted))
    }

    fn after_fetch(&mut self, resp: Upstream, store: bool, redirected: bool) -> Step {
        let cluster = &self.input.op.backend.cluster;
        if let (false, None, 301 | 302 | 303 | 307 | 308) = (redirected, resp.failure, resp.status) {
            // Parsoid answers a page without a revision with a redirect to its latest
            // revision: followed once, on the same back-end.
            if let Some(path) = resp.header("location").and_then(redirect_path) {
                return self.backend_get(path, store, true);
            }
        }
        let failure = match (resp.failure, resp.status) {
            (None, 200..=299) => {
                if let Profile::Impossible(p) = self.profile_verdict(&resp, false) {
                    return self.respond(self.problem_reply(&p));
                }
                if let Some(p) = self.other_render(&resp) {
                    // Another render than asked for: not served, and not stored either.
                    return self.respond(self.problem_reply(&p));
                }
                let Some(reply) = self.content_reply(&resp) else {
                    self.notes.push(Counter::BackendError);
                    let part = self.part().unwrap_or_default();
                    return self.respond(self.problem_reply(&Problem::bad_gateway(format!("The back-end service ({cluster}) answered without `{part}`"))));
                };
                // Content of an explicit revision is never stored: the key holds the latest.
                let rerender_latest = self.input.rerender && self.requested_revision().is_none();
                if !store && !rerender_latest {
                    return self.respond(reply);
                }
                return Step::Call(self.storage_put(resp, reply));
            }
            (Some(Failure::Reset), _) | (None, 0) => Problem::bad_gateway(format!("The back-end service ({cluster}) reset the connection")),
            (Some(Failure::Timeout), _) => Problem::gateway_timeout(format!("The back-end service ({cluster}) did not answer in time")),
            (Some(Failure::Unreachable), _) => Problem::bad_gateway(format!("The back-end service ({cluster}) is unavailable")),
            (None, s) if s >= 500 => Problem::bad_gateway(format!("The back-end service ({cluster}) failed: {s} {}", resp.detail())),
            // 1xx / 3xx: nothing to serve, and not an error status a problem body may carry.
            (None, s) if s < 400 => Problem::bad_gateway(format!("The back-end service ({cluster}) answered an unexpected {s}")),
            (None, s) => {
                // The back-end's own verdict (404 page missing, 400 …): passed on, never stored.
                let p = problem::from_upstream(s, &resp.detail());
                return self.respond(self.problem_reply(&p));
            }
        };
        self.notes.push(failure_counter(&resp).unwrap_or(Counter::BackendError));
        self.failed = Some(resp.status);
        if self.input.rerender {
            // A forced re-render failed: the stored copy is still better than an error.
            self.state = State::FallbackRead { problem: failure };
            return Step::Call(self.storage_get());
        }
        self.respond(self.problem_reply(&failure))
    }

    fn storage_put(&mut self, resp: Upstream, reply: Reply) -> Callout {
        let path = self.storage_path();
        let mut headers = vec![("content-type".to_string(), "application/octet-stream".to_string())];
        // Unchanged content answers 412: no write, no purge event.
        headers.push(("if-none-hash-match".into(), "*".into()));
        for name in ["etag", "content-type", "content-language", "vary"] {
            if let Some(v) = reply.header(name).or_else(|| resp.header(name)) {
                headers.push((format!("x-store-{name}"), v.to_string()));
            }
        }
        // The back-end's whole answer, also when the reply is a part of it (moved, not copied:
        // nothing reads it after the write).
        let body = resp.body;
        self.state = State::Store { reply };
        let i = &self.input;
        Callout { cluster: i.storage_cluster.clone(), method: "PUT", path, authority: i.domain.clone(), headers, body: Some(body), timeout_ms: i.storage_timeout_ms, forward_client: false }
    }

    fn after_store(&mut self, resp: Upstream, reply: Reply) -> Step {
        match resp.status {
            200 | 201 | 204 => {
                self.notes.push(Counter::StoreWritten);
                self.changed = true;
                self.stored_revision = reply.header("etag").and_then(etag_revision).map(str::to_string);
            }
            412 | 202 => self.notes.push(Counter::StoreUnchanged),
            _ => self.notes.push(Counter::StoreError),
        }
        self.respond(reply)
    }
}

/// The member at `path` of a JSON object (member names separated by `/`, each naming a member
/// of an object), serialized: `None` when `body` is no JSON object or has no such member.
fn json_member(body: &[u8], path: &str) -> Option<Vec<u8>> {
    let mut value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    for name in path.split('/') {
        value = value.as_object_mut()?.remove(name)?;
    }
    serde_json::to_vec(&value).ok()
}

/// The content type a part carries itself: a part `<path>/body` whose sibling
/// `<path>/headers` names a `content-type` (the members of Parsoid's page bundle, which RESTBase
/// answered with their own headers).
fn part_content_type(body: &[u8], part: &str) -> Option<String> {
    let parent = part.strip_suffix("/body")?;
    let headers = json_member(body, &format!("{parent}/headers"))?;
    let headers = serde_json::from_slice::<serde_json::Value>(&headers).ok()?;
    headers.get("content-type")?.as_str().map(str::to_string)
}

/// Content negotiation on the HTML profile (RESTBase's content_negotiation_filter, without its
/// downgrade through Parsoid's html→html transform: an older major is a 406 here).
enum Profile {
    Fine,
    /// Stored content older than asked for, same major: render it anew.
    Newer,
    Impossible(Problem),
}

#[cfg(test)]
mod tests;
