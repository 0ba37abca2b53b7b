use super::*;
use crate::pipeline::fake::FakeHost;

/// The development back-end's action API answer for en.wikipedia.org (and sr, with variants).
pub(crate) const EN: &[u8] = include_bytes!("../../tests/fixtures/siteinfo/en.wikipedia.org.json");
pub(crate) const SR: &[u8] = include_bytes!("../../tests/fixtures/siteinfo/sr.wikipedia.org.json");

fn en() -> SiteInfo {
    SiteInfo::from_json(EN).unwrap()
}

fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn check(raw: &str, method: &str, template: &str, query: &str, extra: &[(&str, &str)], no_cache: bool, cross_origin: bool) -> TitleCheck {
    let mut p = params(extra);
    p.insert("title".into(), raw.into());
    check_title(&en(), raw, &TitleRequest { method, no_cache, cross_origin, template, param: "title", params: &p, query })
}

#[test]
fn normal_titles_pass_and_others_redirect_relatively() {
    let html = "/page/html/{title}";
    assert_eq!(check("Main_Page", "GET", html, "", &[], false, false), TitleCheck::AsIs);
    // RESTBase, observed: main%20Page → 301 location: Main_Page.
    assert_eq!(check("main Page", "GET", html, "", &[], false, false), TitleCheck::Redirect("Main_Page".into()));
    assert_eq!(check("earth", "GET", html, "redirect=false", &[], false, false), TitleCheck::Redirect("Earth?redirect=false".into()));
    // One `../` per segment after the title's; values encoded as encodeURIComponent does.
    assert_eq!(check("talk:earth", "GET", "/page/html/{title}/{revision}", "", &[("revision", "12")], false, false), TitleCheck::Redirect("../Talk%3AEarth/12".into()));
    assert_eq!(check("a b/c (d)", "GET", html, "", &[], false, false), TitleCheck::Redirect("A_b%2Fc_(d)".into()));
    // Namespace aliases and case rules come from siteinfo.
    assert_eq!(check("image:x.jpg", "GET", html, "", &[], false, false), TitleCheck::Redirect("File%3AX.jpg".into()));
}

#[test]
fn some_requests_are_served_in_place() {
    let html = "/page/html/{title}";
    for (method, no_cache, cross_origin) in [("POST", false, false), ("GET", true, false), ("GET", false, true)] {
        assert_eq!(check("earth", method, html, "", &[], no_cache, cross_origin), TitleCheck::Continue("Earth".into()), "{method} {no_cache} {cross_origin}");
    }
    // User pages: gender variants of the namespace name are not redirected.
    assert_eq!(check("user:example", "GET", html, "", &[], false, false), TitleCheck::Continue("User:Example".into()));
}

#[test]
fn illegal_titles_are_bad_requests() {
    for raw in ["a<b", "[x]", "a|b", "{x}", "", ":", "Talk:", "./x", "a~~~", &"x".repeat(256)] {
        match check(raw, "GET", "/page/html/{title}", "", &[], false, false) {
            TitleCheck::Invalid(p) => assert_eq!((p.status, p.kind), (400, "bad_request"), "{raw}"),
            other => panic!("{raw:?}: {other:?}"),
        }
    }
}

#[test]
fn content_location_is_the_public_url() {
    assert_eq!(content_location("en.wikipedia.org", "/en.wikipedia.org/v1/page/html/Main_Page"), "https://en.wikipedia.org/api/rest_v1/page/html/Main_Page");
    assert_eq!(content_location("en.wikipedia.org", "/en.wikipedia.org/v1/page/html/AC%2FDC?redirect=false"), "https://en.wikipedia.org/api/rest_v1/page/html/AC%2FDC?redirect=false");
    assert_eq!(content_location("en.wikipedia.org", "/en.wikipedia.org/v1/page/summary/Caf%C3%A9_(x)"), "https://en.wikipedia.org/api/rest_v1/page/summary/Caf%C3%A9_(x)");
}

#[test]
fn html_profiles_and_their_negotiation() {
    let ct = r#"text/html; charset=utf-8; profile="https://www.mediawiki.org/wiki/Specs/HTML/2.1.0""#;
    assert_eq!(html_profile(ct), Some(Version(2, 1)));
    assert_eq!(html_profile(r#"text/html; profile="mediawiki.org/specs/html/3.0.0""#), Some(Version(3, 0)));
    assert_eq!(html_profile(r#"application/json; profile="https://www.mediawiki.org/wiki/Specs/HTML/2.1.0""#), None);
    assert_eq!(html_profile("text/html"), None);
    assert_eq!(html_profile(r#"text/html; profile="https://www.mediawiki.org/wiki/Specs/HTML/x""#), None);
    assert!(satisfies(Version(2, 1), Version(2, 0)));
    assert!(!satisfies(Version(2, 1), Version(2, 2)));
    assert!(!satisfies(Version(2, 1), Version(3, 0)));
    assert!(!satisfies(Version(2, 1), Version(1, 0)));
}

#[test]
fn siteinfo_is_shared_by_workers_until_its_ttl() {
    let host = FakeHost::default();
    let (worker_a, worker_b) = (SiteCache::default(), SiteCache::default());
    assert!(worker_a.get(&host, "en.wikipedia.org", 1000).is_none());
    worker_a.put(&host, "en.wikipedia.org", EN).unwrap();
    host.now.set(999);
    // Another worker reads the shared copy without fetching.
    assert_eq!(worker_b.get(&host, "en.wikipedia.org", 1000).unwrap().lang, "en");
    assert!(worker_b.get(&host, "sr.wikipedia.org", 1000).is_none());
    host.now.set(1000);
    assert!(worker_a.get(&host, "en.wikipedia.org", 1000).is_none(), "stale after the TTL");
    assert!(worker_b.get(&host, "en.wikipedia.org", 1000).is_none());
    // An answer that is not siteinfo (the action API's error object) is refused, not cached.
    assert!(worker_a.put(&host, "sr.wikipedia.org", br#"{"error":{"code":"internal_api_error"}}"#).is_err());
    assert!(worker_a.get(&host, "sr.wikipedia.org", 1000).is_none());
    assert!(SiteInfo::from_json(SR).unwrap().has_variants());
}

#[test]
fn failures_are_remembered_and_fetches_rationed() {
    let host = FakeHost::default();
    let sites = SiteCache::default();
    assert!(matches!(sites.lookup(&host, "en.wikipedia.org", 1000), Lookup::Fetch));
    sites.failed(&host, "en.wikipedia.org", "down", 5000);
    assert!(matches!(sites.lookup(&host, "en.wikipedia.org", 1000), Lookup::Unavailable(why) if why == "down"));
    host.now.set(5000);
    assert!(matches!(sites.lookup(&host, "en.wikipedia.org", 1000), Lookup::Fetch));
    // A success forgets the failure.
    sites.failed(&host, "en.wikipedia.org", "down", 5000);
    sites.put(&host, "en.wikipedia.org", EN).unwrap();
    assert!(matches!(sites.lookup(&host, "en.wikipedia.org", 1000), Lookup::Known(_)));
    // At most MAX_FETCHES_PER_S new fetches a second (two were started in this one already).
    host.now.set(7000);
    let started = (0..100).filter(|i| matches!(sites.lookup(&host, &format!("w{i}.wikipedia.org"), 1000), Lookup::Fetch)).count();
    assert_eq!(started, MAX_FETCHES_PER_S as usize);
    assert!(matches!(sites.lookup(&host, "w0.wikipedia.org", 1000), Lookup::Unavailable(_)));
    host.now.set(8000);
    assert!(matches!(sites.lookup(&host, "w0.wikipedia.org", 1000), Lookup::Fetch));
    // Not remembered at all with a TTL of 0.
    sites.failed(&host, "sr.wikipedia.org", "down", 0);
    assert!(matches!(sites.lookup(&host, "sr.wikipedia.org", 1000), Lookup::Fetch));
}
