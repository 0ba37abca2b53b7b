//! Faults of the services around the filter, through the real Envoy: storage answering garbage
//! or too much, a back-end that closes mid-body or answers too much, an event service that is
//! down, clients that give up mid-request. Nothing is lost or corrupted: an error body is never
//! stored, a stored page is never replaced by a partial one, and the filter never traps.
//! (Plain storage-down, back-end-down and timeout cases are in stored_flow.rs.)

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use support::{wait_until, Reply, Stack, Upstream, DEAD_ADDRESS};

const EARTH: &str = "/en.wikipedia.org/v1/page/html/Earth";
const EARTH_BACKEND: &str = "/en.wikipedia.org/v3/page/html/Earth";
const HTML: &str = "text/html; charset=utf-8";

/// A server that answers every request with a status line, headers announcing more body than
/// it sends, part of the body, then closes: a back-end dying mid-body.
struct Truncating {
    addr: String,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Truncating {
    fn start(announced: usize, sent: usize) -> Truncating {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (served, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (served2, stop2) = (served.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                served2.fetch_add(1, Ordering::Relaxed);
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\netag: \"9/partial\"\r\ncontent-length: {announced}\r\n\r\n");
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&vec![b'p'; sent]);
                let _ = conn.flush();
                std::thread::sleep(Duration::from_millis(50));
                // Dropped: closed with the body unfinished.
            }
        });
        Truncating { addr, served, stop, thread: Some(thread) }
    }
}

impl Drop for Truncating {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn backend_dying_mid_body_stores_nothing_and_keeps_the_stored_copy() {
    let backend = Truncating::start(100_000, 1000);
    let s = Stack::with(&[("parsoid", backend.addr.as_str())]);

    // A miss: the partial answer is an error to the client and is not stored.
    let r = s.envoy.get(EARTH);
    r.assert_problem(502, "bad_gateway", "GET", EARTH);
    assert_eq!(backend.served.load(Ordering::Relaxed), 1);
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").status, 404, "a partial page was stored");

    // A stored page survives a forced re-render that dies mid-body: the stored copy is served
    // and stays whole.
    assert_eq!(s.storage.put("en.wikipedia.org", "parsoidphp", "Earth", HTML, "\"8/whole\"", "<p>whole</p>").status, 201);
    let r = s.envoy.get_with(EARTH, &[("cache-control", "no-cache")]);
    assert_eq!((r.status, r.text().as_str()), (200, "<p>whole</p>"), "{r}");
    assert_eq!(backend.served.load(Ordering::Relaxed), 2, "the re-render asked the back-end");
    let kept = s.storage.get("en.wikipedia.org", "parsoidphp", "Earth");
    assert_eq!((kept.status, kept.text().as_str()), (200, "<p>whole</p>"));
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn backend_errors_are_never_stored() {
    let s = Stack::start();
    for (status, body) in [(500, "<h1>Internal error</h1>"), (404, r#"{"detail":"Page or revision not found."}"#), (429, "slow down"), (503, "maintenance")] {
        let title = format!("Err{status}");
        s.backend.on(&format!("/en.wikipedia.org/v3/page/html/{title}"), Reply::status(status).header("content-type", HTML).body(body));
        let uri = format!("/en.wikipedia.org/v1/page/html/{title}");
        let r = s.envoy.get(&uri);
        assert!(r.status >= 400, "{r}");
        assert!(r.header("content-type").unwrap_or_default().starts_with("application/problem+json"), "{r}");
        assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", &title).status, 404, "the {status} body was stored");
    }
    // Not over a stored page either (forced re-render failing with an error body).
    assert_eq!(s.storage.put("en.wikipedia.org", "parsoidphp", "Err500", HTML, "\"1/a\"", "good").status, 201);
    let r = s.envoy.get_with("/en.wikipedia.org/v1/page/html/Err500", &[("cache-control", "no-cache")]);
    assert_eq!((r.status, r.text().as_str()), (200, "good"), "{r}");
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Err500").text(), "good");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn oversize_backend_body_is_whole_or_not_at_all() {
    let s = Stack::start();
    // 24 MiB: above Envoy's default buffer limits; either passed on and stored whole, or refused.
    let big = vec![b'b'; 24 << 20];
    s.backend.on(EARTH_BACKEND, Reply::ok(HTML, big.clone()));
    let r = s.envoy.get(EARTH);
    let kept = s.storage.get("en.wikipedia.org", "parsoidphp", "Earth");
    if r.status == 200 {
        assert_eq!(r.body.len(), big.len(), "a partial body was served");
        assert!(kept.status == 404 || kept.body.len() == big.len(), "a partial body was stored ({} bytes)", kept.body.len());
    } else {
        assert!(r.status >= 500, "{}", r.status);
        assert_eq!(kept.status, 404, "stored although the client got an error");
    }
    // Pass-through routes stream through Envoy's router: a big answer arrives whole.
    s.backend.on("/en.wikipedia.org/v1/data/css/mobile/base", Reply::ok("text/css", big.clone()));
    let r = s.envoy.get("/en.wikipedia.org/v1/data/css/mobile/base");
    assert_eq!((r.status, r.body.len()), (200, big.len()));
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn storage_garbage_or_oversize_falls_back_to_the_backend() {
    let storage = Upstream::start();
    let s = Stack::with(&[("storage", storage.addr().as_str())]);
    s.backend.on(EARTH_BACKEND, Reply::html("fresh").header("etag", "\"5/t\""));
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth/7", Reply::html("rev 7").header("etag", "\"7/t\""));

    // A broken storage answer (a 500 with garbage) is a storage error: served from the
    // back-end, not written back.
    storage.on_any(Reply::status(500).header("content-type", "application/json").body(&b"\xff\xfe{{{"[..]));
    let r = s.envoy.get(EARTH);
    assert_eq!((r.status, r.text().as_str()), (200, "fresh"), "{r}");
    assert!(storage.requests().iter().all(|q| q.method == "GET"), "wrote to a failing storage");

    // A stored copy with a garbage ETag is not taken for the wanted revision.
    storage.on_any(Reply::ok(HTML, "stored, unknown revision").header("etag", "\u{1}garbage"));
    let r = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth/7");
    assert_eq!((r.status, r.text().as_str()), (200, "rev 7"), "{r}");

    // An oversize stored answer: served whole, or a storage error and the back-end's copy.
    let big = vec![b's'; 24 << 20];
    storage.on_any(Reply::ok(HTML, big.clone()).header("etag", "\"5/t\""));
    let r = s.envoy.get(EARTH);
    assert_eq!(r.status, 200, "{}", r.status);
    assert!(r.body == big || r.text() == "fresh", "a partial stored body was served ({} bytes)", r.body.len());
    assert!(storage.requests().iter().all(|q| q.method == "GET"));
    s.envoy.assert_no_vm_trouble();
}

const EVENTS: &str = "/v1/events";

/// The gaps between the event service's arrivals, each strictly longer than the one before.
fn assert_growing_gaps(events: &Upstream) -> Vec<Duration> {
    let times: Vec<_> = events.requests().iter().filter(|r| r.path_only() == EVENTS).map(|r| r.at).collect();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.windows(2).all(|g| g[1] > g[0]), "the back-off does not grow: gaps {gaps:?}");
    gaps
}

#[test]
fn event_service_failing_is_retried_five_times_with_backoff_then_dropped() {
    let s = Stack::start();
    s.events.on(EVENTS, Reply::status(503).header("content-type", "text/plain").body("down"));
    s.backend.on(EARTH_BACKEND, Reply::html("<p>Earth</p>").header("etag", "\"1/a\""));
    let r = s.envoy.get(EARTH);
    assert_eq!(r.status, 200, "{r}");
    // 5 attempts, backing off 1, 2, 4, 8 s: about 15 s until the drop.
    let dropped = wait_until(Duration::from_secs(90), || s.envoy.metric("restrouter_events_dropped", &[]).is_some_and(|v| v >= 1.0));
    assert!(dropped, "{}", s.envoy.prometheus().lines().filter(|l| l.contains("events")).collect::<Vec<_>>().join("\n"));
    assert_eq!(s.events.count(EVENTS), 5, "attempts before the drop");
    let gaps = assert_growing_gaps(&s.events);
    eprintln!("gaps between attempts: {gaps:?}");
    // Every attempt carried the same event.
    let bodies: Vec<_> = s.events.requests().iter().filter(|r| r.path_only() == EVENTS).map(|r| r.json()).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]), "the retries sent different bodies");
    assert_eq!(bodies[0][1]["meta"]["uri"], "http://en.wikipedia.org/api/rest_v1/page/html/Earth");
    assert_eq!(s.envoy.counter("restrouter_events_dropped", &[]), 1.0);
    assert_eq!(s.envoy.counter("restrouter_events_retried", &[]), 4.0);
    assert_eq!(s.envoy.counter("restrouter_events_sent", &[]), 0.0);
    assert_eq!(s.envoy.counter("restrouter_events_queued", &[]), 1.0);
    assert!(s.envoy.log().contains("event dropped after 5 attempts"), "the drop is not logged");
    // The content itself was stored all the same.
    assert_eq!(s.storage.get("en.wikipedia.org", "parsoidphp", "Earth").text(), "<p>Earth</p>");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn an_event_is_delivered_once_the_event_service_recovers() {
    let s = Stack::start();
    s.events.on(EVENTS, Reply::status(503));
    s.backend.on(EARTH_BACKEND, Reply::html("<p>Earth</p>").header("etag", "\"1/a\""));
    assert_eq!(s.envoy.get(EARTH).status, 200);
    // Two failed attempts, then the service is back (the third comes 2 s after the second).
    assert!(wait_until(Duration::from_secs(30), || s.events.count(EVENTS) >= 2), "no second attempt");
    s.events.on(EVENTS, Reply::status(201));
    assert_eq!(s.envoy.wait_counter("restrouter_events_sent", &[], 1.0), 1.0, "not delivered after the recovery");
    assert_eq!(s.events.count(EVENTS), 3);
    assert_growing_gaps(&s.events);
    let delivered = s.events.last(EVENTS).unwrap().json();
    assert_eq!(delivered[1]["meta"]["uri"], "http://en.wikipedia.org/api/rest_v1/page/html/Earth");
    assert_eq!(s.envoy.counter("restrouter_events_retried", &[]), 2.0);
    assert_eq!(s.envoy.counter("restrouter_events_dropped", &[]), 0.0);
    // The outbox gauge is updated on the service's next tick.
    assert!(wait_until(Duration::from_secs(10), || s.envoy.counter("restrouter_events_outbox", &[]) == 0.0), "the delivered event stays in the outbox");
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn event_service_unreachable_is_dropped_after_five_attempts() {
    let s = Stack::with(&[("eventgate", DEAD_ADDRESS)]);
    s.backend.on(EARTH_BACKEND, Reply::html("<p>Earth</p>").header("etag", "\"1/a\""));
    assert_eq!(s.envoy.get(EARTH).status, 200);
    assert!(wait_until(Duration::from_secs(90), || s.envoy.metric("restrouter_events_dropped", &[]).is_some_and(|v| v >= 1.0)), "never dropped");
    assert_eq!(s.envoy.counter("restrouter_events_dropped", &[]), 1.0);
    // Refused connections count as failed attempts like a 503.
    assert_eq!(s.envoy.counter("restrouter_events_retried", &[]), 4.0);
    assert_eq!(s.envoy.counter("restrouter_events_sent", &[]), 0.0);
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn clients_that_go_away_mid_request() {
    let s = Stack::start();
    s.backend.on(EARTH_BACKEND, Reply::html("slow earth").delay(Duration::from_millis(800)));
    // The client hangs up while the back-end renders: the callout runs to completion anyway.
    {
        let mut c = TcpStream::connect(("127.0.0.1", s.envoy.http_port())).unwrap();
        c.write_all(format!("GET {EARTH} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(wait_until(Duration::from_secs(5), || s.backend.count(EARTH_BACKEND) == 1));
    std::thread::sleep(Duration::from_millis(1000));
    // A POST whose body never finishes, and one cut off mid-body.
    for sent in [0usize, 100] {
        let mut c = TcpStream::connect(("127.0.0.1", s.envoy.http_port())).unwrap();
        let head = "POST /en.wikipedia.org/v1/transform/wikitext/to/html HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n";
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&vec![b' '; sent]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    // Envoy and the filter carry on.
    let r = s.envoy.get(EARTH);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.text(), "slow earth");
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/transform/wikitext/to/html"), 0);
    s.envoy.assert_no_vm_trouble();
}
