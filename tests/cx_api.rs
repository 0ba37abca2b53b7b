//! Content Translation (cxserver) operations through Envoy, on the development back-end's
//! cxserver: machine translation, dictionary look-ups and tool lists on wikimedia.org, segmented
//! pages on the Wikipedias; their parameters validated before cxserver is asked.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{DevBackend, Stack};

const JSON: &str = "application/json; charset=utf-8";
const FORM: &str = "application/x-www-form-urlencoded";

fn stack(dev: &DevBackend) -> Stack {
    Stack::with(&[("cxserver", dev.addr()), ("mwapi", dev.addr())])
}

#[test]
fn every_operation_answers_with_its_status_and_content_type() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let gets = [
        "/wikimedia.org/v1/transform/word/from/en/to/es/house",
        "/wikimedia.org/v1/transform/word/from/en/to/de/house/Dictd",
        "/wikimedia.org/v1/transform/list/pair/en/es/",
        "/wikimedia.org/v1/transform/list/tool/mt",
        "/wikimedia.org/v1/transform/list/tool/dictionary/en/es",
        "/wikimedia.org/v1/transform/list/languagepairs/",
        "/en.wikipedia.org/v1/page/segments/Foo_bar",
        "/en.wikipedia.org/v1/page/segments/Foo_bar/42",
    ];
    for path in gets {
        let r = s.envoy.get(path);
        assert_eq!(r.status, 200, "{path}: {r}");
        assert_eq!(r.header("content-type"), Some(JSON), "{path}");
    }
    let posts = [
        ("/wikimedia.org/v1/transform/html/from/en/to/es", "<div lang=\"es\" data-mt=\"Apertium\"><p>HELLO</p></div>"),
        ("/wikimedia.org/v1/transform/html/from/en/to/zh/Youdao", "<div lang=\"zh\" data-mt=\"Youdao\"><p>HELLO</p></div>"),
    ];
    for (path, contents) in posts {
        let r = s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"html=%3Cp%3EHello%3C%2Fp%3E"));
        assert_eq!(r.status, 200, "{path}: {r}");
        assert_eq!(r.header("content-type"), Some(JSON), "{path}");
        assert_eq!(r.json()["contents"], contents, "{path}");
    }
    // The public URL form, the domain from the host.
    let r = s.envoy.get_with("/api/rest_v1/transform/list/languagepairs/", &[("host", "wikimedia.org")]);
    assert_eq!((r.status, r.header("content-type")), (200, Some(JSON)), "{r}");
    // What the answers are made of, as cxserver said it.
    let tools = s.envoy.get("/wikimedia.org/v1/transform/list/pair/en/es/").json();
    assert_eq!(tools["default"]["mt"], "Apertium");
    let segments = s.envoy.get("/en.wikipedia.org/v1/page/segments/Foo_bar/42").json();
    assert_eq!((segments["sourceLanguage"].as_str(), segments["revision"].as_u64()), (Some("en"), Some(42)));
    // A JSON body is as good as a form.
    let r = s.envoy.send("POST", "/wikimedia.org/v1/transform/html/from/en/to/es/Apertium", &[("content-type", "application/json")], Some(br#"{"html":"<b>x</b>"}"#));
    assert_eq!((r.status, r.json()["contents"].as_str().map(str::to_string)), (200, Some("<div lang=\"es\" data-mt=\"Apertium\"><b>X</b></div>".into())), "{r}");
    // cxserver's own refusals (plain text) arrive as problems: a provider the pair lacks, a
    // language it does not know.
    let path = "/wikimedia.org/v1/transform/html/from/de/to/ru/Apertium";
    let r = s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"html=x"));
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/problem+json")), "{r}");
    let r = s.envoy.get("/wikimedia.org/v1/transform/list/pair/en/xx/");
    assert_eq!((r.status, r.header("content-type")), (400, Some("application/problem+json")), "{r}");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn out_of_enum_values_and_bad_input_never_reach_cxserver() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    for path in [
        "/wikimedia.org/v1/transform/word/from/en/to/es/house/Wiktionary",
        "/wikimedia.org/v1/transform/list/tool/thesaurus",
        "/wikimedia.org/v1/transform/list/tool/spelling/en/es",
        "/en.wikipedia.org/v1/page/segments/Foo_bar/latest",
    ] {
        s.envoy.get(path).assert_problem(400, "bad_request", "GET", path);
    }
    let path = "/wikimedia.org/v1/transform/html/from/en/to/es/Google";
    s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"html=x")).assert_problem(400, "bad_request", "POST", path);
    // The HTML to translate is required.
    let path = "/wikimedia.org/v1/transform/html/from/en/to/es";
    s.envoy.send("POST", path, &[("content-type", FORM)], Some(b"other=x")).assert_problem(400, "bad_request", "POST", path);
    // cxserver was asked nothing.
    let cx_requests = support::client::get(&format!("http://{}/metrics", dev.addr())).text();
    assert!(cx_requests.contains("devbackend_requests_total{service=\"cxserver\"} 0\n"), "{cx_requests}");
}

#[test]
fn operations_are_mounted_where_restbase_had_them() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    // The global transforms belong to wikimedia.org, segments to the Wikipedias.
    assert_eq!(s.envoy.get("/en.wikipedia.org/v1/transform/list/languagepairs/").status, 404);
    assert_eq!(s.envoy.get("/wikimedia.org/v1/page/segments/Foo_bar").status, 404);
}

#[test]
fn the_wikis_translate_into_their_own_language() {
    // RESTBase's transform-lang.js: the target is the wiki's content language (siteinfo's
    // `general.lang`, which the development action API derives from the domain).
    let dev = DevBackend::start();
    let s = stack(&dev);
    let html = b"html=%3Cp%3EHello%3C%2Fp%3E";
    let cases = [
        ("/es.wikipedia.org/v1/transform/html/from/en", "<div lang=\"es\" data-mt=\"Apertium\"><p>HELLO</p></div>"),
        ("/de.wikipedia.org/v1/transform/html/from/en/Yandex", "<div lang=\"de\" data-mt=\"Yandex\"><p>HELLO</p></div>"),
        // The default project too.
        ("/fr.wikibooks.org/v1/transform/html/from/en", "<div lang=\"fr\" data-mt=\"Apertium\"><p>HELLO</p></div>"),
    ];
    for (path, contents) in cases {
        let r = s.envoy.send("POST", path, &[("content-type", FORM)], Some(html));
        assert_eq!((r.status, r.header("content-type")), (200, Some(JSON)), "{path}: {r}");
        assert_eq!(r.json()["contents"], contents, "{path}");
    }
    let r = s.envoy.get("/de.wikipedia.org/v1/transform/word/from/en/house");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!((r.json()["translations"][0]["info"].as_str(), r.json()["translations"][0]["sources"].as_str()), (Some("en > de"), Some("Dictd")));
    let r = s.envoy.get("/es.wikipedia.org/v1/transform/word/from/en/house/JsonDict");
    assert_eq!(r.json()["translations"][0]["phrase"], "house (es)", "{r}");
    // A provider the wiki's pair lacks is cxserver's 404; one the spec does not know never
    // reaches it; the forms without a target are the wikis', not wikimedia.org's.
    let path = "/de.wikipedia.org/v1/transform/html/from/en/Youdao";
    let r = s.envoy.send("POST", path, &[("content-type", FORM)], Some(html));
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/problem+json")), "{r}");
    let path = "/de.wikipedia.org/v1/transform/word/from/en/house/Wiktionary";
    s.envoy.get(path).assert_problem(400, "bad_request", "GET", path);
    assert_eq!(s.envoy.get("/wikimedia.org/v1/transform/word/from/en/house").status, 404);
    s.envoy.assert_no_vm_trouble();
}
