//! Three sidecar processes on loopback form one DHT and limit a key at its global rate; one is
//! killed and restarted while the others keep working.

// Test helpers fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{feed, free_port, near, over_limit_entry, Sidecar};
use serde_json::Value;

/// Steady rates are exact with the bucket method; a sync that lands on a bucket boundary
/// moves one report (±1/5 of one node's share in a 5 s window), hence the tolerance.
const TOLERANCE: f64 = 0.15;
const PEERS: &str = "restrouter_ratelimit_connected_peers";
const JOIN_WITHIN: Duration = Duration::from_secs(30);

fn assert_over(answers: &[Value], nodes: &[&Sidecar], key: &str, rate: f64, limit: f64) {
    for (answer, node) in answers.iter().zip(nodes) {
        let entry = over_limit_entry(answer, key).unwrap_or_else(|| {
            panic!(
                "{}: {key} not over limit in {answer}\nlog:\n{}",
                node.name,
                node.log_text()
            )
        });
        let got = entry["rate"].as_f64().unwrap();
        let admit = entry["admit"].as_f64().unwrap();
        eprintln!(
            "{}: {key} rate {got:.2} (want {rate}), admit {admit:.3}",
            node.name
        );
        assert!(
            near(got, rate, TOLERANCE),
            "{}: {key} rate {got}, want {rate} ±15%",
            node.name
        );
        assert!(
            near(admit, limit / rate, TOLERANCE),
            "{}: {key} admit {admit}, want {} ±15%",
            node.name,
            limit / rate
        );
        assert_eq!(entry["limit"].as_f64(), Some(limit));
    }
}

fn assert_not_over(answers: &[Value], key: &str) {
    for answer in answers {
        assert!(
            over_limit_entry(answer, key).is_none(),
            "{key} reported over limit: {answer}"
        );
        assert_eq!(answer["window_ms"], 5000);
    }
}

#[test]
fn three_nodes_aggregate_survive_a_kill_and_rejoin() {
    let dht = [free_port(), free_port(), free_port()];
    let http = [free_port(), free_port(), free_port()];
    let a = Sidecar::start("a", http[0], dht[0], &dht);
    let b = Sidecar::start("b", http[1], dht[1], &dht);
    let mut c = Sidecar::start("c", http[2], dht[2], &dht);
    for n in [&a, &b, &c] {
        n.wait_metric(PEERS, 2.0, JOIN_WITHIN);
    }

    // (b) 10 req/s on each of three pods, limit 20: global 30, admit 2/3 everywhere.
    //     5 req/s on each, limit 20: global 15, not reported.
    let all = [&a, &b, &c];
    let answers = feed(
        &all,
        &[
            ("hot|198.51.100.7", 10, 20.0),
            ("cool|198.51.100.8", 5, 20.0),
        ],
        8,
    );
    assert_over(&answers, &all, "hot|198.51.100.7", 30.0, 20.0);
    assert_not_over(&answers, "cool|198.51.100.8");
    // With two owners per key out of three nodes, at least one node reported remotely.
    let rpcs: f64 = all
        .iter()
        .map(|n| n.metric("restrouter_ratelimit_owner_rpcs_total"))
        .sum();
    assert!(rpcs > 0.0, "no owner request was sent");

    // (c) Kill one: the other two notice, keep answering and keep aggregating (2 × 10 = 20).
    c.kill();
    for n in [&a, &b] {
        n.wait_metric(PEERS, 1.0, JOIN_WITHIN);
    }
    let pair = [&a, &b];
    let answers = feed(&pair, &[("after-kill|203.0.113.9", 10, 15.0)], 8);
    assert_over(&answers, &pair, "after-kill|203.0.113.9", 20.0, 15.0);

    // Restart it at the same address: it rejoins (same id) and its counts aggregate again.
    c = Sidecar::start("c", http[2], dht[2], &dht);
    for n in [&a, &b, &c] {
        n.wait_metric(PEERS, 2.0, JOIN_WITHIN);
    }
    let all = [&a, &b, &c];
    let answers = feed(&all, &[("rejoined|203.0.113.10", 10, 20.0)], 8);
    assert_over(&answers, &all, "rejoined|203.0.113.10", 30.0, 20.0);
    assert!(c.metric("restrouter_ratelimit_dht_peers") >= 2.0);
}
