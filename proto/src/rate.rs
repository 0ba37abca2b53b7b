//! The sliding-window rate estimator, the one both sides of the sync judge with: the sidecar
//! (this pod's own counts, and the global counts of the keys its node owns) and the filter's
//! singleton (its Envoy's counts, when the sidecar does not answer).
//!
//! Method: counts are added to 1-second buckets by arrival time. A key's rate is the sum of
//! the *complete* buckets of the window divided by the number of seconds they cover:
//!
//! * the current (still filling) bucket is excluded, because reports for it are still arriving;
//! * the bucket in which the key was first seen is excluded as soon as a later complete bucket
//!   exists, because reporters whose sync phase fell before the first report had not reported
//!   yet in that second (counting it would bias young keys low);
//! * while the key is younger than the window, the divisor is the number of complete buckets
//!   since it was first seen, not the window, so a burst is not diluted at start;
//! * in the first two seconds of a key only one partial second is known: the rate is the
//!   largest single bucket, a lower bound that still flags a burst right away.
//!
//! Each reporter syncs about once per second, so every complete bucket holds one report per
//! reporter and the estimate is exact for steady rates; when a reporter's sync phase sits on a
//! bucket boundary, timer jitter can move one report across it, an error of at most one report
//! per reporter per window edge (1/N of its share for an N-second window), with zero mean.
//! Keys not updated for a whole window expire. The table holds at most `max_keys` keys; to make
//! room it drops expired keys, then the least recently updated sixteenth, taken first from the
//! keys under half their limit (which cannot be judged over it soon), so a flood of one-off
//! clients does not evict the busy key it hides.

use std::collections::{HashMap, VecDeque};

use crate::ratelimit::OverLimit;

/// Bucket width. Envoy's singleton syncs once per second by default.
pub const BUCKET_MS: u64 = 1000;

/// Per-key rates over a sliding window.
#[derive(Debug)]
pub struct RateTable {
    window_buckets: u64,
    max_keys: usize,
    keys: HashMap<String, KeyWindow>,
    /// Monotonic update counter: orders keys by last update for eviction.
    seq: u64,
}

#[derive(Debug)]
struct KeyWindow {
    first_bucket: u64,
    last_bucket: u64,
    last_seq: u64,
    limit: f64,
    /// `(bucket, count)`, ascending, only buckets that can still matter.
    buckets: VecDeque<(u64, u64)>,
}

impl KeyWindow {
    fn count_in(&self, bucket: u64) -> u64 {
        self.buckets.iter().find(|(b, _)| *b == bucket).map_or(0, |(_, c)| *c)
    }

    fn sum_between(&self, from: u64, to_exclusive: u64) -> u64 {
        self.buckets.iter().filter(|(b, _)| *b >= from && *b < to_exclusive).map(|(_, c)| *c).fold(0u64, u64::saturating_add)
    }

    fn rate(&self, current: u64, window_buckets: u64) -> f64 {
        let age = current.saturating_sub(self.first_bucket);
        let per_second = 1000.0 / BUCKET_MS as f64;
        match age {
            0 => self.count_in(current) as f64 * per_second,
            1 => self.count_in(self.first_bucket).max(self.count_in(current)) as f64 * per_second,
            _ => {
                let from = (self.first_bucket + 1).max(current.saturating_sub(window_buckets));
                let span = current.saturating_sub(from).max(1);
                self.sum_between(from, current) as f64 / (span as f64 * BUCKET_MS as f64 / 1000.0)
            }
        }
    }

    fn expired(&self, current: u64, window_buckets: u64) -> bool {
        self.last_bucket.saturating_add(window_buckets) < current
    }
}

impl RateTable {
    /// `window_ms` is rounded up to whole buckets (at least one).
    pub fn new(window_ms: u64, max_keys: usize) -> Self {
        RateTable { window_buckets: window_ms.div_ceil(BUCKET_MS).max(1), max_keys: max_keys.max(1), keys: HashMap::new(), seq: 0 }
    }

    pub fn window_ms(&self) -> u64 {
        self.window_buckets * BUCKET_MS
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds `count` requests for `key` seen at `now_ms` and returns the key's rate (req/s).
    pub fn add(&mut self, key: &str, count: u64, limit: f64, now_ms: u64) -> f64 {
        let current = now_ms / BUCKET_MS;
        if !self.keys.contains_key(key) && self.keys.len() >= self.max_keys {
            self.make_room(current);
        }
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let window_buckets = self.window_buckets;
        let entry = self.keys.entry(key.to_owned()).or_insert_with(|| KeyWindow { first_bucket: current, last_bucket: current, last_seq: seq, limit, buckets: VecDeque::new() });
        if entry.expired(current, window_buckets) {
            // Silent for a whole window: start afresh, as if first seen now.
            entry.first_bucket = current;
            entry.buckets.clear();
        }
        entry.last_bucket = entry.last_bucket.max(current);
        entry.last_seq = seq;
        entry.limit = limit;
        match entry.buckets.back_mut() {
            Some((b, c)) if *b == current => *c = c.saturating_add(count),
            _ => entry.buckets.push_back((current, count)),
        }
        // Keep the window's complete buckets plus the current one.
        let oldest = current.saturating_sub(window_buckets);
        while entry.buckets.front().is_some_and(|(b, _)| *b < oldest) {
            entry.buckets.pop_front();
        }
        entry.rate(current, window_buckets)
    }

    /// The key's rate (req/s) at `now_ms`; 0 for unknown or expired keys.
    pub fn rate(&self, key: &str, now_ms: u64) -> f64 {
        let current = now_ms / BUCKET_MS;
        self.keys.get(key).filter(|e| !e.expired(current, self.window_buckets)).map_or(0.0, |e| e.rate(current, self.window_buckets))
    }

    /// Number of live keys whose rate is above the limit last reported with them.
    pub fn over_limit_keys(&self, now_ms: u64) -> usize {
        let current = now_ms / BUCKET_MS;
        self.keys.values().filter(|e| !e.expired(current, self.window_buckets)).filter(|e| e.rate(current, self.window_buckets) > e.limit).count()
    }

    /// Drops keys not updated for a whole window; returns how many.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let current = now_ms / BUCKET_MS;
        let window_buckets = self.window_buckets;
        let before = self.keys.len();
        self.keys.retain(|_, e| !e.expired(current, window_buckets));
        before - self.keys.len()
    }

    /// Keys over their limit now, with the share to admit; drops expired keys first.
    pub fn verdicts(&mut self, now_ms: u64) -> Vec<OverLimit> {
        self.expire(now_ms);
        let current = now_ms / BUCKET_MS;
        let mut out = Vec::new();
        for (key, e) in &self.keys {
            let rate = e.rate(current, self.window_buckets);
            if rate > e.limit {
                out.push(OverLimit::new(key.clone(), rate, e.limit));
            }
        }
        out
    }

    /// Frees space for a new key: expired keys first, then a sixteenth of the table (amortised:
    /// one O(n) pass per n/16 inserts), least recently updated first among the keys under half
    /// their limit, and among the busier ones only when there are too few of those.
    fn make_room(&mut self, current: u64) {
        let window_buckets = self.window_buckets;
        self.keys.retain(|_, e| !e.expired(current, window_buckets));
        if self.keys.len() < self.max_keys {
            return;
        }
        let target = (self.keys.len() / 16).max(1);
        let rank = |e: &KeyWindow| (e.rate(current, window_buckets) >= e.limit / 2.0, e.last_seq);
        let mut ranks: Vec<(bool, u64)> = self.keys.values().map(rank).collect();
        let Some(nth) = target.checked_sub(1) else {
            return;
        };
        let nth = nth.min(ranks.len().saturating_sub(1));
        let (_, threshold, _) = ranks.select_nth_unstable(nth);
        let threshold = *threshold;
        // Sequence numbers are unique, so exactly `target` keys rank at or below the threshold.
        self.keys.retain(|_, e| rank(e) > threshold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_reads_true_and_verdicts_carry_the_share() {
        let mut w = RateTable::new(5000, 100);
        // 30 requests/s for 10 s, reported every 100 ms.
        for t in 0..100u64 {
            w.add("k", 3, 20.0, 10_000 + t * 100);
        }
        for now in [19_950, 19_999] {
            let r = w.rate("k", now);
            assert!((r - 30.0).abs() < 1e-9, "{r} at {now}");
        }
        let v = w.verdicts(19_999);
        assert_eq!(v.len(), 1);
        assert!((v[0].admit - 20.0 / 30.0).abs() < 1e-9);
    }

    #[test]
    fn verdicts_drop_idle_keys() {
        let mut w = RateTable::new(5000, 100);
        w.add("k", 50, 20.0, 1_000);
        assert_eq!(w.rate("k", 1_500), 50.0);
        assert_eq!(w.verdicts(1_500).len(), 1);
        assert!(w.verdicts(7_000).is_empty());
        assert!(w.is_empty());
    }

    #[test]
    fn busy_keys_survive_a_flood_of_one_off_clients() {
        let mut w = RateTable::new(5000, 3);
        w.add("abuser", 100, 10.0, 0);
        for i in 0..1000 {
            w.add(&format!("k{i}"), 1, 10.0, 0);
        }
        assert!(w.len() <= 3);
        assert!(w.rate("abuser", 500) > 10.0, "a flood of one-off clients evicted the busy key");
        w.add("abuser2", 100, 10.0, 0);
        assert_eq!(w.verdicts(500).len(), 2, "a new busy key finds room after one-off keys are evicted");
    }

    #[test]
    fn a_table_of_busy_keys_still_makes_room() {
        let mut w = RateTable::new(5000, 2);
        w.add("a", 100, 10.0, 0);
        w.add("b", 100, 10.0, 0);
        w.add("c", 100, 10.0, 0);
        assert_eq!(w.len(), 2);
        assert_eq!(w.rate("a", 0), 0.0, "the least recently updated busy key made room");
    }
}
