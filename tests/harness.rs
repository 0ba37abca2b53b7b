//! The harness's own pieces, without Envoy: the scripted upstream answers, holds, resets and
//! records as the other tests rely on.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::time::Duration;
use support::{client, Reply, Upstream};

#[test]
fn upstream_answers_and_records_what_is_scripted() {
    let up = Upstream::start();
    up.on("/a", Reply::json(&serde_json::json!({"x": 1})).header("etag", "\"7/t\""));
    let url = format!("http://{}", up.addr());

    let r = client::send("POST", &format!("{url}/a?q=1"), &[("x-test", "yes")], Some(b"hello"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some("\"7/t\""));
    assert_eq!(r.json()["x"], 1);
    let seen = up.last("/a").unwrap();
    assert_eq!((seen.method.as_str(), seen.path.as_str(), seen.body.as_slice()), ("POST", "/a?q=1", &b"hello"[..]));
    assert_eq!(seen.header("x-test"), Some("yes"));

    let r = client::send("HEAD", &format!("{url}/a"), &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(up.count("/a"), 2);

    // Unscripted paths are a loud 404, not a silent success.
    let r = client::get(&format!("{url}/other"));
    assert_eq!(r.status, 404);
    assert!(r.text().contains("/other"), "{r}");
    up.on_any(Reply::status(204));
    assert_eq!(client::get(&format!("{url}/other")).status, 204);
    assert_eq!(up.total(), 4);
}

#[test]
fn upstream_resets_and_holds() {
    let up = Upstream::start();
    up.on("/reset", Reply::reset());
    up.on("/slow", Reply::html("late").delay(Duration::from_millis(300)));
    let url = format!("http://{}", up.addr());
    assert!(client::try_send("GET", &format!("{url}/reset"), &[], None).is_err(), "a reset is a transport error");
    assert_eq!(up.count("/reset"), 1);
    let r = client::get(&format!("{url}/slow"));
    assert_eq!(r.text(), "late");
}
