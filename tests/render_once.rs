//! One render per title at a time: concurrent misses of one stored resource, spread over
//! Envoy's two workers, share one back-end call and one storage write; the others wait for it
//! and get the same answer. A failed render is their answer too, and the wait is bounded.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::sync::{Arc, Barrier};
use std::time::Duration;
use support::{client, envoy::prometheus_value, Reply, Response, Stack};

const PAGE: &str = "/en.wikipedia.org/v1/page/html/Earth";
const PARSOID: &str = "/en.wikipedia.org/v3/page/html/Earth";
const HTML: &str = "text/html; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/HTML/2.1.0\"";
/// How long the back-end stand-in takes to render: a large page (all misses arrive meanwhile).
const RENDER: Duration = Duration::from_secs(2);

/// `n` clients asking for `PAGE` at once, each with `headers(i)`.
fn burst(s: &Stack, n: usize, headers: impl Fn(usize) -> Vec<(&'static str, &'static str)>) -> Vec<Response> {
    // The wiki's siteinfo first (shared by the workers), as a running Envoy has it: a burst
    // of first requests would meet the limit on siteinfo fetches.
    s.envoy.get("/en.wikipedia.org/v1/page/title/Earth");
    let url = s.envoy.url(PAGE);
    let start = Arc::new(Barrier::new(n));
    let clients: Vec<_> = (0..n)
        .map(|i| {
            let (url, start, headers) = (url.clone(), start.clone(), headers(i));
            std::thread::spawn(move || {
                start.wait();
                client::get_with(&url, &headers)
            })
        })
        .collect();
    clients.into_iter().map(|c| c.join().expect("client thread")).collect()
}

/// Content PUTs the storage service took (written, unchanged or not stored), by its own
/// metrics.
fn storage_puts(s: &Stack) -> f64 {
    let text = client::get(&s.storage.url("/metrics")).text();
    ["write", "unchanged", "not_stored"].iter().filter_map(|o| prometheus_value(&text, "restrouter_storage_requests_total", &[("outcome", o)])).sum()
}

fn slow_render(s: &Stack) {
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth, rendered once</p>").header("etag", "\"100/aaa\"").delay(RENDER));
}

#[test]
fn fifty_concurrent_misses_make_one_render_and_one_write() {
    let s = Stack::start();
    slow_render(&s);

    let answers = burst(&s, 50, |_| Vec::new());
    for r in &answers {
        assert_eq!(r.status, 200, "{r}");
        assert_eq!(r.text(), "<p>Earth, rendered once</p>", "{r}");
        assert_eq!(r.header("etag"), Some("\"100/aaa\""), "{r}");
        assert_eq!(r.header("content-type"), Some(HTML), "{r}");
    }
    let renders = s.backend.count(PARSOID);
    eprintln!("back-end calls for 50 concurrent misses: {renders}");
    assert!((1..=2).contains(&renders), "{renders} back-end calls for one title");
    assert_eq!(storage_puts(&s), renders as f64, "one storage write per render");
    let waited = s.envoy.wait_counter("restrouter_coalesce_wait", &[], 48.0);
    assert_eq!(s.envoy.counter("restrouter_coalesce_served", &[]), waited, "every waiting request was served what was stored");
    assert_eq!(s.envoy.counter("restrouter_coalesce_timeout", &[]), 0.0);
    s.envoy.assert_no_vm_trouble();
    // Both workers took clients: the sharing crossed VMs (through shared data).
    let stats = s.envoy.stats();
    let listener = format!("listener.127.0.0.1_{}.", s.envoy.http_port());
    for worker in ["worker_0", "worker_1"] {
        let name = format!("{listener}{worker}.downstream_cx_total: ");
        let took: u64 = stats.lines().find_map(|l| l.strip_prefix(name.as_str())).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        assert!(took > 0, "{worker} took no clients:\n{}", stats.lines().filter(|l| l.contains("downstream_cx_total")).collect::<Vec<_>>().join("\n"));
    }

    // Stored now: the next request is a plain hit.
    let hit = s.envoy.get(PAGE);
    assert_eq!((hit.status, hit.header("etag")), (200, Some("\"100/aaa\"")));
    assert_eq!(s.backend.count(PARSOID), renders);
}

#[test]
fn re_renders_change_propagation_asks_for_share_the_render_too() {
    let s = Stack::start();
    slow_render(&s);
    // Half of the requests are change-propagation's forced re-renders (internal, no-cache).
    let answers = burst(&s, 20, |i| if i % 2 == 0 { vec![("cache-control", "no-cache")] } else { Vec::new() });
    for r in &answers {
        assert_eq!((r.status, r.text().as_str(), r.header("etag")), (200, "<p>Earth, rendered once</p>", Some("\"100/aaa\"")), "{r}");
    }
    let renders = s.backend.count(PARSOID);
    assert!((1..=2).contains(&renders), "{renders} back-end calls");
    assert_eq!(storage_puts(&s), renders as f64);
}

#[test]
fn a_failed_render_is_every_waiting_request_s_answer() {
    // The back-end answers after Envoy gave up on it: the leader's call times out.
    let s = Stack::with(&[("backend_timeout_ms", "800")]);
    slow_render(&s);
    let answers = burst(&s, 20, |_| Vec::new());
    for r in &answers {
        r.assert_problem(504, "gateway_timeout", "GET", PAGE);
    }
    let renders = s.backend.count(PARSOID);
    assert!((1..=2).contains(&renders), "{renders} back-end calls: the waiting requests did not call it");
    assert_eq!(storage_puts(&s), 0.0);
    assert_eq!(s.envoy.counter("restrouter_coalesce_timeout", &[]), 0.0);
}

#[test]
fn past_the_bound_a_waiting_request_renders_itself() {
    let s = Stack::with(&[("coalesce_wait_ms", "300")]);
    slow_render(&s);
    let answers = burst(&s, 6, |_| Vec::new());
    for r in &answers {
        assert_eq!((r.status, r.text().as_str()), (200, "<p>Earth, rendered once</p>"), "{r}");
    }
    let timeouts = s.envoy.wait_counter("restrouter_coalesce_timeout", &[], 1.0);
    assert_eq!(s.backend.count(PARSOID) as f64, 1.0 + timeouts, "each request that waited past the bound rendered itself");
}

#[test]
fn without_sharing_every_miss_renders() {
    // The setting's off switch, and the baseline the sharing is measured against.
    let s = Stack::with(&[("coalesce_wait_ms", "0")]);
    s.backend.on(PARSOID, Reply::ok(HTML, "<p>Earth</p>").header("etag", "\"100/aaa\"").delay(Duration::from_millis(500)));
    let answers = burst(&s, 10, |_| Vec::new());
    assert!(answers.iter().all(|r| r.status == 200));
    assert_eq!(s.backend.count(PARSOID), 10);
}
