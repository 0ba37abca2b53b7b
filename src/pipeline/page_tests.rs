use super::*;

const SITEINFO: &str = "mwapi POST /w/api.php";
const PROFILE_21: &str = r#"text/html; charset=utf-8; profile="https://www.mediawiki.org/wiki/Specs/HTML/2.1.0""#;
const PROFILE_22: &str = r#"text/html; charset=utf-8; profile="https://www.mediawiki.org/wiki/Specs/HTML/2.2.0""#;

/// A filter whose wikis' siteinfo nobody fetched yet.
fn cold() -> (FakeHost, Rc<Filter>) {
    let h = FakeHost::default();
    let config = json!({"spec": without_revisions(), "settings": {}});
    let f = Filter::configure(&h, &serde_json::to_vec(&config).unwrap(), "restrouter".into()).unwrap();
    (h, Rc::new(f))
}

fn en_siteinfo() -> Answer {
    Answer { status: 200, headers: vec![("content-type".into(), "application/json; charset=utf-8".into())], body: crate::pages::tests::EN.to_vec(), flags: 0 }
}

#[test]
fn siteinfo_is_fetched_on_first_use_then_reused() {
    let (h, f) = cold();
    let upstream = |l: &str| match l {
        SITEINFO => en_siteinfo(),
        READ => stored(),
        l => unexpected(l),
    };
    let s = serve(&h, &f, Req::get(PAGE), &upstream);
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    assert_eq!(s.lines(), [SITEINFO, READ]);
    let call = &s.seen[0];
    assert!(call.headers.contains(&(":authority".into(), "en.wikipedia.org".into())), "{:?}", call.headers);
    assert_eq!(call.body.as_deref(), Some(crate::siteinfo::QUERY.as_bytes()));
    let s = serve(&h, &f, Req::get(PAGE), &upstream);
    assert_eq!(s.lines(), [READ], "fetched once");
}

#[test]
fn action_api_failure_is_a_503_and_counted() {
    for answer in [Answer::reset(), Answer::new(503, "text/plain", "down"), Answer::new(200, "application/json", r#"{"error":{"code":"readonly"}}"#)] {
        let (h, f) = cold();
        let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
            SITEINFO => answer.clone(),
            l => unexpected(l),
        });
        let p = s.problem(503, "service_unavailable#siteinfo");
        assert_eq!(p["title"], "Site info fetch failed.");
        assert_eq!(s.header("retry-after"), Some("5"));
        assert_eq!(s.lines(), [SITEINFO], "nothing served without knowing the title");
        assert_eq!(h.counter("restrouter.mwapi.error"), 1);
        // For siteinfo_failure_ttl_s (5 s) the wiki is a 503 without asking again.
        let s = serve(&h, &f, Req::get(PAGE), &unexpected);
        s.problem(503, "service_unavailable#siteinfo");
        assert_eq!(h.counter("restrouter.mwapi.error"), 2);
        h.now.set(5000);
        let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
            SITEINFO => en_siteinfo(),
            READ => stored(),
            l => unexpected(l),
        });
        assert_eq!((s.status, s.lines()), (200, vec![SITEINFO, READ]));
    }
}

#[test]
fn a_title_not_in_normal_form_is_a_relative_301() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/html/earth"), &unexpected);
    assert_eq!(s.status, 301);
    assert_eq!(s.header("location"), Some("Earth"));
    assert_eq!(s.header("cache-control"), Some(PAGE_CC));
    assert_eq!(s.header("content-location"), None);
    assert!(s.seen.is_empty());
    assert_untouched(&h, &s);
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/html/main%20Page/5?redirect=false"), &unexpected);
    assert_eq!((s.status, s.header("location")), (301, Some("../Main_Page/5?redirect=false")));
}

#[test]
fn an_illegal_title_is_a_400() {
    let (h, f) = setup(json!({}));
    for path in ["/en.wikipedia.org/v1/page/html/a%3Cb", "/en.wikipedia.org/v1/page/summary/%5Bx%5D", "/en.wikipedia.org/v1/page/html/Talk:"] {
        let p = serve(&h, &f, Req::get(path), &unexpected).problem(400, "bad_request");
        assert_eq!(p["uri"], path);
    }
}

#[test]
fn no_cache_and_cross_origin_are_served_under_the_normal_title_uncached() {
    let (h, f) = setup(json!({}));
    let upstream = |l: &str| match l {
        READ => stored(),
        FETCH => fresh(),
        STORE => created(),
        l => unexpected(l),
    };
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/html/earth").header("cache-control", "no-cache").internal(), &upstream);
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.lines(), [FETCH, STORE], "stored under the normal title");
    assert_eq!(s.header("cache-control"), Some("no-cache"));
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/html/earth").header("origin", "https://example.org"), &upstream);
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    assert_eq!(s.lines(), [READ]);
    assert_eq!(s.header("cache-control"), Some("no-cache"));
    assert_eq!(s.header("content-location"), Some("https://en.wikipedia.org/api/rest_v1/page/html/earth"));
}

#[test]
fn get_answers_carry_content_location() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => stored(),
        l => unexpected(l),
    });
    assert_eq!(s.header("content-location"), Some("https://en.wikipedia.org/api/rest_v1/page/html/Earth"));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        FETCH => fresh(),
        STORE => created(),
        l => unexpected(l),
    });
    assert_eq!(s.header("content-location"), Some("https://en.wikipedia.org/api/rest_v1/page/html/Earth"));
    assert_untouched(&h, &s);
}

#[test]
fn weak_etags_from_the_back_end_become_strong() {
    let (h, f) = setup(json!({}));
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        READ => missing(),
        FETCH => Answer::new(200, HTML, "fresh earth").header("etag", "W/\"6/def\""),
        STORE => created(),
        l => unexpected(l),
    });
    assert_eq!(s.header("etag"), Some("\"6/def\""));
    assert!(s.seen[2].headers.contains(&("x-store-etag".into(), "\"6/def\"".into())));
}

#[test]
fn language_variants_never_reach_storage() {
    let (h, f) = setup(json!({}));
    let page = "/sr.wikipedia.org/v1/page/html/Земља";
    let read = "storage GET /sr.wikipedia.org/v1/key_value/parsoidphp/%D0%97%D0%B5%D0%BC%D1%99%D0%B0";
    let fetch = "parsoid GET /sr.wikipedia.org/v3/page/html/%D0%97%D0%B5%D0%BC%D1%99%D0%B0";
    let upstream = |l: &str| match l {
        l if l == read => stored(),
        l if l == fetch => Answer::new(200, HTML, "zemlja").header("content-language", "sr-el"),
        l => unexpected(l),
    };
    let s = serve(&h, &f, Req::get(page).header("accept-language", "sr-el"), &upstream);
    assert_eq!((s.status, s.text().as_str()), (200, "zemlja"));
    assert_eq!(s.lines(), [fetch], "neither read nor stored");
    assert_eq!(s.header("vary"), Some("accept-language"));
    assert_eq!(s.header("content-language"), Some("sr-el"));
    let s = serve(&h, &f, Req::get(page), &upstream);
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    assert_eq!(s.header("vary"), Some("accept-language"));
    // A wiki without variants: no vary, and the variant header is only passed on.
    let s = serve(&h, &f, Req::get(PAGE).header("accept-language", "en-gb"), &|l| match l {
        READ => stored(),
        l => unexpected(l),
    });
    assert_eq!(s.header("vary"), None);
}

#[test]
fn html_profile_negotiation() {
    let (h, f) = setup(json!({}));
    let accept = |v: &str| format!(r#"text/html; profile="https://www.mediawiki.org/wiki/Specs/HTML/{v}""#);
    let stored21 = || Answer::new(200, PROFILE_21, "stored earth").header("etag", "\"5/abc\"");
    // Same major, not newer: the stored copy.
    let a = accept("2.0.0");
    let s = serve(&h, &f, Req::get(PAGE).header("accept", &a), &|l| match l {
        READ => stored21(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    // A newer minor: rendered anew and stored.
    let a = accept("2.2.0");
    let s = serve(&h, &f, Req::get(PAGE).header("accept", &a), &|l| match l {
        READ => stored21(),
        FETCH => Answer::new(200, PROFILE_22, "fresh earth").header("etag", "\"6/def\""),
        STORE => created(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.lines(), [READ, FETCH, STORE]);
    // Another major: a newer one is asked of the back-end first (as RESTBase retried with
    // no-cache); what cannot be had is a 406, and nothing is stored.
    for (v, lines) in [("3.0.0", &[READ, FETCH][..]), ("1.0.0", &[READ][..])] {
        let a = accept(v);
        let s = serve(&h, &f, Req::get(PAGE).header("accept", &a), &|l| match l {
            READ => stored21(),
            FETCH => Answer::new(200, PROFILE_22, "fresh earth"),
            l => unexpected(l),
        });
        let p = s.problem(406, "not_acceptable");
        assert!(p["detail"].as_str().unwrap().contains(&format!("expected {v}")), "{p}");
        assert_eq!(s.lines(), lines);
    }
    let a = accept("2.5.0");
    let s = serve(&h, &f, Req::get(PAGE).header("accept", &a), &|l| match l {
        READ => missing(),
        FETCH => Answer::new(200, PROFILE_22, "fresh earth"),
        l => unexpected(l),
    });
    s.problem(406, "not_acceptable");
}

/// Page revisions: the shipped spec as it is.
fn revised() -> (FakeHost, Rc<Filter>) {
    with_spec(crate::spec::tests::shipped(), json!({}))
}

const REVISION: &str = "storage GET /en.wikipedia.org/v1/page_revisions/page/Earth";
const FETCH_6: &str = "parsoid GET /en.wikipedia.org/v3/page/html/Earth/6";
const REDIRECT_TARGET: &str = "mwapi POST /w/api.php";

fn row(rev: u64, redirect: bool) -> Answer {
    Answer::new(200, "application/json", &json!({"items": [{"title": "Earth", "rev": rev, "tid": "t", "redirect": redirect}]}).to_string())
}

fn storage_problem(status: u16, kind: &str, detail: &str) -> Answer {
    let body = json!({"type": format!("{}{kind}", crate::problem::TYPE_PREFIX), "title": "Storage title", "method": "get", "detail": detail, "uri": "/en.wikipedia.org/v1/page_revisions/page/Earth"});
    Answer::new(status, crate::problem::CONTENT_TYPE, &body.to_string())
}

#[test]
fn the_latest_revision_is_resolved_and_a_stale_copy_replaced() {
    let (h, f) = revised();
    // Stored holds revision 5; the page is at 6 now: rendered at 6, stored.
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        REVISION => row(6, false),
        READ => stored(),
        FETCH_6 => fresh(),
        STORE => created(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.lines(), [REVISION, READ, FETCH_6, STORE]);
    // At 5: the stored copy, one extra round trip.
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        REVISION => row(5, false),
        READ => stored(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    assert_eq!(s.lines(), [REVISION, READ]);
}

#[test]
fn deleted_and_suppressed_pages_are_storages_verdict() {
    let (h, f) = revised();
    for (status, kind, detail) in
        [(404, "not_found#page_revisions", "Page was deleted"), (404, "not_found", "Page or revision not found."), (403, "access_denied#revision", "Access is restricted for revision 6")]
    {
        let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
            REVISION => storage_problem(status, kind, detail),
            l => unexpected(l),
        });
        let p = s.problem(status, kind);
        assert_eq!((p["detail"].as_str(), p["uri"].as_str(), p["title"].as_str()), (Some(detail), Some(PAGE), Some("Storage title")));
        assert_eq!(s.lines(), [REVISION], "neither storage's copy nor the back-end");
    }
    // An explicit revision is checked as itself.
    let path = "/en.wikipedia.org/v1/page/html/Earth/6";
    let s = serve(&h, &f, Req::get(path), &|l| match l {
        "storage GET /en.wikipedia.org/v1/page_revisions/page/Earth/6" => storage_problem(403, "access_denied#revision", "Access is restricted for revision 6"),
        l => unexpected(l),
    });
    s.problem(403, "access_denied#revision");
}

#[test]
fn a_rerender_refreshes_the_revision_first() {
    let (h, f) = revised();
    // change-propagation's no-cache: storage asks the action API again, and learns of a
    // suppression (403) before anything is rendered.
    let s = serve(&h, &f, Req::get(PAGE).header("cache-control", "no-cache").internal(), &|l| match l {
        REVISION => storage_problem(403, "access_denied#revision", "Access is restricted for revision 6"),
        l => unexpected(l),
    });
    s.problem(403, "access_denied#revision");
    assert!(s.seen[0].headers.contains(&("cache-control".into(), "no-cache".into())));
    // An external client's no-cache refreshes nothing.
    let s = serve(&h, &f, Req::get(PAGE).header("cache-control", "no-cache"), &|l| match l {
        REVISION => row(5, false),
        READ => stored(),
        l => unexpected(l),
    });
    assert_eq!(s.status, 200);
    assert!(!s.seen[0].headers.iter().any(|(n, _)| n == "cache-control"));
}

#[test]
fn page_revisions_down_serves_as_before_and_follows_parsoids_redirect() {
    let (h, f) = revised();
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        REVISION => Answer::envoy(503, 0, "no healthy upstream"),
        READ => missing(),
        // Parsoid's answer for a page without a revision: its latest.
        FETCH => Answer::new(302, "text/plain", "").header("location", "/en.wikipedia.org/v3/page/html/Earth/6"),
        FETCH_6 => fresh(),
        STORE => created(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "fresh earth"));
    assert_eq!(s.lines(), [REVISION, READ, FETCH, FETCH_6, STORE]);
    assert_eq!(h.counter("restrouter.page_revisions.error"), 1);
    // A second redirect is not followed.
    let s = serve(&h, &f, Req::get(PAGE), &|l| match l {
        REVISION => Answer::envoy(503, 0, "no healthy upstream"),
        READ => missing(),
        FETCH | FETCH_6 => Answer::new(302, "text/plain", "").header("location", "/en.wikipedia.org/v3/page/html/Earth/6"),
        l => unexpected(l),
    });
    s.problem(502, "bad_gateway");
}

#[test]
fn redirect_pages_redirect_unless_asked_not_to() {
    let (h, f) = revised();
    let target = || Answer::new(200, "application/json", r#"{"batchcomplete":true,"query":{"redirects":[{"from":"Earth","to":"Terra Firma","tofragment":"Soil"}]}}"#);
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/html/Earth?x=1"), &|l| match l {
        "storage GET /en.wikipedia.org/v1/page_revisions/page/Earth" => row(5, true),
        REDIRECT_TARGET => target(),
        l => unexpected(l),
    });
    assert_eq!(s.status, 302);
    assert_eq!(s.header("location"), Some("Terra_Firma?x=1#Soil"));
    assert_eq!(s.header("vary"), Some("origin"));
    assert_eq!(s.header("cache-control"), Some(PAGE_CC));
    assert_eq!(String::from_utf8_lossy(s.seen[1].body.as_deref().unwrap()), "action=query&format=json&formatversion=2&redirects=1&titles=Earth");
    // redirect=false: the redirect page itself.
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/page/html/Earth?redirect=false"), &|l| match l {
        REVISION => row(5, true),
        READ => stored(),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "stored earth"));
    // Cross-origin: the target's content in its place, uncached, varying on origin.
    let s = serve(&h, &f, Req::get(PAGE).header("origin", "https://example.org"), &|l| match l {
        REVISION => row(5, true),
        REDIRECT_TARGET => target(),
        "storage GET /en.wikipedia.org/v1/page_revisions/page/Terra_Firma" => row(9, false),
        "storage GET /en.wikipedia.org/v1/key_value/parsoidphp/Terra_Firma" => Answer::new(200, HTML, "firma").header("etag", "\"9/x\""),
        l => unexpected(l),
    });
    assert_eq!((s.status, s.text().as_str()), (200, "firma"));
    assert_eq!(s.header("cache-control"), Some("no-cache"));
    assert_eq!(s.header("vary"), Some("origin"));
    // A loop ends.
    let s = serve(&h, &f, Req::get(PAGE).header("origin", "https://example.org"), &|l| match l {
        l if l.contains("page_revisions") => row(5, true),
        REDIRECT_TARGET => Answer::new(200, "application/json", r#"{"query":{"redirects":[{"from":"Earth","to":"Earth"}]}}"#),
        l => unexpected(l),
    });
    s.problem(504, "gateway_timeout");
}
