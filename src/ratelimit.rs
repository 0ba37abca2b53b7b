//! Rate limiting, the parts with no host calls.
//!
//! Workers count requests per key (route + client address) in VM memory and ship the counts to
//! the singleton once per tick; the singleton estimates each key's rate (over all workers, and
//! across pods through the sidecar) and publishes **verdicts**: for each key over its limit, the
//! share of requests to admit (`limit / rate`). Workers admit exactly that share with a per-key
//! credit, so a client at twice the limit gets the limit's worth through instead of
//! oscillating between all and nothing. The request path never waits on the network.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// The key of a client on a route; the domain is not part of it, as in RESTBase.
pub fn key(op_id: &str, method: &str, ip: &IpAddr) -> String {
    format!("{op_id}.{}|{ip}", method.to_ascii_uppercase())
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Allow,
    /// Over the limit on a log-only route: allowed, logged, counted.
    LogOnly,
    Limit {
        retry_after_s: u64,
    },
}

/// One key's count since the last flush, with the limit that applies to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub key: String,
    pub count: u64,
    pub limit: f64,
}

/// A key over its limit and the share of its requests to admit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub key: String,
    pub rate: f64,
    pub limit: f64,
    pub admit: f64,
}

/// What a worker keeps: counts since its last flush and the current verdicts.
#[derive(Debug, Default)]
pub struct Local {
    counts: HashMap<String, (u64, f64)>,
    verdicts: HashMap<String, f64>,
    /// Per over-limit key: the admitted share accumulates until it reaches one request.
    credit: HashMap<String, f64>,
    /// Keys beyond this many between two flushes are not counted (still judged by verdicts).
    max_keys: usize,
}

impl Local {
    pub fn new(max_keys: usize) -> Local {
        Local { max_keys, ..Default::default() }
    }

    /// Counts the request and decides from the last verdicts.
    pub fn check(&mut self, key: &str, limit: f64, log_only: bool, retry_after_s: u64) -> Decision {
        let full = self.counts.len() >= self.max_keys;
        match self.counts.get_mut(key) {
            Some((n, _)) => *n += 1,
            None if !full => {
                self.counts.insert(key.to_string(), (1, limit));
            }
            None => {}
        }
        let Some(&admit) = self.verdicts.get(key) else { return Decision::Allow };
        let credit = self.credit.entry(key.to_string()).or_insert(0.0);
        *credit += admit;
        if *credit >= 1.0 {
            *credit -= 1.0;
            return Decision::Allow;
        }
        if log_only {
            Decision::LogOnly
        } else {
            Decision::Limit { retry_after_s }
        }
    }

    /// The counts since the last flush (cleared).
    pub fn flush(&mut self) -> Vec<Count> {
        self.counts.drain().map(|(key, (count, limit))| Count { key, count, limit }).collect()
    }

    pub fn set_verdicts(&mut self, verdicts: Vec<Verdict>) {
        self.credit.retain(|k, _| verdicts.iter().any(|v| &v.key == k));
        self.verdicts = verdicts.into_iter().map(|v| (v.key, v.admit.clamp(0.0, 1.0))).collect();
    }
}

/// The headers of a 429: `Retry-After` and the IETF RateLimit fields
/// (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` and `RateLimit`).
pub fn limited_headers(limit: f64, retry_after_s: u64) -> Vec<(String, String)> {
    let q = limit.ceil() as u64;
    vec![("retry-after".into(), retry_after_s.to_string()), ("ratelimit-policy".into(), format!("\"route\";q={q};w=1")), ("ratelimit".into(), format!("\"route\";r=0;t={retry_after_s}"))]
}

/// Sliding-window rate estimate per key.
///
/// Counts land in one-second buckets; the rate is the sum over the window divided by the window
/// length, or by the time since the key was first seen while that is shorter (so a burst from a
/// new client is not diluted). Unlike `limitation`'s decaying counter this has no bias: a steady
/// rate R reads as R once the window is full. Keys with no count for a whole window are dropped;
/// at most `max_keys` are kept (new keys beyond that are not tracked).
#[derive(Debug)]
pub struct Window {
    keys: HashMap<String, Series>,
    window_ms: u64,
    max_keys: usize,
}

#[derive(Debug)]
struct Series {
    first_ms: u64,
    limit: f64,
    /// (second, count), oldest first.
    buckets: VecDeque<(u64, u64)>,
}

impl Window {
    pub fn new(window_ms: u64, max_keys: usize) -> Window {
        Window { keys: HashMap::new(), window_ms: window_ms.max(1000), max_keys }
    }

    pub fn add(&mut self, key: &str, count: u64, limit: f64, now_ms: u64) {
        let sec = now_ms / 1000;
        if !self.keys.contains_key(key) && self.keys.len() >= self.max_keys {
            // Full (many distinct clients): make room by forgetting the keys far below their
            // limit, which cannot be judged over it soon; if every key is busy, the new one
            // waits for room.
            self.sweep(now_ms);
            if self.keys.len() >= self.max_keys {
                return;
            }
        }
        let series = self.keys.entry(key.to_string()).or_insert_with(|| Series { first_ms: now_ms, limit, buckets: VecDeque::new() });
        series.limit = limit;
        match series.buckets.back_mut() {
            // Counts come from other VMs: saturate rather than wrap (or trap with overflow checks).
            Some((s, n)) if *s == sec => *n = n.saturating_add(count),
            _ => series.buckets.push_back((sec, count)),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn sweep(&mut self, now_ms: u64) {
        let window_ms = self.window_ms;
        self.keys.retain(|_, s| series_rate(s, now_ms, window_ms) >= s.limit / 2.0);
    }

    /// Requests per second of a key now.
    pub fn rate(&self, key: &str, now_ms: u64) -> f64 {
        self.keys.get(key).map(|s| series_rate(s, now_ms, self.window_ms)).unwrap_or(0.0)
    }

    /// Drops old buckets and idle keys; returns the keys over their limit.
    pub fn verdicts(&mut self, now_ms: u64) -> Vec<Verdict> {
        let Some(start) = now_ms.checked_sub(self.window_ms) else { return self.over_limit(now_ms) };
        let oldest = start / 1000;
        self.keys.retain(|_, s| {
            while s.buckets.front().is_some_and(|(sec, _)| *sec <= oldest) {
                s.buckets.pop_front();
            }
            !s.buckets.is_empty()
        });
        self.over_limit(now_ms)
    }

    fn over_limit(&self, now_ms: u64) -> Vec<Verdict> {
        let mut out = Vec::new();
        for (key, s) in &self.keys {
            let rate = series_rate(s, now_ms, self.window_ms);
            if rate > s.limit {
                out.push(Verdict { key: key.clone(), rate, limit: s.limit, admit: s.limit / rate });
            }
        }
        out
    }
}

fn series_rate(s: &Series, now_ms: u64, window_ms: u64) -> f64 {
    // The buckets of the seconds that overlap the window, divided by the time they span: from
    // the first of those seconds (or the key's first sighting, if later) to now. Dividing by
    // the whole window instead would read a steady rate low by up to one bucket's share.
    let from_sec = now_ms.checked_sub(window_ms).map_or(0, |start| start / 1000 + 1);
    let sum: u64 = s.buckets.iter().filter(|(sec, _)| *sec >= from_sec).fold(0, |a, (_, n)| a.saturating_add(*n));
    let from_ms = (from_sec * 1000).max(s.first_ms);
    let span_ms = now_ms.saturating_sub(from_ms).max(1000);
    sum as f64 * 1000.0 / span_ms as f64
}

/// What the singleton sends the sidecar and gets back (docs/interfaces.md).
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncRequest {
    pub counts: Vec<Count>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SyncResponse {
    #[serde(default)]
    pub window_ms: u64,
    pub over_limit: Vec<Verdict>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_published_share() {
        let mut l = Local::new(10);
        assert_eq!(l.check("k", 10.0, false, 1), Decision::Allow);
        l.set_verdicts(vec![Verdict { key: "k".into(), rate: 40.0, limit: 10.0, admit: 0.25 }]);
        let allowed = (0..400).filter(|_| l.check("k", 10.0, false, 1) == Decision::Allow).count();
        assert_eq!(allowed, 100);
        assert_eq!(l.check("k", 10.0, true, 1), Decision::LogOnly);
        assert_eq!(l.check("other", 10.0, false, 1), Decision::Allow);
        let counts = l.flush();
        assert_eq!(counts.iter().find(|c| c.key == "k").unwrap().count, 402);
        assert!(l.flush().is_empty());
    }

    #[test]
    fn local_table_is_bounded() {
        let mut l = Local::new(2);
        for i in 0..5 {
            l.check(&format!("k{i}"), 1.0, false, 1);
        }
        assert_eq!(l.flush().len(), 2);
    }

    #[test]
    fn window_rate_is_unbiased() {
        let mut w = Window::new(5000, 100);
        // 30 requests/s for 10 s, reported every 100 ms.
        for t in 0..100u64 {
            w.add("k", 3, 20.0, 10_000 + t * 100);
        }
        for now in [19_950, 19_999, 20_000, 20_050] {
            let r = w.rate("k", now);
            assert!((r - 30.0).abs() < 1.0, "{r} at {now}");
        }
        let v = w.verdicts(19_999);
        assert_eq!(v.len(), 1);
        assert!((v[0].admit - 20.0 / 30.0).abs() < 0.01);
    }

    #[test]
    fn new_keys_are_not_diluted_and_idle_keys_expire() {
        let mut w = Window::new(5000, 100);
        w.add("k", 50, 20.0, 1_000);
        assert!((w.rate("k", 1_500) - 50.0).abs() < 0.01);
        assert_eq!(w.verdicts(1_500).len(), 1);
        assert!(w.verdicts(7_000).is_empty());
        assert!(w.is_empty());
    }

    #[test]
    fn window_is_bounded_and_busy_keys_survive_a_flood() {
        let mut w = Window::new(5000, 3);
        w.add("abuser", 100, 10.0, 0);
        for i in 0..1000 {
            w.add(&format!("k{i}"), 1, 10.0, 0);
        }
        assert!(w.len() <= 3);
        assert!(w.rate("abuser", 500) > 10.0, "a flood of one-off clients evicted the busy key");
        w.add("abuser2", 100, 10.0, 0);
        assert_eq!(w.verdicts(500).len(), 2, "a new busy key finds room after one-off keys are swept");
    }

    #[test]
    fn headers_of_a_429() {
        let h = limited_headers(25.0, 1);
        assert!(h.contains(&("retry-after".into(), "1".into())));
        assert!(h.contains(&("ratelimit-policy".into(), "\"route\";q=25;w=1".into())));
    }
}
