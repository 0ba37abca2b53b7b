//! What the filter's own logic costs per request, without Envoy: routing, validation, the start
//! of the stored flow, the policy headers and a problem reply, for the benchmark's requests.
//! Prints figures, asserts nothing about time (BENCHMARKS.md, "Where the time goes"). Run it
//! compiled to wasm under Node's V8 to see it as Envoy's V8 runs it:
//!   cargo test --release --target wasm32-wasip1 --lib logic_cost -- --ignored --nocapture

use crate::client::Class;
use crate::flow::{FlowInput, StoredFlow};
use crate::pages::{check_title, TitleCheck, TitleRequest};
use crate::router::{route, Target};
use crate::spec::{model::CspProfile, Api};
use std::collections::HashMap;
use std::time::Instant;

const HIT: &str = "/en.wikipedia.org/v1/page/html/Earth";
const NOT_FOUND: &str = "/en.wikipedia.org/v1/no/such/route";
const INVALID: &str = "/en.wikipedia.org/v1/page/html/Earth/abc";

fn per_call(name: &str, mut f: impl FnMut()) {
    const N: u32 = 50_000;
    for _ in 0..N / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..N {
        f();
    }
    println!("{name:32} {:6.2} µs", t.elapsed().as_secs_f64() * 1e6 / f64::from(N));
}

#[test]
#[ignore = "a benchmark: prints figures"]
fn logic_cost_per_request() {
    let spec: serde_json::Value = serde_norway::from_str(include_str!("../spec/wikimedia.yaml")).expect("shipped spec");
    let api = Api::compile(&spec).expect("shipped spec compiles");
    let external = || Class::External;
    let no_headers = HashMap::new();
    per_call("hit: route + validate + flow", || {
        let Ok(Target::Op(m)) = route(&api, "GET", HIT, "", external) else { panic!("{HIT} routes") };
        m.validate(&no_headers, None, None).expect("valid");
        let input = FlowInput {
            op: m.op,
            domain: m.domain,
            params: m.params,
            method: "GET".into(),
            uri: HIT.into(),
            rerender: false,
            bypass_storage: false,
            wanted_profile: None,
            resolved_revision: None,
            storage_cluster: "storage".into(),
            storage_timeout_ms: 1000,
            backend_timeout_ms: 1000,
        };
        let _ = StoredFlow::new(input).start();
    });
    // Page semantics on the same hit: title normalization with the worker's parsed siteinfo,
    // content-location, the page_revisions callout and its answer (storage's row for a title).
    let site = crate::siteinfo::SiteInfo::from_json(crate::pages::tests::EN).expect("siteinfo fixture");
    let Ok(Target::Op(m)) = route(&api, "GET", HIT, "", external) else { panic!("{HIT} routes") };
    per_call("hit: title normalization", || {
        let req = TitleRequest { method: "GET", no_cache: false, cross_origin: false, template: &m.op.template, param: "title", params: &m.params, query: "" };
        assert_eq!(check_title(&site, "Earth", &req), TitleCheck::AsIs);
    });
    per_call("hit: content-location", || {
        let _ = crate::pages::content_location("en.wikipedia.org", HIT);
    });
    per_call("hit: page_revisions callout", || {
        let _ = crate::pages::revision_callout("storage", "en.wikipedia.org", "Earth", None, false, 1000).all_headers().len();
    });
    let row = br#"{"items":[{"title":"Earth","page_id":9228,"rev":1273431230,"tid":"5a5d5c3e-cf4b-11ef-8000-000000000000","namespace":0,"user_id":1,"user_text":"Example","timestamp":"2025-01-01T00:00:00Z","comment":"","tags":[],"restrictions":[],"page_language":"en","redirect":false}]}"#;
    per_call("hit: page_revisions answer parse", || {
        assert!(crate::pages::RevisionRow::from_json(row).is_some());
    });
    per_call("hit: policy headers", || {
        let _ = crate::policy::security("text/html; charset=utf-8", CspProfile::Auto, "en.wikipedia.org");
    });
    per_call("404: route + problem reply", || {
        let Err(p) = route(&api, "GET", NOT_FOUND, "", external) else { panic!("{NOT_FOUND} is unknown") };
        let _ = crate::reply::Reply::problem(&p, "GET", NOT_FOUND, "en.wikipedia.org");
    });
    per_call("400: route + validate + reply", || {
        let Ok(Target::Op(m)) = route(&api, "GET", INVALID, "", external) else { panic!("{INVALID} routes") };
        let p = m.validate(&no_headers, None, None).expect_err("invalid revision");
        let _ = crate::reply::Reply::problem(&p, "GET", INVALID, "en.wikipedia.org");
    });
}
