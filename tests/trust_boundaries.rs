//! Trust boundaries that hold even when the filter does not run (SECURITY.md, "Routing and
//! storage"): a client's `x-restrouter-cluster` never selects the storage route or a back-end
//! route, and nothing writes storage through Envoy, with the filter working, missing from the
//! chain, or configured wrong (no spec, a spec that does not compile). The requests are an
//! attacker's: forged routing headers with reads and writes of a stored key and of a back-end
//! path.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::envoy::with_filter_configuration;
use support::{Envoy, Reply, Response, Storage, Upstream, EXTERNAL};

const DOMAIN: &str = "en.wikipedia.org";
/// Storage's own path of the stored page (what the filter reads through the storage route).
const KEY_PATH: &str = "/en.wikipedia.org/v1/key_value/parsoidphp/Earth";
/// Parsoid's path of the page (what the filter's pass-through would forward).
const PARSOID_PATH: &str = "/en.wikipedia.org/v3/page/html/Earth";
const HTML: &str = "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";
const STORED: &str = "<p>stored Earth</p>";
const UPSTREAM: &str = "<p>from the back-end</p>";

/// Storage holding one page, and one back-end for every back-end cluster that answers anything.
struct Services {
    storage: Storage,
    backend: Upstream,
    mwapi: Upstream,
}

impl Services {
    fn start() -> Services {
        let storage = Storage::start();
        assert_eq!(storage.put(DOMAIN, "parsoidphp", "Earth", HTML, "\"7/seeded\"", STORED).status, 201);
        let backend = Upstream::start();
        backend.on_any(Reply::html(UPSTREAM));
        Services { storage, backend, mwapi: support::siteinfo_upstream() }
    }

    fn addresses(&self) -> Vec<(&'static str, String)> {
        let mut sets = vec![("storage", self.storage.addr()), ("mwapi", self.mwapi.addr()), ("xff_trusted_hops", "1".to_string())];
        for cluster in ["parsoid", "mobileapps", "wikifeeds", "aqs", "cxserver"] {
            sets.push((cluster, self.backend.addr()));
        }
        sets
    }

    /// Storage still holds exactly the seeded page, and no back-end was asked anything.
    fn assert_untouched(&self, case: &str) {
        let r = self.storage.get(DOMAIN, "parsoidphp", "Earth");
        assert_eq!((r.status, r.text()), (200, STORED.to_string()), "{case}: storage was written");
        assert_eq!(self.backend.total(), 0, "{case}: a forged request reached a back-end: {:?}", self.backend.requests().first().map(|r| r.path.clone()));
    }
}

type Headers = Vec<(&'static str, &'static str)>;

/// The forged requests: the attack's curl examples and their variants (method, path, headers).
fn forged() -> Vec<(&'static str, &'static str, Headers)> {
    let storage = ("x-restrouter-cluster", "storage");
    let html = ("content-type", "text/html");
    let mut requests = vec![
        ("PUT", KEY_PATH, vec![storage, html, ("x-store-content-type", "text/html"), ("x-store-etag", "\"1/defaced\"")]),
        ("POST", KEY_PATH, vec![storage, html]),
        ("DELETE", KEY_PATH, vec![storage]),
        ("GET", KEY_PATH, vec![storage]),
        ("HEAD", KEY_PATH, vec![storage]),
        ("GET", PARSOID_PATH, vec![("x-restrouter-cluster", "parsoid")]),
        ("PUT", PARSOID_PATH, vec![("x-restrouter-cluster", "parsoid"), html]),
    ];
    for cluster in ["mobileapps", "wikifeeds", "aqs", "cxserver"] {
        requests.push(("GET", "/en.wikipedia.org/v1/internal/anything", vec![("x-restrouter-cluster", cluster)]));
    }
    requests
}

fn send_forged(envoy: &Envoy, external: bool) -> Vec<(String, Response)> {
    forged()
        .into_iter()
        .map(|(method, path, mut headers)| {
            if external {
                headers.push(EXTERNAL);
            }
            let body = (method == "PUT" || method == "POST").then_some(b"<p>defaced</p>".as_slice());
            (format!("{method} {path} {headers:?}"), envoy.send(method, path, &headers, body))
        })
        .collect()
}

/// Every forged request got an error problem (HEAD: the status only), never upstream content.
fn assert_problems(case: &str, answers: &[(String, Response)]) {
    for (request, r) in answers {
        assert!(r.status >= 400, "{case}: {request} got {r}");
        let text = r.text();
        assert!(!text.contains(STORED) && !text.contains(UPSTREAM), "{case}: {request} got upstream content: {r}");
        if !request.starts_with("HEAD") {
            assert_eq!(r.header("content-type"), Some("application/problem+json"), "{case}: {request}: {r}");
            let problem = r.json();
            assert!(problem["type"].as_str().is_some_and(|t| t.starts_with(support::client::PROBLEM_PREFIX)), "{case}: {request}: {r}");
        }
    }
}

#[test]
fn forged_routing_headers_reach_neither_storage_nor_a_backend_with_the_filter_running() {
    let s = Services::start();
    let envoy = Envoy::builder().defaults(&s.addresses()).start();
    for external in [true, false] {
        assert_problems("filter running", &send_forged(&envoy, external));
    }
    s.assert_untouched("filter running");

    // The filter's own routing still works: a stored read through the storage route, and a
    // pass-through to the back-end.
    let r = envoy.get("/en.wikipedia.org/v1/page/html/Earth");
    assert_eq!((r.status, r.text()), (200, STORED.to_string()), "{r}");
    let r = envoy.get("/en.wikipedia.org/v1/feed/onthisday/births/01/15");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(s.backend.count("/en.wikipedia.org/v1/feed/onthisday/births/01/15"), 1);
    assert!(s.backend.requests().iter().all(|r| r.header("x-restrouter-cluster").is_none()));
}

#[test]
fn without_the_filter_nothing_is_proxied_and_nothing_written() {
    let s = Services::start();
    let envoy = Envoy::builder().defaults(&s.addresses()).set("filter", "off").start();
    assert!(!envoy.config().contains("envoy.filters.http.wasm"), "filter=off still renders the filter");
    let mut answers = send_forged(&envoy, true);
    // Without the filter every public path is unrouted too.
    for path in ["/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v1/feed/onthisday/births/01/15", "/"] {
        answers.push((format!("GET {path}"), envoy.get_with(path, &[EXTERNAL, ("x-restrouter-cluster", "storage")])));
    }
    assert_problems("no filter", &answers);
    for (request, r) in &answers {
        if !request.starts_with("HEAD") {
            assert_eq!(r.status, 404, "no filter: {request}: {r}");
            assert_eq!(r.json()["type"], json!("https://mediawiki.org/wiki/HyperSwitch/errors/not_found#route"));
        }
    }
    s.assert_untouched("no filter");
}

#[test]
fn a_misconfigured_filter_lets_no_forged_request_through() {
    let settings = json!({"storage_cluster": "storage", "event_cluster": ""});
    let cases = [
        ("no spec", json!({ "settings": settings })),
        ("a spec that does not compile", json!({ "spec": {"openapi": "3.0.0", "paths": {"/{domain}/v1/x": {"get": {"x-restrouter": {"no_such_field": 1}}}}}, "settings": settings })),
    ];
    for (case, config) in cases {
        let s = Services::start();
        match Envoy::builder().defaults(&s.addresses()).edit_config(with_filter_configuration(config)).try_start() {
            // Refused at load: nothing is served at all.
            Err(log) => {
                assert!(!log.is_empty(), "{case}: Envoy exited without a word");
                eprintln!("{case}: Envoy refused the configuration");
            }
            Ok(envoy) => {
                let mut answers = send_forged(&envoy, true);
                answers.push(("GET page".into(), envoy.get_with("/en.wikipedia.org/v1/page/html/Earth", &[EXTERNAL, ("x-restrouter-cluster", "storage")])));
                assert_problems(case, &answers);
                eprintln!("{case}: Envoy serves, with problems only");
            }
        }
        s.assert_untouched(case);
    }
}

#[test]
fn rollout_without_the_filter_sends_forged_requests_to_legacy_only() {
    let s = Services::start();
    let legacy = Upstream::start();
    legacy.on_any(Reply::html("<p>legacy</p>"));
    let envoy = Envoy::builder().template("envoy/rollout.yaml.j2").defaults(&s.addresses()).sets(&[("filter", "off"), ("legacy", &legacy.addr()), ("rollout", "page-html=100")]).start();
    for (request, r) in send_forged(&envoy, true) {
        // Restrouter's share gets the not-found problem, the rest goes to RESTBase.
        assert!(r.status == 404 || (r.status == 200 && (request.starts_with("HEAD") || r.text() == "<p>legacy</p>")), "{request}: {r}");
    }
    s.assert_untouched("rollout without the filter");
    assert!(legacy.total() > 0);
    assert!(legacy.requests().iter().all(|r| r.header("x-restrouter-cluster").is_none()), "legacy got a client's routing header");
}
