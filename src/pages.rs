//! Page semantics RESTBase applied to every route with a `{title}` (research §2.2, §2.4): the
//! wiki's siteinfo, title normalization with its redirect, `content-location`, and the HTML
//! profile a client may ask for. Pure logic and the siteinfo cache; the pipeline calls it.

use crate::flow::Callout;
use crate::host::Host;
use crate::paths;
use crate::problem::Problem;
use crate::siteinfo::SiteInfo;
use crate::title::{self, Title};
use restrouter_proto::problem::ProblemBody;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Shared-data key prefix of a wiki's siteinfo: the workers share one fetch per TTL.
const SHARED_PREFIX: &str = "restrouter.siteinfo.";
/// Most wikis whose siteinfo a worker keeps parsed (Wikimedia has about 1000).
const MAX_CACHED: usize = 2048;

const NS_USER: i64 = 2;
const NS_USER_TALK: i64 = 3;

/// Most siteinfo fetches a worker starts in one second. Known wikis are cached after their
/// first fetch; this bounds what requests for wikis nobody has (`*.wikipedia.org` matches any
/// name) or an action API outage can send to the action API.
const MAX_FETCHES_PER_S: u32 = 20;

/// Each worker's parsed siteinfo, by domain, with the time it was fetched. The bytes live in
/// shared data, so a wiki is fetched once per TTL whichever worker asks first. Failures are
/// remembered per worker for a while, and fetches are rationed.
#[derive(Default)]
pub struct SiteCache {
    parsed: RefCell<HashMap<String, (Rc<SiteInfo>, u64)>>,
    /// Domain → (until when, why) its last fetch failed.
    failed: RefCell<HashMap<String, (u64, String)>>,
    /// (second, fetches started in it).
    budget: std::cell::Cell<(u64, u32)>,
}

/// What to do for a wiki's siteinfo.
#[derive(Debug)]
pub enum Lookup {
    Known(Rc<SiteInfo>),
    /// Fetch it now (a fetch was counted against the budget).
    Fetch,
    /// Not now: its last fetch failed a moment ago, or too many fetches are under way.
    Unavailable(String),
}

impl SiteCache {
    /// The wiki's siteinfo if known (see [`SiteCache::get`]), else whether to fetch it.
    pub fn lookup(&self, host: &impl Host, domain: &str, ttl_ms: u64) -> Lookup {
        if let Some(site) = self.get(host, domain, ttl_ms) {
            return Lookup::Known(site);
        }
        let now = host.now_ms();
        if let Some((until, why)) = self.failed.borrow().get(domain) {
            if now < *until {
                return Lookup::Unavailable(why.clone());
            }
        }
        let second = now / 1000;
        let (at, started) = self.budget.get();
        let started = if at == second { started } else { 0 };
        if started >= MAX_FETCHES_PER_S {
            return Lookup::Unavailable("Too many wikis' site information is being fetched at once.".into());
        }
        self.budget.set((second, started.saturating_add(1)));
        Lookup::Fetch
    }

    /// A fetch failed: the wiki is unavailable for `for_ms` (0: not remembered).
    pub fn failed(&self, host: &impl Host, domain: &str, why: &str, for_ms: u64) {
        if for_ms == 0 {
            return;
        }
        let mut failed = self.failed.borrow_mut();
        if failed.len() >= MAX_CACHED && !failed.contains_key(domain) {
            failed.clear();
        }
        failed.insert(domain.to_string(), (host.now_ms().saturating_add(for_ms), why.to_string()));
    }

    /// The wiki's siteinfo if one fetched within `ttl_ms` is known to this worker or in shared
    /// data; `None`: fetch it ([`siteinfo_callout`]).
    pub fn get(&self, host: &impl Host, domain: &str, ttl_ms: u64) -> Option<Rc<SiteInfo>> {
        let now = host.now_ms();
        let fresh = |fetched: u64| now.saturating_sub(fetched) < ttl_ms;
        if let Some((site, fetched)) = self.parsed.borrow().get(domain) {
            if fresh(*fetched) {
                return Some(site.clone());
            }
        }
        let (bytes, _) = host.shared_data(&shared_key(domain));
        let bytes = bytes?;
        let (stamp, body) = bytes.split_first_chunk::<8>()?;
        let fetched = u64::from_be_bytes(*stamp);
        if !fresh(fetched) {
            return None;
        }
        let site = Rc::new(SiteInfo::from_json(body).ok()?);
        self.remember(domain, site.clone(), fetched);
        Some(site)
    }

    /// Reads a fetched siteinfo answer; on success keeps it here and in shared data.
    pub fn put(&self, host: &impl Host, domain: &str, body: &[u8]) -> Result<Rc<SiteInfo>, String> {
        let site = Rc::new(SiteInfo::from_json(body)?);
        let now = host.now_ms();
        let mut value = now.to_be_bytes().to_vec();
        value.extend_from_slice(body);
        if !host.set_shared_data(&shared_key(domain), &value) {
            log::warn!("restrouter: siteinfo of {domain} not shared (shared data refused it)");
        }
        self.remember(domain, site.clone(), now);
        self.failed.borrow_mut().remove(domain);
        Ok(site)
    }

    fn remember(&self, domain: &str, site: Rc<SiteInfo>, fetched: u64) {
        let mut parsed = self.parsed.borrow_mut();
        if parsed.len() >= MAX_CACHED && !parsed.contains_key(domain) {
            // Domains come only from the spec's projects; this bounds a worker all the same.
            parsed.clear();
        }
        parsed.insert(domain.to_string(), (site, fetched));
    }
}

fn shared_key(domain: &str) -> String {
    format!("{SHARED_PREFIX}{domain}")
}

/// An action API request as RESTBase made them: a form POST with the wiki as `Host`.
pub(crate) fn action_api_post(cluster: &str, path: &str, domain: &str, form: String, timeout_ms: u64) -> Callout {
    Callout {
        cluster: cluster.to_string(),
        method: "POST",
        path: path.to_string(),
        authority: domain.to_string(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: Some(form.into_bytes()),
        timeout_ms,
        forward_client: false,
    }
}

/// The wiki's siteinfo from the action API.
pub fn siteinfo_callout(cluster: &str, path: &str, domain: &str, timeout_ms: u64) -> Callout {
    action_api_post(cluster, path, domain, crate::siteinfo::QUERY.to_string(), timeout_ms)
}

/// The answer when siteinfo could not be had: RESTBase's 500 "Site info fetch failed.", as a
/// 503 a client may retry after `retry_after_s` (the wiki is fine; a dependency of ours is not).
pub fn siteinfo_unavailable(why: &str, retry_after_s: u64) -> Problem {
    let mut p = Problem::siteinfo_unavailable(why);
    p.headers.push(("retry-after".into(), retry_after_s.max(1).to_string()));
    p
}

/// What title normalization decided for a request.
#[derive(Debug, PartialEq, Eq)]
pub enum TitleCheck {
    /// The title is already in its normal form.
    AsIs,
    /// Serve the normalized title without redirecting (POST, `no-cache`, cross-origin, User
    /// pages); the answer gets `cache-control: no-cache`.
    Continue(String),
    /// `301` to this relative location.
    Redirect(String),
    /// Not a title: `400`.
    Invalid(Problem),
}

/// What of the request decides between a redirect and serving in place.
pub struct TitleRequest<'a> {
    pub method: &'a str,
    pub no_cache: bool,
    /// RESTBase's `isCrossOrigin`: an `Origin` header other than the domain.
    pub cross_origin: bool,
    /// The operation's path template, e.g. `/page/html/{title}/{revision}`.
    pub template: &'a str,
    /// The path parameter holding the title (`title`, or e.g. `term`).
    pub param: &'a str,
    pub params: &'a HashMap<String, String>,
    /// The raw query string (without `?`).
    pub query: &'a str,
}

/// RESTBase's normalize_title_filter.
pub fn check_title(site: &SiteInfo, raw: &str, req: &TitleRequest) -> TitleCheck {
    let parsed = Title::new_from_text(site, raw).and_then(|t| if t.key.is_empty() { Err(title::TitleError::Empty) } else { Ok(t) });
    let t = match parsed {
        Ok(t) => t,
        Err(e) => return TitleCheck::Invalid(Problem::bad_request(e.to_string())),
    };
    let normal = t.prefixed_db_key();
    if normal == raw {
        return TitleCheck::AsIs;
    }
    let user_page = t.namespace == NS_USER || t.namespace == NS_USER_TALK;
    if req.method == "POST" || user_page || req.no_cache || req.cross_origin {
        return TitleCheck::Continue(normal);
    }
    let mut params = req.params.clone();
    params.insert(req.param.into(), normal);
    TitleCheck::Redirect(relative_location(req.template, req.param, &params, req.query))
}

/// mwUtil.createRelativeTitleRedirect: `../` for each segment after the title's, then the
/// template from the title on, values encoded as `encodeURIComponent` does, then the query.
/// From `/page/html/main%20Page/1`: `../Main_Page/1`.
pub fn relative_location(template: &str, param: &str, params: &HashMap<String, String>, query: &str) -> String {
    let (mut location, suffix) = back_to_title(template, param);
    location.push_str(&paths::expand_with(suffix, params, paths::encode_component));
    push_query(&mut location, query);
    location
}

/// The `../` that lead from a request's path back to its title's directory, and the template
/// from the title on.
fn back_to_title<'a>(template: &'a str, param: &str) -> (String, &'a str) {
    let suffix = template.find(&format!("{{{param}}}")).and_then(|at| template.get(at..)).unwrap_or("{title}");
    ("../".repeat(suffix.matches('/').count()), suffix)
}

fn push_query(location: &mut String, query: &str) {
    if !query.is_empty() {
        location.push('?');
        location.push_str(query);
    }
}

/// The `content-location` RESTBase's content_location_filter set on GET answers:
/// `https://{domain}/api/rest_v1` and the path after `/{domain}/v1`, each segment encoded as
/// `encodeURIComponent` does, then the query.
pub fn content_location(domain: &str, uri: &str) -> String {
    let (path, query) = paths::split_query(uri);
    let rest = path.splitn(4, '/').nth(3).unwrap_or_default();
    let mut out = format!("https://{domain}/api/rest_v1");
    for segment in rest.split('/') {
        out.push('/');
        let decoded = paths::decode(segment).unwrap_or_else(|_| segment.to_string());
        out.push_str(&paths::encode_component(&decoded));
    }
    push_query(&mut out, query);
    out
}

/// Redirects followed for a cross-origin request before giving up (RESTBase's limit).
pub const MAX_REDIRECTS: u8 = 10;

/// Storage's `page_revisions` read of a title (or one revision of it). `refresh` asks storage
/// to read the action API again (RESTBase forwarded a re-render's `no-cache`).
pub fn revision_callout(cluster: &str, domain: &str, title: &str, revision: Option<&str>, refresh: bool, timeout_ms: u64) -> Callout {
    let mut path = format!("/{}/v1/page_revisions/page/{}", paths::encode_segment(domain), paths::encode_segment(title));
    if let Some(rev) = revision {
        path.push('/');
        path.push_str(&paths::encode_segment(rev));
    }
    let headers = if refresh { vec![("cache-control".to_string(), "no-cache".to_string())] } else { Vec::new() };
    Callout { cluster: cluster.to_string(), method: "GET", path, authority: domain.to_string(), headers, body: None, timeout_ms, forward_client: false }
}

/// What the router reads of a page_revisions row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RevisionRow {
    pub rev: u64,
    #[serde(default)]
    pub redirect: bool,
}

#[derive(serde::Deserialize)]
struct Rows {
    items: Vec<RevisionRow>,
}

impl RevisionRow {
    /// The first row of a `{items: [row]}` answer.
    pub fn from_json(body: &[u8]) -> Option<RevisionRow> {
        serde_json::from_slice::<Rows>(body).ok()?.items.into_iter().next()
    }
}

/// Storage's 403 or 404 for a page or revision, as the answer to this request: its type,
/// title and detail, with the client's method and URI.
pub fn storage_problem(status: u16, body: &[u8], method: &str, uri: &str, domain: &str) -> crate::reply::Reply {
    let bytes = crate::problem::retarget(status, body, method, uri).unwrap_or_else(|| {
        let (kind, title, detail) = match status {
            403 => ("access_denied#revision", "Access to resource denied", "Access is restricted for this revision"),
            _ => ("not_found", "Not found.", "Page or revision not found."),
        };
        ProblemBody::new(kind, title, method, detail, uri).to_vec()
    });
    crate::reply::Reply::content(status, crate::problem::CONTENT_TYPE, bytes, &crate::policy::RoutePolicy::default(), None, domain)
}

/// The action API request for a redirect page's target (`redirects=1` resolves it).
pub fn redirect_target_callout(cluster: &str, path: &str, domain: &str, title: &str, timeout_ms: u64) -> Callout {
    let form = format!("action=query&format=json&formatversion=2&redirects=1&titles={}", paths::encode_component(title));
    action_api_post(cluster, path, domain, form, timeout_ms)
}

#[derive(serde::Deserialize)]
struct RedirectAnswer {
    query: RedirectQuery,
}

#[derive(serde::Deserialize)]
struct RedirectQuery {
    #[serde(default)]
    redirects: Vec<Redirect>,
}

#[derive(serde::Deserialize)]
struct Redirect {
    to: String,
    tofragment: Option<String>,
}

/// The target of a redirect (as a database key) and its fragment, from the action API's answer.
pub fn redirect_target(body: &[u8]) -> Option<(String, Option<String>)> {
    let answer: RedirectAnswer = serde_json::from_slice(body).ok()?;
    let r = answer.query.redirects.into_iter().last()?;
    Some((r.to.replace(' ', "_"), r.tofragment.filter(|f| !f.is_empty())))
}

/// mwUtil.createRelativeTitleRedirect with `dropPathAfterTitle`: `../` for each segment after
/// the title's, the target, the query, then the fragment. From `/page/html/A/5`: `../B`.
pub fn redirect_location(template: &str, target: &str, fragment: Option<&str>, query: &str) -> String {
    let (mut location, _) = back_to_title(template, "title");
    location.push_str(&paths::encode_component(target));
    push_query(&mut location, query);
    if let Some(f) = fragment {
        location.push('#');
        location.push_str(&paths::encode_component(f));
    }
    location
}

/// An HTML profile version, `major.minor` (RESTBase ignored the patch level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64);

/// The version of `…/Specs/HTML/x.y.z` in a `text/html` content type or Accept header.
pub fn html_profile(header: &str) -> Option<Version> {
    let lower = header.to_ascii_lowercase();
    if !lower.trim_start().starts_with("text/html") {
        return None;
    }
    let at = lower.find("/specs/html/")? + "/specs/html/".len();
    let digits: String = lower.get(at..)?.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let mut parts = digits.split('.').map(|p| p.parse::<u64>().ok());
    Some(Version(parts.next()??, parts.next().flatten().unwrap_or(0)))
}

/// RESTBase's content_negotiation_filter verdict on content of version `have` for a client
/// asking for `wanted`: `semver.satisfies(have, ^wanted)`.
pub fn satisfies(have: Version, wanted: Version) -> bool {
    have.0 == wanted.0 && have >= wanted
}

/// The 406 of a version that cannot be produced.
pub fn not_acceptable(wanted: Version, have: Option<Version>) -> Problem {
    let have = have.map(|v| format!("{}.{}.0", v.0, v.1)).unwrap_or_else(|| "none".into());
    Problem::not_acceptable(format!("Failed to provide requested major version: expected {}.{}.0, received {have}", wanted.0, wanted.1))
}

#[cfg(test)]
pub(crate) mod tests;
