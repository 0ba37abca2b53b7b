//! The Parsoid stand-in's other formats, on the Parsoid extension's paths: HTML to wikitext,
//! wikitext to lint (with and without a title and revision), and a page's lint, whose latest
//! form redirects to the revision as the page endpoint does for every format.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{get, post};
use serde_json::json;

const DOMAIN: &str = "en.wikipedia.org";
const WIKITEXT: &str =
    "text/plain; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/wikitext/1.0.0\"";
const HTML: &str =
    "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";

#[test]
fn html_to_wikitext_on_every_path() {
    for suffix in ["", "/Earth", "/Earth/123"] {
        let path = format!("/{DOMAIN}/v3/transform/html/to/wikitext{suffix}");
        let json_body = json!({"html": "<body><h2>Part</h2><p>a &amp; <b>b</b></p></body>"});
        let reply = post(&path, "application/json", &json_body.to_string());
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.header("content-type"), WIKITEXT);
        assert_eq!(reply.body, "== Part ==\na & '''b'''\n");
        let form = post(
            &path,
            "application/x-www-form-urlencoded",
            "html=%3Cp%3Ex+y%3C%2Fp%3E",
        );
        assert_eq!((form.status, form.body.as_str()), (200, "x y\n"), "{path}");
        let missing = post(&path, "application/json", "{\"wikitext\":\"x\"}");
        assert_eq!(missing.status, 400, "{path}: {}", missing.body);
    }
    let bad = post(
        &format!("/{DOMAIN}/v3/transform/html/to/wikitext/Earth/x"),
        "application/json",
        "{\"html\":\"x\"}",
    );
    assert_eq!(bad.status, 400);
}

#[test]
fn wikitext_to_lint_on_every_path() {
    for suffix in ["", "/Earth", "/Earth/123"] {
        let path = format!("/{DOMAIN}/v3/transform/wikitext/to/lint{suffix}");
        let reply = post(
            &path,
            "application/json",
            &json!({"wikitext": "a <center>b</center>"}).to_string(),
        );
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            "application/json; charset=utf-8"
        );
        assert_eq!(
            reply.json(),
            json!([{"type": "obsolete-tag", "dsr": [2, 20, 8, 9], "params": {"name": "center"}}])
        );
        let clean = post(
            &path,
            "application/x-www-form-urlencoded",
            "wikitext=plain+text",
        );
        assert_eq!((clean.status, clean.json()), (200, json!([])), "{path}");
        assert_eq!(post(&path, "application/json", "{}").status, 400, "{path}");
    }
}

#[test]
fn wikitext_to_html_with_a_revision() {
    let path = format!("/{DOMAIN}/v3/transform/wikitext/to/html/Earth/123");
    let reply = post(
        &path,
        "application/json",
        &json!({"wikitext": "Hello"}).to_string(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), HTML);
    assert!(reply.body.contains("<p>Hello</p>"), "{}", reply.body);
    assert_eq!(post(&path, "application/json", "{}").status, 400);
}

#[test]
fn page_lint_redirects_to_the_latest_revision() {
    let latest = get(&format!("/{DOMAIN}/v3/page/lint/Earth"));
    assert_eq!(latest.status, 302, "{}", latest.body);
    assert_eq!(
        latest.header("cache-control"),
        "private,no-cache,s-maxage=0"
    );
    let location = latest.header("location").to_string();
    assert!(
        location.starts_with(&format!("/{DOMAIN}/v3/page/lint/Earth/")),
        "{location}"
    );
    let lint = get(&location);
    assert_eq!(lint.status, 200, "{}", lint.body);
    assert_eq!(
        lint.header("content-type"),
        "application/json; charset=utf-8"
    );
    assert_eq!(lint.json(), json!([]));
    assert_eq!(
        get(&format!("/{DOMAIN}/v3/page/lint/Missing_page")).status,
        404
    );
}
