//! The rollout config (`envoy/rollout.yaml.j2`) through a real Envoy: restrouter and a legacy
//! RESTBase stand-in side by side. A steady request stream sees no failure while a service's
//! runtime fraction moves 0 → 10 → 100 → 0 %, through the disk layer (files swapped the way the
//! kubelet updates a mounted ConfigMap) and through admin `/runtime_modify` (the emergency
//! override, which wins over the files), and each side's share matches the fraction; a client's `x-restrouter-cluster` never picks a back-end route;
//! mirroring copies legacy traffic to restrouter; every config passes `envoy --mode validate`.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod kubelet;
mod support;
mod validate;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubelet::AtomicDir;
use support::{client, envoy::EnvoyBuilder, Envoy, Reply, Stack, Upstream};

const HTML_PATH: &str = "/en.wikipedia.org/v1/page/html/Earth";
const PARSOID_PATH: &str = "/en.wikipedia.org/v3/page/html/Earth";
const FEED_PATH: &str = "/en.wikipedia.org/v1/feed/onthisday/births/01/15";
const LEGACY_BODY: &str = "served by legacy RESTBase";
const HTML_BODY: &str = "<p>Earth, from restrouter</p>";
const FEED_BODY: &str = "{\"tfa\":\"from restrouter\"}";

/// Largest allowed distance (percentage points) between a side's share and the fraction.
const TOLERANCE_POINTS: f64 = 5.0;
/// Requests per service the 10 % phase needs before its share is judged (binomial standard
/// deviation at n = 1000, p = 0.1 is 0.95 points: the tolerance is over 5 of them).
const MIN_PER_SERVICE_AT_10: usize = 1000;
/// Answers that start this soon after a change are not counted in a share: workers pick up a
/// new runtime snapshot shortly after the main thread has it. They still must not fail.
const SETTLE: Duration = Duration::from_millis(300);
/// The phase while a change is being made (from the start of `set` until it returned).
const CHANGING: usize = usize::MAX;

/// Restrouter (stored page HTML, pass-through feed) and a legacy stand-in behind one Envoy.
struct Rollout {
    stack: Stack,
    legacy: Upstream,
}

fn rollout(extra: &[(&str, &str)]) -> Rollout {
    rollout_with(|b| b.sets(extra))
}

/// With mirroring of page-html to a shadow listener on a port of the Envoy's own.
fn mirrored() -> Rollout {
    rollout_with(|b| b.set("rollout_mirror", "page-html").port("shadow_port"))
}

fn rollout_with(configure: impl FnOnce(EnvoyBuilder) -> EnvoyBuilder) -> Rollout {
    let legacy = Upstream::start();
    legacy.on_any(Reply::html(LEGACY_BODY).header("x-legacy", "1"));
    let builder: EnvoyBuilder = configure(Envoy::builder().template("envoy/rollout.yaml.j2").set("legacy", &legacy.addr()));
    let stack = Stack::with_builder(builder);
    stack.backend.on(PARSOID_PATH, Reply::html(HTML_BODY).header("etag", "\"42/abc\""));
    stack.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/15", Reply::ok("application/json", FEED_BODY));
    Rollout { stack, legacy }
}

impl Rollout {
    fn set_percent(&self, pairs: &[(&str, u32)]) {
        self.runtime("rollout", pairs);
    }

    /// Sets `restrouter.<knob>.<service>` through the admin's `/runtime_modify`.
    fn runtime(&self, knob: &str, pairs: &[(&str, u32)]) {
        let query: Vec<String> = pairs.iter().map(|(s, p)| format!("restrouter.{knob}.{s}={p}")).collect();
        let r = client::send("POST", &self.stack.envoy.admin_url(&format!("/runtime_modify?{}", query.join("&"))), &[], None);
        assert_eq!(r.status, 200, "runtime_modify: {r}");
    }

    /// The value of a runtime key in force, as admin `/runtime` shows it.
    fn runtime_value(&self, key: &str) -> Option<String> {
        let r = client::get(&self.stack.envoy.admin_url("/runtime"));
        r.json().pointer(&format!("/entries/{key}/final_value")).and_then(|v| v.as_str()).map(str::to_string)
    }

    /// A runtime statistic (`load_success`, `load_error`) from admin `/stats`.
    fn runtime_stat(&self, name: &str) -> u64 {
        let stats = self.stack.envoy.stats();
        stats.lines().find_map(|l| l.strip_prefix(&format!("runtime.{name}: "))).and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("no runtime.{name} in /stats"))
    }

    /// Waits until every pair is in force (admin `/runtime`).
    fn wait_in_force(&self, pairs: &[(&str, u32)]) {
        let in_force = || pairs.iter().all(|(s, p)| self.runtime_value(&format!("restrouter.rollout.{s}")).as_deref() == Some(p.to_string().as_str()));
        assert!(support::wait_until(Duration::from_secs(20), in_force), "{pairs:?} not in force: {}", client::get(&self.stack.envoy.admin_url("/runtime")).text());
    }
}

/// `restrouter.rollout.<service>` files holding each percentage.
fn percentages(pairs: &[(&str, u32)]) -> Vec<(String, Vec<u8>)> {
    pairs.iter().map(|(s, p)| (format!("restrouter.rollout.{s}"), p.to_string().into_bytes())).collect()
}

/// Which side answered, or why the answer is a failure.
fn side(path: &str, r: &Result<client::Response, ureq::Error>) -> Result<bool, String> {
    let r = r.as_ref().map_err(|e| format!("{path}: transport error {e}"))?;
    let restrouter_body = if path == HTML_PATH { HTML_BODY } else { FEED_BODY };
    match (r.status, r.text()) {
        (200, body) if body == LEGACY_BODY => Ok(false),
        (200, body) if body == restrouter_body => Ok(true),
        _ => Err(format!("{path}: unexpected answer {r}")),
    }
}

#[derive(Default, Clone, Copy)]
struct Tally {
    restrouter: usize,
    legacy: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.restrouter + self.legacy
    }
    fn percent(&self) -> f64 {
        100.0 * self.restrouter as f64 / self.total().max(1) as f64
    }
}

#[test]
fn fractions_move_traffic_without_failures() {
    let ro = rollout(&[]);
    move_traffic(&ro, |pairs| ro.set_percent(pairs));
}

/// The declarative path (the chart's runtime ConfigMap): new files under a swapped `..data`.
#[test]
fn runtime_files_move_traffic_without_failures() {
    let mut files = AtomicDir::new(&percentages(&[("page-html", 0), ("feed", 0)]));
    let ro = rollout(&[("runtime_dir", &files.path().display().to_string())]);
    let files = Mutex::new(&mut files);
    move_traffic(&ro, |pairs| {
        files.lock().unwrap().publish(&percentages(pairs));
        ro.wait_in_force(pairs);
    });
    // The start plus four swaps, none failed.
    assert!(ro.runtime_stat("load_success") >= 5);
    assert_eq!(ro.runtime_stat("load_error"), 0);
}

/// The admin layer sits above the files: an emergency `/runtime_modify` wins over them, and a
/// later file change does not undo it.
#[test]
fn the_admin_override_wins_over_runtime_files() {
    let mut files = AtomicDir::new(&percentages(&[("feed", 100)]));
    let ro = rollout(&[("runtime_dir", &files.path().display().to_string()), ("rollout", "feed=0")]);
    ro.wait_in_force(&[("feed", 100)]);
    assert_eq!(side(FEED_PATH, &client::try_send("GET", &ro.stack.envoy.url(FEED_PATH), &[], None)), Ok(true), "the files' 100 % is in force at start");
    ro.set_percent(&[("feed", 0)]);
    ro.wait_in_force(&[("feed", 0)]);
    files.publish(&percentages(&[("feed", 50)]));
    // The disk layer (layers: static, disk, admin) took the new file; the admin value still wins.
    let disk_value = || client::get(&ro.stack.envoy.admin_url("/runtime")).json().pointer("/entries/restrouter.rollout.feed/layer_values/1").and_then(|v| v.as_str()).map(str::to_string);
    assert!(support::wait_until(Duration::from_secs(20), || disk_value().as_deref() == Some("50")), "the new files were not loaded: {:?}", disk_value());
    assert_eq!(ro.runtime_value("restrouter.rollout.feed").as_deref(), Some("0"));
    for _ in 0..20 {
        assert_eq!(side(FEED_PATH, &client::try_send("GET", &ro.stack.envoy.url(FEED_PATH), &[], None)), Ok(false));
    }
}

/// Moves page-html and feed 0 → 10 → 100 → 0 % with `set` under three steady clients: no
/// request fails, and each phase's split matches its percentage.
fn move_traffic(ro: &Rollout, set: impl Fn(&[(&str, u32)])) {
    const SERVICES: [(&str, &str); 2] = [("page-html", HTML_PATH), ("feed", FEED_PATH)];
    // (percent, requests per service before the next change)
    let schedule = [(0, 300), (10, MIN_PER_SERVICE_AT_10), (100, 300), (0, 300)];

    // phase index and the time it started; tallies[phase][service]
    let phase = Arc::new(Mutex::new((0usize, Instant::now())));
    let tallies = Arc::new(Mutex::new(vec![[Tally::default(); 2]; schedule.len()]));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    let workers: Vec<_> = (0..3)
        .map(|w| {
            let (phase, tallies, failures, sent, stop) = (phase.clone(), tallies.clone(), failures.clone(), sent.clone(), stop.clone());
            let base = ro.stack.envoy.url("");
            std::thread::spawn(move || {
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let s = i % 2;
                    let (svc, path) = SERVICES[s];
                    i += 1;
                    let (p, since) = *phase.lock().unwrap();
                    let sent_at = Instant::now();
                    let r = client::try_send("GET", &format!("{base}{path}"), &[], None);
                    sent.fetch_add(1, Ordering::Relaxed);
                    match side(path, &r) {
                        Err(e) => failures.lock().unwrap().push(format!("[{svc}, phase {p}] {e}")),
                        // Only answers that started and ended inside one settled phase count.
                        Ok(restrouter) if p != CHANGING && sent_at.duration_since(since) > SETTLE && phase.lock().unwrap().0 == p => {
                            let t = &mut tallies.lock().unwrap()[p][s];
                            if restrouter {
                                t.restrouter += 1
                            } else {
                                t.legacy += 1
                            }
                        }
                        Ok(_) => {}
                    }
                }
            })
        })
        .collect();

    for (p, (percent, needed)) in schedule.iter().enumerate() {
        // Answers sent while the change is under way belong to no phase.
        *phase.lock().unwrap() = (CHANGING, Instant::now());
        set(&[("page-html", *percent), ("feed", *percent)]);
        *phase.lock().unwrap() = (p, Instant::now());
        let enough = support::wait_until(Duration::from_secs(40), || {
            let t = tallies.lock().unwrap()[p];
            t.iter().all(|s| s.total() >= *needed) || !failures.lock().unwrap().is_empty()
        });
        assert!(enough, "phase {p} ({percent} %) did not collect {needed} answers per service in 40 s");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} failed requests of {}, first: {:?}", failures.len(), sent.load(Ordering::Relaxed), failures.iter().take(3).collect::<Vec<_>>());

    let tallies = tallies.lock().unwrap();
    for (p, (percent, _)) in schedule.iter().enumerate() {
        for (s, (svc, _)) in SERVICES.iter().enumerate() {
            let t = tallies[p][s];
            eprintln!("phase {p}: {svc} at {percent:>3} %: restrouter {:>5} legacy {:>5} → {:.2} %", t.restrouter, t.legacy, t.percent());
            match percent {
                0 => assert_eq!(t.restrouter, 0, "{svc} at 0 % reached restrouter"),
                100 => assert_eq!(t.legacy, 0, "{svc} at 100 % reached legacy"),
                _ => assert!((t.percent() - f64::from(*percent)).abs() <= TOLERANCE_POINTS, "{svc}: {:.2} % served by restrouter at {percent} %", t.percent()),
            }
        }
    }
    eprintln!("{} requests in {:.1} s, 0 failures", sent.load(Ordering::Relaxed), started.elapsed().as_secs_f64());

    // The legacy side saw the public paths untouched (the filter is off there), never the
    // filter's routing header; restrouter's pass-through reached the back-end's own path.
    for r in ro.legacy.requests() {
        assert!(r.path == HTML_PATH || r.path == FEED_PATH, "legacy got {}", r.path);
        assert_eq!(r.header("x-restrouter-cluster"), None, "legacy got the routing header");
    }
    assert!(ro.stack.backend.count(FEED_PATH) > 0);
}

#[test]
fn rollout_defaults_come_from_the_variable_and_other_paths_stay_legacy() {
    let ro = rollout(&[("rollout", "feed=100")]);
    for _ in 0..20 {
        assert_eq!(side(FEED_PATH, &client::try_send("GET", &ro.stack.envoy.url(FEED_PATH), &[], None)), Ok(true));
        assert_eq!(side(HTML_PATH, &client::try_send("GET", &ro.stack.envoy.url(HTML_PATH), &[], None)), Ok(false));
    }
    // The public URL form (the wiki named by Host) belongs to the same service.
    let host = [("host", "en.wikipedia.org")];
    let public_feed = ro.stack.envoy.url("/api/rest_v1/feed/onthisday/births/01/15");
    assert_eq!(side(FEED_PATH, &client::try_send("GET", &public_feed, &host, None)), Ok(true));
    let public_html = ro.stack.envoy.url("/api/rest_v1/page/html/Earth");
    assert_eq!(side(HTML_PATH, &client::try_send("GET", &public_html, &host, None)), Ok(false));
    // The feed's other paths (wikifeeds') move with it; mobileapps' (pcs, at 0 %) do not.
    let onthisday = "/en.wikipedia.org/v1/feed/onthisday/births/01/15";
    ro.stack.backend.on(onthisday, Reply::ok("application/json", "{\"births\":[]}"));
    let r = ro.stack.envoy.get(onthisday);
    assert_eq!((r.status, r.header("x-legacy")), (200, None), "{r}");
    let r = ro.stack.envoy.get("/en.wikipedia.org/v1/page/talk/Talk:Earth");
    assert_eq!((r.status, r.text()), (200, LEGACY_BODY.to_string()), "{r}");
    // A path restrouter does not implement, and the spec document, stay on RESTBase.
    for path in ["/en.wikipedia.org/v1/page/no-such-format/Earth", "/en.wikipedia.org/v1/?spec"] {
        let r = ro.stack.envoy.get(path);
        assert_eq!((r.status, r.text()), (200, LEGACY_BODY.to_string()), "{path}");
    }
    // Rolled back at run time, no restart.
    ro.set_percent(&[("feed", 0)]);
    assert!(support::wait_until(Duration::from_secs(5), || ro.stack.envoy.get(FEED_PATH).text() == LEGACY_BODY));
}

/// The services the rollout config names (`envoy/rollout.yaml.j2`).
fn rollout_services() -> Vec<String> {
    let template = std::fs::read_to_string(support::repo_root().join("envoy/rollout.yaml.j2")).unwrap();
    let list = template.split("{%- set services = [").nth(1).and_then(|s| s.split("] %}").next()).unwrap();
    list.lines().filter_map(|l| l.trim().strip_prefix("[\"")).filter_map(|l| l.split('"').next()).map(str::to_string).collect()
}

/// With every service at 100 %, every operation of RESTBase's 2020 API (one request each, on
/// a wiki of its project) is restrouter's: each service's paths can move off RESTBase.
#[test]
fn every_operation_belongs_to_a_rollout_service() {
    let services = rollout_services();
    assert!(services.len() >= 7, "{services:?}");
    let all: Vec<String> = services.iter().map(|s| format!("{s}=100")).collect();
    let ro = rollout(&[("rollout", &all.join(","))]);
    let mut legacy = Vec::new();
    for op in support::api_table::operations() {
        let path = op.path();
        let body = (op.method != "GET" && op.method != "DELETE").then_some(b"{}".as_slice());
        if ro.stack.envoy.send(&op.method, &path, &[], body).header("x-legacy").is_some() {
            legacy.push(format!("{} {path}", op.method));
        }
    }
    assert!(legacy.is_empty(), "on RESTBase with every service at 100 %:\n{}", legacy.join("\n"));
}

#[test]
fn content_translation_moves_apart_from_parsoids_transforms() {
    let ro = rollout(&[("rollout", "cx=100")]);
    let pairs = "/wikimedia.org/v1/transform/list/languagepairs/";
    ro.stack.backend.on("/v1/list/languagepairs", Reply::ok("application/json", "{\"source\":[],\"target\":[]}"));
    let r = ro.stack.envoy.get(pairs);
    assert_eq!((r.status, r.header("x-legacy")), (200, None), "{r}");
    assert_eq!(ro.stack.backend.count("/v1/list/languagepairs"), 1);
    // Parsoid's transforms (the `transform` service, at 0 %) stay on RESTBase.
    let r = ro.stack.envoy.send("POST", "/en.wikipedia.org/v1/transform/wikitext/to/html", &[("content-type", "application/json")], Some(b"{\"wikitext\":\"x\"}"));
    assert_eq!((r.status, r.text()), (200, LEGACY_BODY.to_string()), "{r}");
}

#[test]
fn a_client_routing_header_never_reaches_a_back_end_route() {
    let ro = rollout(&[]);
    // Envoy removes a client's x-restrouter-cluster before routing: every request is routed as
    // if it had none. page-html is at 0 %, so RESTBase answers.
    let r = ro.stack.envoy.get_with(HTML_PATH, &[("x-restrouter-cluster", "parsoid")]);
    assert_eq!((r.status, r.text()), (200, LEGACY_BODY.to_string()), "{r}");
    // A path restrouter does not serve, aimed at a back-end, storage or anything else: the
    // path's own route, here legacy.
    let secret = "/en.wikipedia.org/v1/page/title/Earth";
    let clusters = ["parsoid", "wikifeeds", "mobileapps", "aqs", "mwapi", "storage", "restbase_legacy", "eventgate", "elsewhere"];
    for cluster in clusters {
        let r = ro.stack.envoy.get_with(secret, &[("x-restrouter-cluster", cluster)]);
        assert_eq!((r.status, r.text()), (200, LEGACY_BODY.to_string()), "{cluster}: {r}");
    }
    assert_eq!(ro.legacy.count(secret), clusters.len());
    assert!(ro.legacy.requests().iter().all(|r| r.header("x-restrouter-cluster").is_none()), "legacy got a client's routing header");
    // At 100 % restrouter answers, whatever the header names (the legacy cluster included).
    ro.set_percent(&[("page-html", 100)]);
    let switched = support::wait_until(Duration::from_secs(10), || side(HTML_PATH, &client::try_send("GET", &ro.stack.envoy.url(HTML_PATH), &[], None)) == Ok(true));
    assert!(switched, "page-html at 100 % still reaches legacy");
    let before = ro.legacy.total();
    for cluster in ["restbase_legacy", "storage", "parsoid"] {
        let r = ro.stack.envoy.get_with(HTML_PATH, &[("x-restrouter-cluster", cluster)]);
        assert_eq!((r.status, r.text()), (200, HTML_BODY.to_string()), "{cluster}: {r}");
    }
    assert_eq!(ro.legacy.total(), before);
    for r in ro.stack.backend.requests() {
        assert!(r.path.starts_with("/en.wikipedia.org/v3/") || r.path.starts_with("/en.wikipedia.org/v1/feed/"), "back-end got {}", r.path);
        assert_eq!(r.header("x-restrouter-cluster"), None, "back-end got the routing header");
    }
}

/// Waits until restrouter served `n` stored hits in all (each mirrored copy of a stored page is
/// one): the copies sent so far have been handled.
fn copies_served(ro: &Rollout, n: f64) {
    assert_eq!(ro.stack.envoy.wait_counter("restrouter_storage_hit", &[], n), n, "mirrored copies served by restrouter");
}

#[test]
fn mirroring_copies_legacy_traffic_to_restrouter() {
    let ro = mirrored();
    let r = ro.stack.envoy.get(HTML_PATH);
    assert_eq!((r.status, r.text()), (200, LEGACY_BODY.to_string()), "the client gets legacy's answer");
    // The copy went through the filter: it fetched the page from the back-end and stored it.
    assert!(support::wait_until(Duration::from_secs(10), || ro.stack.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status == 200), "the mirrored request did not store the page");
    // Later copies are served from storage; clients still get legacy's answers.
    for _ in 0..4 {
        let r = ro.stack.envoy.get(HTML_PATH);
        assert_eq!((r.status, r.text()), (200, LEGACY_BODY.to_string()), "the client gets legacy's answer");
    }
    copies_served(&ro, 4.0);
    assert_eq!(ro.stack.backend.count(PARSOID_PATH), 1);
    assert_eq!(ro.legacy.count(HTML_PATH), 5);
    // Other services are not mirrored: a feed request, then a page-html one whose copy is
    // waited for, so a copy of the feed request sent before it would have arrived too.
    assert_eq!(ro.stack.envoy.get(FEED_PATH).text(), LEGACY_BODY);
    ro.stack.envoy.get(HTML_PATH);
    copies_served(&ro, 5.0);
    assert_eq!(ro.stack.backend.count(FEED_PATH), 0, "a service not named in rollout_mirror was mirrored");
}

#[test]
fn the_mirror_knob_turns_copies_down_without_a_restart() {
    let ro = mirrored();
    let shadow = [("envoy_cluster_name", "restrouter_shadow")];
    // At 0 %: legacy answers every request and no copy is sent.
    ro.runtime("mirror", &[("page-html", 0)]);
    for _ in 0..20 {
        assert_eq!(ro.stack.envoy.get(HTML_PATH).text(), LEGACY_BODY);
    }
    assert_eq!(ro.legacy.count(HTML_PATH), 20);
    // Back at 100 %: the next request is copied, and its copy is the only one restrouter
    // handled (a miss, fetched and stored once).
    ro.runtime("mirror", &[("page-html", 100)]);
    assert_eq!(ro.stack.envoy.get(HTML_PATH).text(), LEGACY_BODY);
    assert!(support::wait_until(Duration::from_secs(10), || ro.stack.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status == 200), "the mirrored request did not store the page");
    assert_eq!(ro.stack.envoy.counter("envoy_cluster_upstream_rq_total", &shadow), 1.0, "copies sent");
    assert_eq!(ro.stack.envoy.wait_counter("restrouter_storage_miss", &[], 1.0), 1.0, "copies handled by restrouter");
    assert_eq!(ro.stack.backend.count(PARSOID_PATH), 1);
}

#[test]
fn rollout_configs_validate() {
    validate::validate("envoy/rollout.yaml.j2", &[]);
    validate::validate("envoy/rollout.yaml.j2", &[("rollout", "page-html=10,pcs=100,feed=0"), ("rollout_mirror", "page-summary,metrics"), ("legacy", "restbase.discovery.wmnet:7231")]);
}
