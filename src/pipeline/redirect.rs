//! Operations answered with a redirect worked out from the back-end's JSON (RESTBase's
//! `page/random/{format}`: a random title from wikifeeds, then `303` to that title's page in the
//! wanted format). One back-end call; its errors are answered as the back-end's own.

use super::{Action, Phase, Request};
use crate::flow::{failure_counter, Failure, Upstream};
use crate::host::Host;
use crate::metrics::Counter;
use crate::paths::expand;
use crate::policy::RoutePolicy;
use crate::problem::{self, Problem};
use crate::reply::Reply;
use crate::router::Matched;
use crate::spec::model::RedirectExt;
use serde_json::Value;
use std::collections::HashMap;

impl Request {
    /// Asks the back-end for what the redirect is built from.
    pub(super) fn fetch_for_redirect(&mut self, host: &impl Host, m: Matched) -> Action {
        let mut callout = self.backend_json_get(&m, &m.params);
        match self.dispatch(host, &mut callout) {
            Some(token) => {
                self.phase = Phase::RedirectSource { m, token };
                Action::Pause
            }
            None => {
                self.filter.metrics.count(host, Counter::CalloutFailed);
                self.problem(host, &Problem::bad_gateway("The back-end could not be asked"))
            }
        }
    }

    /// The back-end's answer: the redirect, or why there is none.
    pub(super) fn on_redirect_source(&mut self, host: &impl Host, m: Matched, resp: Upstream) -> Action {
        if let Some(c) = failure_counter(&resp) {
            self.filter.metrics.count(host, c);
        }
        let p = match (resp.failure, resp.status) {
            (Some(Failure::Timeout), _) => Problem::gateway_timeout("The back-end did not answer in time"),
            (Some(_), _) => Problem::bad_gateway("The back-end could not be reached"),
            (None, 200) => match m.op.redirect.as_ref().and_then(|r| location(r, &m.params, &resp.body)) {
                Some(location) => {
                    let status = m.op.redirect.as_ref().map_or(302, |r| r.status);
                    let route = RoutePolicy::of(&m.op);
                    let reply = Reply::redirect(status, &location, &route, &self.domain);
                    return self.reply(host, reply, route);
                }
                None => Problem::bad_gateway("The back-end's answer has nothing to redirect to"),
            },
            (None, status) if status >= 400 => problem::from_upstream(status, String::from_utf8_lossy(&resp.body).trim()),
            (None, status) => Problem::bad_gateway(format!("The back-end answered {status}")),
        };
        self.problem(host, &p)
    }
}

/// `location` expanded with the path parameters and the values taken from the JSON `body`;
/// `None` when the body lacks one of them (or it is not a non-empty string).
fn location(r: &RedirectExt, params: &HashMap<String, String>, body: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let mut names = params.clone();
    for (name, pointer) in &r.from_body {
        let value = json.pointer(pointer)?.as_str().filter(|v| !v.is_empty())?;
        names.insert(name.clone(), value.to_string());
    }
    Some(expand(&r.location, &names))
}

#[cfg(test)]
mod tests {
    use super::super::fake::{serve, shipped_filter, Answer, Req};
    use super::*;

    const RANDOM: &str = "wikifeeds GET /en.wikipedia.org/v1/page/random/title";
    const JSON: &str = "application/json; charset=utf-8";

    #[test]
    fn random_asks_wikifeeds_for_a_title_then_redirects_to_its_page() {
        let (h, f) = shipped_filter();
        let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/random/mobile-sections"), &|l| match l {
            RANDOM => Answer::new(200, JSON, r#"{"items":[{"title":"Caf\u00e9_au_lait"}]}"#),
            l => panic!("unexpected {l}"),
        });
        assert_eq!((s.status, s.header("location")), (303, Some("../mobile-sections/Caf%C3%A9_au_lait")), "{s:?}");
        assert_eq!(s.header("cache-control"), Some("s-maxage=2, max-age=1"));
        assert_eq!(s.header("content-location"), None);
        assert!(s.local && s.body.is_empty());
        assert_eq!(s.lines(), [RANDOM]);
        assert_eq!(h.counter("restrouter.route.getRandom.rq_3xx"), 1);
    }

    #[test]
    fn no_title_is_a_502_and_the_back_ends_errors_are_its_own() {
        let (h, f) = shipped_filter();
        let path = "/en.wikipedia.org/v1/page/random/title";
        let s = serve(&h, &f, Req::get(path), &|_| Answer::new(200, JSON, r#"{"items":[]}"#));
        s.problem(502, "bad_gateway");
        let s = serve(&h, &f, Req::get(path), &|_| Answer::new(404, "application/problem+json", r#"{"type":"not_found","detail":"no pages"}"#));
        s.problem(404, "not_found");
        let s = serve(&h, &f, Req::get(path), &|_| Answer::new(504, "text/plain", "slow"));
        s.problem(504, "gateway_timeout");
        assert_eq!(h.counter("restrouter.backend.timeout"), 1);
        let s = serve(&h, &f, Req::get(path), &|_| Answer::reset());
        s.problem(502, "bad_gateway");
        assert_eq!(h.counter("restrouter.backend.error"), 1);
        // An invalid format asks nothing.
        let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/random/pdf"), &|l| panic!("unexpected {l}"));
        s.problem(400, "bad_request");
    }

    fn random() -> RedirectExt {
        RedirectExt { status: 303, location: "../{format}/{title}".into(), from_body: [("title".to_string(), "/items/0/title".to_string())].into() }
    }

    #[test]
    fn location_takes_the_title_from_the_body_as_one_segment() {
        let params: HashMap<String, String> = [("format".to_string(), "summary".to_string())].into();
        let body = br#"{"items":[{"title":"AC/DC_(band)"}]}"#;
        assert_eq!(location(&random(), &params, body).as_deref(), Some("../summary/AC%2FDC_%28band%29"));
    }

    #[test]
    fn no_location_without_the_value() {
        let params = HashMap::new();
        assert_eq!(location(&random(), &params, br#"{"items":[]}"#), None);
        assert_eq!(location(&random(), &params, br#"{"items":[{"title":""}]}"#), None);
        assert_eq!(location(&random(), &params, br#"{"items":[{"title":7}]}"#), None);
        assert_eq!(location(&random(), &params, b"not json"), None);
    }
}
