//! Leases alone, then requests for one title interleaved as Envoy would run them on one or more
//! workers (one fake host: shared data is what the workers share).

use super::*;
use crate::pipeline::fake::FakeHost;
use crate::pipeline::Filter;
use serde_json::json;
use std::rc::Rc;

const PAGE: &str = "/en.wikipedia.org/v1/page/html/Earth";
const FETCH: &str = "parsoid GET /en.wikipedia.org/v3/page/html/Earth";
const STORE: &str = "storage PUT /en.wikipedia.org/v1/key_value/parsoidphp/Earth";
const READ: &str = "storage GET /en.wikipedia.org/v1/key_value/parsoidphp/Earth";
const HTML: &str = "text/html; charset=utf-8";
const EARTH: &str = "en.wikipedia.org:parsoidphp:Earth:latest";

fn filter(h: &FakeHost, settings: serde_json::Value) -> Rc<Filter> {
    let mut spec = crate::spec::tests::shipped();
    for methods in spec["paths"].as_object_mut().unwrap().values_mut() {
        for op in methods.as_object_mut().unwrap().values_mut() {
            op["x-restrouter"].as_object_mut().unwrap().remove("revisions");
        }
    }
    let config = json!({"spec": spec, "settings": settings});
    let f = Filter::configure(h, &serde_json::to_vec(&config).unwrap(), "restrouter".into()).unwrap();
    crate::pages::SiteCache::default().put(h, "en.wikipedia.org", crate::pages::tests::EN).unwrap();
    Rc::new(f)
}

fn headers(status: u16, etag: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![(":status".to_string(), status.to_string()), ("content-type".to_string(), HTML.to_string())];
    h.extend(etag.map(|e| ("etag".to_string(), e.to_string())));
    h
}

/// A request for the page from `source`; it has read storage through the router and got
/// storage's `404` (unless it is a re-render, which reads nothing first).
fn miss(h: &FakeHost, f: &Rc<Filter>, extra: &[(&str, &str)], source: &str) -> Request {
    *h.source.borrow_mut() = Some(source.to_string());
    let mut req = vec![(":method", "GET"), (":path", PAGE), (":authority", "localhost")];
    req.extend_from_slice(extra);
    *h.request_headers.borrow_mut() = req.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    let mut r = Request::new(f.clone());
    if r.on_request_headers(h, true) == Action::Continue {
        *h.response_headers.borrow_mut() = headers(404, None);
        assert_eq!(r.on_response_headers(h), Action::Pause, "storage's 404 is held");
    }
    r
}

/// The callout of `r` that is out, by its line (`cluster METHOD path`).
fn pending(h: &FakeHost, r: &Request) -> Option<(u32, String)> {
    let token = r.pending_callout()?;
    let pending = h.pending.borrow();
    pending.iter().find(|(t, _)| *t == token).map(|(t, c)| (*t, format!("{} {} {}", c.cluster, c.method, c.path)))
}

fn answer(h: &FakeHost, r: &mut Request, status: u16, etag: Option<&str>, body: &str) {
    let (token, _) = pending(h, r).expect("a callout out");
    h.pending.borrow_mut().retain(|(t, _)| *t != token);
    r.on_callout(h, token, Upstream::callout(status, headers(status, etag)[1..].to_vec(), body.as_bytes().to_vec()));
}

fn reply(h: &FakeHost) -> (u16, Option<String>, String) {
    let (status, headers, body) = h.reply.borrow_mut().take().expect("a reply");
    (status, crate::host::header(&headers, "etag").map(str::to_string), String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn leases() {
    let h = FakeHost::default();
    prepare(&h);
    assert_eq!(h.shared.borrow().len(), usize::try_from(SLOTS).unwrap());
    let Claim::Lead(cas) = claim(&h, EARTH, 1000, 500) else { panic!("the first request leads") };
    assert_eq!(claim(&h, EARTH, 1001, 500), Claim::Follow(cas));
    assert_eq!(watch(&h, EARTH, cas, 1200), Watch::Held);
    // A leader that went away: its lease expires.
    assert_eq!(watch(&h, EARTH, cas, 1500), Watch::Released);
    assert!(matches!(claim(&h, EARTH, 1500, 500), Claim::Lead(c) if c != cas));

    // Given back: free, or marked failed for those waiting.
    let Claim::Lead(cas) = claim(&h, "d:b:Moon:latest", 0, 500) else { panic!() };
    release(&h, "d:b:Moon:latest", cas, Some(504));
    assert_eq!(watch(&h, "d:b:Moon:latest", cas, 1), Watch::Failed(504));
    assert!(matches!(claim(&h, "d:b:Moon:latest", 2, 500), Claim::Lead(_)), "a failed render is tried again by the next request");

    // A release of a lease that moved on (expired, taken over) leaves the new one alone.
    let Claim::Lead(old) = claim(&h, "d:b:Sun:latest", 0, 10) else { panic!() };
    let Claim::Lead(new) = claim(&h, "d:b:Sun:latest", 20, 500) else { panic!() };
    release(&h, "d:b:Sun:latest", old, None);
    assert_eq!(claim(&h, "d:b:Sun:latest", 30, 500), Claim::Follow(new));

    // Another resource in the same slot: no sharing, no waiting.
    h.set_shared(&slot_key("d:b:Mars:latest"), &Lease::Held { resource: "other".into(), until_ms: 9999 }.encode());
    assert_eq!(claim(&h, "d:b:Mars:latest", 30, 500), Claim::Alone);

    assert_eq!(Lease::decode(Some(b"held x\nr")), Lease::Free);
    assert_eq!(Lease::decode(Some(b"\xff")), Lease::Free);
    assert_eq!(Lease::decode(Some(&Lease::Failed { resource: "a:b".into(), status: 0 }.encode())), Lease::Failed { resource: "a:b".into(), status: 0 });
}

#[test]
fn concurrent_misses_share_one_render_and_one_write() {
    let h = FakeHost::default();
    let f = filter(&h, json!({}));
    let mut leader = miss(&h, &f, &[], "198.51.100.7:1");
    assert_eq!(pending(&h, &leader).unwrap().1, FETCH);
    // The others miss while it renders (one of them a re-render change-propagation asks for,
    // which reads nothing first): they wait, with no callout out.
    let mut followers: Vec<Request> = (0..3).map(|i| miss(&h, &f, &[], &format!("198.51.100.{}:1", 10 + i))).collect();
    followers.push(miss(&h, &f, &[("cache-control", "no-cache")], "127.0.0.1:1"));
    assert!(followers.iter().all(|r| r.is_waiting() && r.pending_callout().is_none()));
    assert_eq!(h.counter("restrouter.coalesce.wait"), 4);
    // Ticks while the render runs change nothing.
    for r in &mut followers {
        r.on_wake(&h);
        assert!(r.is_waiting());
    }

    answer(&h, &mut leader, 200, Some("\"6/def\""), "fresh earth");
    assert_eq!(pending(&h, &leader).unwrap().1, STORE);
    answer(&h, &mut leader, 201, None, "");
    let first = reply(&h);
    assert_eq!(first.0, 200);

    for r in &mut followers {
        r.on_wake(&h);
        assert_eq!(pending(&h, r).unwrap().1, READ, "woken, it reads storage again");
        answer(&h, r, 200, Some("\"6/def\""), "fresh earth");
        assert_eq!(reply(&h), first);
    }
    assert!(h.pending.borrow().is_empty());
    assert_eq!(h.counter("restrouter.coalesce.served"), 4);
    assert_eq!(h.counter("restrouter.storage.write_ok"), 1);
    // Given back: the next miss leads again.
    let next = miss(&h, &f, &[], "198.51.100.7:2");
    assert_eq!(pending(&h, &next).unwrap().1, FETCH);
}

#[test]
fn a_failed_render_is_every_waiting_request_s_answer() {
    let h = FakeHost::default();
    let f = filter(&h, json!({}));
    let mut leader = miss(&h, &f, &[], "198.51.100.7:1");
    let mut follower = miss(&h, &f, &[], "198.51.100.8:1");
    answer(&h, &mut leader, 504, None, "upstream request timeout");
    let (status, _, body) = reply(&h);
    assert_eq!(status, 504);
    follower.on_wake(&h);
    assert!(pending(&h, &follower).is_none(), "no call of its own");
    assert_eq!(reply(&h), (status, None, body));
}

#[test]
fn the_wait_is_bounded() {
    let h = FakeHost::default();
    let f = filter(&h, json!({"coalesce": {"wait_ms": 300}}));
    h.now.set(1000);
    let _leader = miss(&h, &f, &[], "198.51.100.7:1");
    let mut follower = miss(&h, &f, &[], "198.51.100.8:1");
    h.now.set(1299);
    follower.on_wake(&h);
    assert!(follower.is_waiting());
    h.now.set(1300);
    follower.on_wake(&h);
    assert_eq!(pending(&h, &follower).unwrap().1, FETCH, "past the bound it renders itself");
    assert_eq!(h.counter("restrouter.coalesce.timeout"), 1);
}

#[test]
fn a_leader_that_goes_away_hands_over() {
    let h = FakeHost::default();
    let f = filter(&h, json!({}));
    let mut leader = miss(&h, &f, &[], "198.51.100.7:1");
    let mut follower = miss(&h, &f, &[], "198.51.100.8:1");
    leader.on_done(&h);
    follower.on_wake(&h);
    answer(&h, &mut follower, 404, None, "");
    assert_eq!(pending(&h, &follower).unwrap().1, FETCH, "nothing stored: it renders, as the leader now");
    let mut third = miss(&h, &f, &[], "198.51.100.9:1");
    assert!(third.is_waiting());
    third.on_wake(&h);
    assert!(third.is_waiting());
}

#[test]
fn a_request_waits_once() {
    let h = FakeHost::default();
    let f = filter(&h, json!({}));
    let mut leader = miss(&h, &f, &[], "198.51.100.7:1");
    let mut follower = miss(&h, &f, &[], "198.51.100.8:1");
    // The leader stored another revision than the one asked for (the page changed meanwhile):
    // each waiting request renders itself, none queues behind a next leader.
    answer(&h, &mut leader, 200, Some("\"6/def\""), "fresh earth");
    answer(&h, &mut leader, 201, None, "");
    reply(&h);
    let _newcomer = miss(&h, &f, &[], "198.51.100.9:1");
    follower.on_wake(&h);
    answer(&h, &mut follower, 404, None, "");
    assert_eq!(pending(&h, &follower).unwrap().1, FETCH, "its own fetch, though the newcomer renders too");
    assert_eq!(h.counter("restrouter.coalesce.wait"), 1);
}

#[test]
fn off_means_no_waiting() {
    let h = FakeHost::default();
    let f = filter(&h, json!({"coalesce": {"wait_ms": 0}}));
    let _a = miss(&h, &f, &[], "198.51.100.7:1");
    let b = miss(&h, &f, &[], "198.51.100.8:1");
    assert_eq!(pending(&h, &b).unwrap().1, FETCH);
    assert_eq!(f.tick_ms(), Some(200), "rate limiting alone ticks");

    let h = FakeHost::default();
    let f = filter(&h, json!({}));
    assert_eq!(f.tick_ms(), Some(50));
}
