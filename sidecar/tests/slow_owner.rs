//! A hung owner (process stopped, TCP connection still open): syncs keep being answered from
//! local knowledge, the misses are counted, the hung peer is dropped, and it rejoins once it
//! runs again.

// Test helpers fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{free_port, over_limit_entry, Sidecar};

const PEERS: &str = "restrouter_ratelimit_connected_peers";

#[test]
fn hung_owner_is_judged_locally_dropped_and_rejoins() {
    let dht = [free_port(), free_port()];
    // One owner per key, so keys owned by the hung node have no other owner to ask.
    let extra = ["--replicas", "1"];
    let a = Sidecar::start_with("slow-a", free_port(), dht[0], &dht, &extra);
    let b = Sidecar::start_with("slow-b", free_port(), dht[1], &dht, &extra);
    a.wait_metric(PEERS, 1.0, Duration::from_secs(30));
    b.wait_metric(PEERS, 1.0, Duration::from_secs(30));

    // Twenty keys: some are owned by b (all twenty on a: probability 2^-20).
    let keys: Vec<String> = (0..20).map(|i| format!("route.GET|192.0.2.{i}")).collect();
    let counts: Vec<(&str, u64, f64)> = keys.iter().map(|k| (k.as_str(), 40, 20.0)).collect();

    b.signal("STOP");
    for _ in 0..3 {
        let answer = a.sync(&counts);
        for k in &keys {
            assert!(
                over_limit_entry(&answer, k).is_some(),
                "{k} not over limit: {answer}"
            );
        }
    }
    assert!(a.metric("restrouter_ratelimit_keys_unanswered_total") > 0.0);
    assert!(
        a.metric("restrouter_ratelimit_owner_rpcs_total") > 0.0,
        "no owner request was attempted"
    );
    let timeouts = {
        let agent = ureq::Agent::new_with_defaults();
        let text = agent
            .get(&format!("http://127.0.0.1:{}/metrics", a.http))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        text.lines()
            .find(|l| l.starts_with("restrouter_ratelimit_owner_rpcs_total{result=\"timeout\"}"))
            .and_then(|l| l.rsplit_once(' '))
            .and_then(|(_, v)| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(timeouts >= 1.0, "no owner timeout counted");

    // Requests to b fail (protocol timeout) until a drops it; then a owns every key itself.
    let mut dropped = false;
    for _ in 0..30 {
        a.sync(&counts);
        if a.metric(PEERS) == 0.0 {
            dropped = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(dropped, "hung peer was not dropped; log:\n{}", a.log_text());

    b.signal("CONT");
    a.wait_metric(PEERS, 1.0, Duration::from_secs(30));
    b.wait_metric(PEERS, 1.0, Duration::from_secs(30));
}
