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
//!
//! Other served paths (`sys`, `?spec`, listings, operations) stay the filter's, and so does the
//! host form `/api/rest_v1…`, whose domain is the Host header.

use restrouter::problem::Problem;
use restrouter::reply::Reply;
use restrouter::spec::{Api, Project};
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

/// The `:path` of an unknown prefix (with the route's domains and [`known`]): at least one
/// segment after `/v1`, none empty, and a plain query if any.
fn plain_rest() -> String {
    format!(r"/[^/?]+/v1(?:/{SEGMENT})+/?(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?")
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

/// The unknown-prefix routes, in order: exact domains, one route per group of projects with the
/// same first segments (`known`: the inverted `:path` matcher) and domain chunk; then the exact
/// domains a suffix also covers, as the filter's (`known: null`), so that no suffix route of
/// another project answers for them ([`Api::project_for`] tries exact domains first); then
/// the suffixes. Projects whose first segment can be a parameter have none.
fn prefix_routes(api: &Api) -> Vec<Value> {
    let (exact, suffixes) = api.domain_projects();
    let shadowed: Vec<String> = exact.iter().filter(|(d, _)| suffixes.iter().any(|(s, _)| d.ends_with(s))).map(|(d, _)| escape(d)).collect();
    let mut routes = edge_groups(exact.into_iter().map(|(d, p)| (escape(d), p)));
    routes.extend(domain_regexes(&shadowed, PREFIX_TAIL).into_iter().map(|domains| json!({ "domains": domains, "known": null })));
    routes.extend(edge_groups(suffixes.into_iter().map(|(s, p)| (format!("[a-z0-9-]+{}", escape(s)), p))));
    routes
}

/// One route per group of projects with the same first segments and domain chunk.
fn edge_groups<'a>(domains: impl Iterator<Item = (String, &'a Project)>) -> Vec<Value> {
    let mut groups: BTreeMap<Vec<&str>, Vec<String>> = BTreeMap::new();
    for (label, project) in domains {
        if let Some(first) = project.tree.fixed() {
            groups.entry(first).or_default().push(label);
        }
    }
    groups.into_iter().flat_map(|(first, labels)| domain_regexes(&labels, PREFIX_TAIL).into_iter().map(move |domains| json!({ "domains": domains, "known": known(&first) }))).collect()
}

/// Envoy's substitution operators for the parts of the problem that come from the request.
/// CEL costs several µs per expression and answer: built-in operators where Envoy has one, and
/// the method is a literal in the body of the GET routes.
const METHOD: &str = "%CEL(request.method.lowerAscii())%";
const PATH: &str = "%PATH(NQ:PATH)%";
const URI: &str = "%REQ(:PATH)%";

/// Marks replaced by the operators above once the body is serialised (they need no escaping).
const M_METHOD: &str = "@@method@@";
const M_PATH: &str = "@@path@@";
const M_URI: &str = "@@uri@@";

/// The body of `p` as an Envoy format string; `method` for a route that only takes that one.
fn body_format(p: &Problem, method: Option<&str>) -> String {
    let body = String::from_utf8_lossy(&p.body(method.unwrap_or(M_METHOD), M_URI)).replace('%', "%%");
    body.replace(M_METHOD, METHOD).replace(M_PATH, PATH).replace(M_URI, URI)
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

/// The template's `edge` variable.
pub fn edge(api: &Api) -> Value {
    let route = Problem::not_found_route(M_PATH);
    // Errors carry the same headers whatever the path: the domain only matters for HTML.
    // Envoy reads header values as format strings, hence `%%`.
    let headers: Vec<Value> = Reply::problem(&route, "GET", "/", "").headers.into_iter().map(|(n, v)| json!([n, v.replace('%', "%%")])).collect();
    json!({
        "plain_path": PLAIN_PATH,
        "not_an_api": NOT_AN_API,
        "plain_rest": plain_rest(),
        "prefix_routes": prefix_routes(api),
        "max_program_size": MAX_PROGRAM_SIZE,
        "any_domain_v1": ANY_DOMAIN_V1,
        "served": served(api),
        "host_api": restrouter::router::HOST_API,
        "route_status": route.status,
        // [method, body]: GET's own body first, then any method's.
        "route_bodies": [["GET", body_format(&route, Some("GET"))], ["", body_format(&route, None)]],
        "headers": headers,
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
    /// (`x.wikipedia.org`, wikimedia.org's project: metrics, no page) and a project whose first
    /// segment is a parameter (`p.wikipedia.org`).
    fn api() -> Api {
        let mut spec: Value = serde_norway::from_str(include_str!("../../spec/wikimedia.yaml")).unwrap();
        let mut op = spec.pointer("/paths/~1transform~1list~1languagepairs~1/get").unwrap().clone();
        op["operationId"] = json!("anyList");
        op["x-restrouter"]["route_set"] = json!("any");
        spec["paths"]["/{any}/list"] = json!({ "get": op });
        let projects = spec.pointer_mut("/x-restrouter/projects").unwrap().as_array_mut().unwrap();
        projects.iter_mut().find(|p| p["name"] == "wikimedia").unwrap()["domains"].as_array_mut().unwrap().push(json!("x.wikipedia.org"));
        projects.push(json!({ "name": "any", "domains": ["p.wikipedia.org"], "route_sets": ["any"] }));
        Api::compile(&spec).unwrap()
    }

    fn full(re: &str) -> regex_lite::Regex {
        regex_lite::Regex::new(&format!("^(?:{re})$")).unwrap()
    }

    /// Whether Envoy answers `path` by an unknown-prefix route: the first of them whose `:path`
    /// matchers (domains, then the inverted known prefixes and a plain rest) all hold is an
    /// answer, not the filter's.
    fn answered(routes: &[Value], path: &str) -> bool {
        let plain = full(&plain_rest());
        routes
            .iter()
            .find(|r| full(r["domains"].as_str().unwrap()).is_match(path) && r["known"].as_str().is_none_or(|known| !full(known).is_match(path) && plain.is_match(path)))
            .is_some_and(|r| r["known"].is_string())
    }

    /// Every path the routes answer gets the filter's `not_found#route` for that path, and the
    /// tricky ones are left to the filter.
    #[test]
    fn unknown_prefixes_are_the_filters_not_found() {
        let api = api();
        let routes = prefix_routes(&api);
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
