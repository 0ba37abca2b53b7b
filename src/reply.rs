//! Answers the router gives itself (stored or fetched content, errors, the spec): status,
//! complete header set and body, built with the response policy (`policy`), so the policy finds
//! nothing to change when the reply passes the filter on its way out.

use crate::policy::{self, RoutePolicy};
use crate::problem::{self, Problem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// An answer with content: `upstream_cache_control` is what the content's source said.
    pub fn content(status: u16, content_type: &str, body: Vec<u8>, route: &RoutePolicy, upstream_cache_control: Option<&str>, domain: &str) -> Reply {
        let cache_control = policy::cache_control(status, route, upstream_cache_control);
        let mut headers = vec![("content-type".to_string(), content_type.to_string()), ("cache-control".to_string(), cache_control.to_string())];
        headers.extend(policy::security(content_type, route.csp, domain).into_iter().map(|(n, v)| (n.to_string(), v)));
        Reply { status, headers, body }
    }

    /// One of the router's own documents (spec, listing, preflight): no route policy.
    pub fn document(content_type: &str, body: Vec<u8>, domain: &str) -> Reply {
        Reply::content(200, content_type, body, &RoutePolicy::default(), None, domain)
    }

    pub fn problem(p: &Problem, method: &str, uri: &str, domain: &str) -> Reply {
        let mut reply = Reply::content(p.status, problem::CONTENT_TYPE, p.body(method, uri), &RoutePolicy::default(), None, domain);
        reply.headers.extend(p.headers.iter().cloned());
        reply
    }

    /// A redirect to a relative `location` under `route`'s cache-control, with no body.
    pub fn redirect(status: u16, location: &str, route: &RoutePolicy, domain: &str) -> Reply {
        Reply::content(status, "text/plain; charset=utf-8", Vec::new(), route, None, domain).with_header("location", location)
    }

    /// With `name` set to `value` alone.
    pub fn setting(mut self, name: &str, value: &str) -> Reply {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.with_header(name, value)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Without the policy's static headers: a reply sent in place of an answer of the filter's
    /// routes gets them from Envoy's route, which adds them after the reply's own (both would
    /// stay).
    pub fn without_static(mut self) -> Reply {
        self.headers.retain(|(n, _)| !policy::STATIC.iter().any(|(s, _)| n.eq_ignore_ascii_case(s)));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}
