//! Routing errors Envoy answers itself, without the filter: the routes `common.j2` renders
//! before the filter's catch-all, with exactly the problem the filter would send (body built by
//! `problem`, headers by the response policy). Only requests whose answer does not depend on
//! anything a static route cannot see are covered; everything else reaches the filter:
//!
//! - the `:path` (with its query) is plain ASCII without `%`, `"` or `\`, so the path is its
//!   own canonical form and needs no JSON escaping in the body;
//! - a path whose second segment is not `v1` or `sys`: `not_found#route`;
//! - `/{domain}/v1…` with a lower-case domain no project serves: `not_found` (unknown domain).
//!   Served domains (and `sys`, `?spec`, listings, operations) stay the filter's, and so does
//!   the host form `/api/rest_v1…`, whose domain is the Host header.

use restrouter::problem::Problem;
use restrouter::reply::Reply;
use restrouter::spec::Api;
use serde_json::{json, Value};

/// The whole `:path` header: characters that JSON leaves as they are and that percent-decoding
/// does not change.
const PLAIN_PATH: &str = r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+";

/// A path (without query) whose second segment is neither `v1` nor `sys` (RE2 has no
/// look-ahead: the complement is spelled out), or that has no second segment. A leading `//`
/// is left to the filter, which strips every leading slash.
const NOT_AN_API: &str = "/(?:[^/]+(?:/(?:|[^/vs][^/]*|v|v[^/1][^/]*|v1[^/]+|s|s[^/y][^/]*|sy|sy[^/s][^/]*|sys[^/]+)(?:/.*)?)?)?";

/// A lower-case domain under `/v1` (the filter names it lower-cased; `DOMAIN` keeps the same
/// first 256 characters).
const ANY_DOMAIN_V1: &str = r"/[a-z0-9.\-]+/v1(?:/.*)?";

/// Envoy's substitution operators for the parts of the problem that come from the request.
const METHOD: &str = "%CEL(request.method.lowerAscii())%";
const PATH: &str = "%CEL(request.path.split('?')[0])%";
const URI: &str = "%REQ(:PATH)%";
const DOMAIN: &str = "%CEL(request.path.split('/')[1]):256%";

/// Marks replaced by the operators above once the body is serialised (they need no escaping).
const M_METHOD: &str = "@@method@@";
const M_PATH: &str = "@@path@@";
const M_URI: &str = "@@uri@@";
const M_DOMAIN: &str = "@@domain@@";

/// The body of `p` as an Envoy format string.
fn body_format(p: &Problem) -> String {
    let body = String::from_utf8_lossy(&p.body(M_METHOD, M_URI)).replace('%', "%%");
    body.replace(M_METHOD, METHOD).replace(M_PATH, PATH).replace(M_URI, URI).replace(M_DOMAIN, DOMAIN)
}

fn escape(literal: &str) -> String {
    literal.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
}

/// The template's `edge` variable.
pub fn edge(api: &Api) -> Value {
    let route = Problem::not_found_route(M_PATH);
    let domain = Problem::unknown_domain(M_DOMAIN);
    // Errors carry the same headers whatever the path: the domain only matters for HTML.
    // Envoy reads header values as format strings, hence `%%`.
    let headers: Vec<Value> = Reply::problem(&route, "GET", "/", "").headers.into_iter().map(|(n, v)| json!([n, v.replace('%', "%%")])).collect();
    let (exact, suffixes) = api.domains();
    // One route per pattern: Envoy refuses large regexes (RE2 program size), and an exact
    // domain needs none.
    let served_exact: Vec<String> = exact.iter().map(|d| format!("/{d}/v1")).collect();
    let served_suffix: Vec<String> = suffixes.iter().map(|s| format!("/[^./]+{}/v1(?:/.*)?", escape(s))).collect();
    json!({
        "plain_path": PLAIN_PATH,
        "not_an_api": NOT_AN_API,
        "any_domain_v1": ANY_DOMAIN_V1,
        "served_exact": served_exact,
        "served_suffix": served_suffix,
        "host_api": restrouter::router::HOST_API,
        "route_status": route.status,
        "domain_status": domain.status,
        "route_body": body_format(&route),
        "domain_body": body_format(&domain),
        "headers": headers,
        "content_type": restrouter::problem::CONTENT_TYPE,
    })
}
