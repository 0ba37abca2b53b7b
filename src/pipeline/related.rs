//! Pages related to a title (RESTBase's v1/related.js): the action API's search finds pages like
//! it (`generator=search`, `gsrsearch=morelike:{title}`), then each is answered with the
//! operation's back-end at its title (its summary), all at once; the answer is
//! `{"pages": [...]}` in the search's order. A page whose summary fails is left out, as RESTBase
//! left it out; a search that finds nothing is `404`, as RESTBase's action module answered it.

use super::{Action, Phase, Request};
use crate::flow::{failure_counter, Failure, Upstream};
use crate::host::Host;
use crate::metrics::Counter;
use crate::pages::action_api_post;
use crate::paths::encode_component;
use crate::policy::RoutePolicy;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::router::Matched;
use serde_json::Value;

/// Content type of the answer when the route names none.
const JSON: &str = "application/json; charset=utf-8";

/// What a related-pages request waits for.
#[derive(Debug, Default)]
pub(super) struct Gathering {
    /// The search's token, while it is out.
    search: Option<u32>,
    /// Summaries still out: token and place in `pages`.
    pending: Vec<(u32, usize)>,
    /// Each found page's summary, once answered.
    pages: Vec<Option<Value>>,
    /// The first summary's `content-language`, for the answer.
    content_language: Option<String>,
}

impl Gathering {
    pub(super) fn awaits(&self, token: u32) -> bool {
        self.search == Some(token) || self.pending.iter().any(|(t, _)| *t == token)
    }
}

/// The action API form RESTBase posted (its action module added `format=json`); formatversion 2
/// gives the pages as a list with the search's rank (`index`).
pub(super) fn search_form(title: &str, limit: u16) -> String {
    format!(
        "action=query&format=json&formatversion=2&generator=search&gsrsearch={}&gsrnamespace=0&gsrwhat=text&gsrinfo=&gsrprop=redirecttitle&gsrlimit={limit}",
        encode_component(&format!("morelike:{title}"))
    )
}

/// The titles the search found (database keys: underscores), best first; `Err` for an answer
/// that is an action API error or not JSON.
pub(super) fn found_titles(body: &[u8]) -> Result<Vec<String>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("the action API's answer is not JSON: {e}"))?;
    if let Some(e) = v.get("error") {
        let info = e.get("info").and_then(Value::as_str).unwrap_or("unknown error");
        return Err(format!("the action API answered an error: {info}"));
    }
    let mut pages: Vec<(u64, String)> = v
        .pointer("/query/pages")
        .and_then(Value::as_array)
        .map(|pages| pages.iter().filter_map(|p| Some((p.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX), p.get("title")?.as_str()?.replace(' ', "_")))).collect())
        .unwrap_or_default();
    pages.sort_by_key(|(index, _)| *index);
    Ok(pages.into_iter().map(|(_, title)| title).collect())
}

/// The answer's body: the summaries that came, in order.
pub(super) fn answer_body(pages: Vec<Option<Value>>) -> Vec<u8> {
    let pages: Vec<Value> = pages.into_iter().flatten().collect();
    serde_json::json!({ "pages": pages }).to_string().into_bytes()
}

impl Request {
    /// Asks the action API for pages like the title.
    pub(super) fn search_related(&mut self, host: &impl Host, m: Matched) -> Action {
        let limit = m.op.related.as_ref().map_or(20, |r| r.limit);
        let title = m.params.get("title").map(String::as_str).unwrap_or_default();
        let s = &self.filter.settings;
        let mut callout = action_api_post(&s.mwapi_cluster, &s.mwapi_path, &m.domain, search_form(title, limit), s.timeouts_ms.mwapi);
        match self.dispatch(host, &mut callout) {
            Some(token) => {
                self.phase = Phase::Related { m, state: Gathering { search: Some(token), ..Gathering::default() } };
                Action::Pause
            }
            None => {
                self.filter.metrics.count(host, Counter::CalloutFailed);
                self.problem(host, &Problem::bad_gateway("The action API could not be asked"))
            }
        }
    }

    /// The search's answer or a summary's.
    pub(super) fn on_related(&mut self, host: &impl Host, m: Matched, mut state: Gathering, token: u32, resp: Upstream) -> Action {
        if state.search == Some(token) {
            state.search = None;
            return self.on_search(host, m, state, resp);
        }
        let Some(at) = state.pending.iter().position(|(t, _)| *t == token) else { return Action::Pause };
        let (_, index) = state.pending.swap_remove(at);
        if let Some(c) = failure_counter(&resp) {
            self.filter.metrics.count(host, c);
        }
        if (resp.failure, resp.status) == (None, 200) {
            if let (Ok(summary), Some(slot)) = (serde_json::from_slice::<Value>(&resp.body), state.pages.get_mut(index)) {
                *slot = Some(summary);
                if state.content_language.is_none() {
                    state.content_language = resp.header("content-language").map(str::to_string);
                }
            }
        }
        if state.pending.is_empty() {
            return self.answer_related(host, &m, state);
        }
        self.phase = Phase::Related { m, state };
        Action::Pause
    }

    fn on_search(&mut self, host: &impl Host, m: Matched, mut state: Gathering, resp: Upstream) -> Action {
        let titles = match (resp.failure, resp.status) {
            (None, 200) => found_titles(&resp.body),
            (Some(Failure::Timeout), _) => Err("the action API did not answer in time".to_string()),
            (_, status) => Err(format!("the action API answered {status}")),
        };
        let titles = match titles {
            Ok(titles) if titles.is_empty() => return self.problem(host, &Problem::not_found("Requested resource is not found.")),
            Ok(titles) => titles,
            Err(why) => {
                log::debug!("restrouter: related pages of {}: {why}", self.uri);
                self.filter.metrics.count(host, Counter::MwapiError);
                return self.problem(host, &Problem::bad_gateway(format!("The related pages could not be found: {why}")));
            }
        };
        state.pages = vec![None; titles.len()];
        for (index, title) in titles.into_iter().enumerate() {
            let mut params = m.params.clone();
            params.insert("title".into(), title);
            let mut callout = self.backend_json_get(&m, &params);
            match self.dispatch(host, &mut callout) {
                Some(token) => state.pending.push((token, index)),
                None => self.filter.metrics.count(host, Counter::CalloutFailed),
            }
        }
        if state.pending.is_empty() {
            return self.answer_related(host, &m, state);
        }
        self.phase = Phase::Related { m, state };
        Action::Pause
    }

    fn answer_related(&mut self, host: &impl Host, m: &Matched, state: Gathering) -> Action {
        let route = RoutePolicy::of(&m.op);
        let content_type = route.content_type.clone().unwrap_or_else(|| JSON.to_string());
        let mut reply = Reply::content(200, &content_type, answer_body(state.pages), &route, None, &self.domain);
        if let Some(lang) = state.content_language {
            reply = reply.with_header("content-language", &lang);
        }
        self.reply(host, reply, route)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{serve, shipped_filter, Answer, Req};
    use super::*;
    use std::cell::Cell;

    const MWAPI: &str = "mwapi POST /w/api.php";

    /// The action API: siteinfo first, then `search`.
    fn action_api<'a>(calls: &'a Cell<u32>, search: &'a str) -> impl Fn() -> Answer + 'a {
        move || {
            calls.set(calls.get() + 1);
            let body = if calls.get() == 1 { String::from_utf8_lossy(crate::pages::tests::EN).into_owned() } else { search.to_string() };
            Answer::new(200, JSON, &body)
        }
    }

    fn summary(title: &str) -> Answer {
        Answer::new(200, JSON, &format!(r#"{{"title":"{title}","extract":"about {title}"}}"#)).header("content-language", "en")
    }

    #[test]
    fn search_then_each_summary_in_the_searchs_order() {
        let (h, f) = shipped_filter();
        let calls = Cell::new(0);
        let search = r#"{"batchcomplete":true,"query":{"pages":[{"pageid":9,"ns":0,"title":"Moon landing","index":2},{"pageid":3,"ns":0,"title":"Mars","index":1},{"pageid":4,"ns":0,"title":"Gone","index":3}]}}"#;
        let mwapi = action_api(&calls, search);
        let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/related/Earth"), &|l| match l {
            MWAPI => mwapi(),
            "mobileapps GET /en.wikipedia.org/v1/page/summary/Mars" => summary("Mars"),
            "mobileapps GET /en.wikipedia.org/v1/page/summary/Moon_landing" => summary("Moon_landing"),
            "mobileapps GET /en.wikipedia.org/v1/page/summary/Gone" => Answer::new(404, "application/problem+json", r#"{"type":"not_found"}"#),
            l => panic!("unexpected {l}"),
        });
        assert_eq!(s.status, 200, "{}", s.text());
        let v: Value = serde_json::from_slice(&s.body).unwrap();
        let titles: Vec<&str> = v["pages"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Mars", "Moon_landing"]);
        assert_eq!(s.header("content-type"), Some(JSON));
        assert_eq!(s.header("cache-control"), Some("s-maxage=86400, max-age=3600"));
        assert_eq!(s.header("content-language"), Some("en"));
        let search_call = s.seen.iter().filter(|c| c.line == MWAPI).nth(1).unwrap();
        assert_eq!(search_call.body.as_deref(), Some(search_form("Earth", 20).as_bytes()));
    }

    #[test]
    fn nothing_found_is_a_404_and_a_failed_search_a_502() {
        let (h, f) = shipped_filter();
        let calls = Cell::new(0);
        let mwapi = action_api(&calls, r#"{"batchcomplete":true}"#);
        let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/related/Earth"), &|l| match l {
            MWAPI => mwapi(),
            l => panic!("unexpected {l}"),
        });
        s.problem(404, "not_found");
        let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/related/Earth"), &|l| match l {
            MWAPI => Answer::new(200, JSON, r#"{"error":{"code":"internal_api_error","info":"boom"}}"#),
            l => panic!("unexpected {l}"),
        });
        s.problem(502, "bad_gateway");
        assert_eq!(h.counter("restrouter.mwapi.error"), 1);
    }

    #[test]
    fn the_search_form_is_restbases() {
        assert_eq!(
            search_form("AC/DC", 20),
            "action=query&format=json&formatversion=2&generator=search&gsrsearch=morelike%3AAC%2FDC&gsrnamespace=0&gsrwhat=text&gsrinfo=&gsrprop=redirecttitle&gsrlimit=20"
        );
    }

    #[test]
    fn found_titles_by_rank_as_keys() {
        let body = br#"{"query":{"pages":[{"title":"B c","index":2},{"title":"A","index":1},{"index":3}]}}"#;
        assert_eq!(found_titles(body).unwrap(), ["A", "B_c"]);
        assert_eq!(found_titles(br#"{"batchcomplete":true}"#).unwrap(), Vec::<String>::new());
        assert!(found_titles(b"<html>").is_err());
        assert!(found_titles(br#"{"error":{"info":"x"}}"#).is_err());
    }

    #[test]
    fn answer_leaves_out_pages_without_a_summary() {
        let body = answer_body(vec![Some(serde_json::json!({"title": "A"})), None]);
        assert_eq!(body, br#"{"pages":[{"title":"A"}]}"#);
    }
}
