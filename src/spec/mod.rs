//! The API spec, compiled once per VM into an immutable structure the request path only reads:
//! one route tree per project (never per domain), one validator per operation, and the public
//! `?spec` document of each project.

pub mod model;
pub mod public;
pub mod tree;

use crate::paths::placeholders;
use crate::validate::Validator;
use model::{BackendExt, CspProfile, Document, Location, MathExt, MathStep, Operation, Parameter, RateLimitExt, RedirectExt, RelatedExt, RevisionsExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

pub const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];
const MAX_PATH_PARAMS: usize = 16;
/// The placeholder of a back-end path that stands for the wiki's content language.
pub const SITE_LANG: &str = "site_lang";

/// One operation, ready to serve.
#[derive(Debug)]
pub struct Op {
    /// The operationId: names the route in metrics and logs.
    pub id: String,
    pub method: String,
    /// The OpenAPI path, e.g. `/page/html/{title}`: the rate-limit key uses it.
    pub template: String,
    pub storage: Option<Storage>,
    pub backend: Backend,
    pub cache_control: Option<String>,
    pub content_type: Option<String>,
    pub csp: CspProfile,
    pub rate_limit: Option<RateLimitExt>,
    pub events: Vec<String>,
    pub internal_only: bool,
    /// Looked up in page_revisions first (see [`model::RevisionsExt`]).
    pub revisions: Option<RevisionsExt>,
    /// Answered with a redirect built from the back-end's JSON (see [`model::RedirectExt`]).
    pub redirect: Option<RedirectExt>,
    /// Answered with the pages related to the title (see [`model::RelatedExt`]).
    pub related: Option<RelatedExt>,
    /// Acts as the client: its credentials are forwarded (see [`model::OperationExt::credentials`]).
    pub credentials: bool,
    /// Saves a page (see [`model::OperationExt::save`]).
    pub save: Option<crate::save::From>,
    /// The path has a `{title}`: a page title, normalized with the wiki's siteinfo before
    /// anything else (RESTBase's normalize_title_filter ran on every route with one).
    pub title: bool,
    /// The path parameter holding the page title: `title`, or the operation's `title_param`.
    pub title_param: String,
    /// The back-end path names the wiki's content language (`{site_lang}`, siteinfo's
    /// `general.lang`): the siteinfo is looked up first, as RESTBase's transform-lang.js did.
    pub site_lang: bool,
    /// A math composite (see [`model::MathExt`]).
    pub math: Option<MathExt>,
    pub validator: Validator,
    /// Index of this operation among all operations (dense: metric tables are indexed by it).
    pub index: usize,
}

impl Op {
    /// The revision the request's path parameters name, if the route has one.
    pub fn revision_in<'a>(&self, params: &'a HashMap<String, String>) -> Option<&'a str> {
        params.get(self.storage.as_ref()?.revision_param.as_ref()?).map(String::as_str)
    }
}

#[derive(Debug)]
pub struct Storage {
    pub bucket: String,
    pub key: String,
    pub revision_param: Option<String>,
    /// The member of the stored JSON object this operation answers with (see
    /// [`model::StorageExt::part`]).
    pub part: Option<String>,
    /// The path parameter naming the render (see [`model::StorageExt::tid_param`]).
    pub tid_param: Option<String>,
    /// Today's content is fetched anew (see [`model::StorageExt::live_date`]).
    pub live_date: Option<String>,
}

#[derive(Debug)]
pub struct Backend {
    pub cluster: String,
    pub path: String,
    /// Request headers every call carries (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The query string's names and value templates; empty: the client's query goes on.
    pub query: Vec<(String, String)>,
    /// No `Accept-Language` from the client: the wiki's content language is sent.
    pub wiki_language: bool,
}

impl Backend {
    /// The query string the back-end is asked with (without `?`): the spec's, expanded, else
    /// the client's as it came.
    pub fn query_for<'a>(&self, params: &HashMap<String, String>, client_query: &'a str) -> std::borrow::Cow<'a, str> {
        if self.query.is_empty() {
            return client_query.into();
        }
        let pairs: Vec<String> = self.query.iter().map(|(name, value)| format!("{name}={}", crate::paths::expand_with(value, params, crate::paths::encode_component))).collect();
        pairs.join("&").into()
    }
}

/// A path of a project: its operations by method.
#[derive(Debug)]
pub struct RouteEntry {
    pub ops: Vec<Rc<Op>>,
}

impl RouteEntry {
    pub fn op(&self, method: &str) -> Option<&Rc<Op>> {
        self.ops.iter().find(|o| o.method == method)
    }

    pub fn allowed(&self) -> String {
        self.ops.iter().map(|o| o.method.to_ascii_uppercase()).collect::<Vec<_>>().join(", ")
    }
}

pub struct Project {
    pub name: String,
    pub router: matchit::Router<usize>,
    pub routes: Vec<RouteEntry>,
    /// The public OpenAPI document of this project (extensions stripped).
    pub public_spec: public::Document,
    /// The project's paths segment by segment, for the listings.
    pub tree: tree::PathTree,
}

/// Domains (or suffixes) with the project that serves them.
pub type DomainProjects<'a> = Vec<(&'a str, &'a Project)>;

pub struct Api {
    pub projects: Vec<Project>,
    exact: HashMap<String, usize>,
    /// `(".wikipedia.org", project)` for `*.wikipedia.org`.
    suffixes: Vec<(String, usize)>,
    pub ops: Vec<Rc<Op>>,
}

impl Api {
    /// The domains the API serves with their projects: the exact names, sorted, then the
    /// suffixes (`.wikipedia.org`) under which any single label is served, in the order
    /// [`Api::project_for`] tries them.
    pub fn domain_projects(&self) -> (DomainProjects<'_>, DomainProjects<'_>) {
        let mut exact: Vec<(&str, &Project)> = self.exact.iter().filter_map(|(d, i)| Some((d.as_str(), self.projects.get(*i)?))).collect();
        exact.sort_unstable_by_key(|(d, _)| *d);
        let suffixes = self.suffixes.iter().filter_map(|(s, i)| Some((s.as_str(), self.projects.get(*i)?))).collect();
        (exact, suffixes)
    }

    pub fn project_for(&self, domain: &str) -> Option<&Project> {
        let domain = domain.to_ascii_lowercase();
        let idx = self.exact.get(&domain).copied().or_else(|| {
            // A wildcard stands for exactly one label.
            self.suffixes.iter().find(|(suffix, _)| domain.strip_suffix(suffix.as_str()).is_some_and(|label| !label.is_empty() && !label.contains('.'))).map(|(_, i)| *i)
        })?;
        self.projects.get(idx)
    }

    /// Compiles the spec document; the error names the path, method and field that is wrong.
    pub fn compile(doc: &Value) -> Result<Api, String> {
        let parsed: Document = from_value(doc, "spec")?;

        let mut ops_by_set: BTreeMap<String, Vec<Rc<Op>>> = BTreeMap::new();
        let mut all_ops = Vec::new();
        let mut ids = BTreeSet::new();
        let raw_paths = doc.get("paths").and_then(Value::as_object);
        for (path, item) in &parsed.paths {
            let raw_item = raw_paths.and_then(|p| p.get(path));
            let raw_params = raw_item.and_then(|i| i.get("parameters")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            if !path.starts_with('/') {
                return Err(format!("spec: paths.{path}: must start with '/'"));
            }
            // The route tree panics past 26 parameters in one path; no real route has more than 7.
            if path.matches('{').count() > MAX_PATH_PARAMS {
                return Err(format!("spec: paths.{path}: more than {MAX_PATH_PARAMS} parameters"));
            }
            for method in item.members.keys() {
                let Some(raw) = raw_item.and_then(|i| i.get(method)).filter(|_| METHODS.contains(&method.as_str())) else { continue };
                let at = format!("spec: paths.{path}.{method}");
                let op: Operation = from_value(&resolve_refs(raw, doc, &at)?, &at)?;
                let path_params = raw_params.iter().map(|p| resolve_refs(p, doc, &at)).collect::<Result<Vec<_>, _>>()?;
                let path_params: Vec<Parameter> = from_value(&Value::Array(path_params), &format!("spec: paths.{path}.parameters"))?;
                let compiled = compile_op(op, path, method, &path_params, doc, all_ops.len()).map_err(|e| format!("{at}: {e}"))?;
                if !ids.insert(compiled.id.clone()) {
                    return Err(format!("{at}.operationId: '{}' is used twice", compiled.id));
                }
                let compiled = Rc::new(compiled);
                all_ops.push(compiled.clone());
                // The route set is checked against the projects below.
                let set = raw.pointer("/x-restrouter/route_set").and_then(Value::as_str).unwrap_or_default().to_string();
                ops_by_set.entry(set).or_default().push(compiled);
            }
        }

        let mut api = Api { projects: Vec::new(), exact: HashMap::new(), suffixes: Vec::new(), ops: all_ops };
        for (pi, project) in parsed.ext.projects.iter().enumerate() {
            let at = format!("spec: x-restrouter.projects[{pi}] ({})", project.name);
            let mut by_path: BTreeMap<String, Vec<Rc<Op>>> = BTreeMap::new();
            for set in &project.route_sets {
                let ops = ops_by_set.get(set).ok_or_else(|| format!("{at}.route_sets: no operation has route_set '{set}'"))?;
                for op in ops {
                    by_path.entry(op.template.clone()).or_default().push(op.clone());
                }
            }
            let mut router = matchit::Router::new();
            let mut routes = Vec::new();
            for (path, ops) in by_path {
                router.insert(path.clone(), routes.len()).map_err(|e| format!("{at}: path {path}: {e}"))?;
                routes.push(RouteEntry { ops });
            }
            let paths: BTreeSet<&str> = routes.iter().flat_map(|r| r.ops.iter().map(|o| o.template.as_str())).collect();
            let tree = tree::PathTree::of(paths.iter().copied());
            let idx = api.projects.len();
            for d in &project.domains {
                let d = d.to_ascii_lowercase();
                let previous = if let Some(suffix) = d.strip_prefix("*.") {
                    if suffix.contains('*') || suffix.is_empty() {
                        return Err(format!("{at}.domains: '{d}': only one leading '*.' label is allowed"));
                    }
                    let suffix = format!(".{suffix}");
                    let dup = api.suffixes.iter().any(|(s, _)| *s == suffix);
                    api.suffixes.push((suffix, idx));
                    dup
                } else if d.contains('*') {
                    return Err(format!("{at}.domains: '{d}': only one leading '*.' label is allowed"));
                } else {
                    api.exact.insert(d.clone(), idx).is_some()
                };
                if previous {
                    return Err(format!("{at}.domains: '{d}' belongs to two projects"));
                }
            }
            let public_spec = public::Document::of(doc, &paths);
            api.projects.push(Project { name: project.name.clone(), router, routes, public_spec, tree });
        }
        Ok(api)
    }
}

/// Replaces `{$ref: '#/components/...'}` parameters and request bodies by what they point at
/// (schemas keep their `$ref`s: the validator resolves those against `components`).
fn resolve_refs(v: &Value, doc: &Value, at: &str) -> Result<Value, String> {
    let lookup = |r: &Value| -> Result<Value, String> {
        let target = r.get("$ref").and_then(Value::as_str).unwrap_or_default();
        let pointer = target.strip_prefix('#').ok_or_else(|| format!("{at}: only local $refs are supported, not '{target}'"))?;
        doc.pointer(pointer).cloned().ok_or_else(|| format!("{at}: $ref '{target}' points at nothing"))
    };
    let mut out = v.clone();
    if out.get("$ref").is_some() {
        return lookup(&out);
    }
    if let Some(Value::Array(params)) = out.get_mut("parameters") {
        for p in params.iter_mut() {
            if p.get("$ref").is_some() {
                *p = lookup(p)?;
            }
        }
    }
    if let Some(body) = out.get_mut("requestBody") {
        if body.get("$ref").is_some() {
            *body = lookup(body)?;
        }
    }
    Ok(out)
}

/// Native builds (the render tool, which checks every spec before Envoy sees it) name the field
/// that is wrong; the filter module names the operation only: path tracking doubles the
/// deserialisation code, and V8 compiles every byte of it at each Envoy start (BENCHMARKS.md).
#[cfg(target_arch = "wasm32")]
fn from_value<T: serde::de::DeserializeOwned>(v: &Value, at: &str) -> Result<T, String> {
    T::deserialize(v).map_err(|e| format!("{at}: {e}"))
}

#[cfg(not(target_arch = "wasm32"))]
fn from_value<T: serde::de::DeserializeOwned>(v: &Value, at: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." || path.is_empty() {
            format!("{at}: {}", e.inner())
        } else {
            format!("{at}.{path}: {}", e.inner())
        }
    })
}

fn compile_op(op: Operation, path: &str, method: &str, path_params: &[Parameter], doc: &Value, index: usize) -> Result<Op, String> {
    if op.operation_id.is_empty() || !op.operation_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!("operationId: '{}' must be non-empty [A-Za-z0-9_]", op.operation_id));
    }
    // Operation parameters override path-level ones of the same name and location.
    let mut params: Vec<Parameter> = path_params.iter().filter(|pp| !op.parameters.iter().any(|p| p.name == pp.name && p.location == pp.location)).cloned().collect();
    params.extend(op.parameters.iter().cloned());

    let in_path: BTreeSet<String> = placeholders(path).into_iter().collect();
    for p in params.iter().filter(|p| p.location == Location::Path) {
        if !in_path.contains(&p.name) {
            return Err(format!("parameters: path parameter '{}' is not in the path", p.name));
        }
    }
    // Path placeholders without a declaration are plain strings.
    for name in &in_path {
        if !params.iter().any(|p| p.location == Location::Path && &p.name == name) {
            params.push(Parameter { name: name.clone(), location: Location::Path, required: true, schema: None });
        }
    }
    let mut known = in_path.clone();
    known.insert("domain".into());
    let check = |field: &str, template: &str| -> Result<(), String> {
        match placeholders(template).into_iter().find(|n| !known.contains(n)) {
            Some(n) => Err(format!("x-restrouter.{field}: '{{{n}}}' is not a path parameter of {path}")),
            None => Ok(()),
        }
    };
    let ext = op.ext;
    if let Some(math) = &ext.math {
        check_math(math, method, &in_path, ext.storage.is_some() || ext.redirect.is_some() || ext.revisions.is_some())?;
    }
    let backend = match ext.backend {
        Some(b) => b,
        // A formula is only read from storage.
        None if ext.math.as_ref().is_some_and(|m| m.step == MathStep::Formula) => BackendExt::default(),
        None => return Err("x-restrouter.backend: missing".into()),
    };
    let site_lang = placeholders(&backend.path).iter().any(|n| n == SITE_LANG);
    let mut with_lang = known.clone();
    with_lang.insert(SITE_LANG.into());
    if let Some(n) = placeholders(&backend.path).into_iter().find(|n| !with_lang.contains(n)) {
        return Err(format!("x-restrouter.backend.path: '{{{n}}}' is neither a path parameter of {path} nor {{{SITE_LANG}}}"));
    }
    if in_path.contains(SITE_LANG) {
        return Err(format!("parameters: '{SITE_LANG}' names the wiki's language, not a path parameter"));
    }
    let formula = ext.math.as_ref().is_some_and(|m| m.step == MathStep::Formula);
    if !formula && !backend.path.starts_with('/') {
        return Err("x-restrouter.backend.path: must start with '/'".into());
    }
    if !formula && backend.cluster.is_empty() {
        return Err("x-restrouter.backend.cluster: must not be empty".into());
    }
    for (name, value) in &backend.headers {
        let token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !token || name.eq_ignore_ascii_case("host") || name.to_ascii_lowercase().starts_with("x-restrouter") || value.bytes().any(|b| b.is_ascii_control()) {
            return Err(format!("x-restrouter.backend.headers: '{name}' is not a header the router may set"));
        }
    }
    for (name, value) in &backend.query {
        check("backend.query", value)?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(format!("x-restrouter.backend.query: '{name}' is not a query parameter name"));
        }
    }
    let pass_through = ext.storage.is_none() && ext.redirect.is_none() && ext.related.is_none() && ext.math.is_none();
    if (!backend.query.is_empty() || backend.wiki_language) && !pass_through {
        return Err("x-restrouter.backend: query and wiki_language are for pass-through operations only".into());
    }
    if let Some(r) = &ext.related {
        if !in_path.contains("title") || method != "get" || ext.storage.is_some() || ext.redirect.is_some() || ext.revisions.is_some() {
            return Err("x-restrouter.related: only GET routes with a {title}, neither stored nor redirecting, answer related pages".into());
        }
        if !(1..=50).contains(&r.limit) {
            return Err("x-restrouter.related.limit: must be 1 to 50".into());
        }
    }
    if ext.credentials && (ext.storage.is_some() || !ext.events.is_empty() || ext.redirect.is_some() || ext.revisions.is_some()) {
        // What is fetched with a client's credentials is that client's alone.
        return Err("x-restrouter.credentials: an operation acting as the client is a plain pass-through (no storage, events, redirect or revisions)".into());
    }
    if ext.save.is_some() && !(ext.credentials && method == "post" && op.request_body.is_some()) {
        return Err("x-restrouter.save: a page save is a POST with a body, acting as the client (credentials)".into());
    }
    if let Some(s) = &ext.storage {
        check("storage.key", &s.key)?;
        if s.bucket.is_empty() || s.key.is_empty() {
            return Err("x-restrouter.storage: bucket and key must not be empty".into());
        }
        if let Some(r) = &s.revision_param {
            if !in_path.contains(r) {
                return Err(format!("x-restrouter.storage.revision_param: '{r}' is not a path parameter of {path}"));
            }
        }
        if method != "get" {
            return Err("x-restrouter.storage: only GET operations can be stored".into());
        }
        if s.part.as_ref().is_some_and(|p| p.split('/').any(str::is_empty)) {
            return Err("x-restrouter.storage.part: must name a member (or a path of members, `a/b`)".into());
        }
        if let Some(t) = &s.tid_param {
            if !in_path.contains(t) {
                return Err(format!("x-restrouter.storage.tid_param: '{t}' is not a path parameter of {path}"));
            }
        }
        if let Some(d) = &s.live_date {
            check("storage.live_date", d)?;
        }
    }
    for e in &ext.events {
        // `{revision}` of a stored operation without one is the stored content's.
        let stored_revision = |n: &String| n == "revision" && ext.storage.is_some();
        if let Some(n) = placeholders(e).into_iter().find(|n| !known.contains(n) && !stored_revision(n)) {
            return Err(format!("x-restrouter.events: '{{{n}}}' is neither a path parameter of {path} nor the stored revision"));
        }
    }
    if let Some(r) = &ext.revisions {
        // Pass-through GETs too: a back-end that redirects its latest form (Parsoid's page
        // endpoint) is asked for the resolved revision instead.
        if !in_path.contains("title") || method != "get" {
            return Err("x-restrouter.revisions: only GET routes with a {title} have revisions".into());
        }
        if let Some(p) = &r.backend_path {
            let mut with_revision = known.clone();
            with_revision.insert("revision".into());
            if let Some(n) = placeholders(p).into_iter().find(|n| !with_revision.contains(n)) {
                return Err(format!("x-restrouter.revisions.backend_path: '{{{n}}}' is neither a path parameter of {path} nor the revision"));
            }
        }
    }
    if let Some(r) = &ext.redirect {
        if !(300..400).contains(&r.status) {
            return Err("x-restrouter.redirect.status: must be a 3xx status".into());
        }
        if ext.storage.is_some() || method != "get" {
            return Err("x-restrouter.redirect: only GET operations that are not stored answer with a redirect".into());
        }
        if let Some((name, pointer)) = r.from_body.iter().find(|(_, p)| !p.starts_with('/')) {
            return Err(format!("x-restrouter.redirect.from_body.{name}: '{pointer}' is not a JSON pointer"));
        }
        let mut names = known.clone();
        names.extend(r.from_body.keys().cloned());
        if let Some(n) = placeholders(&r.location).into_iter().find(|n| !names.contains(n)) {
            return Err(format!("x-restrouter.redirect.location: '{{{n}}}' is neither a path parameter of {path} nor taken from the body"));
        }
    }
    if let Some(rl) = &ext.rate_limit {
        if [rl.internal, rl.external].iter().flatten().any(|l| !(l.is_finite() && *l > 0.0)) {
            return Err("x-restrouter.rate_limit: limits must be positive numbers".into());
        }
    }
    let title_param = ext.title_param;
    if let Some(t) = &title_param {
        if !in_path.contains(t) {
            return Err(format!("x-restrouter.title_param: '{t}' is not a path parameter of {path}"));
        }
    }
    let validator = Validator::compile(&params, op.request_body.as_ref(), doc).map_err(|e| format!("parameters: {e}"))?;
    Ok(Op {
        id: op.operation_id,
        method: method.to_string(),
        template: path.to_string(),
        storage: ext.storage.map(|s| Storage { bucket: s.bucket, key: s.key, revision_param: s.revision_param, part: s.part, tid_param: s.tid_param, live_date: s.live_date }),
        backend: Backend {
            cluster: backend.cluster,
            path: backend.path,
            headers: backend.headers.into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect(),
            query: backend.query.into_iter().collect(),
            wiki_language: backend.wiki_language,
        },
        cache_control: ext.cache_control,
        content_type: ext.content_type,
        csp: ext.csp,
        rate_limit: ext.rate_limit,
        events: ext.events,
        internal_only: ext.internal_only,
        credentials: ext.credentials,
        save: ext.save,
        title: (ext.normalize_title && path.contains("{title}")) || title_param.is_some(),
        title_param: title_param.unwrap_or_else(|| "title".into()),
        site_lang,
        math: ext.math,
        revisions: ext.revisions,
        redirect: ext.redirect,
        related: ext.related,
        validator,
        index,
    })
}

/// A math composite: its method, the path parameters it reads, and nothing else stacked on it.
fn check_math(math: &MathExt, method: &str, in_path: &BTreeSet<String>, stacked: bool) -> Result<(), String> {
    let (want_method, params): (&str, &[&str]) = match math.step {
        MathStep::Check => ("post", &["type"]),
        MathStep::Formula => ("get", &["hash"]),
        MathStep::Render => ("get", &["format", "hash"]),
    };
    if method != want_method {
        return Err(format!("x-restrouter.math: a {:?} is a {} operation", math.step, want_method.to_ascii_uppercase()));
    }
    if let Some(p) = params.iter().find(|p| !in_path.contains(**p)) {
        return Err(format!("x-restrouter.math: a {:?} needs the path parameter '{p}'", math.step));
    }
    if stacked {
        return Err("x-restrouter.math: storage, redirect and revisions do not apply to a math composite".into());
    }
    if math.domain.is_empty() || !math.domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        return Err("x-restrouter.math.domain: must be a domain name".into());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
