//! The stand-ins of the services RESTBase passed requests to: proton (PDFs), citoid,
//! recommendation-api and graphoid, at their paths with their content types and errors, and the
//! action API's `morelike:` search behind related pages.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::get;

const JSON: &str = "application/json; charset=utf-8";

#[test]
fn proton_renders_pdfs_as_attachments() {
    for path in [
        "/en.wikipedia.org/v1/pdf/Earth",
        "/en.wikipedia.org/v1/pdf/Earth/letter",
        "/en.wikipedia.org/v1/pdf/Earth/legal/mobile",
    ] {
        let r = get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/pdf", "{path}");
        assert!(r.body.starts_with("%PDF-"), "{path}");
        assert_eq!(
            r.header("content-disposition"),
            "attachment; filename=\"Earth.pdf\"; filename*=UTF-8''Earth.pdf"
        );
    }
    let r = get("/en.wikipedia.org/v1/pdf/Missing_page");
    assert_eq!((r.status, r.header("content-type")), (404, JSON));
    assert_eq!(r.json()["detail"], "Article 'Missing_page' not found");
    assert_eq!(get("/en.wikipedia.org/v1/pdf/Earth/a5").status, 404);
}

#[test]
fn citoid_answers_per_format_and_refuses_like_citoid() {
    let r = get("/api?format=mediawiki&search=https%3A%2F%2Fexample.org%2F");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, JSON),
        "{}",
        r.body
    );
    assert_eq!(r.json()[0]["url"], "https://example.org/");
    let r = get("/api?format=bibtex&search=10.1000%2F182");
    assert_eq!(
        r.header("content-type"),
        "application/x-bibtex; charset=utf-8"
    );
    assert!(r.body.contains("@misc{"), "{}", r.body);
    let r = get("/api?format=apa&search=x");
    assert_eq!(
        (r.status, r.json()["Error"].as_str()),
        (400, Some("Invalid format requested apa"))
    );
    assert_eq!(get("/api?format=zotero").status, 400);
    assert_eq!(get("/api?format=zotero&search=missing.example").status, 404);
}

#[test]
fn recommendations_with_their_limits_and_domains() {
    let r = get("/en.wikipedia.org/v1/article/creation/translation/de/?count=2");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, JSON),
        "{}",
        r.body
    );
    assert_eq!(r.json()["count"], 2);
    let r = get("/en.wikipedia.org/v1/article/creation/translation/de/Earth");
    assert_eq!(r.json()["items"][0]["title"], "Earth_de_1");
    let r = get("/en.wikipedia.org/v1/article/creation/translation/d1");
    assert_eq!(
        (r.status, r.json()["type"].as_str()),
        (400, Some("bad_request"))
    );
    assert_eq!(
        get("/en.wikipedia.org/v1/article/creation/translation/de?count=501").status,
        400
    );
    let r = get("/en.wikipedia.org/v1/article/creation/morelike/Earth");
    assert_eq!(r.json()[0]["source_language"], "de", "{}", r.body);
    assert_eq!(
        get("/en.wikipedia.org/v1/article/creation/morelike/Missing_x").status,
        404
    );
    let r = get("/www.wikidata.org/v1/description/translation/from/en/to/de");
    assert_eq!(
        r.json()[0]["wikibase_item"]["descriptions"]["en"]["language"],
        "en",
        "{}",
        r.body
    );
    let r = get("/en.wikipedia.org/v1/description/addition/de");
    assert_eq!(
        (r.status, r.json()["type"].as_str()),
        (400, Some("unsupported_domain"))
    );
}

#[test]
fn graphoid_knows_only_graph_hashes_of_existing_pages() {
    for path in [
        "/en.wikipedia.org/v1/png/Earth/0/nosuchgraph.png",
        "/en.wikipedia.org/v1/png/Missing_page/0/0123456789abcdef0123456789abcdef01234567.png",
    ] {
        let r = get(path);
        assert_eq!((r.status, r.header("content-type")), (404, JSON), "{path}");
    }
}

#[test]
fn morelike_search_lists_pages_with_their_rank() {
    let r = get("/w/api.php?action=query&format=json&formatversion=2&generator=search&gsrsearch=morelike%3AEarth&gsrlimit=2");
    let pages = r.json()["query"]["pages"].clone();
    assert_eq!(pages.as_array().map(Vec::len), Some(2), "{}", r.body);
    assert_eq!(
        (pages[0]["title"].as_str(), pages[0]["index"].as_u64()),
        (Some("History of Earth"), Some(1))
    );
    let r = get("/w/api.php?action=query&format=json&formatversion=2&generator=search&gsrsearch=morelike%3AMissing_x");
    assert!(r.json().get("query").is_none(), "{}", r.body);
}
