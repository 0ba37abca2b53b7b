//! Exact-number tests of the sliding-window rate estimator: steady rates, start-up, expiry,
//! memory bound.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use restrouter_proto::rate::RateTable;

const WINDOW: u64 = 5000;

/// Feeds `per_second` every second from `start_s` for `seconds`, at `phase_ms` into each
/// second, from `reporters` reporters; returns the rate right after the last report.
fn feed(t: &mut RateTable, key: &str, per_second: u64, reporters: u64, start_s: u64, seconds: u64, phase_ms: u64) -> f64 {
    let mut rate = 0.0;
    for s in start_s..start_s + seconds {
        for r in 0..reporters {
            rate = t.add(key, per_second, 20.0, s * 1000 + phase_ms + r);
        }
    }
    rate
}

#[test]
fn steady_rate_is_exact_once_window_is_full() {
    let mut t = RateTable::new(WINDOW, 100);
    let rate = feed(&mut t, "k", 10, 3, 100, 20, 400);
    assert_eq!(rate, 30.0);
    assert_eq!(t.rate("k", 119_999), 30.0);
}

#[test]
fn steady_rate_is_exact_during_start_up() {
    let mut t = RateTable::new(WINDOW, 100);
    // Second 100: only the first bucket exists, current partial bucket → 30.
    assert_eq!(feed(&mut t, "k", 10, 3, 100, 1, 400), 30.0);
    // Second 101: max(first bucket, current bucket) = 30.
    assert_eq!(feed(&mut t, "k", 10, 3, 101, 1, 400), 30.0);
    // Second 102..: complete buckets after the first one, not diluted by the window.
    for s in 102..110 {
        assert_eq!(feed(&mut t, "k", 10, 3, s, 1, 400), 30.0, "second {s}");
    }
}

#[test]
fn first_partial_bucket_does_not_bias_start_up() {
    let mut t = RateTable::new(WINDOW, 100);
    // Reporter A syncs at .300, B at .100: B's first report lands a second after A's.
    t.add("k", 10, 20.0, 100_300);
    t.add("k", 10, 20.0, 101_100);
    t.add("k", 10, 20.0, 101_300);
    t.add("k", 10, 20.0, 102_100);
    t.add("k", 10, 20.0, 102_300);
    // Bucket 100 holds only A; it is left out once bucket 101 is complete.
    assert_eq!(t.rate("k", 102_500), 20.0);
}

#[test]
fn burst_at_start_is_not_diluted() {
    let mut t = RateTable::new(WINDOW, 100);
    assert_eq!(t.add("k", 100, 20.0, 50_900), 100.0);
    assert_eq!(t.rate("k", 51_200), 100.0);
}

#[test]
fn rate_falls_after_traffic_stops_and_key_expires() {
    let mut t = RateTable::new(WINDOW, 100);
    feed(&mut t, "k", 10, 1, 100, 10, 500);
    // Last report in bucket 109. At 112.0 buckets 107..=111 hold 107,108,109 → 30/5.
    assert_eq!(t.rate("k", 112_000), 6.0);
    // At 114.0 the window 109..=113 holds bucket 109 only.
    assert_eq!(t.rate("k", 114_000), 2.0);
    assert_eq!(t.rate("k", 115_000), 0.0);
    assert_eq!(t.expire(114_999), 0);
    assert_eq!(t.expire(115_000), 1);
    assert!(t.is_empty());
}

#[test]
fn expired_key_restarts_from_scratch() {
    let mut t = RateTable::new(WINDOW, 100);
    feed(&mut t, "k", 10, 1, 100, 3, 500);
    // Silent for more than a window, then a burst: judged as a new key.
    assert_eq!(t.add("k", 50, 20.0, 200_500), 50.0);
}

#[test]
fn memory_is_bounded_by_evicting_least_recently_updated() {
    let mut t = RateTable::new(WINDOW, 32);
    for i in 0..32 {
        t.add(&format!("k{i}"), 1, 1.0, 1_000);
    }
    t.add("k0", 1, 1.0, 1_000); // k0 is now the most recent
    t.add("new", 1, 1.0, 1_000);
    assert!(t.len() <= 32);
    assert_eq!(t.rate("k0", 1_500), 2.0);
    assert_eq!(t.rate("k1", 1_500), 0.0, "k1 was the least recently updated");
    assert_eq!(t.rate("new", 1_500), 1.0);
}

#[test]
fn over_limit_keys_counts_live_keys_above_their_limit() {
    let mut t = RateTable::new(WINDOW, 100);
    t.add("hot", 30, 20.0, 1_000);
    t.add("cool", 5, 20.0, 1_000);
    assert_eq!(t.over_limit_keys(1_500), 1);
}

#[test]
fn window_rounds_up_to_whole_buckets() {
    assert_eq!(RateTable::new(2500, 1).window_ms(), 3000);
    assert_eq!(RateTable::new(0, 1).window_ms(), 1000);
}
