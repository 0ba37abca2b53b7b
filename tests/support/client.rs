//! The HTTP client of the tests: no proxies, no redirects, no compression, a bounded timeout
//! (so a hang fails the test instead of stalling it), and every status returned as a response.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use ureq::config::AutoHeaderValue;

/// Longest any single request may take before the test fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Send this header (to an Envoy rendered with `xff_trusted_hops=1`) to be an external client.
pub const EXTERNAL: (&str, &str) = ("x-forwarded-for", "198.51.100.7");

/// The type URI prefix of every problem+json answer.
pub const PROBLEM_PREFIX: &str = restrouter_proto::problem::TYPE_PREFIX;

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).proxy(None).accept_encoding(AutoHeaderValue::None).timeout_global(Some(REQUEST_TIMEOUT)).build().into()
    })
}

/// Status, headers and body of an answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lower-case names, every value (a repeated header appears once per value).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn header_count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).count()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {self}"))
    }

    /// Checks an error answer: status, `application/problem+json`, exactly the five RESTBase
    /// fields, the HyperSwitch type `kind` (e.g. `not_found#route`), and the method and URI of
    /// the request. Returns the body for further checks (e.g. on `detail`).
    pub fn assert_problem(&self, status: u16, kind: &str, method: &str, uri: &str) -> Value {
        assert_eq!(self.status, status, "status of {self}");
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/problem+json"), "content-type '{ct}' of {self}");
        let body = self.json();
        let obj = body.as_object().unwrap_or_else(|| panic!("problem body is not an object: {self}"));
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["detail", "method", "title", "type", "uri"], "problem fields of {self}");
        assert_eq!(body["type"], format!("{PROBLEM_PREFIX}{kind}"), "problem type of {self}");
        assert_eq!(body["method"], method.to_ascii_lowercase(), "problem method of {self}");
        assert_eq!(body["uri"], uri, "problem uri of {self}");
        assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "problem title of {self}");
        assert!(body["detail"].is_string(), "problem detail of {self}");
        body
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (n, v) in &self.headers {
            writeln!(f, "{n}: {v}")?;
        }
        let text = self.text();
        write!(f, "\n{}", text.chars().take(2000).collect::<String>())
    }
}

/// Sends one request; any status is an answer, only a transport failure (including the
/// timeout) fails the test.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
    try_send(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Like [`send`], but a transport failure is returned.
pub fn try_send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Result<Response, ureq::Error> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    let result = match body {
        Some(b) => agent().run(builder.body(b.to_vec()).map_err(ureq::Error::from)?),
        None => agent().run(builder.body(()).map_err(ureq::Error::from)?),
    };
    let mut resp = result?;
    let status = resp.status().as_u16();
    let headers = resp.headers().iter().map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let body = if method == "HEAD" { Vec::new() } else { resp.body_mut().with_config().limit(64 << 20).read_to_vec()? };
    Ok(Response { status, headers, body })
}

pub fn get(url: &str) -> Response {
    send("GET", url, &[], None)
}

pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Response {
    send("GET", url, headers, None)
}
