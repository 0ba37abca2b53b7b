//! The mobileapps and wikifeeds stand-ins the apps call besides page content: offline resources,
//! talk pages, JavaScript, messages, announcements, on-this-day, availability, random titles.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{get, Reply};

fn profile(kind: &str, name: &str, version: &str) -> String {
    format!(
        "{kind}; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/{name}/{version}\""
    )
}

fn assert_problem(reply: &Reply, status: u16, kind: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        restrouter_proto::problem::CONTENT_TYPE
    );
    assert_eq!(
        reply.json()["type"],
        restrouter_proto::problem::type_uri(kind)
    );
}

#[test]
fn offline_resources_list_what_mobile_html_loads() {
    for path in [
        "/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth",
        "/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth/1234",
    ] {
        let reply = get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.header("content-type"),
            profile("application/json", "Mobile-HTML-Offline-Resources", "1.2.1")
        );
        assert_eq!(
            reply.json(),
            serde_json::json!([
                "https://meta.wikimedia.org/api/rest_v1/data/css/mobile/base",
                "https://meta.wikimedia.org/api/rest_v1/data/css/mobile/pcs",
                "https://meta.wikimedia.org/api/rest_v1/data/javascript/mobile/pcs",
                "https://en.wikipedia.org/api/rest_v1/data/css/mobile/site",
                "https://en.wikipedia.org/api/rest_v1/data/i18n/pcs",
            ])
        );
    }
}

#[test]
fn talk_pages_are_topics_with_replies() {
    let reply = get("/en.wikipedia.org/v1/page/talk/Talk:Earth");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        profile("application/json", "Talk", "0.1.1")
    );
    let body = reply.json();
    let revision = body["revision"].as_u64().unwrap();
    assert!(reply.header("etag").starts_with(&format!("\"{revision}/")));
    let topics = body["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 2);
    assert_eq!(topics[0]["id"], 1);
    assert_eq!(topics[0]["shas"]["indicator"].as_str().unwrap().len(), 64);
    let replies = topics[0]["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 3);
    assert_eq!(replies[1]["depth"], 2);
    assert!(replies[0]["html"]
        .as_str()
        .unwrap()
        .contains("User:Editor0"));
    // Deterministic apart from the render id.
    assert_eq!(
        get("/en.wikipedia.org/v1/page/talk/Talk:Earth").json(),
        body
    );

    let at = get("/en.wikipedia.org/v1/page/talk/Talk:Earth/42");
    assert_eq!(at.status, 200);
    assert_eq!(at.json()["revision"], 42);
    assert_problem(
        &get("/en.wikipedia.org/v1/page/talk/Missing_talk"),
        404,
        "not_found",
    );
    assert_problem(
        &get("/en.wikipedia.org/v1/page/talk/Talk:Earth/x"),
        400,
        "bad_request",
    );
}

#[test]
fn javascript_bundles() {
    for kind in ["pcs", "pagelib"] {
        let reply = get(&format!(
            "/meta.wikimedia.org/v1/data/javascript/mobile/{kind}"
        ));
        assert_eq!(reply.status, 200, "{kind}");
        assert_eq!(
            reply.header("content-type"),
            profile("text/javascript", "JavaScript", "1.0.0")
        );
        assert!(
            reply.body.starts_with(&format!("/* {kind}")),
            "{}",
            reply.body
        );
        assert!(reply.header("etag").starts_with('"'));
    }
    assert_problem(
        &get("/meta.wikimedia.org/v1/data/javascript/mobile/site"),
        404,
        "not_found",
    );
}

#[test]
fn i18n_messages_in_the_wikis_language() {
    let reply = get("/de.wikipedia.org/v1/data/i18n/pcs");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        profile("application/json", "i18n", "0.0.1")
    );
    let body = reply.json();
    assert_eq!(body["locale"], "de");
    assert_eq!(body["messages"]["article-read-more-title"], "Read more");
    assert_problem(&get("/de.wikipedia.org/v1/data/i18n/css"), 404, "not_found");
}

#[test]
fn announcements_without_a_campaign() {
    let reply = get("/en.wikipedia.org/v1/feed/announcements");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        profile("application/json", "Announcements", "0.3.0")
    );
    assert_eq!(
        reply.header("cache-control"),
        "public, max-age=86400, s-maxage=900"
    );
    assert_eq!(reply.json(), serde_json::json!({"announce": []}));
}

#[test]
fn on_this_day_per_type() {
    let reply = get("/en.wikipedia.org/v1/feed/onthisday/all/03/15");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        profile("application/json", "OnThisDay", "0.5.0")
    );
    assert_eq!(reply.header("cache-control"), "s-maxage=300, max-age=60");
    let body = reply.json();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["births", "deaths", "events", "holidays", "selected"]);
    let event = &body["events"][0];
    assert!(event["year"].is_i64() && event["text"].is_string());
    assert_eq!(event["pages"][0]["type"], "standard");
    assert!(body["holidays"][0].get("year").is_none());

    let births = get("/en.wikipedia.org/v1/feed/onthisday/births/3/15").json();
    assert_eq!(births.as_object().unwrap().len(), 1);
    assert_eq!(
        births["births"][0]["text"],
        get("/en.wikipedia.org/v1/feed/onthisday/births/03/15").json()["births"][0]["text"]
    );
    // 29 February exists; 30 February does not.
    assert_eq!(
        get("/en.wikipedia.org/v1/feed/onthisday/events/02/29").status,
        200
    );
    assert_problem(
        &get("/en.wikipedia.org/v1/feed/onthisday/events/02/30"),
        400,
        "bad_request",
    );
    assert_problem(
        &get("/en.wikipedia.org/v1/feed/onthisday/events/13/01"),
        400,
        "bad_request",
    );
    assert_problem(
        &get("/en.wikipedia.org/v1/feed/onthisday/weddings/01/01"),
        404,
        "not_found",
    );
    assert_problem(
        &get("/xx.wikipedia.org/v1/feed/onthisday/events/01/01"),
        404,
        "not_found",
    );
}

#[test]
fn availability_per_kind_of_content() {
    let reply = get("/wikimedia.org/v1/feed/availability");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        profile("application/json", "Availability", "1.0.1")
    );
    let body = reply.json();
    assert!(body["on_this_day"]
        .as_array()
        .unwrap()
        .contains(&"en.wikipedia.org".into()));
    assert_eq!(body["most_read"], serde_json::json!(["*.wikipedia.org"]));
}

#[test]
fn random_title_is_one_existing_title() {
    let reply = get("/en.wikipedia.org/v1/page/random/title");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        profile("application/json", "Random", "0.7.0")
    );
    let body = reply.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let title = items[0]["title"].as_str().unwrap();
    assert_eq!(
        get(&format!("/en.wikipedia.org/v1/page/summary/{title}")).status,
        200
    );
}

#[test]
fn mobile_sections_are_the_lead_and_the_remaining_sections() {
    let whole = get("/en.wikipedia.org/v1/page/mobile-sections/Earth");
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(
        whole.header("content-type"),
        profile("application/json", "mobile-sections", "0.14.5")
    );
    let revision = whole.json()["lead"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(whole.header("etag").starts_with(&format!("\"{revision}/")));
    // The lead has the first section's text and the others' headings; the rest their text.
    let lead_sections = whole.json()["lead"]["sections"].clone();
    assert!(lead_sections[0]["text"].is_string() && lead_sections[1]["text"].is_null());
    assert_eq!(whole.json()["remaining"]["sections"][0]["id"], 1);
    let lead = get("/en.wikipedia.org/v1/page/mobile-sections-lead/Earth");
    assert_eq!(lead.json(), whole.json()["lead"]);
    let remaining = get(&format!(
        "/en.wikipedia.org/v1/page/mobile-sections-remaining/Earth/{revision}"
    ));
    assert_eq!(remaining.json(), whole.json()["remaining"]);
    assert_problem(
        &get("/en.wikipedia.org/v1/page/mobile-sections/Missing_page"),
        404,
        "not_found",
    );
    assert_problem(
        &get("/en.wikipedia.org/v1/page/mobile-sections/Earth/0"),
        400,
        "bad_request",
    );
}

#[test]
fn definitions_are_english_wiktionarys_only() {
    let reply = get("/en.wiktionary.org/v1/page/definition/cat");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        profile("application/json", "definition", "0.8.1")
    );
    assert_eq!(reply.json()["en"][0]["language"], "English");
    assert_problem(
        &get("/en.wikipedia.org/v1/page/definition/cat"),
        400,
        "invalid_domain",
    );
    assert_problem(
        &get("/fr.wiktionary.org/v1/page/definition/chat"),
        501,
        "unsupported_language",
    );
}

#[test]
fn wikitext_previews_as_mobile_html() {
    let path = "/en.wikipedia.org/v1/transform/wikitext/to/mobile-html/Earth";
    let reply = common::post(
        path,
        "application/json",
        r#"{"wikitext":"Hi\n\n== Two ==\nmore"}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        profile("text/html", "Mobile-HTML", "1.2.2")
    );
    assert!(
        reply.body.contains("<p>Hi</p>") && reply.body.contains("data-mw-section-id=\"1\""),
        "{}",
        reply.body
    );
    assert!(reply.header("cache-control").starts_with("private"));
    let reply = common::post(path, "application/x-www-form-urlencoded", "other=x");
    assert_problem(&reply, 400, "bad_request");
}
