//! The trust boundary: the client's credentials reach only the back-end of an operation that
//! acts as the client, whose answers are private; page saves end to end against the fake host.

use super::fake::{serve, shipped_filter, Answer, FakeHost, Req, Served};
use super::*;
use crate::policy::DEFAULT_CACHE_CONTROL;

const COOKIE: &str = "enwikiSession=s3cr3t";
const AUTH: &str = "Bearer t0ken";
const EDIT: &str = "mwapi POST /w/api.php";
const TRANSFORM: &str = "parsoid POST /en.wikipedia.org/v3/transform/html/to/wikitext/Earth";

fn setup() -> (FakeHost, Rc<Filter>) {
    let (h, f) = shipped_filter();
    crate::pages::SiteCache::default().put(&h, "en.wikipedia.org", crate::pages::tests::EN).unwrap();
    (h, f)
}

fn with_credentials(req: Req<'static>) -> Req<'static> {
    req.header("cookie", COOKIE).header("authorization", AUTH)
}

fn carries_credentials(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("cookie") || n.eq_ignore_ascii_case("authorization"))
}

fn assert_nobody_saw_credentials(s: &Served) {
    for seen in &s.seen {
        assert!(!carries_credentials(&seen.headers), "{} saw the client's credentials: {:?}", seen.line, seen.headers);
    }
}

fn save(path: &'static str, content_type: &'static str, body: &str) -> Req<'static> {
    Req { method: "POST", path, headers: vec![("content-type", content_type)], body: Some(body.as_bytes().to_vec()), source: "198.51.100.7:4000" }
}

fn edit_answer(body: &str) -> Answer {
    Answer::new(200, "application/json; charset=utf-8", body)
}

#[test]
fn other_routes_never_pass_the_clients_credentials_on() {
    let (h, f) = setup();
    // A pass-through.
    let s = serve(&h, &f, with_credentials(Req::get("/en.wikipedia.org/v1/data/css/mobile/base")), &|_| Answer::new(200, "text/css", "body{}"));
    assert_eq!((s.status, s.seen.len()), (200, 1));
    assert_nobody_saw_credentials(&s);
    // A stored route: storage's read through the router, then on a miss the back-end, the
    // store and the event.
    let page = "/en.wikipedia.org/v1/page/summary/Earth";
    let s = serve(&h, &f, with_credentials(Req::get(page)), &|l| match l {
        l if l.starts_with("storage GET /en.wikipedia.org/v1/page_revisions/") => {
            Answer::new(200, "application/json", r#"{"items":[{"title":"Earth","rev":5,"tid":"t","namespace":0,"redirect":false}]}"#)
        }
        l if l.starts_with("storage GET") => Answer::new(404, "application/problem+json", "{}"),
        l if l.starts_with("mobileapps GET") => Answer::new(200, "application/json", "{}").header("etag", "\"5/abc\""),
        _ => Answer::new(201, "application/json", ""),
    });
    assert!(s.seen.len() >= 3, "{:?}", s.lines());
    assert_nobody_saw_credentials(&s);
}

#[test]
fn reading_lists_go_to_mediawiki_as_the_client_and_stay_private() {
    let (h, f) = setup();
    let upstream = "mwapi GET /w/rest.php/readinglists/v0/lists?sort=name";
    let s = serve(&h, &f, with_credentials(Req::get("/en.wikipedia.org/v1/data/lists/?sort=name")), &|l| {
        assert_eq!(l, upstream);
        Answer::new(200, "application/json", r#"{"lists":[]}"#).header("cache-control", "s-maxage=600, max-age=600")
    });
    assert_eq!((s.status, s.text().as_str()), (200, r#"{"lists":[]}"#));
    let seen = &s.seen[0].headers;
    assert!(seen.contains(&("cookie".into(), COOKIE.into())) && seen.contains(&("authorization".into(), AUTH.into())), "{seen:?}");
    assert_eq!(s.header("cache-control"), Some(DEFAULT_CACHE_CONTROL), "an upstream's public cache-control is overruled");
    // The token is the client's business, passed on in the query; without one, the validator
    // refuses before anything is sent.
    let s = serve(&h, &f, with_credentials(save("/en.wikipedia.org/v1/data/lists/setup", "application/json", "{}")), &|l| panic!("nothing to send: {l}"));
    s.problem(400, "bad_request");
    let s = serve(&h, &f, with_credentials(Req { method: "POST", ..Req::get("/en.wikipedia.org/v1/data/lists/setup?csrf_token=a%2B%5C") }), &|_| Answer::new(200, "application/json", "{}"));
    assert_eq!((s.status, s.seen[0].line.as_str()), (200, "mwapi POST /w/rest.php/readinglists/v0/lists/setup?csrf_token=a%2B%5C"));
    // MediaWiki's error becomes a problem, still private.
    let s = serve(&h, &f, Req::get("/en.wikipedia.org/v1/data/lists/"), &|_| {
        Answer::new(
            400,
            "application/json",
            r#"{"errorKey":"rest-permission-denied-anon","messageTranslations":{"en":"Anonymous users cannot use this endpoint."},"httpCode":400,"httpReason":"Bad Request"}"#,
        )
    });
    s.problem(400, "bad_request");
}

#[test]
fn a_wikitext_save_is_an_edit_as_the_client() {
    let (h, f) = setup();
    let body = "wikitext=%3D%3D+Earth+%3D%3D&csrf_token=abc%2B%5C&comment=tidy&is_minor=true";
    let s = serve(&h, &f, with_credentials(save("/en.wikipedia.org/v1/page/wikitext/Earth", "application/x-www-form-urlencoded", body)), &|l| {
        assert_eq!(l, EDIT);
        edit_answer(r#"{"edit":{"result":"Success","pageid":9,"title":"Earth","contentmodel":"wikitext","oldrevid":5,"newrevid":6,"newtimestamp":"2024-01-01T00:00:00Z"}}"#)
    });
    assert_eq!(s.status, 201, "{}", s.text());
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&s.body).unwrap()["newrevid"], 6);
    assert_eq!(s.header("content-type"), Some("application/json"));
    assert_eq!(s.header("cache-control"), Some(DEFAULT_CACHE_CONTROL));
    let edit = &s.seen[0];
    assert!(edit.headers.contains(&("cookie".into(), COOKIE.into())), "{:?}", edit.headers);
    assert!(edit.headers.contains(&(":authority".into(), "en.wikipedia.org".into())));
    let form = String::from_utf8(edit.body.clone().unwrap()).unwrap();
    assert_eq!(form, "action=edit&format=json&formatversion=2&title=Earth&text=%3D%3D%20Earth%20%3D%3D&summary=tidy&minor=1&token=abc%2B%5C");
    // No change: 200.
    let s = serve(&h, &f, save("/en.wikipedia.org/v1/page/wikitext/Earth", "application/json", r#"{"wikitext":"x","csrf_token":"t"}"#), &|_| {
        edit_answer(r#"{"edit":{"result":"Success","title":"Earth","nochange":true}}"#)
    });
    assert_eq!(s.status, 200);
    // The action API's errors, as RESTBase mapped them.
    for (code, status, kind) in [("badtoken", 400, "bad_request"), ("editconflict", 409, "conflict"), ("protectedpage", 401, "unauthorized"), ("blocked", 403, "forbidden#edit")] {
        let s = serve(&h, &f, save("/en.wikipedia.org/v1/page/wikitext/Earth", "application/json", r#"{"wikitext":"x","csrf_token":"t"}"#), &|_| {
            edit_answer(&format!(r#"{{"error":{{"code":"{code}","info":"Nope."}}}}"#))
        });
        let p = s.problem(status, kind);
        assert_eq!((p["title"].as_str(), p["detail"].as_str()), (Some(code), Some("Nope.")));
    }
}

#[test]
fn an_html_save_is_transformed_then_edited() {
    let (h, f) = setup();
    let body = "--b0\r\nContent-Disposition: form-data; name=\"html\"\r\n\r\n<p>Hi</p>\r\n--b0\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nt+\\\r\n--b0\r\nContent-Disposition: form-data; name=\"base_etag\"\r\n\r\n\"5/154d7bca-c264-11e5-8c2f-1b51b33b59fc\"\r\n--b0--\r\n";
    let s = serve(&h, &f, with_credentials(save("/en.wikipedia.org/v1/page/html/Earth", "multipart/form-data; boundary=b0", body)), &|l| match l {
        l if l == format!("{TRANSFORM}/5") => Answer::new(200, "text/plain; charset=utf-8", "Hi"),
        EDIT => edit_answer(r#"{"edit":{"result":"Success","newrevid":6}}"#),
        l => panic!("unexpected {l}"),
    });
    assert_eq!(s.status, 201, "{}", s.text());
    let (transform, edit) = (&s.seen[0], &s.seen[1]);
    assert!(!carries_credentials(&transform.headers), "Parsoid is not the client's: {:?}", transform.headers);
    assert!(transform.headers.contains(&("if-match".into(), "\"5/154d7bca-c264-11e5-8c2f-1b51b33b59fc\"".into())));
    assert_eq!(transform.body.as_deref(), Some(br#"{"html":"<p>Hi</p>"}"#.as_slice()));
    assert!(edit.headers.contains(&("cookie".into(), COOKIE.into())));
    assert!(String::from_utf8(edit.body.clone().unwrap()).unwrap().contains("&text=Hi&summary=Hi&baserevid=5&token=t%2B%5C"));
    // Parsoid's refusal ends the save with its status; nothing is edited.
    let s = serve(&h, &f, save("/en.wikipedia.org/v1/page/html/Earth", "application/json", r#"{"html":"<p>x</p>","csrf_token":"t"}"#), &|l| match l {
        TRANSFORM => Answer::new(400, "application/problem+json", r#"{"type":"bad_request","detail":"bad html"}"#),
        l => panic!("unexpected {l}"),
    });
    s.problem(400, "bad_request");
    assert_eq!(s.seen.len(), 1);
}

#[test]
fn bad_saves_are_refused_before_anything_is_sent() {
    let (h, f) = setup();
    let none = |l: &str| -> Answer { panic!("nothing to send: {l}") };
    let path = "/en.wikipedia.org/v1/page/wikitext/Earth";
    let p = serve(&h, &f, save(path, "application/json", r#"{"wikitext":"x","csrf_token":"t","base_etag":"\"x/y\""}"#), &none).problem(400, "bad_request");
    assert_eq!(p["title"], "Bad revision");
    let p = serve(&h, &f, save(path, "application/json", r#"{"wikitext":"   ","csrf_token":"t"}"#), &none).problem(400, "bad_request");
    assert_eq!(p["title"], "Missing parameters");
    let p = serve(&h, &f, save(path, "application/json", r#"{"wikitext":"x","csrf_token":"t"}"#).header("if-match", "\"5/not-a-uuid\""), &none).problem(400, "bad_request");
    assert_eq!(p["title"], "Bad ETag in If-Match");
    serve(&h, &f, save(path, "application/json", r#"{"wikitext":"x"}"#), &none).problem(400, "bad_request");
    serve(&h, &f, save(path, "multipart/form-data; boundary=zz", "--zz\r\nbroken"), &none).problem(400, "invalid_request");
}

#[test]
fn a_normalized_title_does_not_make_a_save_cacheable() {
    let (h, f) = setup();
    let s =
        serve(&h, &f, save("/en.wikipedia.org/v1/page/wikitext/earth", "application/json", r#"{"wikitext":"x","csrf_token":"t"}"#), &|_| edit_answer(r#"{"edit":{"result":"Success","newrevid":6}}"#));
    assert_eq!(s.status, 201);
    assert!(String::from_utf8(s.seen[0].body.clone().unwrap()).unwrap().contains("&title=Earth&"));
    assert_eq!(s.header("cache-control"), Some(DEFAULT_CACHE_CONTROL));
}
