//! Start-up checks: a wildcard or missing advertised address is refused; a lone node answers
//! from its own counts and rejects malformed bodies.

// Test helpers fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, over_limit_entry, sidecar_command, Sidecar};

/// Runs the sidecar expecting it to exit by itself; kills it if it does not.
fn run_to_exit(args: &[&str]) -> Output {
    let mut child = sidecar_command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "sidecar kept running with {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn wildcard_advertise_is_refused() {
    let http = format!("127.0.0.1:{}", free_port());
    let port = free_port();
    let wildcard = format!("0.0.0.0:{port}");
    let out = run_to_exit(&[
        "--http-listen",
        &http,
        "--dht-listen",
        &wildcard,
        "--advertise",
        &wildcard,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wildcard"));

    let out = run_to_exit(&["--http-listen", &http, "--dht-listen", &wildcard]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--advertise"));

    let out = run_to_exit(&[
        "--http-listen",
        &http,
        "--dht-listen",
        &wildcard,
        "--advertise",
        &format!("[::]:{port}"),
    ]);
    assert!(!out.status.success());
}

#[test]
fn lone_node_limits_from_its_own_counts_and_rejects_bad_bodies() {
    let node = Sidecar::start("lone", free_port(), free_port(), &[]);
    let answer = node.sync(&[("burst|192.0.2.1", 100, 25.0), ("calm|192.0.2.2", 3, 25.0)]);
    let entry = over_limit_entry(&answer, "burst|192.0.2.1").unwrap();
    assert_eq!(entry["rate"], 100.0);
    assert_eq!(entry["admit"], 0.25);
    assert!(over_limit_entry(&answer, "calm|192.0.2.2").is_none());

    for bad in [
        "",
        "{",
        "[]",
        r#"{"counts": 3}"#,
        r#"{"counts": [{"key": "k", "count": -1, "limit": 1}]}"#,
    ] {
        let (status, body) = node.sync_raw(bad);
        assert_eq!(status, 400, "body {bad:?}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].is_string());
    }
    let (status, _) = node.sync_raw(r#"{"counts": []}"#);
    assert_eq!(status, 200);
    assert!(node.metric("restrouter_ratelimit_bad_syncs_total") >= 5.0);
    assert_eq!(node.metric("restrouter_ratelimit_syncs_total"), 2.0);
}
