//! Every endpoint over real HTTP against a server on an ephemeral loopback port.

// Helpers shared by the tests may fail loudly; the clippy test exemptions only cover test fns.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{agent, base, collect, get, get_from, get_latest_html, post, post_from, start, Reply};
use restrouter_devbackend::Config;
use serde_json::json;

const HTML_TYPE: &str =
    "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";

/// Splits `"<revision>/<tid>"`.
fn etag_parts(etag: &str) -> (String, String) {
    let e = restrouter_proto::etag::parse(etag).unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    (e.revision.to_owned(), e.tid.to_owned())
}

fn assert_uuid_v1(tid: &str) {
    assert_eq!(tid.len(), 36, "{tid}");
    assert_eq!(tid.as_bytes()[14], b'1', "{tid}");
}

fn assert_not_found(reply: &Reply) {
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        restrouter_proto::problem::CONTENT_TYPE
    );
    let body = reply.json();
    assert_eq!(
        body["type"],
        restrouter_proto::problem::type_uri("not_found")
    );
    assert!(body["uri"].is_string());
}

#[test]
fn health() {
    let reply = get("/healthz");
    assert_eq!(reply.status, 200);
}

#[test]
fn parsoid_html_for_earth() {
    let reply = get_latest_html("/en.wikipedia.org/v3/page/html/Earth");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), HTML_TYPE);
    let (rev, tid) = etag_parts(reply.header("etag"));
    assert!(rev.parse::<u64>().is_ok());
    assert_uuid_v1(&tid);
    assert!(reply.body.starts_with("<!DOCTYPE html>"));
    assert!(reply.body.contains(&format!(
        "<meta property=\"mw:TimeUuid\" content=\"{tid}\"/>"
    )));
    assert!(reply.body.contains("<title>Earth</title>"));
    assert!(reply
        .body
        .contains("third <a rel=\"mw:WikiLink\" href=\"./Planet\""));
    assert!(reply
        .body
        .contains(&format!("Special:Redirect/revision/{rev}")));
    assert!(reply.body.len() < 8 * 1024);
}

#[test]
fn parsoid_rerender_differs_only_in_tid() {
    let first = get_latest_html("/en.wikipedia.org/v3/page/html/Some_article");
    let second = get_latest_html("/en.wikipedia.org/v3/page/html/Some_article");
    let (rev1, tid1) = etag_parts(first.header("etag"));
    let (rev2, tid2) = etag_parts(second.header("etag"));
    assert_eq!(rev1, rev2);
    assert_ne!(tid1, tid2);
    assert_ne!(first.body, second.body);
    assert_eq!(
        first.body.replace(&tid1, ""),
        second.body.replace(&tid2, "")
    );
    assert!(first.body.contains("<title>Some article</title>"));
}

#[test]
fn parsoid_html_at_revision() {
    let reply = get("/en.wikipedia.org/v3/page/html/Earth/12345");
    assert_eq!(reply.status, 200);
    let (rev, _) = etag_parts(reply.header("etag"));
    assert_eq!(rev, "12345");
    assert!(reply.body.contains("Special:Redirect/revision/12345"));

    let bad = get("/en.wikipedia.org/v3/page/html/Earth/latest");
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["type"],
        restrouter_proto::problem::type_uri("bad_request")
    );
}

#[test]
fn titles_are_decoded_and_escaped() {
    let slash = get_latest_html("/en.wikipedia.org/v3/page/html/AC%2FDC");
    assert_eq!(slash.status, 200);
    assert!(slash.body.contains("<title>AC/DC</title>"));
    assert!(slash
        .body
        .contains("href=\"//en.wikipedia.org/wiki/AC/DC\""));

    let hostile =
        get_latest_html("/en.wikipedia.org/v3/page/html/%3Cscript%3Ealert(1)%3C%2Fscript%3E%22");
    assert_eq!(hostile.status, 200);
    assert!(!hostile.body.contains("<script>"));
    assert!(hostile
        .body
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));

    let unicode = get("/de.wikipedia.org/v1/page/summary/Z%C3%BCrich");
    assert_eq!(unicode.status, 200);
    assert_eq!(unicode.json()["title"], "Zürich");
    assert_eq!(unicode.json()["lang"], "de");

    let invalid_utf8 = get("/en.wikipedia.org/v3/page/html/%FF");
    assert_eq!(invalid_utf8.status, 400);
}

#[test]
fn missing_pages_are_404_everywhere() {
    for path in [
        "/en.wikipedia.org/v3/page/html/Missing_page",
        "/en.wikipedia.org/v3/page/html/Missing_page/123",
        "/en.wikipedia.org/v3/page/html/Missing%20thing",
    ] {
        // Parsoid is served by MediaWiki and answers in its REST error format.
        let reply = get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), "application/json");
        assert_eq!(
            reply.json()["errorKey"],
            "rest-specified-revision-unavailable"
        );
    }
    for path in [
        "/en.wikipedia.org/v1/page/summary/Missing_page",
        "/en.wikipedia.org/v1/page/mobile-html/Missing_page",
        "/en.wikipedia.org/v1/page/media-list/Missing_page",
        "/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia/all-access/user/Missing_page/daily/20240101/20240102",
    ] {
        assert_not_found(&get(path));
    }
}

#[test]
fn unknown_paths_are_404() {
    assert_not_found(&get("/en.wikipedia.org/v9/nothing/here"));
}

#[test]
fn wikitext_to_html() {
    let reply = post(
        "/en.wikipedia.org/v3/transform/wikitext/to/html",
        "application/json",
        &json!({"wikitext": "Hello <world> & friends\n\n== Next ==\nMore"}).to_string(),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), HTML_TYPE);
    assert!(reply
        .body
        .contains("<p>Hello &lt;world&gt; &amp; friends</p>"));
    assert!(reply.body.contains("<h2 id=\"Next\">Next</h2><p>More</p>"));

    let form = post(
        "/en.wikipedia.org/v3/transform/wikitext/to/html/Sandbox",
        "application/x-www-form-urlencoded",
        "wikitext=a+%26+b",
    );
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<p>a &amp; b</p>"));

    let bad = post(
        "/en.wikipedia.org/v3/transform/wikitext/to/html",
        "application/json",
        "{\"html\":1}",
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("content-type"), "application/problem+json");
}

#[test]
fn summary() {
    let reply = get("/en.wikipedia.org/v1/page/summary/Earth");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Summary/1.4.2\""
    );
    let body = reply.json();
    let (rev, tid) = etag_parts(reply.header("etag"));
    assert_eq!(body["revision"], rev.as_str());
    assert_eq!(body["tid"], tid.as_str());
    assert_eq!(body["type"], "standard");
    assert_eq!(body["title"], "Earth");
    assert_eq!(body["pageid"], 9228);
    assert_eq!(body["lang"], "en");
    assert_eq!(body["dir"], "ltr");
    assert_eq!(body["description"], "Third planet from the Sun");
    assert!(body["displaytitle"].as_str().unwrap().contains("Earth"));
    assert!(body["extract"]
        .as_str()
        .unwrap()
        .starts_with("Earth is the third planet"));
    assert!(body["extract_html"].as_str().unwrap().starts_with("<p>"));
    assert!(body["thumbnail"]["source"]
        .as_str()
        .unwrap()
        .starts_with("https://upload.wikimedia.org/"));
    assert_eq!(
        body["content_urls"]["desktop"]["page"],
        "https://en.wikipedia.org/wiki/Earth"
    );
    assert_eq!(
        body["content_urls"]["mobile"]["page"],
        "https://en.m.wikipedia.org/wiki/Earth"
    );
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    let generated = get("/he.wikipedia.org/v1/page/summary/Some%20page").json();
    assert_eq!(generated["title"], "Some_page");
    assert_eq!(generated["titles"]["normalized"], "Some page");
    assert_eq!(generated["dir"], "rtl");
    assert!(generated.get("thumbnail").is_none());
}

#[test]
fn mobile_html() {
    let reply = get("/en.wikipedia.org/v1/page/mobile-html/Earth");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Mobile-HTML/1.2.2\""
    );
    assert_uuid_v1(&etag_parts(reply.header("etag")).1);
    assert!(reply.body.contains("id=\"pcs\""));
    assert!(reply.body.contains("pcs-section-id-1"));
    assert!(reply.body.contains("Third planet from the Sun"));

    let at_rev = get("/en.wikipedia.org/v1/page/mobile-html/Earth/777");
    assert_eq!(etag_parts(at_rev.header("etag")).0, "777");
}

#[test]
fn media_list() {
    let reply = get("/en.wikipedia.org/v1/page/media-list/Earth");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/Media/1.3.1\""
    );
    let body = reply.json();
    let (rev, tid) = etag_parts(reply.header("etag"));
    assert_eq!(body["revision"], rev.as_str());
    assert_eq!(body["tid"], tid.as_str());
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert_eq!(items[0]["leadImage"], true);
    assert_eq!(items[0]["type"], "image");
    assert!(items[0]["title"].as_str().unwrap().starts_with("File:"));
    assert!(items[0]["srcset"][0]["src"]
        .as_str()
        .unwrap()
        .starts_with("//upload.wikimedia.org/"));

    let other = get("/en.wikipedia.org/v1/page/media-list/Other/55").json();
    assert_eq!(other["revision"], "55");
    assert_eq!(other["items"], json!([]));
}

#[test]
fn mobile_css() {
    for kind in ["base", "pagelib", "pcs", "site"] {
        let reply = get(&format!("/meta.wikimedia.org/v1/data/css/mobile/{kind}"));
        assert_eq!(reply.status, 200, "{kind}");
        assert_eq!(reply.header("content-type"), "text/css; charset=utf-8");
        assert!(reply.body.contains('{'));
    }
    assert_not_found(&get("/meta.wikimedia.org/v1/data/css/mobile/nope"));
}

#[test]
fn featured_feed() {
    let reply = get("/en.wikipedia.org/v1/feed/featured/2024/03/15");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        "application/json; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/aggregated-feed/0.5.0\""
    );
    assert!(reply.header("etag").starts_with("\"2024-03-15/"));
    let body = reply.json();
    assert_eq!(body["tfa"]["type"], "standard");
    assert_eq!(body["mostread"]["date"], "2024-03-14Z");
    let articles = body["mostread"]["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 5);
    assert_eq!(articles[0]["rank"], 1);
    assert!(articles[0]["views"].as_u64().unwrap() >= articles[1]["views"].as_u64().unwrap());
    assert!(body["image"]["title"]
        .as_str()
        .unwrap()
        .starts_with("File:"));
    assert!(!body["news"].as_array().unwrap().is_empty());
    assert!(body["news"][0]["links"][0]["title"].is_string());
    assert!(body["onthisday"][0]["year"].is_number());
    assert!(reply.body.len() < 32 * 1024);

    for bad in ["2023/02/29", "2024/3/15", "2024/13/01", "abcd/01/01"] {
        let reply = get(&format!("/en.wikipedia.org/v1/feed/featured/{bad}"));
        assert_eq!(reply.status, 400, "{bad}");
    }
}

#[test]
fn pageviews_per_article() {
    let path = "/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia/all-access/user/Albert_Einstein/daily/20240101/2024011000";
    let reply = get(path);
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").starts_with("application/json"));
    let body = reply.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["timestamp"], "2024010100");
    assert_eq!(items[9]["timestamp"], "2024011000");
    assert_eq!(items[0]["project"], "en.wikipedia");
    assert_eq!(items[0]["article"], "Albert_Einstein");
    assert_eq!(items[0]["granularity"], "daily");
    assert_eq!(items[0]["access"], "all-access");
    assert_eq!(items[0]["agent"], "user");
    assert!(items[0]["views"].as_u64().is_some());
    assert_eq!(get(path).body, reply.body, "views are deterministic");

    let monthly = get("/analytics.wikimedia.org/v1/pageviews/per-article/en.wikipedia.org/desktop/all-agents/Earth/monthly/20240101/20241231").json();
    let months = monthly["items"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    assert_eq!(months[1]["timestamp"], "2024020100");
    assert_eq!(months[0]["project"], "en.wikipedia");

    for bad in [
        "en.wikipedia/everywhere/user/Earth/daily/20240101/20240102",
        "en.wikipedia/all-access/robots/Earth/daily/20240101/20240102",
        "en.wikipedia/all-access/user/Earth/hourly/20240101/20240102",
        "en.wikipedia/all-access/user/Earth/daily/20240102/20240101",
        "en.wikipedia/all-access/user/Earth/daily/2024-01-01/20240102",
        "en.wikipedia/all-access/user/Earth/daily/19000101/20240102",
    ] {
        let reply = get(&format!(
            "/analytics.wikimedia.org/v1/pageviews/per-article/{bad}"
        ));
        assert_eq!(reply.status, 400, "{bad}");
    }
}

#[test]
fn events_are_kept_and_counted() {
    let base = start(Config {
        events_kept: 3,
        ..Config::default()
    });
    let event = |n: u32| json!({"$schema": "/resource_change/1.0.0", "meta": {"uri": format!("http://en.wikipedia.org/api/rest_v1/page/html/P{n}"), "stream": "resource_change"}});
    let batch = json!([event(1), event(2)]).to_string();
    let reply = post_from(&base, "/v1/events", "application/json", &batch);
    assert_eq!(reply.status, 201);
    let reply = post_from(
        &base,
        "/v1/events",
        "application/json",
        &json!([event(3), event(4)]).to_string(),
    );
    assert_eq!(reply.status, 201);

    let kept = get_from(&base, "/v1/events").json();
    assert_eq!(kept, json!([event(2), event(3), event(4)]));

    for bad in ["not json", "[1, 2]", "\"x\""] {
        assert_eq!(
            post_from(&base, "/v1/events", "application/json", bad).status,
            400,
            "{bad}"
        );
    }

    let metrics = get_from(&base, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .starts_with("application/openmetrics-text"));
    assert!(metrics
        .body
        .contains("devbackend_events_received_total 4\n"));
    assert!(metrics.body.contains("devbackend_events_kept 3\n"));

    let cleared = collect(agent().delete(format!("{base}/v1/events")).call().unwrap());
    assert_eq!(cleared.status, 204);
    assert_eq!(get_from(&base, "/v1/events").json(), json!([]));
}

#[test]
fn metrics_count_per_service() {
    let base = start(Config::default());
    get_from(&base, "/en.wikipedia.org/v3/page/html/Earth");
    get_from(&base, "/en.wikipedia.org/v3/page/html/Earth");
    get_from(&base, "/en.wikipedia.org/v1/page/summary/Earth");
    get_from(&base, "/en.wikipedia.org/v1/feed/featured/2024/01/01");
    get_from(&base, "/nowhere");
    let metrics = get_from(&base, "/metrics").body;
    assert!(metrics.contains("# TYPE devbackend_requests counter\n"));
    assert!(metrics.contains("devbackend_requests_total{service=\"parsoid\"} 2\n"));
    assert!(metrics.contains("devbackend_requests_total{service=\"mobileapps\"} 1\n"));
    assert!(metrics.contains("devbackend_requests_total{service=\"wikifeeds\"} 1\n"));
    assert!(metrics.contains("devbackend_requests_total{service=\"aqs\"} 0\n"));
    assert!(metrics.contains("devbackend_requests_total{service=\"unrouted\"} 1\n"));
}

#[test]
fn head_requests_get_headers_only() {
    let reply = collect(
        agent()
            .head(format!("{}/en.wikipedia.org/v1/page/summary/Earth", base()))
            .call()
            .unwrap(),
    );
    assert_eq!(reply.status, 200);
    assert!(reply.header("etag").starts_with('"'));
    assert!(reply.body.is_empty());
}

/// Every AQS path the metrics operations call: a JSON `{"items": [...]}` answer shaped as AQS
/// gives it, 400 for a bad enum value or date, 404 when there is no data.
#[test]
fn aqs_metrics() {
    const AQS: &str = "/analytics.wikimedia.org/v1";
    let ok = [
        ("pageviews/aggregate/en.wikipedia/all-access/user/hourly/2024010100/2024010123", "views", 24),
        ("pageviews/aggregate/en.wikipedia.org/desktop/spider/monthly/20240101/20241231", "views", 12),
        ("unique-devices/en.wikipedia/all-sites/daily/20240101/20240110", "devices", 10),
        ("legacy/pagecounts/aggregate/en.wikipedia/desktop-site/daily/20150101/20150103", "count", 3),
        ("mediarequests/aggregate/all-referers/image/user/daily/20240101/20240105", "requests", 5),
        ("mediarequests/per-file/en.wikipedia/all-agents/%2Fwikipedia%2Fcommons%2Fa%2Fa9%2FExample.jpg/monthly/20240101/20240331", "requests", 3),
    ];
    for (path, field, len) in ok {
        let reply = get(&format!("{AQS}/{path}"));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(
            reply.header("content-type").starts_with("application/json"),
            "{path}"
        );
        assert_eq!(
            reply.header("cache-control"),
            "s-maxage=14400, max-age=14400"
        );
        assert!(!reply.header("etag").is_empty(), "{path}");
        let body = reply.json();
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), len, "{path}");
        assert!(items[0][field].is_u64(), "{path}: {}", items[0]);
    }
    let body = get(&format!("{AQS}/mediarequests/per-file/en.wikipedia/all-agents/%2Fwikipedia%2Fcommons%2Fa%2Fa9%2FExample.jpg/daily/20240101/20240101")).json();
    assert_eq!(
        body["items"][0]["file_path"],
        "/wikipedia/commons/a/a9/Example.jpg"
    );

    // The edit history metrics: one item with the parameters and `results`.
    let series = [
        ("edited-pages/new/en.wikipedia/all-editor-types/content/daily/20240101/20240103", "new_pages"),
        ("edited-pages/aggregate/en.wikipedia/user/all-page-types/5..24-edits/daily/20240101/20240103", "edited_pages"),
        ("editors/aggregate/en.wikipedia/anonymous/content/all-activity-levels/daily/20240101/20240103", "editors"),
        ("edits/aggregate/en.wikipedia/all-editor-types/all-page-types/daily/20240101/20240103", "edits"),
        ("edits/per-page/en.wikipedia/Earth/user/daily/20240101/20240103", "edits"),
        ("registered-users/new/en.wikipedia/daily/20240101/20240103", "new_registered_users"),
        ("bytes-difference/net/aggregate/en.wikipedia/name-bot/non-content/daily/20240101/20240103", "net_bytes_diff"),
        ("bytes-difference/net/per-page/en.wikipedia/Earth/all-editor-types/daily/20240101/20240103", "net_bytes_diff"),
        ("bytes-difference/absolute/aggregate/en.wikipedia/group-bot/content/daily/20240101/20240103", "abs_bytes_diff"),
        ("bytes-difference/absolute/per-page/en.wikipedia/Earth/anonymous/daily/20240101/20240103", "abs_bytes_diff"),
    ];
    for (path, metric) in series {
        let reply = get(&format!("{AQS}/{path}"));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let body = reply.json();
        let item = &body["items"][0];
        assert_eq!(item["project"], "en.wikipedia", "{path}");
        assert_eq!(item["granularity"], "daily", "{path}");
        let results = item["results"].as_array().unwrap();
        assert_eq!(results.len(), 3, "{path}");
        assert_eq!(results[0]["timestamp"], "2024-01-01T00:00:00.000Z");
        assert!(results[0][metric].is_i64(), "{path}: {}", results[0]);
        assert_eq!(
            get(&format!("{AQS}/{path}")).body,
            reply.body,
            "{path}: deterministic"
        );
    }
    let item = get(&format!(
        "{AQS}/edits/per-page/en.wikipedia/Earth/user/daily/20240101/20240103"
    ))
    .json()["items"][0]
        .clone();
    assert_eq!(
        (item["page-title"].as_str(), item["editor-type"].as_str()),
        (Some("Earth"), Some("user"))
    );

    let tops = [
        (
            "edited-pages/top-by-edits/en.wikipedia/all-editor-types/content/2024/01/all-days",
            "page_title",
            "edits",
            "monthly",
        ),
        (
            "edited-pages/top-by-net-bytes-difference/en.wikipedia/user/content/2024/01/15",
            "page_title",
            "net_bytes_diff",
            "daily",
        ),
        (
            "edited-pages/top-by-absolute-bytes-difference/en.wikipedia/user/content/2024/01/15",
            "page_title",
            "abs_bytes_diff",
            "daily",
        ),
        (
            "editors/top-by-edits/en.wikipedia/user/content/2024/01/15",
            "user_text",
            "edits",
            "daily",
        ),
        (
            "editors/top-by-net-bytes-difference/en.wikipedia/user/content/2024/01/15",
            "user_text",
            "net_bytes_diff",
            "daily",
        ),
        (
            "editors/top-by-absolute-bytes-difference/en.wikipedia/user/content/2024/01/all-days",
            "user_text",
            "abs_bytes_diff",
            "monthly",
        ),
    ];
    for (path, subject, metric, granularity) in tops {
        let reply = get(&format!("{AQS}/{path}"));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let body = reply.json();
        let item = &body["items"][0];
        assert_eq!(item["granularity"], granularity, "{path}");
        let top = item["results"][0]["top"].as_array().unwrap();
        assert!(
            top[0][subject].is_string() && top[0][metric].is_u64(),
            "{path}: {}",
            top[0]
        );
        assert_eq!(top[0]["rank"], 1);
        assert!(
            top[0][metric].as_u64() >= top[1][metric].as_u64(),
            "{path}: ranked"
        );
        assert_eq!(
            get(&format!("{AQS}/{path}")).body,
            reply.body,
            "{path}: deterministic"
        );
    }

    let top = get(&format!(
        "{AQS}/pageviews/top/en.wikipedia/all-access/2024/01/all-days"
    ))
    .json();
    let articles = top["items"][0]["articles"].as_array().unwrap();
    assert_eq!(
        (
            articles[0]["rank"].as_u64(),
            articles[0]["article"].as_str()
        ),
        (Some(1), Some("Main_Page"))
    );
    let countries = get(&format!(
        "{AQS}/pageviews/top-by-country/en.wikipedia/mobile-web/2024/01"
    ))
    .json();
    let first = &countries["items"][0]["countries"][0];
    let ceil = first["views_ceil"].as_u64().unwrap();
    assert_eq!(first["views"], format!("{}-{}", ceil / 10, ceil - 1));
    let files = get(&format!(
        "{AQS}/mediarequests/top/commons.wikimedia/all-media-types/2024/01/15"
    ))
    .json();
    assert!(files["items"][0]["files"][0]["file_path"].is_string());
    let editors = get(&format!(
        "{AQS}/editors/by-country/en.wikipedia/100..-edits/2024/01"
    ))
    .json();
    assert!(editors["items"][0]["countries"][0]["editors-ceil"].is_u64());

    for bad in [
        "pageviews/aggregate/en.wikipedia/all-access/user/weekly/20240101/20240102",
        "pageviews/top/en.wikipedia/everywhere/2024/01/01",
        "pageviews/top/en.wikipedia/all-access/2024/13/01",
        "pageviews/top-by-country/en.wikipedia/all-access/2024/1",
        "unique-devices/en.wikipedia/all-sites/hourly/20240101/20240102",
        "legacy/pagecounts/aggregate/en.wikipedia/all-access/daily/20150101/20150102",
        "mediarequests/aggregate/all-referers/picture/user/daily/20240101/20240102",
        "mediarequests/per-file/en.wikipedia/automated/File.jpg/daily/20240101/20240102",
        "edited-pages/new/en.wikipedia/robot/content/daily/20240101/20240102",
        "editors/aggregate/en.wikipedia/user/content/1000..-edits/daily/20240101/20240102",
        "edits/per-page/en.wikipedia/Earth/user/daily/20200101/20240102",
        "registered-users/new/en.wikipedia/daily/20240102/20240101",
        "editors/by-country/en.wikipedia/1..4-edits/2024/01",
        "editors/by-country/all-wikipedia-projects/5..99-edits/2024/01",
        "editors/top-by-edits/en.wikipedia/user/content/2024/02/30",
    ] {
        let reply = get(&format!("{AQS}/{bad}"));
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert!(
            reply
                .header("content-type")
                .starts_with("application/problem+json"),
            "{bad}"
        );
    }
    for missing in [
        "pageviews/aggregate/missing.wikipedia/all-access/user/daily/20240101/20240102",
        "edits/aggregate/missing.wikipedia/all-editor-types/all-page-types/daily/20240101/20240103",
        "mediarequests/top/missing.wikipedia/image/2024/01/15",
    ] {
        let reply = get(&format!("{AQS}/{missing}"));
        assert_eq!(reply.status, 404, "{missing}: {}", reply.body);
        assert_eq!(
            reply.json()["type"],
            "https://mediawiki.org/wiki/HyperSwitch/errors/not_found"
        );
    }
}
