//! Page saves in the pipeline: the request's body read into a [`Save`], Parsoid's transform for
//! HTML, then the action API's edit with the client's credentials; the filter answers. What is
//! sent and how answers map is in `crate::save`.

use super::{Action, Phase, Request, CREDENTIAL_HEADERS};
use crate::flow::{Callout, Upstream};
use crate::host::Host;
use crate::metrics::Counter;
use crate::policy::RoutePolicy;
use crate::problem::{self, Problem};
use crate::reply::Reply;
use crate::router::Matched;
use crate::save::{self, Save};

impl Request {
    pub(super) fn start_save(&mut self, host: &impl Host, m: Matched) -> Action {
        let Some(from) = m.op.save else { return self.problem(host, &Problem::internal("not a page save")) };
        let body = self.body.take().unwrap_or_default();
        let fields = match m.op.validator.body_value(&body, self.header("content-type")) {
            Ok(f) => f,
            Err(_) => return self.problem(host, &Problem::invalid_body("The request body could not be read")),
        };
        let title = m.params.get("title").map(String::as_str).unwrap_or_default();
        let save = match save::read(from, &m.domain, title, &fields, self.header("if-match")) {
            Ok(s) => s,
            Err(e) => return self.save_failed(host, &e),
        };
        let route = RoutePolicy::of(&m.op);
        match from {
            save::From::Wikitext => {
                let wikitext = save.content.clone();
                self.edit(host, save, &wikitext, route)
            }
            save::From::Html => {
                let mut callout = save::transform_callout(&save, &m.op.backend.cluster, &m.op.backend.path, self.filter.settings.timeouts_ms.backend);
                self.save_call(host, &mut callout, save, route, false)
            }
        }
    }

    fn edit(&mut self, host: &impl Host, save: Save, wikitext: &str, route: RoutePolicy) -> Action {
        let credentials = CREDENTIAL_HEADERS.iter().filter_map(|n| self.header(n).map(|v| (n.to_string(), v.to_string()))).collect();
        let s = &self.filter.settings;
        let mut callout = save::edit_callout(&save, wikitext, credentials, &s.mwapi_cluster, &s.mwapi_path, s.timeouts_ms.backend);
        self.save_call(host, &mut callout, save, route, true)
    }

    /// Sends the transform (`editing` false) or the edit, and waits for it.
    fn save_call(&mut self, host: &impl Host, callout: &mut Callout, save: Save, route: RoutePolicy, editing: bool) -> Action {
        match self.dispatch(host, callout) {
            Some(token) => {
                self.phase = Phase::Save { save: Box::new(save), route, token, editing };
                Action::Pause
            }
            None => {
                self.filter.metrics.count(host, Counter::CalloutFailed);
                self.save_failed(host, &save::Error { status: 502, kind: "bad_gateway", title: "Bad gateway".into(), detail: format!("{} could not be called", callout.cluster) })
            }
        }
    }

    pub(super) fn on_save(&mut self, host: &impl Host, save: Save, route: RoutePolicy, editing: bool, resp: Upstream) {
        if let Some(c) = crate::flow::failure_counter(&resp) {
            self.filter.metrics.count(host, c);
        }
        if !editing {
            // Always answered (or the edit sent): nothing to resume.
            let _ = match save::transformed(&resp) {
                Ok(wikitext) => self.edit(host, save, &wikitext, route),
                Err(e) => self.save_failed(host, &e),
            };
            return;
        }
        let _ = match save::edited(&resp) {
            Ok((status, body)) => {
                let reply = Reply::content(status, "application/json", body, &route, None, &self.domain);
                self.reply(host, reply, route)
            }
            Err(e) => self.save_failed(host, &e),
        };
    }

    fn save_failed(&mut self, host: &impl Host, e: &save::Error) -> Action {
        let reply = Reply::content(e.status, problem::CONTENT_TYPE, e.body(&self.method, &self.uri), &RoutePolicy::default(), None, &self.domain);
        self.reply(host, reply, RoutePolicy::default())
    }
}
