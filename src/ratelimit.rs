//! Rate limiting, the parts with no host calls.
//!
//! Workers count requests per key (route + client address) in VM memory and ship the counts to
//! the singleton once per tick; the singleton estimates each key's rate (over all workers, and
//! across pods through the sidecar) and publishes **verdicts**: for each key over its limit, the
//! share of requests to admit (`limit / rate`). Workers admit exactly that share with a per-key
//! credit, so a client at twice the limit gets the limit's worth through instead of
//! oscillating between all and nothing. The request path never waits on the network.

use std::collections::HashMap;
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

/// The sync API's types and the rate estimator are shared with the sidecar: one contract, and
/// the local fail-open verdicts judged the way the sidecar judges.
pub use restrouter_proto::rate::RateTable as Window;
pub use restrouter_proto::ratelimit::{Count, OverLimit as Verdict, SyncRequest, SyncResponse};

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
    fn headers_of_a_429() {
        let h = limited_headers(25.0, 1);
        assert!(h.contains(&("retry-after".into(), "1".into())));
        assert!(h.contains(&("ratelimit-policy".into(), "\"route\";q=25;w=1".into())));
    }
}
