//! The response policy, one for every answer: the filter's own replies (built with it, see
//! `reply`) and answers proxied from storage or a back-end (shaped with [`shape`]). It decides
//! cache-control, the content type of an answer without one, CORS and security headers, CSP by
//! content type (as RESTBase's security_response_header_filter did), and that every error is
//! `application/problem+json`.

use crate::problem;
use crate::spec::model::CspProfile;
use crate::spec::Op;

/// `cache-control` of answers whose route and upstream set none, and of every error.
pub const DEFAULT_CACHE_CONTROL: &str = "private, max-age=0, s-maxage=0, must-revalidate";

/// Content type of a successful answer when neither the upstream nor the route names one.
const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";

/// What a route says about its answers (the default: no route, e.g. a routing error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutePolicy {
    pub cache_control: Option<String>,
    /// Answers made with the client's credentials: whatever the route or upstream say, they
    /// are for this client alone (see [`private`]).
    pub private: bool,
    pub content_type: Option<String>,
    pub csp: CspProfile,
}

impl RoutePolicy {
    pub fn of(op: &Op) -> RoutePolicy {
        RoutePolicy { cache_control: op.cache_control.clone(), private: op.credentials, content_type: op.content_type.clone(), csp: op.csp }
    }
}

/// The `cache-control` of an answer: errors are never cached publicly; otherwise the route's
/// value, else what the source of the content (storage, the back-end) said, else the private
/// default; for a private route, a value no shared cache may keep. The one place this is
/// decided, for hits, built replies and proxied answers alike.
pub fn cache_control<'a>(status: u16, route: &'a RoutePolicy, upstream: Option<&'a str>) -> &'a str {
    if status >= 400 {
        return DEFAULT_CACHE_CONTROL;
    }
    let cc = route.cache_control.as_deref().or(upstream).unwrap_or(DEFAULT_CACHE_CONTROL);
    if route.private && !private(cc) {
        return DEFAULT_CACHE_CONTROL;
    }
    cc
}

/// A `cache-control` that keeps an answer out of shared caches.
pub fn private(cache_control: &str) -> bool {
    cache_control.split(',').map(|d| d.trim().split('=').next().unwrap_or_default().trim()).any(|d| d.eq_ignore_ascii_case("private") || d.eq_ignore_ascii_case("no-store"))
}

/// The content type of an answer: its own, else the route's, else a neutral one.
pub fn content_type<'a>(upstream: Option<&'a str>, route: &'a RoutePolicy) -> &'a str {
    upstream.or(route.content_type.as_deref()).unwrap_or(FALLBACK_CONTENT_TYPE)
}

/// A change to a response header map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The name is not in the map yet.
    Add(&'static str, String),
    /// Replace whatever values the name has.
    Set(&'static str, String),
    Remove(&'static str),
}

/// What an answer needs to follow the policy: header edits, and whether its body must be
/// replaced by a problem (an error that is not problem+json yet).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shaping {
    pub edits: Vec<Edit>,
    pub rewrite_body: bool,
}

/// Where an answer passing the filter comes from, which decides what it already carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Storage's or a back-end's answer through one of the filter's routes: Envoy's route set
    /// [`STATIC`] on it.
    Route,
    /// Anything else, checked in full: the filter's own reply (built with [`STATIC`]), or an
    /// answer Envoy made outside the route (its 413 for a body past its buffer).
    Local,
}

/// The edits that bring `headers` (an answer with `status`) in line with the policy; none for
/// an answer that already follows it, such as the filter's own replies. Values already right
/// cost no host call.
pub fn shape(route: &RoutePolicy, status: u16, headers: &[(String, String)], domain: &str, origin: Origin) -> Shaping {
    let mut out = Shaping::default();
    let mut ct = content_type(values(headers, "content-type").next(), route);
    if status >= 400 && !ct.starts_with(problem::CONTENT_TYPE) {
        // Errors are always problem+json: the body is replaced once it is complete.
        out.rewrite_body = true;
        ct = problem::CONTENT_TYPE;
        if values(headers, "content-length").next().is_some() {
            out.edits.push(Edit::Remove("content-length"));
        }
    }
    want(headers, "content-type", ct, &mut out);
    let cc = cache_control(status, route, values(headers, "cache-control").next());
    want(headers, "cache-control", cc, &mut out);
    if origin == Origin::Local {
        for (name, value) in STATIC {
            want(headers, name, value, &mut out);
        }
    }
    let policy = csp(ct, route.csp, domain);
    for name in CSP_NAMES {
        want(headers, name, &policy, &mut out);
    }
    out
}

fn values<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The edit that leaves `name` with exactly `value`, if one is needed.
fn want(headers: &[(String, String)], name: &'static str, value: &str, out: &mut Shaping) {
    let mut have = values(headers, name);
    match (have.next(), have.next()) {
        (Some(v), None) if v == value => {}
        (Some(_), None) => out.edits.push(Edit::Set(name, value.to_string())),
        (None, _) => out.edits.push(Edit::Add(name, value.to_string())),
        // Several values: a set would replace only the first.
        (Some(_), Some(_)) => out.edits.extend([Edit::Remove(name), Edit::Add(name, value.to_string())]),
    }
}

/// The CORS and security headers of every answer, whatever its content. Envoy's routes that
/// carry the filter's traffic set them (rendered from this list: `filter_routes` in
/// `envoy/common.j2`) on their answers, Envoy's own among them, and on a reply the filter sends
/// in place of one, so proxied answers need no host call for them. A reply the filter sends
/// before anything was forwarded gets no route header: it carries them itself.
pub const STATIC: &[(&str, &str)] = &[
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET,HEAD"),
    ("access-control-allow-headers", "accept, content-type, content-length, cache-control, accept-language, api-user-agent, if-match, if-modified-since, if-none-match, dnt, accept-encoding"),
    ("access-control-expose-headers", "etag"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("referrer-policy", "origin-when-cross-origin"),
    ("x-xss-protection", "1; mode=block"),
];

const CSP_STRICT: &str = "default-src 'none'; frame-ancestors 'none'";
const CSP_MOBILE_HTML: &str = "default-src 'none'; connect-src app://*.wikipedia.org https://*.wikipedia.org; media-src app://upload.wikimedia.org https://upload.wikimedia.org 'self'; img-src app://*.wikimedia.org https://*.wikimedia.org app://wikimedia.org https://wikimedia.org 'self' data:; object-src 'none'; script-src app://meta.wikimedia.org https://meta.wikimedia.org 'unsafe-inline'; style-src app://meta.wikimedia.org https://meta.wikimedia.org app://*.wikipedia.org https://*.wikipedia.org 'self' 'unsafe-inline'; frame-ancestors 'self'";
const CSP_NAMES: &[&str] = &["content-security-policy", "x-content-security-policy", "x-webkit-csp"];

fn html_csp(domain: &str) -> String {
    // Styles from the wiki family of the request domain: en.wikipedia.org → *.wikipedia.org.
    let family = match domain.split_once('.') {
        Some((_, rest)) if rest.contains('.') => format!("*.{rest}"),
        _ => format!("*.{domain}"),
    };
    format!("default-src 'none'; media-src *; img-src *; style-src http://{family} https://{family} 'unsafe-inline'; frame-ancestors 'self'")
}

/// The content security policy of an answer with this content type.
fn csp(content_type: &str, csp: CspProfile, domain: &str) -> String {
    let is_html = content_type.trim_start().to_ascii_lowercase().starts_with("text/html");
    match (csp, is_html) {
        (CspProfile::MobileHtml, true) => CSP_MOBILE_HTML.to_string(),
        (_, true) => html_csp(domain),
        _ => CSP_STRICT.to_string(),
    }
}

/// The security and CORS headers of an answer with this content type.
pub fn security(content_type: &str, profile: CspProfile, domain: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = STATIC.iter().map(|(n, v)| (*n, (*v).to_string())).collect();
    let policy = csp(content_type, profile, domain);
    out.extend(CSP_NAMES.iter().map(|n| (*n, policy.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(h: &'a [(&str, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn html_gets_the_family_style_policy() {
        let h = security("text/html; charset=utf-8", CspProfile::Auto, "en.wikipedia.org");
        assert_eq!(
            get(&h, "content-security-policy"),
            Some("default-src 'none'; media-src *; img-src *; style-src http://*.wikipedia.org https://*.wikipedia.org 'unsafe-inline'; frame-ancestors 'self'")
        );
        assert_eq!(get(&h, "x-webkit-csp"), get(&h, "content-security-policy"));
        assert_eq!(get(&h, "access-control-allow-origin"), Some("*"));
    }

    fn apply(shaping: &Shaping, mut headers: Vec<(String, String)>) -> Vec<(String, String)> {
        for e in &shaping.edits {
            match e {
                Edit::Add(n, v) => headers.push((n.to_string(), v.clone())),
                Edit::Set(n, v) => {
                    headers.retain(|(h, _)| h != n);
                    headers.push((n.to_string(), v.clone()));
                }
                Edit::Remove(n) => headers.retain(|(h, _)| h != n),
            }
        }
        headers
    }

    fn one<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn built_replies_already_follow_the_policy() {
        let routes = [RoutePolicy::default(), RoutePolicy { cache_control: Some("s-maxage=10".into()), private: false, content_type: Some("text/html".into()), csp: CspProfile::MobileHtml }];
        for route in &routes {
            for (status, ct) in [(200, "text/html; charset=utf-8"), (200, "application/json"), (404, problem::CONTENT_TYPE), (502, problem::CONTENT_TYPE)] {
                for upstream_cc in [None, Some("max-age=5")] {
                    let r = crate::reply::Reply::content(status, ct, Vec::new(), route, upstream_cc, "en.wikipedia.org");
                    assert_eq!(shape(route, status, &r.headers, "en.wikipedia.org", Origin::Local), Shaping::default(), "{route:?} {status} {ct} {upstream_cc:?}");
                }
            }
        }
    }

    #[test]
    fn hit_and_built_reply_choose_the_same_cache_control() {
        for route_cc in [None, Some("s-maxage=10")] {
            for upstream_cc in [None, Some("max-age=5")] {
                let route = RoutePolicy { cache_control: route_cc.map(str::to_string), ..RoutePolicy::default() };
                let built = crate::reply::Reply::content(200, "text/html", Vec::new(), &route, upstream_cc, "d.org");
                let mut proxied = vec![("content-type".to_string(), "text/html".to_string())];
                proxied.extend(upstream_cc.map(|v| ("cache-control".to_string(), v.to_string())));
                let shaped = apply(&shape(&route, 200, &proxied, "d.org", Origin::Route), proxied);
                assert_eq!(one(&shaped, "cache-control"), built.header("cache-control"), "{route_cc:?} {upstream_cc:?}");
                assert_eq!(one(&shaped, "cache-control"), Some(route_cc.or(upstream_cc).unwrap_or(DEFAULT_CACHE_CONTROL)));
            }
        }
        // Errors are never cached publicly, whatever the route or upstream say.
        let route = RoutePolicy { cache_control: Some("s-maxage=10".into()), ..RoutePolicy::default() };
        assert_eq!(cache_control(503, &route, Some("max-age=5")), DEFAULT_CACHE_CONTROL);
    }

    #[test]
    fn a_private_route_is_never_cached_publicly() {
        let public = RoutePolicy { private: true, ..RoutePolicy::default() };
        assert_eq!(cache_control(200, &public, Some("s-maxage=300, max-age=60")), DEFAULT_CACHE_CONTROL);
        let with_route = RoutePolicy { cache_control: Some("max-age=0, s-maxage=0".into()), private: true, ..RoutePolicy::default() };
        assert_eq!(cache_control(200, &with_route, None), DEFAULT_CACHE_CONTROL);
        for own in ["private, max-age=0", "no-store", "max-age=0, Private"] {
            let route = RoutePolicy { cache_control: Some(own.into()), private: true, ..RoutePolicy::default() };
            assert_eq!(cache_control(200, &route, Some("s-maxage=300")), own);
        }
        let shaped = shape(&public, 201, &[("content-type".into(), "application/json".into()), ("cache-control".into(), "public, s-maxage=60".into())], "d.org", Origin::Route);
        assert!(shaped.edits.contains(&Edit::Set("cache-control", DEFAULT_CACHE_CONTROL.into())), "{shaped:?}");
    }

    #[test]
    fn an_upstream_error_is_turned_into_a_problem_with_the_policy() {
        let headers = vec![
            ("content-type".to_string(), "text/html".to_string()),
            ("content-length".to_string(), "9".to_string()),
            ("x-frame-options".to_string(), "DENY".to_string()),
            ("x-frame-options".to_string(), "ALLOW".to_string()),
        ];
        let s = shape(&RoutePolicy::default(), 500, &headers, "en.wikipedia.org", Origin::Local);
        assert!(s.rewrite_body);
        let out = apply(&s, headers);
        assert_eq!(one(&out, "content-type"), Some(problem::CONTENT_TYPE));
        assert_eq!(one(&out, "content-length"), None);
        assert_eq!(one(&out, "content-security-policy"), Some(CSP_STRICT));
        assert_eq!(out.iter().filter(|(n, _)| n == "x-frame-options").map(|(_, v)| v.as_str()).collect::<Vec<_>>(), ["SAMEORIGIN"]);
    }

    #[test]
    fn a_routed_answer_leaves_the_static_headers_to_envoy() {
        // As Envoy's route left it: the static headers set, the CSP the filter's to choose.
        let mut headers: Vec<(String, String)> = STATIC.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        headers.push(("content-type".into(), "text/html".into()));
        let s = shape(&RoutePolicy::default(), 200, &headers, "en.wikipedia.org", Origin::Route);
        let names: Vec<&str> = s
            .edits
            .iter()
            .map(|e| match e {
                Edit::Add(n, _) | Edit::Set(n, _) | Edit::Remove(n) => *n,
            })
            .collect();
        assert_eq!(names, ["cache-control", "content-security-policy", "x-content-security-policy", "x-webkit-csp"]);
        // Envoy's own answer gets them from the filter.
        let s = shape(&RoutePolicy::default(), 503, &[], "en.wikipedia.org", Origin::Local);
        for (name, value) in STATIC {
            assert!(s.edits.contains(&Edit::Add(name, value.to_string())), "{name}: {s:?}");
        }
    }

    #[test]
    fn non_html_and_mobile_html() {
        let h = security("application/json", CspProfile::Auto, "en.wikipedia.org");
        assert_eq!(get(&h, "content-security-policy"), Some(CSP_STRICT));
        let h = security("application/json", CspProfile::MobileHtml, "en.wikipedia.org");
        assert_eq!(get(&h, "content-security-policy"), Some(CSP_STRICT));
        let h = security("text/html", CspProfile::MobileHtml, "en.wikipedia.org");
        assert_eq!(get(&h, "content-security-policy"), Some(CSP_MOBILE_HTML));
    }
}
