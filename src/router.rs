//! From method and `:path` to what should happen: an operation with its decoded parameters, or
//! an answer the router gives itself (spec, listing, preflight, routing errors).

use crate::client::Class;
use crate::paths::{self, canonical, split_query};
use crate::problem::Problem;
use crate::spec::tree::PathTree;
use crate::spec::{Api, Op, Project, RouteEntry};
use crate::validate::{Input, Invalid};
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug)]
pub struct Matched {
    pub op: Rc<Op>,
    pub domain: String,
    /// Decoded path parameters, plus `domain`.
    pub params: HashMap<String, String>,
    pub query: HashMap<String, String>,
    /// A HEAD request served by the GET operation.
    pub head: bool,
}

#[derive(Debug)]
pub enum Target {
    Op(Matched),
    /// `GET /{domain}/v1/?spec`: the project's OpenAPI document.
    Spec(Vec<u8>),
    /// `GET /{domain}/v1/`, or a prefix ending in `/` (`/{domain}/v1/page/`): `{"items": [...]}`.
    Listing(Vec<u8>),
    /// CORS preflight.
    Preflight,
}

/// The public URL form of the API, on the wiki's own host
/// (`https://en.wikipedia.org/api/rest_v1/page/html/Foo`): served as `/{host}/v1/...`.
pub const HOST_API: &str = "/api/rest_v1";

/// The wiki a host-form request is for: its `:authority` (Host) without a port, lower-cased.
/// Only host-name characters: anything else names no wiki (and never reaches a back-end's
/// `:authority`).
fn host_domain(authority: &str) -> String {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.to_ascii_lowercase();
    if host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        host
    } else {
        String::new()
    }
}

/// A path split into what routing needs.
struct Parts<'a> {
    /// From the first segment, or the host for [`HOST_API`].
    domain: String,
    /// `v1` for both forms.
    api_name: Option<&'a str>,
    rest: Option<&'a str>,
    /// Addressed as [`HOST_API`].
    host_form: bool,
}

fn parts<'a>(path: &'a str, authority: &str) -> Parts<'a> {
    let mut segments = path.trim_start_matches('/').splitn(3, '/');
    let first = segments.next().unwrap_or_default();
    let api_name = segments.next();
    let rest = segments.next();
    let host_form = api_name.is_some_and(|a| HOST_API.strip_prefix('/').and_then(|h| h.split_once('/')) == Some((first, a)));
    if host_form {
        return Parts { domain: host_domain(authority), api_name: Some("v1"), rest, host_form };
    }
    Parts { domain: first.to_ascii_lowercase(), api_name, rest, host_form }
}

/// `domain` of a request, for error answers that come before a route is known.
pub fn domain_of(path: &str, authority: &str) -> String {
    parts(split_query(path).0, authority).domain
}

/// `authority` is the request's `:authority` (Host), read only for the host form.
/// `class` is asked for only when the answer depends on it (`/sys/` paths).
pub fn route(api: &Api, method: &str, raw_path: &str, authority: &str, class: impl FnOnce() -> Class) -> Result<Target, Problem> {
    // The glue reads `:path` lossily: a replacement character stands for bytes that were not
    // UTF-8, which must not silently become another title.
    if raw_path.contains(char::REPLACEMENT_CHARACTER) {
        return Err(Problem::bad_request("The request path is not valid UTF-8"));
    }
    let (path, query) = split_query(raw_path);
    let path = canonical(path).map_err(|e| Problem::bad_request(e.to_string()))?;
    let Parts { domain, api_name, rest, host_form } = parts(&path, authority);
    if api_name == Some("sys") {
        return Err(match class() {
            Class::External => Problem::forbidden_sys(),
            Class::Internal => Problem::not_found_route(&path),
        });
    }
    if api_name != Some("v1") {
        return Err(Problem::not_found_route(&path));
    }
    // A domain no project serves has no route, as in RESTBase, whose domains were the first
    // literal segments of its route tree.
    let project = api.project_for(&domain).ok_or_else(|| Problem::not_found_route(&path))?;
    let query = paths::parse_query(query).map_err(|e| Problem::bad_request(e.to_string()))?;

    let rest = rest.unwrap_or_default();
    if rest.is_empty() {
        // `?spec` names the API's base as the client addressed it.
        let spec_base = query.contains_key("spec").then(|| if host_form { HOST_API.to_string() } else { format!("/{domain}/v1") });
        return directory(project, &project.tree, method, spec_base.as_deref());
    }
    let lookup = format!("/{rest}");
    let Ok(found) = project.router.at(&lookup) else {
        // A prefix ending in `/` that no operation serves is listed, as RESTBase did.
        return match rest.strip_suffix('/').and_then(|prefix| project.tree.at(prefix)) {
            Some(node) => directory(project, node, method, None),
            None => Err(Problem::not_found_route(&path)),
        };
    };
    let entry = project.routes.get(*found.value).ok_or_else(|| Problem::not_found_route(&path))?;
    if method == "OPTIONS" {
        return Ok(Target::Preflight);
    }
    let head = method == "HEAD";
    let wanted = if head { "get".to_string() } else { method.to_ascii_lowercase() };
    let op = entry.op(&wanted).ok_or_else(|| wrong_method(entry, method))?;
    let mut params = HashMap::with_capacity(found.params.len() + 1);
    for (name, raw) in found.params.iter() {
        let value = paths::decode(raw).map_err(|e| Problem::bad_request(e.to_string()))?;
        if paths::is_dot_segment(&value) {
            return Err(Problem::bad_request(format!("data.params.{name} must not be '{value}'")));
        }
        params.insert(name.to_string(), value);
    }
    params.insert("domain".to_string(), domain.clone());
    Ok(Target::Op(Matched { op: op.clone(), domain, params, query, head }))
}

/// The 405 of a path's operations for a `method` none of them takes. HEAD is served by GET,
/// and every route answers a CORS preflight.
pub fn wrong_method(entry: &RouteEntry, method: &str) -> Problem {
    let mut allow = entry.allowed();
    if entry.op("get").is_some() {
        allow.push_str(", HEAD");
    }
    allow.push_str(", OPTIONS");
    Problem::method_not_allowed(method, &allow, Some(&entry.allowed()))
}

/// What a directory of the API's path tree answers: its listing, or at the top with `?spec`
/// the project's OpenAPI document addressed at `spec_base`.
fn directory(project: &Project, node: &PathTree, method: &str, spec_base: Option<&str>) -> Result<Target, Problem> {
    match (method, spec_base) {
        ("GET" | "HEAD", Some(base)) => Ok(Target::Spec(project.public_spec.for_base(base))),
        ("GET" | "HEAD", None) => Ok(Target::Listing(serde_json::to_vec(&serde_json::json!({ "items": node.items() })).unwrap_or_default())),
        ("OPTIONS", _) => Ok(Target::Preflight),
        (m, _) => Err(Problem::method_not_allowed(m, "GET, HEAD, OPTIONS", None)),
    }
}

impl Matched {
    /// Checks the parameters (and the body, once it is there) against the operation's schemas.
    pub fn validate(&self, headers: &HashMap<String, String>, body: Option<&[u8]>, content_type: Option<&str>) -> Result<(), Problem> {
        let input = Input { path: &self.params, query: &self.query, headers, body, content_type };
        self.op.validator.validate(&input).map_err(problem_of)
    }

    pub fn validate_without_body(&self, headers: &HashMap<String, String>) -> Result<(), Problem> {
        let input = Input { path: &self.params, query: &self.query, headers, body: None, content_type: None };
        self.op.validator.validate_without_body(&input).map_err(problem_of)
    }
}

fn problem_of(e: Invalid) -> Problem {
    match e {
        Invalid::Parameter(d) => Problem::bad_request(d),
        Invalid::Body(d) => Problem::invalid_body(d),
    }
}
