use super::*;

const SITEINFO: &str = "mwapi POST /w/api.php";
const PROFILE_21: &str = r#"text/html; charset=utf-8; profile="https://www.mediawiki.org/wiki/Specs/HTML/2.1.0""#;
const PROFILE_22: &str = r#"text/html; charset=utf-8; profile="https://www.mediawiki.org/wiki/Specs/HTML/2.2.0""#;

/// A filter whose wikis' siteinfo nobody fetched yet.
fn cold() -> (FakeHost, Rc<Filter>) {
    let h = FakeHost::default();
    let config = json!({"spec": crate::spec::tests::shipped(), "settings": {}});
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
