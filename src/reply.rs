//! Answers the router produces itself (stored content, errors, the spec): status, complete
//! header set and body, with the response policy already applied.

use crate::headers::{self, DEFAULT_CACHE_CONTROL};
use crate::problem::{self, Problem};
use crate::spec::model::CspProfile;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A successful answer: `cache_control` of the route (or the private default).
    pub fn content(status: u16, content_type: &str, body: Vec<u8>, cache_control: Option<&str>, csp: CspProfile, domain: &str) -> Reply {
        let mut headers = vec![
            ("content-type".to_string(), content_type.to_string()),
            ("cache-control".to_string(), cache_control.unwrap_or(DEFAULT_CACHE_CONTROL).to_string()),
        ];
        headers.extend(headers::security(content_type, csp, domain).into_iter().map(|(n, v)| (n.to_string(), v)));
        Reply { status, headers, body }
    }

    pub fn problem(p: &Problem, method: &str, uri: &str, domain: &str) -> Reply {
        let reply = Reply::content(p.status, problem::CONTENT_TYPE, p.body(method, uri), None, CspProfile::Auto, domain);
        match &p.allow {
            Some(allow) => reply.with_header("allow", allow),
            None => reply,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}
