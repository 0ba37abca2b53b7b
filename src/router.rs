//! From method and `:path` to what should happen: an operation with its decoded parameters, or
//! an answer the router gives itself (spec, listing, preflight, routing errors).

use crate::client::Class;
use crate::paths::{self, canonical, split_query};
use crate::problem::Problem;
use crate::spec::{public, Api, Op};
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
    /// `GET /{domain}/v1/`: `{"items": [...]}`.
    Listing(Vec<u8>),
    /// CORS preflight.
    Preflight,
}

/// `domain` of a path, for error answers that come before a route is known.
pub fn domain_of(path: &str) -> &str {
    split_query(path).0.trim_start_matches('/').split('/').next().unwrap_or_default()
}

/// `class` is asked for only when the answer depends on it (`/sys/` paths).
pub fn route(api: &Api, method: &str, raw_path: &str, class: impl FnOnce() -> Class) -> Result<Target, Problem> {
    // The glue reads `:path` lossily: a replacement character stands for bytes that were not
    // UTF-8, which must not silently become another title.
    if raw_path.contains(char::REPLACEMENT_CHARACTER) {
        return Err(Problem::bad_request("The request path is not valid UTF-8"));
    }
    let (path, query) = split_query(raw_path);
    let path = canonical(path).map_err(|e| Problem::bad_request(e.to_string()))?;
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let domain = parts.next().unwrap_or_default().to_ascii_lowercase();
    let api_name = parts.next();
    let rest = parts.next();
    if api_name == Some("sys") {
        return Err(match class() {
            Class::External => Problem::forbidden_sys(),
            Class::Internal => Problem::not_found_route(&path),
        });
    }
    if api_name != Some("v1") {
        return Err(Problem::not_found_route(&path));
    }
    let project = api.project_for(&domain).ok_or_else(|| Problem::unknown_domain(&domain))?;
    let query = paths::parse_query(query).map_err(|e| Problem::bad_request(e.to_string()))?;

    let rest = rest.unwrap_or_default();
    if rest.is_empty() {
        return match method {
            "GET" | "HEAD" if query.contains_key("spec") => Ok(Target::Spec(public::for_domain(&project.public_spec, &domain))),
            "GET" | "HEAD" => Ok(Target::Listing(serde_json::to_vec(&serde_json::json!({ "items": project.listing })).unwrap_or_default())),
            "OPTIONS" => Ok(Target::Preflight),
            m => Err(Problem::method_not_allowed(m, "GET, HEAD, OPTIONS", None)),
        };
    }
    let lookup = format!("/{rest}");
    let found = project.router.at(&lookup).map_err(|_| Problem::not_found_route(&path))?;
    let entry = project.routes.get(*found.value).ok_or_else(|| Problem::not_found_route(&path))?;
    if method == "OPTIONS" {
        return Ok(Target::Preflight);
    }
    let head = method == "HEAD";
    let wanted = if head { "get".to_string() } else { method.to_ascii_lowercase() };
    let op = entry.op(&wanted).ok_or_else(|| {
        // HEAD is served by GET, and every route answers a CORS preflight.
        let mut allow = entry.allowed();
        if entry.op("get").is_some() {
            allow.push_str(", HEAD");
        }
        allow.push_str(", OPTIONS");
        Problem::method_not_allowed(method, &allow, Some(&entry.allowed()))
    })?;
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
