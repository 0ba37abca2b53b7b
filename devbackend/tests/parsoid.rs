//! The Parsoid stand-in's page endpoints as the real service answers them: the latest revision
//! by redirect, MediaWiki REST errors for pages and revisions it cannot render, redirect pages,
//! all agreeing with the action API stand-in's state for the same wiki.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{agent, base, get, Reply};
use serde_json::{json, Value};

const DOMAIN: &str = "en.wikipedia.org";

fn html(title_and_revision: &str) -> Reply {
    get(&format!("/{DOMAIN}/v3/page/html/{title_and_revision}"))
}

fn control(path: &str, body: &str) -> Value {
    let mut response = agent()
        .post(format!("{}/_dev/action/{DOMAIN}/{path}", base()))
        .send(body)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

/// The action API's `lastrevid` for a title (`None` if missing).
fn api_latest(title: &str) -> Option<u64> {
    let mut response = agent()
        .post(format!("{}/w/api.php", base()))
        .header("host", DOMAIN)
        .header("content-type", "application/x-www-form-urlencoded")
        .send(format!(
            "action=query&format=json&formatversion=2&prop=info&titles={title}"
        ))
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    body["query"]["pages"][0]["lastrevid"].as_u64()
}

/// The revision a `302` points to, checking the rest of the redirect on the way.
fn redirected_revision(reply: &Reply, title_in_url: &str) -> u64 {
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), "private,no-cache,s-maxage=0");
    let location = reply.header("location");
    let prefix = format!("/{DOMAIN}/v3/page/html/{title_in_url}/");
    let revision = location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{location}"));
    let revision = revision.split('?').next().unwrap();
    // The body is MediaWiki's link to the target, not page HTML.
    assert!(!reply.body.contains("<section"), "{}", reply.body);
    assert!(reply.body.contains("<title>Redirect</title>"));
    revision.parse().unwrap()
}

fn assert_rest_error(reply: &Reply, status: u16, key: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/json");
    let body = reply.json();
    assert_eq!(body["errorKey"], key);
    assert_eq!(body["httpCode"], status);
    assert!(body["messageTranslations"]["en"].is_string(), "{body}");
    let reason = if status == 404 {
        "Not Found"
    } else {
        "Forbidden"
    };
    assert_eq!(body["httpReason"], reason);
}

#[test]
fn latest_is_a_redirect_to_the_action_api_revision() {
    let reply = html("Earth");
    let revision = redirected_revision(&reply, "Earth");
    assert_eq!(Some(revision), api_latest("Earth"));
    assert!(reply.header("etag").is_empty());

    let page = get(reply.header("location"));
    assert_eq!(page.status, 200);
    assert!(page.header("etag").starts_with(&format!("\"{revision}/")));
    assert!(page.body.contains("<title>Earth</title>"));
}

#[test]
fn redirect_keeps_the_query_and_normalizes_the_title() {
    let reply = html("some_redirected_page?stash=true&title=X&redirect=false");
    redirected_revision(&reply, "Some%20redirected%20page");
    assert!(
        reply
            .header("location")
            .ends_with("?stash=true&redirect=false"),
        "{}",
        reply.header("location")
    );
    let slash = html("AC%2FDC");
    redirected_revision(&slash, "AC%2FDC");
}

#[test]
fn edits_and_deletion_through_the_controls() {
    let before = redirected_revision(&html("Parsoid_edited_page"), "Parsoid%20edited%20page");
    let edited = control("edit/Parsoid_edited_page", "")["revid"]
        .as_u64()
        .unwrap();
    assert_eq!(edited, before + 1);
    let after = redirected_revision(&html("Parsoid_edited_page"), "Parsoid%20edited%20page");
    assert_eq!(after, edited);
    assert_eq!(api_latest("Parsoid_edited_page"), Some(edited));
    assert_eq!(html(&format!("Parsoid_edited_page/{before}")).status, 200);

    control("delete/Parsoid_edited_page", "");
    assert_eq!(api_latest("Parsoid_edited_page"), None);
    for path in [
        "Parsoid_edited_page".to_owned(),
        format!("Parsoid_edited_page/{edited}"),
    ] {
        assert_rest_error(&html(&path), 404, "rest-specified-revision-unavailable");
    }
}

#[test]
fn missing_pages_are_mediawiki_404s() {
    let reply = html("Missing_page");
    assert_rest_error(&reply, 404, "rest-specified-revision-unavailable");
    assert_eq!(
        reply.json(),
        json!({
            "errorKey": "rest-specified-revision-unavailable",
            "messageTranslations": {"en": "The specified revision is deleted or suppressed."},
            "httpCode": 404,
            "httpReason": "Not Found",
        })
    );
    assert!(reply.header("location").is_empty());
    assert_rest_error(
        &html("Missing_page/123"),
        404,
        "rest-specified-revision-unavailable",
    );
}

#[test]
fn revisions_the_page_never_had_are_404() {
    let latest = redirected_revision(&html("Never_had"), "Never%20had");
    assert_rest_error(
        &html(&format!("Never_had/{}", latest + 1)),
        404,
        "rest-specified-revision-unavailable",
    );
    // A revision known to belong to another page is not this page's.
    let other = redirected_revision(&html("Someone_else"), "Someone%20else");
    if other < latest {
        assert_rest_error(
            &html(&format!("Never_had/{other}")),
            404,
            "rest-specified-revision-unavailable",
        );
    } else {
        assert_rest_error(
            &html(&format!("Someone_else/{latest}")),
            404,
            "rest-specified-revision-unavailable",
        );
    }
}

#[test]
fn hidden_revision_text_is_403() {
    // Suppressed by title: the latest revision itself is unreadable, so there is no redirect.
    assert_rest_error(
        &html("Suppressed_page"),
        403,
        "rest-permission-denied-revision",
    );
    assert_rest_error(
        &html("Suppressed_page/1000"),
        403,
        "rest-permission-denied-revision",
    );

    // Hidden through the control: that revision only.
    let latest = redirected_revision(&html("Parsoid_hidden_page"), "Parsoid%20hidden%20page");
    control(&format!("hide/{latest}"), "");
    assert_rest_error(
        &html(&format!("Parsoid_hidden_page/{latest}")),
        403,
        "rest-permission-denied-revision",
    );
    assert_eq!(
        html(&format!("Parsoid_hidden_page/{}", latest - 1)).status,
        200
    );

    // Hiding only the user and comment leaves the text readable.
    let other = redirected_revision(&html("Parsoid_user_hidden"), "Parsoid%20user%20hidden");
    control(
        &format!("hide/{other}"),
        r#"["userhidden","commenthidden"]"#,
    );
    assert_eq!(html(&format!("Parsoid_user_hidden/{other}")).status, 200);
}

#[test]
fn redirect_pages_carry_the_redirect_link() {
    let latest = redirected_revision(&html("Redirect_to_Earth"), "Redirect%20to%20Earth");
    let page = html(&format!("Redirect_to_Earth/{latest}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<link rel=\"mw:PageProp/redirect\" href=\"./Earth\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<h2"));

    let spaced = html("Redirect_to_united_states");
    let latest = redirected_revision(&spaced, "Redirect%20to%20united%20states");
    let page = html(&format!("Redirect_to_united_states/{latest}"));
    assert!(page
        .body
        .contains("<link rel=\"mw:PageProp/redirect\" href=\"./United_states\""));
}
