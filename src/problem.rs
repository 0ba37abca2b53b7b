//! Errors as `application/problem+json`, the way RESTBase clients expect them: exactly
//! `{type, title, method, detail, uri}`, with type URIs under the HyperSwitch prefix. Every
//! problem the filter answers is built here, so each kind has one title and one status.

use restrouter_proto::problem::ProblemBody;
pub use restrouter_proto::problem::{CONTENT_TYPE, TYPE_PREFIX};

/// One error answer. `kind` is the part after the prefix, e.g. `not_found#route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Headers the answer carries besides the policy's: `allow` of a 405 (RFC 9110 requires
    /// it), `retry-after` and the RateLimit fields of a 429.
    pub headers: Vec<(String, String)>,
}

/// The title RESTBase gave its 429s, kept for clients that match on it.
pub const RATE_EXCEEDED_TITLE: &str = "HyperSwitch request rate limit exceeded";

impl Problem {
    fn new(status: u16, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem { status, kind, title, detail: detail.into(), headers: Vec::new() }
    }

    pub fn not_found_route(path: &str) -> Self {
        Self::new(404, "not_found#route", "Not found.", format!("Not found: {path}"))
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "not_found", "Not found.", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "bad_request", "Invalid parameters", detail)
    }

    /// A JSON or form body that does not match the operation's schema.
    pub fn invalid_body(detail: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", "Invalid request", detail)
    }

    /// `allow`: the methods the route does support, e.g. `GET, HEAD, OPTIONS`; `operations`:
    /// those of its operations, named in the detail.
    pub fn method_not_allowed(method: &str, allow: &str, operations: Option<&str>) -> Self {
        let mut detail = format!("The method {method} is not supported by this route");
        if let Some(ops) = operations {
            detail.push_str("; allowed: ");
            detail.push_str(ops);
        }
        let mut p = Self::new(405, "method_not_allowed", "Method not allowed", detail);
        p.headers.push(("allow".to_string(), allow.to_string()));
        p
    }

    /// A client over the route's rate limit (`limit` requests per second).
    pub fn rate_exceeded(limit: f64, retry_after_s: u64) -> Self {
        let mut p = Self::new(429, "request_rate_exceeded", RATE_EXCEEDED_TITLE, format!("The rate limit of {limit} requests per second for this route was exceeded; retry later"));
        p.headers = crate::ratelimit::limited_headers(limit, retry_after_s);
        p
    }

    pub fn forbidden_sys() -> Self {
        Self::new(403, "forbidden#sys", "Forbidden", "Access to the sys API is restricted to internal clients")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", "Forbidden", detail)
    }

    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(413, "too_large", "Request too large", detail)
    }

    pub fn bad_gateway(detail: impl Into<String>) -> Self {
        Self::new(502, "bad_gateway", "Bad gateway", detail)
    }

    pub fn gateway_timeout(detail: impl Into<String>) -> Self {
        Self::new(504, "gateway_timeout", "Gateway timeout", detail)
    }

    /// The wiki's siteinfo (needed to read a title) could not be fetched.
    pub fn siteinfo_unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, "service_unavailable#siteinfo", "Site info fetch failed.", detail)
    }

    /// Content in the version the client asked for cannot be produced.
    pub fn not_acceptable(detail: impl Into<String>) -> Self {
        Self::new(406, "not_acceptable", "Not acceptable", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, "internal_error", "Internal error", detail)
    }

    /// The JSON body; `method` is lower-case as in RESTBase.
    pub fn body(&self, method: &str, uri: &str) -> Vec<u8> {
        ProblemBody::new(self.kind, self.title, method, &self.detail, uri).to_vec()
    }
}

/// An upstream's own problem body, as the answer to this request: its type, title and detail,
/// with the client's method and URI in place of the upstream's (which name internal paths).
/// `None` when the body is not a problem.
pub fn retarget(status: u16, body: &[u8], method: &str, uri: &str) -> Option<Vec<u8>> {
    let theirs: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |field: &str| theirs.get(field).and_then(|v| v.as_str()).map(|s| s.chars().filter(|c| !c.is_control()).take(300).collect::<String>());
    let kind = text("type")?;
    // A bare kind (`not_found`) gets the HyperSwitch prefix; a full type URI stays as it is.
    let kind = if kind.contains("://") { kind } else { restrouter_proto::problem::type_uri(&kind) };
    let fallback = from_upstream(status, "");
    let title = text("title").unwrap_or_else(|| fallback.title.to_string());
    let detail = text("detail").unwrap_or_default();
    Some(ProblemBody { kind, title, method: method.to_ascii_lowercase(), detail, uri: uri.to_string() }.to_vec())
}

/// A problem for an error status that came from an upstream (or from Envoy itself) without a
/// problem+json body: keep the status, describe it, keep what the upstream said as detail.
pub fn from_upstream(status: u16, upstream_detail: &str) -> Problem {
    let (kind, title) = match status {
        400 => ("bad_request", "Bad request"),
        401 => ("unauthorized", "Unauthorized"),
        403 => ("forbidden", "Forbidden"),
        404 => ("not_found", "Not found."),
        405 => ("method_not_allowed", "Method not allowed"),
        409 => ("conflict", "Conflict"),
        412 => ("precondition_failed", "Precondition failed"),
        413 => ("too_large", "Request too large"),
        429 => ("request_rate_exceeded", RATE_EXCEEDED_TITLE),
        500 => ("server_error", "Server error"),
        502 => ("bad_gateway", "Bad gateway"),
        503 => ("service_unavailable", "Service unavailable"),
        504 => ("gateway_timeout", "Gateway timeout"),
        s if s < 500 => ("bad_request", "Bad request"),
        _ => ("server_error", "Server error"),
    };
    let detail: String = upstream_detail.chars().filter(|c| !c.is_control()).take(300).collect();
    Problem::new(status, kind, title, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_exactly_the_five_fields() {
        let p = Problem::bad_request("data.params.revision should be an integer");
        let v: serde_json::Value = serde_json::from_slice(&p.body("GET", "/en.wikipedia.org/v1/page/html/X/abc")).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 5);
        assert_eq!(v["type"], "https://mediawiki.org/wiki/HyperSwitch/errors/bad_request");
        assert_eq!(v["title"], "Invalid parameters");
        assert_eq!(v["method"], "get");
        assert_eq!(v["detail"], "data.params.revision should be an integer");
        assert_eq!(v["uri"], "/en.wikipedia.org/v1/page/html/X/abc");
    }

    #[test]
    fn a_429_has_one_title_whoever_sent_it() {
        // RESTBase's title, for the filter's own 429 and an upstream's alike.
        assert_eq!(Problem::rate_exceeded(10.0, 1).title, "HyperSwitch request rate limit exceeded");
        assert_eq!(from_upstream(429, "slow down").title, Problem::rate_exceeded(10.0, 1).title);
        assert_eq!(from_upstream(429, "slow down").kind, Problem::rate_exceeded(10.0, 1).kind);
    }

    #[test]
    fn an_upstreams_problem_is_retargeted_to_the_request() {
        let theirs = br#"{"type":"https://mediawiki.org/wiki/HyperSwitch/errors/access_denied#revision","title":"Access to resource denied","method":"get","detail":"Access is restricted for revision 5","uri":"/en.wikipedia.org/v1/page_revisions/page/X"}"#;
        let v: serde_json::Value = serde_json::from_slice(&retarget(403, theirs, "GET", "/en.wikipedia.org/v1/page/title/X").unwrap()).unwrap();
        assert_eq!(v["uri"], "/en.wikipedia.org/v1/page/title/X");
        assert_eq!(v["type"], "https://mediawiki.org/wiki/HyperSwitch/errors/access_denied#revision");
        assert_eq!((v["title"].as_str(), v["detail"].as_str(), v["method"].as_str()), (Some("Access to resource denied"), Some("Access is restricted for revision 5"), Some("get")));
        let v: serde_json::Value = serde_json::from_slice(&retarget(404, br#"{"type":"not_found"}"#, "GET", "/x").unwrap()).unwrap();
        assert_eq!((v["type"].as_str(), v["title"].as_str()), (Some("https://mediawiki.org/wiki/HyperSwitch/errors/not_found"), Some("Not found.")));
        assert_eq!(v.as_object().map(|o| o.len()), Some(5));
        assert!(retarget(500, b"<h1>oops</h1>", "GET", "/x").is_none());
        assert!(retarget(500, br#"{"message":"no type"}"#, "GET", "/x").is_none());
    }

    #[test]
    fn upstream_detail_is_sanitised() {
        let p = from_upstream(503, "upstream connect error\r\nx-injected: 1");
        assert_eq!(p.kind, "service_unavailable");
        assert!(!p.detail.contains('\n'));
    }
}
