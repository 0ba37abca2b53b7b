//! Routing errors Envoy answers itself, without the filter: the routes `common.j2` renders
//! before the filter's catch-all, with exactly the problem the filter would send (body built by
//! `problem`, headers by the response policy). Only requests whose answer does not depend on
//! anything a static route cannot see are covered; everything else reaches the filter:
//!
//! - the `:path` (with its query) is plain ASCII without `%`, `"` or `\`, so the path is its
//!   own canonical form and needs no JSON escaping in the body;
//! - a path whose second segment is not `v1` or `sys`: `not_found#route`;
//! - `/{domain}/v1…` with a lower-case domain no project serves: `not_found#route`.
//! - `/{domain}/v1/{segment}…` with a lower-case domain a project serves and a first segment
//!   none of that project's paths starts with: `not_found#route`. The filter's answer there
//!   depends on nothing else: a plain query parses, and `?spec` and listings need an empty
//!   rest or a known prefix. Known first segments, empty (`//`) and dot segments stay the
//!   filter's, and so do projects with a path whose first segment is a parameter.
//! - the same domains, a path matching one of the project's templates that only templates
//!   with the same operations may also match (`methods`), with no empty or dot segment, and a
//!   method the filter does not serve there (not OPTIONS, not HEAD where GET is served, not a
//!   spelling of the operations' methods): `method_not_allowed` with its `allow`.
//!
//! Other served paths (`sys`, `?spec`, listings, operations) stay the filter's, and so does the
//! host form `/api/rest_v1…`, whose domain is the Host header.

mod methods;

use restrouter::problem::Problem;
use restrouter::reply::Reply;
use restrouter::spec::{Api, Project, RouteEntry};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The whole `:path` header: characters that JSON leaves as they are and that percent-decoding
/// does not change.
const PLAIN_PATH: &str = r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+";

/// A path (without query) whose second segment is neither `v1` nor `sys` (RE2 has no
/// look-ahead: the complement is spelled out), or that has no second segment. A leading `//`
/// is left to the filter, which strips every leading slash.
const NOT_AN_API: &str = "/(?:[^/]+(?:/(?:|[^/vs][^/]*|v|v[^/1][^/]*|v1[^/]+|s|s[^/y][^/]*|sy|sy[^/s][^/]*|sys[^/]+)(?:/.*)?)?)?";

/// A lower-case domain under `/v1` (the filter looks domains up lower-cased: a capital may be
/// a served one).
const ANY_DOMAIN_V1: &str = r"/[a-z0-9.\-]+/v1(?:/.*)?";

/// A path segment that is its own canonical form and needs no JSON escaping.
const SEGMENT: &str = r"[A-Za-z0-9\-._~!$&'()*+,;=:@]+";

/// A plain query, if any: it parses.
const PLAIN_QUERY: &str = r"(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?";

/// A method the filter names as it is (an HTTP token: no JSON escaping).
const METHOD_TOKEN: &str = r"[A-Za-z0-9!#$%&'*+.^_`|~\-]+";

/// The `:path` of an unknown prefix (with the route's domains and [`known`]): at least one
/// segment after `/v1`, none empty, and a plain query if any.
fn plain_rest() -> String {
    format!(r"/[^/?]+/v1(?:/{SEGMENT})+/?{PLAIN_QUERY}")
}

/// The `:path`s of a project whose answer is the filter's (the route inverts the match): no
/// rest, a first segment one of `first` (the project's) or a dot segment, and a dot segment
/// anywhere.
fn known(first: &[&str]) -> String {
    let alternatives: Vec<String> = ["", r"\.", r"\.\."].into_iter().map(String::from).chain(first.iter().map(|f| escape(f))).collect();
    format!(r"/[^/?]*/v1(?:/(?:{})(?:[/?].*)?)?(?:\?.*)?|.*/\.\.?(?:[/?].*)?", alternatives.join("|"))
}

/// Most characters of the domain alternatives in one regex: Envoy compiles each route's regex
/// once, and refuses one whose RE2 program is larger than [`MAX_PROGRAM_SIZE`] (at most an
/// instruction per literal byte, fewer where domains share a prefix: 1,395 for 2,000
/// characters of generated domains).
const DOMAINS_PER_REGEX: usize = 8000;
/// The program size Envoy accepts (runtime `re2.max_program_size.error_level`; 100 by default).
const MAX_PROGRAM_SIZE: usize = 10000;
/// What follows the domain in the unknown-prefix routes: at least one segment after `/v1`.
const PREFIX_TAIL: &str = "/v1/.*";

/// Regexes of `/{domain}` then `tail` (path matchers), each at most [`DOMAINS_PER_REGEX`]
/// characters of domains: `label` for an exact domain, `[a-z0-9-]+` then `label` for a suffix.
fn domain_regexes(labels: &[String], tail: &str) -> Vec<String> {
    let mut chunks: Vec<Vec<&str>> = Vec::new();
    let mut size = 0;
    for l in labels {
        match chunks.last_mut() {
            Some(chunk) if size + l.len() <= DOMAINS_PER_REGEX => chunk.push(l),
            _ => {
                chunks.push(vec![l]);
                size = 0;
            }
        }
        size += l.len() + 1;
    }
    chunks.into_iter().map(|c| format!("/(?:{}){tail}", c.join("|"))).collect()
}

/// The routes of served domains, in order: exact domains, wrong methods then unknown prefixes;
/// then the exact domains a suffix also covers, as the filter's (`kind: filter`), so that no
/// suffix route of another project answers for them ([`Api::project_for`] tries exact domains
/// first); then the suffixes, the same way. A domain's wrong-method and unknown-prefix routes
/// never match the same path (known first segments against unknown ones).
fn domain_routes(api: &Api) -> Vec<Value> {
    let (exact, suffixes) = api.domain_projects();
    let shadowed: Vec<String> = exact.iter().filter(|(d, _)| suffixes.iter().any(|(s, _)| d.ends_with(s))).map(|(d, _)| escape(d)).collect();
    let exact: Vec<(String, &Project)> = exact.into_iter().map(|(d, p)| (escape(d), p)).collect();
    let suffixes: Vec<(String, &Project)> = suffixes.into_iter().map(|(s, p)| (format!("[a-z0-9-]+{}", escape(s)), p)).collect();
    let mut routes = method_groups(&exact);
    routes.extend(prefix_groups(&exact));
    routes.extend(domain_regexes(&shadowed, PREFIX_TAIL).into_iter().map(|domains| json!({ "kind": "filter", "domains": domains })));
    routes.extend(method_groups(&suffixes));
    routes.extend(prefix_groups(&suffixes));
    routes
}

/// The unknown-prefix routes: one per group of projects with the same first segments (`known`:
/// the inverted `:path` matcher) and domain chunk. Projects whose first segment can be a
/// parameter have none.
fn prefix_groups(domains: &[(String, &Project)]) -> Vec<Value> {
    let mut groups: BTreeMap<Vec<&str>, Vec<String>> = BTreeMap::new();
    for (label, project) in domains {
        if let Some(first) = project.tree.fixed() {
            groups.entry(first).or_default().push(label.clone());
        }
    }
    groups
        .into_iter()
        .flat_map(|(first, labels)| domain_regexes(&labels, PREFIX_TAIL).into_iter().map(move |domains| json!({ "kind": "prefix", "domains": domains, "known": known(&first) })))
        .collect()
}

/// The wrong-method routes: one per set of operations with its templates
/// ([`methods::sets`]) and domain chunk (projects whose set has the same templates share it
/// whatever their other sets), with the templates in one `:path` regex, the set's served
/// methods in the inverted `:method` matcher, and its 405. A path matches templates of one
/// set of its project at most.
fn method_groups(domains: &[(String, &Project)]) -> Vec<Value> {
    // Keyed by the set's operations and templates: one of its paths, the domains.
    type Groups<'a> = BTreeMap<(String, Vec<&'a str>), (&'a RouteEntry, Vec<String>)>;
    let mut groups = Groups::new();
    for (label, project) in domains {
        for set in methods::sets(project) {
            let entry = set.entry;
            groups.entry((set.allowed, set.templates)).or_insert_with(|| (entry, Vec::new())).1.push(label.clone());
        }
    }
    let mut routes = Vec::new();
    for ((_, templates), (entry, labels)) in groups {
        let problem = restrouter::router::wrong_method(entry, M_RAW_METHOD);
        let paths = format!("/[^/?]+/v1{}{PLAIN_QUERY}", methods::templates_regex(&templates));
        for domains in domain_regexes(&labels, PREFIX_TAIL) {
            routes.push(json!({
                "kind": "method",
                "domains": domains,
                "paths": paths,
                "allowed": methods::allowed_methods(entry),
                "status": problem.status,
                "body": body_format(&problem, None),
                "headers": headers(&problem),
            }));
        }
    }
    routes
}

/// Envoy's substitution operators for the parts of the problem that come from the request.
/// CEL costs several µs per expression and answer: built-in operators where Envoy has one, and
/// the method is a literal in the body of the GET routes.
const METHOD: &str = "%CEL(request.method.lowerAscii())%";
/// The method as the client spelled it (a 405's detail).
const RAW_METHOD: &str = "%REQ(:METHOD)%";
const PATH: &str = "%PATH(NQ:PATH)%";
const URI: &str = "%REQ(:PATH)%";

/// Marks replaced by the operators above once the body is serialised (they need no escaping).
const M_METHOD: &str = "@@method@@";
const M_RAW_METHOD: &str = "@@raw_method@@";
const M_PATH: &str = "@@path@@";
const M_URI: &str = "@@uri@@";

/// The body of `p` as an Envoy format string; `method` for a route that only takes that one.
fn body_format(p: &Problem, method: Option<&str>) -> String {
    let body = String::from_utf8_lossy(&p.body(method.unwrap_or(M_METHOD), M_URI)).replace('%', "%%");
    body.replace(M_RAW_METHOD, RAW_METHOD).replace(M_METHOD, METHOD).replace(M_PATH, PATH).replace(M_URI, URI)
}

/// `literal` as an RE2 regex (RE2 escapes ASCII punctuation only).
fn escape(literal: &str) -> String {
    literal.chars().map(|c| if c.is_ascii_punctuation() { format!("\\{c}") } else { c.to_string() }).collect()
}

/// `:path` matchers (query included) of the served domains under `/v1`: the unknown-domain
/// route answers only when none matches, so it can come first and spare every other request
/// the walk past it. Exact domains share regexes (one route per domain cost Envoy ~10 MB with
/// 800 domains), and so do the suffixes.
fn served(api: &Api) -> Vec<String> {
    let (exact, suffixes) = api.domain_projects();
    let labels = exact.iter().map(|(d, _)| escape(d)).chain(suffixes.iter().map(|(s, _)| format!("[^./]+{}", escape(s))));
    domain_regexes(&labels.collect::<Vec<_>>(), "/v1(?:[/?].*)?")
}

/// The headers of `p`'s answer: errors carry the same headers whatever the path (the domain
/// only matters for HTML). Envoy reads header values as format strings, hence `%%`.
fn headers(p: &Problem) -> Vec<Value> {
    Reply::problem(p, "GET", "/", "").headers.into_iter().map(|(n, v)| json!([n, v.replace('%', "%%")])).collect()
}

/// The template's `edge` variable.
pub fn edge(api: &Api) -> Value {
    let route = Problem::not_found_route(M_PATH);
    json!({
        "plain_path": PLAIN_PATH,
        "not_an_api": NOT_AN_API,
        "plain_rest": plain_rest(),
        "domain_routes": domain_routes(api),
        "method_token": METHOD_TOKEN,
        "max_program_size": MAX_PROGRAM_SIZE,
        "any_domain_v1": ANY_DOMAIN_V1,
        "served": served(api),
        "host_api": restrouter::router::HOST_API,
        "route_status": route.status,
        // [method, body]: GET's own body first, then any method's.
        "route_bodies": [["GET", body_format(&route, Some("GET"))], ["", body_format(&route, None)]],
        "headers": headers(&route),
        "content_type": restrouter::problem::CONTENT_TYPE,
    })
}

#[cfg(test)]
mod tests {
    // Test helpers fail loudly.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use restrouter::client::Class;

    /// The shipped spec, plus an exact domain under another project's suffix
    /// (`x.wikipedia.org`, wikimedia.org's project: metrics, no page), a project whose first
    /// segment is a parameter (`p.wikipedia.org`), and one whose templates overlap
    /// (`o.wikipedia.org`, also under the suffix): with other operations (`/a/{x}`, `/a/b`;
    /// `/transform/word/from/{from}/{word}/{provider}`, `…/{from}/to/{word}`), with the same
    /// (`/c/{x}`, `/c/d`), with a parameter inside a segment or a catch-all.
    fn api() -> Api {
        let mut spec: Value = serde_norway::from_str(include_str!("../../spec/wikimedia.yaml")).unwrap();
        let get = spec.pointer("/paths/~1transform~1list~1languagepairs~1/get").unwrap().clone();
        let post = spec.pointer("/paths/~1transform~1wikitext~1to~1html/post").unwrap().clone();
        let mut ids = 0;
        let mut add = |path: &str, method: &str, set: &str| {
            let mut op = if method == "get" { get.clone() } else { post.clone() };
            ids += 1;
            op["operationId"] = json!(format!("{set}{ids}"));
            op["x-restrouter"]["route_set"] = json!(set);
            let item = spec["paths"].as_object_mut().unwrap().entry(path).or_insert_with(|| json!({}));
            item[method] = op;
        };
        add("/{any}/list", "get", "any");
        for (path, method) in [
            ("/a/{x}", "get"),
            ("/a/b", "post"),
            ("/transform/word/from/{from}/{word}/{provider}", "get"),
            ("/transform/word/from/{from}/to/{word}", "post"),
            ("/c/{x}", "get"),
            ("/c/d", "get"),
            ("/c/d/", "post"),
            ("/e/{x}.json", "get"),
            ("/e/f", "post"),
            ("/e/g", "post"),
            ("/g/{*rest}", "post"),
            ("/g/h/i", "get"),
            ("/h/{x}/i", "get"),
            ("/h/{x}/i", "post"),
            ("/h/j/{y}", "get"),
        ] {
            add(path, method, "overlap");
        }
        let projects = spec.pointer_mut("/x-restrouter/projects").unwrap().as_array_mut().unwrap();
        projects.iter_mut().find(|p| p["name"] == "wikimedia").unwrap()["domains"].as_array_mut().unwrap().push(json!("x.wikipedia.org"));
        projects.push(json!({ "name": "any", "domains": ["p.wikipedia.org"], "route_sets": ["any"] }));
        projects.push(json!({ "name": "overlap", "domains": ["o.wikipedia.org"], "route_sets": ["overlap"] }));
        Api::compile(&spec).unwrap()
    }

    pub(super) fn full(re: &str) -> regex_lite::Regex {
        regex_lite::Regex::new(&format!("^(?:{re})$")).unwrap()
    }

    /// The route that answers `method` `path` as Envoy picks it from the domain routes: the
    /// first whose matchers all match (the domains and the other `:path` matchers against the
    /// whole `:path`, and the method). `None`: the filter's.
    fn answering<'a>(routes: &'a [Value], method: &str, path: &str) -> Option<&'a Value> {
        let plain = full(&plain_rest());
        let matches = |r: &Value| match r["kind"].as_str().unwrap() {
            "method" => !full(r["allowed"].as_str().unwrap()).is_match(method) && full(r["paths"].as_str().unwrap()).is_match(path) && full(METHOD_TOKEN).is_match(method),
            "prefix" => !full(r["known"].as_str().unwrap()).is_match(path) && plain.is_match(path),
            _ => true,
        };
        routes.iter().find(|r| full(r["domains"].as_str().unwrap()).is_match(path) && matches(r)).filter(|r| r["kind"] != "filter")
    }

    /// Whether Envoy answers `path` by an unknown-prefix route.
    fn answered(routes: &[Value], path: &str) -> bool {
        answering(routes, "GET", path).is_some_and(|r| r["kind"] == "prefix")
    }

    /// Every path the routes answer gets the filter's `not_found#route` for that path, and the
    /// tricky ones are left to the filter.
    #[test]
    fn unknown_prefixes_are_the_filters_not_found() {
        let api = api();
        let routes = domain_routes(&api);
        let domains = [
            "en.wikipedia.org",
            "EN.wikipedia.org",
            "a-b.wikipedia.org",
            "a.b.wikipedia.org",
            "wikimedia.org",
            "commons.wikimedia.org",
            "www.wikidata.org",
            "x.wikipedia.org",
            "p.wikipedia.org",
            "en.wiktionary.org",
            "nope.org",
        ];
        let rests = [
            "",
            "/",
            "?spec",
            "/?spec",
            "/no",
            "/no/",
            "/no/such",
            "/no?spec",
            "/no?a=b+c&d",
            "/no?x=%zz",
            "/no%41",
            "/no\"x",
            "/page",
            "/page/",
            "/page?x",
            "/page/html/Earth",
            "/pages",
            "/metrics/x",
            "/feed/x",
            "/list",
            "/x/list",
            "/sys",
            "/v1",
            "//no",
            "/no//x",
            "/./no",
            "/../no",
            "/no/..",
            "/no/./x",
            "/.../x",
            "/.x",
            "/no?a=/..",
        ];
        let mut answers = 0;
        for d in domains {
            for rest in rests {
                let path = format!("/{d}/v1{rest}");
                if !answered(&routes, &path) {
                    continue;
                }
                answers += 1;
                let got = restrouter::router::route(&api, "GET", &path, "", || Class::External).err().unwrap_or_else(|| panic!("{path}: the filter routes it"));
                let want = Problem::not_found_route(path.split('?').next().unwrap());
                assert_eq!((got.status, got.kind, &got.detail), (want.status, want.kind, &want.detail), "{path}");
            }
        }
        assert!(answers > 20, "{answers}");
        for (path, by_envoy) in [
            ("/en.wikipedia.org/v1/no/such", true),
            ("/en.wikipedia.org/v1/metrics/x", true),
            ("/wikimedia.org/v1/page/html/Earth", true),
            ("/x.wikipedia.org/v1/page/html/Earth", true),
            ("/x.wikipedia.org/v1/metrics/x", false),
            ("/x.wikipedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20200101/20200110", false),
            ("/p.wikipedia.org/v1/no", false),
            ("/en.wikipedia.org/v1/page/", false),
            ("/en.wikipedia.org/v1/no/..", false),
            ("/EN.wikipedia.org/v1/no", false),
        ] {
            assert_eq!(answered(&routes, path), by_envoy, "{path}");
        }
    }

    /// What Envoy answers by a wrong-method route: its format strings with the request's values
    /// (methods without `%` here).
    fn envoy_answer(route: &Value, method: &str, path: &str) -> Reply {
        let body = route["body"].as_str().unwrap().replace(RAW_METHOD, method).replace(METHOD, &method.to_ascii_lowercase()).replace(URI, path).replace("%%", "%");
        let headers = route["headers"].as_array().unwrap().iter().map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_str().unwrap().replace("%%", "%"))).collect();
        Reply { status: route["status"].as_u64().unwrap() as u16, headers, body: body.into_bytes() }
    }

    /// Whenever a wrong-method route answers, the filter answers the same 405 (status, body,
    /// `allow` and every other header); overlapping templates, capitals, escapes, dot segments
    /// and queries that may not parse are left to the filter. Unknown prefixes stay
    /// `not_found#route` whatever the method.
    #[test]
    fn wrong_methods_are_the_filters_405() {
        let api = api();
        let routes = domain_routes(&api);
        let domains = [
            "en.wikipedia.org",
            "EN.wikipedia.org",
            "a.b.wikipedia.org",
            "wikimedia.org",
            "www.wikidata.org",
            "x.wikipedia.org",
            "p.wikipedia.org",
            "o.wikipedia.org",
            "en.wiktionary.org",
            "en.wikibooks.org",
            "nope.org",
        ];
        let rests = [
            "/page/html/Earth",
            "/page/html/Earth?redirect=false&x",
            "/page/html/Earth?x=%zz",
            "/page/html/Earth/",
            "/page/html/Earth/123",
            "/page/html/Earth/123/x",
            "/page/html/..",
            "/page/html/.",
            "/page/html/...",
            "/page/html/.x",
            "/page/html/a%20b",
            "/page/html/a\"b",
            "/page/html//x",
            "/page/summary/Earth",
            "/page/random/summary",
            "/transform/wikitext/to/html",
            "/transform/wikitext/to/html/Earth",
            "/transform/html/from/en",
            "/transform/word/from/en/x",
            "/transform/word/from/en/to/x",
            "/transform/word/from/en/fr/x",
            "/transform/word/from/en/to/fr/x",
            "/transform/list/languagepairs/",
            "/transform/list/pair/en/fr/",
            "/transform/list/pair/en/fr",
            "/data/lists/",
            "/data/lists/setup",
            "/data/lists/7",
            "/data/lists/7/entries/",
            "/data/lists/7/entries/batch",
            "/data/lists/7/entries/9",
            "/media/math/check/tex",
            "/feed/availability",
            "/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20200101/20200110",
            "/list",
            "/x/list",
            "/no/such",
            "/a/x",
            "/a/b",
            "/c/x",
            "/c/d",
            "/c/d/",
            "/e/x.json",
            "/e/f",
            "/e/x",
            "/g/h/i",
            "/g/x",
            "/h/x/i",
            "/h/j/i",
            "/h/j/k",
        ];
        let methods = ["GET", "get", "Get", "HEAD", "head", "OPTIONS", "options", "POST", "post", "PUT", "DELETE", "delete", "PATCH", "FOO"];
        let (mut wrong_methods, mut prefixes) = (0, 0);
        for d in domains {
            for rest in rests {
                let path = format!("/{d}/v1{rest}");
                for method in methods {
                    let Some(r) = answering(&routes, method, &path) else { continue };
                    let got = restrouter::router::route(&api, method, &path, "", || Class::External).err().unwrap_or_else(|| panic!("{method} {path}: the filter routes it"));
                    if r["kind"] == "prefix" {
                        prefixes += 1;
                        assert_eq!(got, Problem::not_found_route(path.split('?').next().unwrap()), "{method} {path}");
                        continue;
                    }
                    wrong_methods += 1;
                    let want = Reply::problem(&got, method, &path, &restrouter::router::domain_of(&path, ""));
                    let got = envoy_answer(r, method, &path);
                    assert_eq!((got.status, String::from_utf8_lossy(&got.body), &got.headers), (want.status, String::from_utf8_lossy(&want.body), &want.headers), "{method} {path}");
                    assert_eq!(want.status, 405, "{method} {path}");
                }
            }
        }
        assert!(wrong_methods > 500 && prefixes > 100, "{wrong_methods} {prefixes}");
        let metrics = "/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20200101/20200110";
        for (method, path, by_envoy) in [
            ("DELETE", "/en.wikipedia.org/v1/page/html/Earth".to_string(), true),
            ("PUT", "/en.wikipedia.org/v1/page/html/Earth?x=1&y=a+b".to_string(), true),
            ("POST", "/en.wikipedia.org/v1/page/summary/Earth".to_string(), true),
            ("post", "/de.wikipedia.org/v1/page/summary/Earth".to_string(), true),
            ("GET", "/en.wikipedia.org/v1/transform/wikitext/to/html".to_string(), true),
            ("head", "/en.wikipedia.org/v1/page/summary/Earth".to_string(), true),
            ("options", "/en.wikipedia.org/v1/page/summary/Earth".to_string(), true),
            ("HEAD", "/en.wikipedia.org/v1/transform/wikitext/to/html".to_string(), true),
            ("DELETE", "/en.wikipedia.org/v1/data/lists/".to_string(), true),
            ("DELETE", format!("/wikimedia.org/v1{metrics}"), true),
            ("DELETE", format!("/x.wikipedia.org/v1{metrics}"), true),
            ("DELETE", "/p.wikipedia.org/v1/x/list".to_string(), true),
            ("PUT", "/o.wikipedia.org/v1/c/x".to_string(), true),
            ("PUT", "/o.wikipedia.org/v1/c/d".to_string(), true),
            ("GET", "/o.wikipedia.org/v1/c/d/".to_string(), true),
            // Served methods, in any spelling the filter serves.
            ("get", "/en.wikipedia.org/v1/page/summary/Earth".to_string(), false),
            ("HEAD", "/en.wikipedia.org/v1/page/summary/Earth".to_string(), false),
            ("OPTIONS", "/en.wikipedia.org/v1/transform/wikitext/to/html".to_string(), false),
            ("POST", "/en.wikipedia.org/v1/page/html/Earth".to_string(), false),
            ("Post", "/en.wikipedia.org/v1/transform/wikitext/to/html".to_string(), false),
            // What the filter must read itself.
            ("PUT", "/en.wikipedia.org/v1/page/html/Earth?x=%zz".to_string(), false),
            ("PUT", "/en.wikipedia.org/v1/page/html/..".to_string(), false),
            ("PUT", "/en.wikipedia.org/v1/page/html/a%20b".to_string(), false),
            ("PUT", "/EN.wikipedia.org/v1/page/html/Earth".to_string(), false),
            ("PUT", "/en.wikipedia.org/v1/page/html/Earth/".to_string(), false),
            ("GET", "/en.wikipedia.org/v1/data/lists/setup".to_string(), false),
            ("POST", "/en.wikipedia.org/v1/data/lists/7".to_string(), false),
            ("DELETE", format!("/en.wikipedia.org/v1{metrics}"), false),
            ("DELETE", "/x.wikipedia.org/v1/page/html/Earth".to_string(), false),
            ("DELETE", "/en.wikipedia.org/v1/x/list".to_string(), false),
            // Templates another one with other operations (or an unplain one) may overlap.
            ("PUT", "/o.wikipedia.org/v1/a/x".to_string(), false),
            ("GET", "/o.wikipedia.org/v1/a/b".to_string(), false),
            ("POST", "/o.wikipedia.org/v1/transform/word/from/en/fr/x".to_string(), false),
            ("GET", "/o.wikipedia.org/v1/transform/word/from/en/to/x".to_string(), false),
            ("GET", "/o.wikipedia.org/v1/e/f".to_string(), false),
            ("POST", "/o.wikipedia.org/v1/e/x.json".to_string(), false),
            ("POST", "/o.wikipedia.org/v1/g/h/i".to_string(), false),
            ("PUT", "/o.wikipedia.org/v1/h/x/i".to_string(), false),
            ("PUT", "/o.wikipedia.org/v1/h/j/k".to_string(), false),
        ] {
            assert_eq!(answering(&routes, method, &path).is_some_and(|r| r["kind"] == "method"), by_envoy, "{method} {path}");
        }
    }

    /// Each template Envoy answers wrong methods for, with its parameters set to the literals
    /// the project's templates have at that segment (where matchit prefers another template),
    /// gets the filter's 405 of its set for every method the set's matcher does not serve, and
    /// no 405 for the others.
    #[test]
    fn templates_get_their_sets_405() {
        let api = api();
        let (exact, suffixes) = api.domain_projects();
        let domain_of = |project: &Project| {
            let exact = exact.iter().find(|(_, p)| std::ptr::eq(*p, project)).map(|(d, _)| d.to_string());
            exact.or_else(|| suffixes.iter().find(|(_, p)| std::ptr::eq(*p, project)).map(|(s, _)| format!("zz{s}"))).unwrap()
        };
        let methods = ["GET", "get", "HEAD", "head", "OPTIONS", "options", "POST", "post", "PUT", "DELETE", "delete", "PATCH"];
        let mut checked = 0;
        for project in &api.projects {
            let domain = domain_of(project);
            let templates: Vec<Vec<&str>> = project.routes.iter().map(|e| e.ops[0].template.split('/').collect()).collect();
            let literals = |at: Option<usize>| -> std::collections::BTreeSet<&str> {
                let segments = templates.iter().flat_map(|t| t.iter().enumerate().filter(|(i, _)| at.is_none_or(|at| *i == at)).map(|(_, s)| *s));
                segments.filter(|s| !s.is_empty() && !s.contains('{')).chain(["X", "...", ".x"]).collect()
            };
            for set in methods::sets(project) {
                let allowed = full(&methods::allowed_methods(set.entry));
                let paths = full(&format!("/[^/?]+/v1{}{PLAIN_QUERY}", methods::templates_regex(&set.templates)));
                for t in &set.templates {
                    let segments: Vec<&str> = t.split('/').collect();
                    let params: Vec<usize> = (0..segments.len()).filter(|i| segments[*i].starts_with('{')).collect();
                    let fill = |with: &dyn Fn(usize) -> String| segments.iter().enumerate().map(|(i, s)| if params.contains(&i) { with(i) } else { s.to_string() }).collect::<Vec<_>>().join("/");
                    let mut filled = vec![fill(&|_| "X".into())];
                    for &i in &params {
                        filled.extend(literals(Some(i)).into_iter().map(|l| fill(&|j| if i == j { l } else { "X" }.into())));
                    }
                    filled.extend(literals(None).into_iter().map(|l| fill(&|_| l.into())));
                    for rest in filled {
                        let path = format!("/{domain}/v1{rest}");
                        assert!(paths.is_match(&path), "{path}");
                        for method in methods {
                            let got = restrouter::router::route(&api, method, &path, "", || Class::External).err();
                            if allowed.is_match(method) {
                                assert!(got.is_none_or(|p| p.status != 405), "{method} {path}");
                            } else {
                                assert_eq!(got, Some(restrouter::router::wrong_method(set.entry, method)), "{method} {path}");
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    /// Many exact domains are split over several regexes, each within the program size the
    /// rendered runtime allows.
    #[test]
    fn domain_regexes_stay_small() {
        let labels: Vec<String> = (0..800).map(|i| escape(&format!("wiki{i}.wikipedia.example.org"))).collect();
        let regexes = domain_regexes(&labels, PREFIX_TAIL);
        assert!(regexes.len() > 1);
        // Envoy measured 1,395 instructions for 2,000 characters of such domains.
        assert!(regexes.iter().all(|r| r.len() <= DOMAINS_PER_REGEX + 100 && r.len() < MAX_PROGRAM_SIZE));
        let all = regexes.iter().map(|r| full(r)).collect::<Vec<_>>();
        assert!((0..800).all(|i| all.iter().filter(|r| r.is_match(&format!("/wiki{i}.wikipedia.example.org/v1/x"))).count() == 1));
    }
}
