//! Page semantics in the pipeline (RESTBase's route filters around page content): the wiki's
//! siteinfo and title normalization, page_revisions with its access checks and redirects, and
//! the headers they add to whatever answers. The logic they apply is in `crate::pages`.

use super::{Action, Phase, Request};
use crate::client::Class;
use crate::flow::{Failure, Upstream};
use crate::host::{header, Host};
use crate::metrics::Counter;
use crate::pages::{self, Lookup, TitleCheck, TitleRequest};
use crate::paths::split_query;
use crate::policy::RoutePolicy;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::router::Matched;
use crate::siteinfo::SiteInfo;

/// Headers page semantics set on an answer (RESTBase's route filters did, after the handler).
#[derive(Debug, Default)]
pub(super) struct PageHeaders {
    /// The title was normalized without a redirect: the answer is not for caches.
    pub(super) no_cache: bool,
    /// `content-location` of a GET answer other than a redirect.
    pub(super) content_location: Option<String>,
    /// The wiki converts between language variants: `vary: accept-language`.
    pub(super) vary_language: bool,
    /// Content of a redirect's target, served in its place: `vary: origin`.
    pub(super) vary_origin: bool,
    /// page_revisions' ETag, for a route whose answer carries it.
    pub(super) revision_etag: Option<String>,
}

impl PageHeaders {
    /// The headers an answer with `status` and `headers` must carry.
    pub(super) fn wanted(&self, status: u16, headers: &[(String, String)]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.no_cache && status < 400 {
            out.push(("cache-control", "no-cache".to_string()));
        }
        if let Some(location) = self.content_location.as_ref().filter(|_| !matches!(status, 301 | 302 | 303 | 307 | 308)) {
            out.push(("content-location", location.clone()));
        }
        if let Some(etag) = self.revision_etag.as_ref().filter(|_| status == 200) {
            out.push(("etag", etag.clone()));
        }
        let mut vary = header(headers, "vary").unwrap_or_default().to_string();
        for (wanted, name) in [(self.vary_language, "accept-language"), (self.vary_origin, "origin")] {
            if wanted && status < 400 && !vary.to_ascii_lowercase().split(',').any(|v| v.trim() == name) {
                vary = if vary.is_empty() { name.to_string() } else { format!("{vary}, {name}") };
                out.retain(|(n, _)| *n != "vary");
                out.push(("vary", vary.clone()));
            }
        }
        out
    }
}

impl Request {
    /// The request says `cache-control: no-cache`.
    pub(super) fn no_cache(&self) -> bool {
        self.header("cache-control").is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"))
    }

    /// An internal client's `no-cache`: re-render, and refresh the revision. Re-renders are for
    /// trusted internal clients only; others' no-cache is ignored.
    pub(super) fn rerender(&mut self, host: &impl Host) -> bool {
        self.no_cache() && self.client(host).class == Class::Internal
    }

    /// The cache policy of the redirects page semantics answer.
    fn redirect_route(&self) -> RoutePolicy {
        RoutePolicy { cache_control: Some(self.filter.settings.redirect_cache_control.clone()), ..RoutePolicy::default() }
    }

    /// Storage's page_revisions for the title (and revision, if asked for): access checks,
    /// redirects and the latest revision (RESTBase's access_check_filter). A re-render asks it
    /// to refresh the row from the action API: that is how a suppression becomes known.
    pub(super) fn check_revision(&mut self, host: &impl Host, m: Matched, hops: u8) -> Action {
        let revision = m.op.revision_in(&m.params).map(str::to_string);
        let title = m.params.get("title").map(String::as_str).unwrap_or_default();
        let rerender = self.rerender(host);
        let s = &self.filter.settings;
        let mut callout = pages::revision_callout(&s.storage_cluster, &m.domain, title, revision.as_deref(), rerender, s.timeouts_ms.storage);
        match self.dispatch(host, &mut callout) {
            Some(token) => {
                self.phase = Phase::Revision { m, token, hops };
                Action::Pause
            }
            None => {
                self.filter.metrics.count(host, Counter::CalloutFailed);
                self.filter.metrics.count(host, Counter::RevisionsError);
                self.serve_content(host, m)
            }
        }
    }

    pub(super) fn on_revision(&mut self, host: &impl Host, m: Matched, hops: u8, resp: Upstream) -> Action {
        let row = match (resp.failure, resp.status) {
            (None, 200) => pages::RevisionRow::from_json(&resp.body),
            (None, 403 | 404) => {
                // Deleted, missing or suppressed: storage's verdict, for this request.
                let reply = pages::storage_problem(resp.status, &resp.body, &self.method, &self.uri, &self.domain);
                return self.reply(host, reply, RoutePolicy::default());
            }
            _ => None,
        };
        let Some(row) = row else {
            // page_revisions unavailable: the content as without it (storage's copy, else the
            // back-end's latest). Counted; logged at debug only, as it is per request (a
            // storage without an action API would log every page request).
            log::debug!("restrouter: page_revisions for {} answered {}", self.uri, resp.status);
            self.filter.metrics.count(host, Counter::RevisionsError);
            return self.serve_content(host, m);
        };
        if m.op.revisions.as_ref().is_some_and(|r| r.etag) {
            self.page.revision_etag = resp.header("etag").map(str::to_string);
        }
        let redirect_false = m.query.get("redirect").is_some_and(|v| v == "false");
        if row.redirect && !redirect_false && !self.rerender(host) {
            let s = &self.filter.settings;
            let title = m.params.get("title").map(String::as_str).unwrap_or_default();
            let mut callout = pages::redirect_target_callout(&s.mwapi_cluster, &s.mwapi_path, &m.domain, title, s.timeouts_ms.mwapi);
            if let Some(token) = self.dispatch(host, &mut callout) {
                self.phase = Phase::RedirectTarget { m, token, hops };
                return Action::Pause;
            }
            self.filter.metrics.count(host, Counter::CalloutFailed);
        }
        if m.op.revision_in(&m.params).is_none() {
            self.resolved_revision = Some(row.rev.to_string());
        }
        self.serve_content(host, m)
    }

    /// A redirect page: `302` to its target (relative), or for a cross-origin request the
    /// target's content in its place (CORS does not follow redirects), at most 10 hops.
    pub(super) fn on_redirect_target(&mut self, host: &impl Host, mut m: Matched, hops: u8, resp: Upstream) -> Action {
        let target = if (resp.failure, resp.status) == (None, 200) { pages::redirect_target(&resp.body) } else { None };
        let Some((target, fragment)) = target else {
            // No target to be had: the redirect page itself, counted.
            self.filter.metrics.count(host, Counter::MwapiError);
            return self.serve_content(host, m);
        };
        // A revision route's redirect is answered as one: its target is another operation.
        if self.header("origin").is_some_and(|o| o != m.domain) && m.op.revision_in(&m.params).is_none() {
            if hops >= pages::MAX_REDIRECTS {
                return self.problem(host, &Problem::gateway_timeout("Exceeded max redirects"));
            }
            self.page.no_cache = true;
            self.page.vary_origin = true;
            m.params.insert("title".into(), target);
            return self.check_revision(host, m, hops + 1);
        }
        let location = pages::redirect_location(&m.op.template, &target, fragment.as_deref(), split_query(&self.uri).1);
        let route = self.redirect_route();
        self.page.vary_origin = true;
        let reply = Reply::redirect(302, &location, &route, &self.domain);
        self.reply(host, reply, route)
    }

    /// A route with a title (or wanting the wiki's language): the wiki's siteinfo first
    /// (cached, else fetched).
    pub(super) fn page_route(&mut self, host: &impl Host, m: Matched) -> Action {
        let s = &self.filter.settings;
        match self.filter.sites.lookup(host, &m.domain, s.siteinfo_ttl_s.saturating_mul(1000)) {
            Lookup::Known(site) => return self.with_site(host, m, &site),
            Lookup::Unavailable(why) => {
                let p = pages::siteinfo_unavailable(&why, s.siteinfo_failure_ttl_s);
                self.filter.metrics.count(host, Counter::MwapiError);
                return self.problem(host, &p);
            }
            Lookup::Fetch => {}
        }
        let mut callout = pages::siteinfo_callout(&s.mwapi_cluster, &s.mwapi_path, &m.domain, s.timeouts_ms.mwapi);
        match self.dispatch(host, &mut callout) {
            Some(token) => {
                self.phase = Phase::Siteinfo { m, token };
                Action::Pause
            }
            None => {
                self.filter.metrics.count(host, Counter::CalloutFailed);
                self.siteinfo_failed(host, &m.domain, "The action API could not be called.")
            }
        }
    }

    /// The action API failed us: counted, remembered for a while, a 503.
    fn siteinfo_failed(&mut self, host: &impl Host, domain: &str, why: &str) -> Action {
        log::warn!("restrouter: siteinfo of {domain}: {why}");
        self.filter.metrics.count(host, Counter::MwapiError);
        let retry_s = self.filter.settings.siteinfo_failure_ttl_s;
        self.filter.sites.failed(host, domain, why, retry_s.saturating_mul(1000));
        self.problem(host, &pages::siteinfo_unavailable(why, retry_s))
    }

    pub(super) fn on_siteinfo(&mut self, host: &impl Host, m: Matched, resp: Upstream) {
        let site = match (resp.failure, resp.status) {
            (None, 200) => self.filter.sites.put(host, &m.domain, &resp.body),
            (Some(Failure::Timeout), _) => Err("The action API did not answer in time.".into()),
            (Some(_), _) | (None, 0) => Err("The action API is unavailable.".into()),
            (None, s) => Err(format!("The action API answered {s}.")),
        };
        match site {
            Ok(site) => {
                let action = self.with_site(host, m, &site);
                self.resume_if(host, action);
            }
            Err(why) => {
                let _ = self.siteinfo_failed(host, &m.domain, &why);
            }
        }
    }

    /// Title normalization (301 / 400 / serve the normal form), then language variants.
    fn with_site(&mut self, host: &impl Host, mut m: Matched, site: &SiteInfo) -> Action {
        if m.op.site_lang {
            m.params.insert(crate::spec::SITE_LANG.into(), site.lang.clone());
        }
        if m.op.backend.wiki_language && self.header("accept-language").is_none() {
            self.wiki_language = Some(site.lang.clone());
        }
        if !m.op.title {
            return self.serve(host, m);
        }
        let param = m.op.title_param.clone();
        let raw = m.params.get(&param).cloned().unwrap_or_default();
        let no_cache = self.no_cache();
        let check = pages::check_title(
            site,
            &raw,
            &TitleRequest {
                method: &self.method,
                no_cache,
                cross_origin: self.header("origin").is_some_and(|o| o != m.domain),
                template: &m.op.template,
                param: &param,
                params: &m.params,
                query: split_query(&self.uri).1,
            },
        );
        match check {
            TitleCheck::AsIs => {}
            TitleCheck::Continue(normal) => {
                m.params.insert(param, normal);
                self.page.no_cache = true;
            }
            TitleCheck::Redirect(location) => {
                let route = self.redirect_route();
                let reply = Reply::redirect(301, &location, &route, &self.domain);
                return self.reply(host, reply, route);
            }
            TitleCheck::Invalid(p) => return self.problem(host, &p),
        }
        self.page.vary_language = site.has_variants();
        self.serve(host, m)
    }
}
