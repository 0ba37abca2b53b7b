//! The cxserver (Content Translation) stand-in: machine translation, dictionaries, the tool
//! lists and segmented pages, at cxserver's v1 paths with its answers and content types.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{get, post, Reply};
use serde_json::json;

const JSON: &str = "application/json; charset=utf-8";

fn assert_json(reply: &Reply, what: &str) -> serde_json::Value {
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    assert_eq!(reply.header("content-type"), JSON, "{what}");
    reply.json()
}

#[test]
fn machine_translation_with_the_default_or_a_named_provider() {
    let form = "application/x-www-form-urlencoded";
    let reply = post("/v1/mt/en/es", form, "html=%3Cp%3EHello%3C%2Fp%3E");
    assert_eq!(
        assert_json(&reply, "default")["contents"],
        "<div lang=\"es\" data-mt=\"Apertium\"><p>HELLO</p></div>"
    );
    let reply = post(
        "/v1/mt/en/zh/Youdao",
        "application/json",
        r#"{"html":"<p>Hi</p>"}"#,
    );
    assert_eq!(
        assert_json(&reply, "named")["contents"],
        "<div lang=\"zh\" data-mt=\"Youdao\"><p>HI</p></div>"
    );
    let multipart =
        "--b1\r\nContent-Disposition: form-data; name=\"html\"\r\n\r\n<p>x</p>\r\n--b1--\r\n";
    let reply = post(
        "/v1/mt/fr/ca/Yandex",
        "multipart/form-data; boundary=b1",
        multipart,
    );
    assert_eq!(
        assert_json(&reply, "multipart")["contents"],
        "<div lang=\"ca\" data-mt=\"Yandex\"><p>X</p></div>"
    );
    // A provider the pair lacks, an unknown language, nothing to translate.
    assert_eq!(post("/v1/mt/de/ru/Apertium", form, "html=x").status, 404);
    assert_eq!(post("/v1/mt/en/xx", form, "html=x").status, 400);
    assert_eq!(post("/v1/mt/en/es", form, "html=").status, 400);
}

#[test]
fn dictionary_lookups() {
    let reply = get("/v1/dictionary/house/en/es");
    let body = assert_json(&reply, "default");
    assert_eq!(body["source"], "house");
    assert_eq!(body["translations"][0]["sources"], "JsonDict");
    let body = assert_json(&get("/v1/dictionary/house/en/de/Dictd"), "named");
    assert_eq!(body["translations"][0]["phrase"], "house (de)");
    assert_eq!(get("/v1/dictionary/house/en/de/JsonDict").status, 404);
    assert_eq!(get("/v1/dictionary/house/ja/ru").status, 404);
}

#[test]
fn tool_lists() {
    assert_eq!(
        assert_json(&get("/v1/list/pair/en/es"), "pair"),
        json!({"mt": ["Apertium", "Yandex"], "dictionary": ["JsonDict"], "default": {"mt": "Apertium", "dictionary": "JsonDict"}})
    );
    assert_eq!(get("/v1/list/pair/en/xx").status, 400);
    let mt = assert_json(&get("/v1/list/mt"), "mt");
    assert_eq!(mt["Apertium"]["en"], json!(["ca", "es", "fr", "it", "pt"]));
    assert_eq!(mt["Youdao"]["zh"].as_array().unwrap().len(), 10);
    let dictionary = assert_json(&get("/v1/list/dictionary"), "dictionary");
    assert_eq!(dictionary["Dictd"], json!({"en": ["de", "fr"]}));
    assert_eq!(get("/v1/list/nothing").status, 404);
    assert_eq!(
        assert_json(&get("/v1/list/mt/ja/zh"), "tool pair"),
        json!({"mt": ["Youdao", "Yandex"], "default": {"mt": "Youdao"}})
    );
    let pairs = assert_json(&get("/v1/list/languagepairs"), "languagepairs");
    assert!(pairs["source"].as_array().unwrap().contains(&json!("en")));
    assert_eq!(pairs["source"], pairs["target"]);
}

#[test]
fn segmented_pages() {
    let latest = assert_json(&get("/v1/page/en.wikipedia.org/Foo_bar"), "latest");
    assert_eq!(latest["sourceLanguage"], "en");
    assert_eq!(latest["title"], "Foo_bar");
    assert!(latest["revision"].as_u64().unwrap() > 0);
    let content = latest["segmentedContent"].as_str().unwrap();
    assert!(
        content.starts_with("<section rel=\"cx:Section\" id=\"cxSourceSection1\">"),
        "{content}"
    );
    let old = assert_json(&get("/v1/page/en.wikipedia.org/Foo_bar/42"), "revision");
    assert_eq!(old["revision"], 42);
    assert_eq!(get("/v1/page/en.wikipedia.org/Missing_page").status, 404);
    assert_eq!(get("/v1/page/xx.wikipedia.org/Foo").status, 400);
}

#[test]
fn requests_are_counted_as_cxserver() {
    let metrics = get("/metrics").body;
    assert!(
        metrics.contains("devbackend_requests_total{service=\"cxserver\"}"),
        "{metrics}"
    );
}
