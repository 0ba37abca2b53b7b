//! Every operation of RESTBase's 2020 public API, per project (tests/fixtures/
//! restbase-2020-operations.tsv), requested through Envoy on one wiki of the project with every
//! service real (the development back-ends, the storage service): none is a route 404 or a 405,
//! none fails (5xx), and each answer has the content type the served spec declares for it (a
//! problem+json for an error). Operations a project did not mount stay unrouted there, so the
//! project split is RESTBase's.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::api_table::{operations, Operation, PROJECT_WIKIS};
use support::{DevBackend, Response, Stack};

/// Operations whose example request is rightly refused by the service behind them, with the
/// status it gets (the operation is routed, validated and forwarded all the same): project,
/// method, template, status.
const REFUSED: &[(&str, &str, &str, u16)] = &[
    // cxserver segments pages of a language's wiki; www.wikidata.org names none (as in
    // production, where RESTBase mounted the route there all the same).
    ("wikidata", "GET", "/page/segments/{title}", 400),
    ("wikidata", "GET", "/page/segments/{title}/{revision}", 400),
    // data-parsoid answers only the render a tid names (RESTBase's 404 otherwise): the example's
    // all-zero tid is no render's. The served path is in tests/parsoid_api.rs.
    ("wikipedia", "GET", "/page/data-parsoid/{title}/{revision}/{tid}", 404),
    ("wikivoyage", "GET", "/page/data-parsoid/{title}/{revision}/{tid}", 404),
    ("wiktionary", "GET", "/page/data-parsoid/{title}/{revision}/{tid}", 404),
    ("wikidata", "GET", "/page/data-parsoid/{title}/{revision}/{tid}", 404),
    ("default", "GET", "/page/data-parsoid/{title}/{revision}/{tid}", 404),
];

/// `{name}` → `{}`: RESTBase's and restrouter's parameter names may differ.
fn shape(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// A body such an operation takes, with its content type.
fn body_for(op: &Operation) -> Option<(&'static str, Vec<u8>)> {
    const FORM: &str = "application/x-www-form-urlencoded";
    let t = op.template.as_str();
    let form = |s: &str| Some((FORM, s.as_bytes().to_vec()));
    match op.method.as_str() {
        "GET" | "DELETE" => None,
        _ if t.starts_with("/transform/wikitext/") => form("wikitext=Hello%20%27%27world%27%27"),
        _ if t.starts_with("/transform/html/") => form("html=%3Cp%3EHello%3C%2Fp%3E"),
        _ if t.starts_with("/media/math/check/") => form("q=E%3Dmc%5E2"),
        _ if t.starts_with("/page/wikitext/") => form("wikitext=Hello&csrf_token=%2B%5C"),
        _ if t.starts_with("/page/html/") => form("html=%3Cp%3EHello%3C%2Fp%3E&csrf_token=%2B%5C"),
        _ if t.starts_with("/data/lists/") => Some(("application/json", br#"{"name":"Saved","description":"","project":"https://en.wikipedia.org","title":"Earth","batch":[]}"#.to_vec())),
        _ => None,
    }
}

/// The content types the served spec declares for an operation's answer with this status.
fn declared(spec: &Value, op: &Operation, status: u16) -> Option<BTreeSet<String>> {
    let wanted = shape(&op.template);
    let (_, item) = spec["paths"].as_object()?.iter().find(|(path, _)| shape(path) == wanted)?;
    let responses = item[op.method.to_ascii_lowercase()]["responses"].as_object()?;
    let mut response = responses.get(&status.to_string()).or_else(|| responses.get("default"))?;
    // `#/components/responses/…`
    if let Some(at) = response["$ref"].as_str() {
        response = spec.pointer(at.strip_prefix('#')?)?;
    }
    Some(response["content"].as_object().map(|c| c.keys().cloned().collect()).unwrap_or_default())
}

/// A reading-list call MediaWiki refused (its REST error, `errorKey`, passed on): the table's
/// examples name lists and entries a fresh session does not have, and a session that is not set
/// up. The call was routed, validated and sent as the client all the same; tests/writes_api.rs
/// runs a whole reading-list session.
fn refused_by_mediawiki(op: &Operation, r: &Response) -> bool {
    op.template.starts_with("/data/lists/") && (400..500).contains(&r.status) && r.text().contains("errorKey")
}

fn media_type(r: &Response) -> String {
    r.header("content-type").unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn problem_type(r: &Response) -> String {
    serde_json::from_slice::<Value>(&r.body).ok().and_then(|v| v["type"].as_str().map(str::to_string)).unwrap_or_default()
}

fn request(s: &Stack, op: &Operation, domain: &str) -> Response {
    let mut path = format!("/{domain}/v1{}", op.example);
    // Reading-list writes carry the CSRF token in the query, as RESTBase's spec has it.
    if op.template.starts_with("/data/lists/") && op.method != "GET" && op.method != "DELETE" {
        path.push_str("?csrf_token=%2B%5C");
    }
    match body_for(op) {
        Some((content_type, body)) => s.envoy.send(&op.method, &path, &[("content-type", content_type)], Some(&body)),
        None => s.envoy.send(&op.method, &path, &[], None),
    }
}

#[test]
fn every_operation_of_every_project_is_served_with_its_content_type() {
    let dev = DevBackend::start();
    let s = Stack::on_devbackend(&dev);
    let ops = operations();
    assert_eq!(ops.len(), 342, "the table's operations, counted per project");
    let specs: BTreeMap<&str, Value> = PROJECT_WIKIS.iter().map(|(p, d)| (*p, s.envoy.get(&format!("/{d}/v1/?spec")).json())).collect();
    let mut failures = Vec::new();
    for op in &ops {
        let domain = op.wiki();
        let r = request(&s, op, domain);
        let what = format!("{} {} /{domain}/v1{} ({})", op.project, op.method, op.example, op.template);
        let kind = problem_type(&r);
        let refused = REFUSED.iter().find(|(p, m, t, _)| *p == op.project && *m == op.method && *t == op.template).map(|(.., status)| *status);
        if kind.ends_with("#route") || r.status == 405 {
            failures.push(format!("{what}: not served ({} {kind})", r.status));
        } else if r.status >= 400 && refused != Some(r.status) && !refused_by_mediawiki(op, &r) {
            failures.push(format!("{what}: {} {kind} {}", r.status, r.text().chars().take(300).collect::<String>()));
        } else if r.status < 400 && refused.is_some() {
            failures.push(format!("{what}: {} where {refused:?} was expected", r.status));
        } else if op.template == "/page/" {
            // A listing, not an operation of its own.
            let items = r.json()["items"].as_array().map(Vec::len).unwrap_or_default();
            if media_type(&r) != "application/json" || items == 0 {
                failures.push(format!("{what}: not a listing: {r}"));
            }
        } else {
            let got = media_type(&r);
            match declared(&specs[op.project.as_str()], op, r.status) {
                None => failures.push(format!("{what}: not in the served ?spec")),
                Some(types) if r.status >= 300 && r.status < 400 && r.body.is_empty() => drop(types),
                Some(types) if !types.contains(&got) => failures.push(format!("{what}: content-type {got:?}, the spec declares {types:?}")),
                Some(_) => {}
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} operations:\n{}", failures.len(), ops.len(), failures.join("\n"));
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn operations_a_project_did_not_mount_are_not_routed_there() {
    let dev = DevBackend::start();
    let s = Stack::on_devbackend(&dev);
    let ops = operations();
    let mut failures = Vec::new();
    for (project, domain) in PROJECT_WIKIS {
        let mounted: BTreeSet<(String, String)> = ops.iter().filter(|o| o.project == *project).map(|o| (o.method.clone(), shape(&o.template))).collect();
        let mut tried = BTreeSet::new();
        for op in ops.iter().filter(|o| !mounted.contains(&(o.method.clone(), shape(&o.template)))) {
            if !tried.insert((op.method.clone(), shape(&op.template))) {
                continue;
            }
            let r = request(&s, op, domain);
            let kind = problem_type(&r);
            if !(kind.ends_with("#route") || r.status == 405) {
                failures.push(format!("{project}: {} /{domain}/v1{} answered {} {kind}", op.method, op.example, r.status));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
