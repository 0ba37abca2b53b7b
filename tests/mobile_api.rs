//! The apps' stored content with its revision forms, through Envoy on the development back-end:
//! mobile-sections (one stored copy whose `lead` and `remaining` the -lead and -remaining
//! operations answer), mobile-html and media-list at a revision, Wiktionary definitions and the
//! wikitext → mobile-html preview, as RESTBase served them.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::time::Duration;
use support::envoy::Envoy;
use support::{wait_until, DevBackend, Reply, Stack, Storage, EXTERNAL};

const DOMAIN: &str = "en.wikipedia.org";
const PURGED: &str = "s-maxage=1209600, max-age=0, must-revalidate";
const FORM: &str = "application/x-www-form-urlencoded";

fn profile(kind: &str, name: &str, version: &str) -> String {
    format!("{kind}; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/{name}/{version}\"")
}

/// What mobileapps answers mobile-sections with (its own profile, newer than RESTBase's spec).
fn sections_type() -> String {
    profile("application/json", "mobile-sections", "0.14.5")
}

/// Envoy with storage (page_revisions on the development action API) and mobileapps, Parsoid
/// and the action API all the development back-end.
fn stack(dev: &DevBackend) -> Stack {
    let storage = Storage::with_mwapi(Some(dev.mwapi_url()));
    let sets = [("mobileapps", dev.addr()), ("mwapi", dev.addr()), ("parsoid", dev.addr())];
    Stack::with_storage(storage, Envoy::builder().sets(&sets))
}

fn page(kind: &str, rest: &str) -> String {
    format!("/{DOMAIN}/v1/page/{kind}/{rest}")
}

/// The revision of an answer's `"<revision>/<tid>"` ETag.
fn etag_revision(r: &support::Response) -> u64 {
    let etag = r.header("etag").unwrap_or_else(|| panic!("no etag: {r}"));
    etag.trim_matches('"').split('/').next().unwrap().parse().unwrap_or_else(|_| panic!("etag {etag}"))
}

/// Requests the development back-end's mobileapps received so far.
fn mobileapps_requests(dev: &DevBackend) -> u64 {
    let text = support::client::get(&format!("http://{}/metrics", dev.addr())).text();
    let line = text.lines().find(|l| l.starts_with("devbackend_requests_total{service=\"mobileapps\"}")).unwrap_or_else(|| panic!("{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Values storage wrote (PUTs that stored content).
fn storage_writes(s: &Stack) -> u64 {
    let text = support::client::get(&s.storage.url("/metrics")).text();
    let line = text.lines().find(|l| l.starts_with("restrouter_storage_requests_total{outcome=\"write\"}")).unwrap_or_else(|| panic!("{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn every_operation_answers_with_its_content_type() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let latest = s.envoy.get(&page("mobile-sections", "Earth"));
    assert_eq!(latest.status, 200, "{latest}");
    let rev = etag_revision(&latest);
    let json = |name: &str, version: &str| profile("application/json", name, version);
    let cases: Vec<(String, String)> = vec![
        (page("mobile-sections", "Earth"), sections_type()),
        (page("mobile-sections", &format!("Earth/{rev}")), sections_type()),
        (page("mobile-sections-lead", "Earth"), sections_type()),
        (page("mobile-sections-lead", &format!("Earth/{rev}")), sections_type()),
        (page("mobile-sections-remaining", "Earth"), sections_type()),
        (page("mobile-sections-remaining", &format!("Earth/{rev}")), sections_type()),
        (page("mobile-html", &format!("Earth/{rev}")), profile("text/html", "Mobile-HTML", "1.2.2")),
        (page("media-list", &format!("Earth/{rev}")), json("Media", "1.3.1")),
        ("/en.wiktionary.org/v1/page/definition/cat".to_string(), json("definition", "0.8.1")),
    ];
    for (path, content_type) in &cases {
        let r = s.envoy.get(path);
        assert_eq!(r.status, 200, "{path}: {r}");
        assert_eq!(r.header("content-type"), Some(content_type.as_str()), "{path}");
        assert_eq!(r.header("cache-control"), Some(PURGED), "{path}");
    }
    // The parts are the members of the whole.
    let whole = latest.json();
    assert!(whole["lead"]["sections"].is_array() && whole["remaining"]["sections"].is_array(), "{whole}");
    assert_eq!(s.envoy.get(&page("mobile-sections-lead", "Earth")).json(), whole["lead"]);
    assert_eq!(s.envoy.get(&page("mobile-sections-remaining", "Earth")).json(), whole["remaining"]);
    let definition = s.envoy.get("/en.wiktionary.org/v1/page/definition/cat").json();
    assert_eq!(definition["en"][0]["partOfSpeech"], "Noun", "{definition}");
    // The term is a title: normalized with the Wiktionary's siteinfo (case-sensitive there).
    let r = s.envoy.get("/en.wiktionary.org/v1/page/definition/big%20cat");
    assert_eq!((r.status, r.header("location")), (301, Some("big_cat")), "{r}");
    let path = "/en.wiktionary.org/v1/page/definition/a%7Cb";
    s.envoy.get(path).assert_problem(400, "bad_request", "GET", path);

    // The preview: wikitext in, the apps' HTML out, from mobileapps alone.
    let path = "/en.wikipedia.org/v1/transform/wikitext/to/mobile-html/Earth";
    let r = s.envoy.send("POST", path, &[("content-type", FORM), ("output-mode", "content")], Some(b"wikitext=Hello%20there%0A%0A%3D%3D%20Part%20%3D%3D"));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.header("content-type"), Some(profile("text/html", "Mobile-HTML", "1.2.2").as_str()));
    assert!(r.text().contains("<p>Hello there</p>") && r.text().contains("<section data-mw-section-id=\"1\""), "{r}");
    assert_eq!(r.header("content-language"), Some("en"));
    let r = s.envoy.send("POST", path, &[("content-type", "application/json")], Some(br#"{"wikitext":"''hi''"}"#));
    assert_eq!(r.status, 200, "{r}");

    // Where RESTBase mounted them: definitions on the Wiktionaries, mobile-sections and the
    // preview not on the default project.
    for path in ["/en.wikipedia.org/v1/page/definition/cat", "/en.wikibooks.org/v1/page/mobile-sections/Earth", "/en.wikibooks.org/v1/page/mobile-sections-lead/Earth"] {
        s.envoy.get(path).assert_problem(404, "not_found#route", "GET", path);
    }
    let path = "/en.wikibooks.org/v1/transform/wikitext/to/mobile-html/Earth";
    s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"wikitext=x")).assert_problem(404, "not_found#route", "POST", path);
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn mobile_sections_are_stored_once_and_every_part_is_served_from_the_stored_copy() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    // A miss on the lead renders the whole, stores it and answers its lead.
    let lead = s.envoy.get(&page("mobile-sections-lead", "Earth"));
    assert_eq!(lead.status, 200, "{lead}");
    let rev = etag_revision(&lead);
    assert_eq!(lead.json()["revision"], rev.to_string());
    assert_eq!(mobileapps_requests(&dev), 1);
    assert_eq!(storage_writes(&s), 1);
    let kept = s.storage.get(DOMAIN, "mobile-sections", "Earth");
    assert_eq!(kept.status, 200, "{kept}");
    assert_eq!(kept.header("content-type"), Some(sections_type().as_str()));
    assert_eq!(kept.header("etag"), lead.header("etag"));
    let stored = kept.json();
    assert_eq!(stored["lead"], lead.json());

    // Then every form is the stored copy: mobileapps is not asked again, nothing is written.
    let whole = s.envoy.get(&page("mobile-sections", "Earth"));
    assert_eq!((whole.status, whole.header("etag")), (200, lead.header("etag")), "{whole}");
    assert_eq!(whole.json(), stored);
    let remaining = s.envoy.get(&page("mobile-sections-remaining", "Earth"));
    assert_eq!((remaining.status, remaining.header("etag")), (200, lead.header("etag")), "{remaining}");
    assert_eq!(remaining.json(), stored["remaining"]);
    assert_eq!(s.envoy.get(&page("mobile-sections-lead", "Earth")).json(), stored["lead"]);
    assert_eq!(s.envoy.get(&page("mobile-sections-remaining", &format!("Earth/{rev}"))).json(), stored["remaining"]);
    assert_eq!(mobileapps_requests(&dev), 1, "a stored part reached mobileapps");
    assert_eq!(storage_writes(&s), 1);
    assert_eq!(s.envoy.wait_counter("restrouter_storage_hit", &[], 4.0), 4.0);

    // The store purged all three forms, at the revision and the latest, as RESTBase did
    // (`http:` URIs, as its events had them).
    let mut wanted = Vec::new();
    for kind in ["mobile-sections", "mobile-sections-lead", "mobile-sections-remaining"] {
        wanted.push(format!("http://{DOMAIN}/api/rest_v1/page/{kind}/Earth"));
        wanted.push(format!("http://{DOMAIN}/api/rest_v1/page/{kind}/Earth/{rev}"));
    }
    let mut uris: Vec<String> = Vec::new();
    wait_until(Duration::from_secs(10), || {
        uris = s.events_received().iter().filter_map(|e| e["meta"]["uri"].as_str().map(str::to_string)).collect();
        wanted.iter().all(|w| uris.contains(w))
    });
    uris.sort();
    wanted.sort();
    assert_eq!(uris, wanted);

    // Another revision is fetched from mobileapps for the request alone: the stored copy stays.
    let edited = dev.control(DOMAIN, "edit/Earth").json()["revid"].as_u64().unwrap();
    let r = s.envoy.get(&page("mobile-sections-lead", &format!("Earth/{edited}")));
    assert_eq!((r.status, etag_revision(&r)), (200, edited), "{r}");
    assert_eq!(r.json()["revision"], edited.to_string());
    assert_eq!(mobileapps_requests(&dev), 2);
    assert_eq!(storage_writes(&s), 1);
    assert_eq!(etag_revision(&s.storage.get(DOMAIN, "mobile-sections", "Earth")), rev);
    // Without a revision, page_revisions names the edit: rendered anew and stored.
    let r = s.envoy.get(&page("mobile-sections-remaining", "Earth"));
    assert_eq!((r.status, etag_revision(&r)), (200, edited), "{r}");
    assert_eq!(storage_writes(&s), 2);
    assert_eq!(etag_revision(&s.storage.get(DOMAIN, "mobile-sections", "Earth")), edited);
}

#[test]
fn mobile_html_and_media_list_at_a_revision_use_the_stored_copy_only_when_it_is_that_revision() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    for kind in ["mobile-html", "media-list"] {
        let latest = s.envoy.get(&page(kind, "Earth"));
        assert_eq!(latest.status, 200, "{latest}");
        let rev = etag_revision(&latest);
        let before = mobileapps_requests(&dev);
        let at = s.envoy.get(&page(kind, &format!("Earth/{rev}")));
        assert_eq!((at.status, at.header("etag"), at.body.clone()), (200, latest.header("etag"), latest.body.clone()), "{kind}: {at}");
        assert_eq!(mobileapps_requests(&dev), before, "{kind}: the stored revision reached mobileapps");
        if kind == "mobile-html" {
            assert!(at.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")), "{at}");
        }
        // Another revision page_revisions knows (an edit's): mobileapps' answer, not stored.
        dev.control(DOMAIN, "edit/Earth");
        let r = s.envoy.get(&page(kind, &format!("Earth/{}", rev + 1)));
        assert_eq!((r.status, etag_revision(&r)), (200, rev + 1), "{kind}: {r}");
        assert_eq!(mobileapps_requests(&dev), before + 1);
        assert_eq!(etag_revision(&s.storage.get(DOMAIN, kind, "Earth")), rev, "{kind}: a revision's render replaced the latest");
    }
}

#[test]
fn bad_parameters_are_400s_before_any_back_end_is_asked() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    for path in [
        page("mobile-sections", "Earth/0"),
        page("mobile-sections-lead", "Earth/x"),
        page("mobile-sections-remaining", "Earth/-3"),
        page("mobile-html", "Earth/1.5"),
        page("media-list", "Earth/x"),
        page("mobile-sections", "Earth?redirect=maybe"),
    ] {
        s.envoy.get(&path).assert_problem(400, "bad_request", "GET", &path);
    }
    let path = "/en.wikipedia.org/v1/transform/wikitext/to/mobile-html/Earth";
    // No wikitext, an empty one, an output mode mobileapps does not have.
    s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"other=x")).assert_problem(400, "bad_request", "POST", path);
    s.envoy.send("POST", path, &[("content-type", "application/json")], Some(br#"{"wikitext":""}"#)).assert_problem(400, "bad_request", "POST", path);
    s.envoy.send("POST", path, &[("content-type", FORM), ("output-mode", "everything")], Some(b"wikitext=x")).assert_problem(400, "bad_request", "POST", path);
    assert_eq!(mobileapps_requests(&dev), 0, "mobileapps was asked");
    // mobileapps' own verdicts come through as problems: a page that does not exist, a
    // definition on an English Wiktionary only.
    let path = page("mobile-sections-lead", "Missing_page");
    s.envoy.get(&path).assert_problem(404, "not_found", "GET", &path);
    assert_eq!(s.storage.get(DOMAIN, "mobile-sections", "Missing_page").status, 404);
    let path = "/fr.wiktionary.org/v1/page/definition/chat";
    s.envoy.get(path).assert_problem(501, "unsupported_language", "GET", path);
}

#[test]
fn the_preview_is_rate_limited_per_client() {
    let s = Stack::with(&[("ratelimit_sidecar", "")]);
    let backend = "/en.wikipedia.org/v1/transform/wikitext/to/mobile-html/Earth";
    s.backend.on(backend, Reply::html("<p>hi</p>"));
    let path = "/en.wikipedia.org/v1/transform/wikitext/to/mobile-html/Earth";
    // An external client far over its 25/s: refused once the verdicts are in.
    let mut limited = None;
    for _ in 0..3000 {
        let r = s.envoy.send("POST", path, &[EXTERNAL, ("content-type", FORM)], Some(b"wikitext=hi"));
        match r.status {
            200 => {}
            429 => {
                limited = Some(r);
                break;
            }
            other => panic!("unexpected {other}: {r}"),
        }
    }
    let r = limited.expect("no 429 for a client over its limit");
    r.assert_problem(429, "request_rate_exceeded", "post", path);
    assert_eq!(r.header("ratelimit-policy"), Some("\"route\";q=25;w=1"));
    assert!(s.envoy.counter("restrouter_route_ratelimit_limited", &[("restrouter_route", "transformWikitextToMobileHtml")]) > 0.0);
    // The back-end was asked with the client's body, under the wiki's name.
    let call = s.backend.last(backend).unwrap();
    assert_eq!((call.method.as_str(), call.header("host")), ("POST", Some(DOMAIN)));
    assert_eq!(call.body, b"wikitext=hi".to_vec());
}
