//! Operations other services answer, through Envoy on the development back-end's stand-ins:
//! page PDFs (proton, rate-limited), graph images (graphoid), related pages (the action API's
//! search and mobileapps' summaries), citations (citoid) and recommendations
//! (recommendation-api), each on the projects RESTBase mounted it on; their parameters validated
//! before any service is asked.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{client, DevBackend, Envoy, Stack, Storage, EXTERNAL};

const JSON: &str = "application/json; charset=utf-8";
const PDF_CACHE: &str = "s-maxage=600, max-age=600";

fn stack(dev: &DevBackend) -> Stack {
    let storage = Storage::with_mwapi(Some(dev.mwapi_url()));
    let sets = [("proton", dev.addr()), ("citoid", dev.addr()), ("recommendation", dev.addr()), ("graphoid", dev.addr()), ("mobileapps", dev.addr()), ("mwapi", dev.addr())];
    Stack::with_storage(storage, Envoy::builder().sets(&sets))
}

/// How many requests the stand-in of `service` received so far (its own metrics).
fn asked(dev: &DevBackend, service: &str) -> f64 {
    let text = client::get(&format!("http://{}/metrics", dev.addr())).text();
    support::envoy::prometheus_value(&text, "devbackend_requests_total", &[("service", service)]).unwrap_or(0.0)
}

#[test]
fn every_operation_answers_with_its_content_type_where_it_is_mounted() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let cases = [
        ("/en.wikipedia.org/v1/page/pdf/Earth", "application/pdf"),
        ("/en.wikipedia.org/v1/page/pdf/Earth/letter", "application/pdf"),
        ("/en.wikipedia.org/v1/page/pdf/Earth/legal/mobile", "application/pdf"),
        ("/en.wikivoyage.org/v1/page/pdf/Earth/a4", "application/pdf"),
        ("/en.wikipedia.org/v1/page/graph/png/Earth/0/0123456789abcdef0123456789abcdef01234567.png", "image/png"),
        ("/www.wikidata.org/v1/page/graph/png/Q2/5/0123456789abcdef0123456789abcdef01234567.png", "image/png"),
        ("/en.wikipedia.org/v1/page/related/Earth", JSON),
        ("/en.wikipedia.org/v1/data/citation/mediawiki/https%3A%2F%2Fexample.org%2Fa", JSON),
        ("/en.wikisource.org/v1/data/citation/zotero/10.1000%2F182", JSON),
        ("/en.wikipedia.org/v1/data/citation/bibtex/10.1000%2F182", "application/x-bibtex; charset=utf-8"),
        ("/en.wikipedia.org/v1/data/recommendation/article/creation/translation/de", JSON),
        ("/en.wikipedia.org/v1/data/recommendation/article/creation/translation/de/Earth?count=2", JSON),
        ("/en.wikipedia.org/v1/data/recommendation/article/creation/morelike/Earth", JSON),
        ("/www.wikidata.org/v1/data/recommendation/description/addition/de", JSON),
        ("/www.wikidata.org/v1/data/recommendation/description/translation/from/en/to/de", JSON),
    ];
    for (path, content_type) in cases {
        let r = s.envoy.get(path);
        assert_eq!(r.status, 200, "{path}: {r}");
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
    }
    // Proton's PDF, with its attachment name and RESTBase's cache-control.
    let r = s.envoy.get("/en.wikipedia.org/v1/page/pdf/Caf%C3%A9_au_lait/a4/desktop");
    assert_eq!(r.status, 200, "{r}");
    assert!(r.body.starts_with(b"%PDF-"), "{r}");
    assert_eq!(r.header("content-disposition"), Some("attachment; filename=\"Caf%C3%A9_au_lait.pdf\"; filename*=UTF-8''Caf%C3%A9_au_lait.pdf"));
    assert_eq!(r.header("cache-control"), Some(PDF_CACHE));
    // The page's ETag from page_revisions, as RESTBase sent it with PDFs.
    let rev = s.envoy.get("/en.wikipedia.org/v1/page/title/Caf%C3%A9_au_lait").json()["items"][0]["rev"].as_u64().unwrap();
    assert!(r.header("etag").is_some_and(|e| e.starts_with(&format!("\"{rev}/"))), "{r}");
    // A PNG from graphoid.
    let r = s.envoy.get("/en.wikipedia.org/v1/page/graph/png/Earth/0/0123456789abcdef0123456789abcdef01234567.png");
    assert!(r.body.starts_with(b"\x89PNG\r\n\x1a\n"), "{r}");
    // Related pages: the search's pages, each its summary.
    let r = s.envoy.get("/en.wikipedia.org/v1/page/related/Earth");
    assert_eq!(r.header("cache-control"), Some("s-maxage=86400, max-age=3600"));
    let pages = r.json()["pages"].as_array().cloned().unwrap();
    let titles: Vec<&str> = pages.iter().map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["History_of_Earth", "Earth_in_culture", "Geography_of_Earth"], "{r}");
    assert!(pages.iter().all(|p| p["extract"].is_string()), "summaries, not bare titles: {r}");
    // Recommendations as recommendation-api answered them (count passed on).
    let r = s.envoy.get("/en.wikipedia.org/v1/data/recommendation/article/creation/translation/de/Earth?count=2");
    assert_eq!(r.json()["count"], 2, "{r}");
    // Projects: description recommendations only on Wikidata; no PDFs there.
    for path in [
        "/en.wikipedia.org/v1/data/recommendation/description/addition/de",
        "/www.wikidata.org/v1/page/pdf/Q2",
        "/www.wikidata.org/v1/page/related/Q2",
        "/www.wikidata.org/v1/data/citation/mediawiki/x",
        "/wikimedia.org/v1/page/pdf/Earth",
    ] {
        let r = s.envoy.get(path);
        assert_eq!(r.status, 404, "{path}: {r}");
    }
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn citoid_hears_the_clients_language_else_the_wikis() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let language = |domain: &str, headers: &[(&str, &str)]| -> String {
        let r = s.envoy.get_with(&format!("/{domain}/v1/data/citation/mediawiki/https%3A%2F%2Fexample.org%2Fa"), headers);
        assert_eq!(r.status, 200, "{r}");
        let item = &r.json()[0];
        assert_eq!(item["url"], "https://example.org/a", "the query reached citoid whole: {r}");
        item["language"].as_str().unwrap().to_string()
    };
    assert_eq!(language("en.wikipedia.org", &[("accept-language", "fr")]), "fr");
    assert_eq!(language("en.wikipedia.org", &[]), "en");
    assert_eq!(language("de.wikipedia.org", &[]), "de");
    // Citoid's own 404 arrives as a problem.
    let r = s.envoy.get("/en.wikipedia.org/v1/data/citation/mediawiki/missing.example.org");
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/problem+json")), "{r}");
}

#[test]
fn bad_parameters_are_400_and_no_service_is_asked() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let services = ["proton", "citoid", "recommendation", "graphoid"];
    let before: Vec<f64> = services.iter().map(|x| asked(&dev, x)).collect();
    for path in [
        "/en.wikipedia.org/v1/page/pdf/Earth/a5",
        "/en.wikipedia.org/v1/page/pdf/Earth/a4/tablet",
        "/en.wikipedia.org/v1/page/graph/png/Earth/latest/0123456789abcdef0123456789abcdef01234567.png",
        "/en.wikipedia.org/v1/page/graph/png/Earth/-1/0123456789abcdef0123456789abcdef01234567.png",
        "/en.wikipedia.org/v1/data/citation/apa/10.1000%2F182",
        "/en.wikipedia.org/v1/data/recommendation/article/creation/translation/de?count=0",
        "/en.wikipedia.org/v1/data/recommendation/article/creation/translation/de/Earth?count=many",
        "/en.wikipedia.org/v1/data/recommendation/article/creation/translation/d%20e",
        "/www.wikidata.org/v1/data/recommendation/description/addition/DE!",
        "/www.wikidata.org/v1/data/recommendation/description/translation/from/en/to/1",
    ] {
        let r = s.envoy.get(path);
        r.assert_problem(400, "bad_request", "GET", path);
    }
    let after: Vec<f64> = services.iter().map(|x| asked(&dev, x)).collect();
    assert_eq!(before, after, "a service was asked: {services:?}");
    // A page that does not exist: page_revisions answers before proton is asked; an unknown graph
    // is graphoid's 404; nothing is related to a missing page.
    let r = s.envoy.get("/en.wikipedia.org/v1/page/pdf/Missing_page");
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/problem+json")), "{r}");
    assert_eq!(asked(&dev, "proton"), before[0], "proton was asked for a missing page");
    let r = s.envoy.get("/en.wikipedia.org/v1/page/graph/png/Earth/0/nosuchgraph.png");
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/problem+json")), "{r}");
    let r = s.envoy.get("/en.wikipedia.org/v1/page/related/Missing_page");
    assert_eq!(r.status, 404, "{r}");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn a_client_over_the_pdf_limit_gets_429() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let path = "/en.wikipedia.org/v1/page/pdf/Earth";
    // Verdicts come from the counts the workers hand on (every 200 ms, judged once a second):
    // a client keeps asking until it is limited, within a bound.
    let mut limited = None;
    let mut served = 0;
    for _ in 0..3000 {
        let r = s.envoy.get_with(path, &[EXTERNAL]);
        match r.status {
            200 => served += 1,
            429 => {
                limited = Some(r);
                break;
            }
            _ => panic!("{r}"),
        }
    }
    let r = limited.unwrap_or_else(|| panic!("no 429 for an external client over 1 PDF/s after {served} PDFs"));
    assert!(served >= 1, "the first request is served");
    r.assert_problem(429, "request_rate_exceeded", "GET", path);
    assert_eq!(r.header("ratelimit-policy"), Some("\"route\";q=1;w=1"));
    assert!(r.header("retry-after").is_some(), "{r}");
}
