//! One sync from Envoy's singleton: record this pod's counts, report them to each key's
//! owners (batched per owner), and answer which keys are over their limit globally.
//!
//! The answer never waits longer than the owner timeout: keys none of whose owners answered
//! in time are judged from this pod's own rate (fail towards per-pod limiting) and counted.
//! Counts sent to a slow owner are still added there when the request arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::dht::{Command, DhtHandle};
use crate::membership::{key_hash, Owner};
use crate::metrics::{Metrics, RpcResult};
use crate::owner_protocol::{split_by_size, ReportBatch, ReportEntry};
use restrouter_proto::rate::RateTable;
use restrouter_proto::ratelimit::{Count, OverLimit, SyncRequest, SyncResponse};

/// Longer keys are ignored (and counted): real keys are a route and a client IP.
pub const MAX_KEY_BYTES: usize = 1024;

pub struct Limiter {
    /// This pod's own counts: the fallback when owners do not answer.
    local: Mutex<RateTable>,
    /// Keys aggregated on this node (shared with the DHT node, which adds remote reports).
    owned: Arc<Mutex<RateTable>>,
    dht: DhtHandle,
    metrics: Arc<Metrics>,
    clock: Clock,
    window_ms: u64,
    owner_timeout: Duration,
    replicas: usize,
}

/// What one owner request came back with.
enum Outcome {
    Rates(Vec<f64>),
    Failed,
    TimedOut,
}

impl Limiter {
    pub fn new(local: RateTable, owned: Arc<Mutex<RateTable>>, dht: DhtHandle, metrics: Arc<Metrics>, clock: Clock, owner_timeout: Duration, replicas: usize) -> Limiter {
        Limiter { window_ms: local.window_ms(), local: Mutex::new(local), owned, dht, metrics, clock, owner_timeout, replicas: replicas.max(1) }
    }

    pub fn local_keys(&self) -> usize {
        lock(&self.local).len()
    }

    pub fn owned_keys(&self) -> usize {
        lock(&self.owned).len()
    }

    /// Drops expired keys from both tables.
    pub fn expire(&self) {
        let now = self.clock.now_ms();
        lock(&self.local).expire(now);
        lock(&self.owned).expire(now);
    }

    pub async fn sync(&self, request: SyncRequest) -> SyncResponse {
        let deadline = Instant::now() + self.owner_timeout;
        self.metrics.syncs.inc();
        let entries = self.valid_entries(request.counts);
        let now = self.clock.now_ms();
        {
            let mut local = lock(&self.local);
            for e in &entries {
                local.add(&e.key, e.count, e.limit, now);
            }
        }

        let membership = self.dht.membership.borrow().clone();
        let mut groups: HashMap<Owner, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            for owner in membership.owners(&key_hash(&e.key), self.replicas) {
                groups.entry(owner).or_default().push(i);
            }
        }

        // Global rate per entry: the largest any owner answered. Every owner gets every count,
        // so owners agree; one that became owner during a membership change has seen fewer
        // counts, never more.
        let mut rates: Vec<Option<f64>> = vec![None; entries.len()];
        if let Some(indices) = groups.remove(&Owner::Local) {
            let mut owned = lock(&self.owned);
            for i in indices {
                if let Some(e) = entries.get(i) {
                    let rate = owned.add(&e.key, e.count, e.limit, now);
                    merge_rate(&mut rates, i, rate);
                }
            }
        }

        let mut requests = Vec::new();
        for (owner, indices) in groups {
            let Owner::Remote(peer) = owner else { continue };
            for chunk in split_by_size(indices, |i| entries.get(*i).map_or(0, |e| e.key.len())) {
                let batch = ReportBatch { entries: chunk.iter().filter_map(|i| entries.get(*i).cloned()).collect() };
                requests.push(self.ask_owner(peer, batch, chunk, deadline));
            }
        }
        for (indices, outcome) in join_all(requests).await {
            match outcome {
                Outcome::Rates(answer) if answer.len() == indices.len() => {
                    self.metrics.rpc(RpcResult::success);
                    for (i, rate) in indices.into_iter().zip(answer) {
                        merge_rate(&mut rates, i, rate);
                    }
                }
                Outcome::Rates(_) | Outcome::Failed => self.metrics.rpc(RpcResult::failure),
                Outcome::TimedOut => self.metrics.rpc(RpcResult::timeout),
            }
        }

        self.answer(&entries, &rates)
    }

    fn answer(&self, entries: &[ReportEntry], rates: &[Option<f64>]) -> SyncResponse {
        let now = self.clock.now_ms();
        let local = lock(&self.local);
        let mut over_limit = Vec::new();
        for (e, rate) in entries.iter().zip(rates) {
            let rate = match rate {
                Some(r) => *r,
                None => {
                    self.metrics.keys_unanswered.inc();
                    local.rate(&e.key, now)
                }
            };
            if rate > e.limit {
                over_limit.push(OverLimit::new(e.key.clone(), rate, e.limit));
            }
        }
        let n = over_limit.len();
        self.metrics.over_limit_keys.set(i64::try_from(n).unwrap_or(i64::MAX));
        self.metrics.over_limit_reports.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
        SyncResponse { window_ms: self.window_ms, over_limit }
    }

    async fn ask_owner(&self, peer: libp2p::PeerId, batch: ReportBatch, indices: Vec<usize>, deadline: Instant) -> (Vec<usize>, Outcome) {
        let (reply, answer) = oneshot::channel();
        let commands = self.dht.commands.clone();
        let exchange = async move {
            if commands.send(Command::Report { peer, batch, reply }).await.is_err() {
                return Outcome::Failed;
            }
            match answer.await {
                Ok(Ok(a)) => Outcome::Rates(a.rates),
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "owner request failed");
                    Outcome::Failed
                }
                Err(_) => Outcome::Failed,
            }
        };
        let outcome = tokio::time::timeout_at(deadline, exchange).await.unwrap_or(Outcome::TimedOut);
        (indices, outcome)
    }

    /// Drops invalid entries (counted) and merges duplicate keys (counts add, lowest limit).
    fn valid_entries(&self, counts: Vec<Count>) -> Vec<ReportEntry> {
        let mut entries: Vec<ReportEntry> = Vec::with_capacity(counts.len());
        let mut index: HashMap<String, usize> = HashMap::with_capacity(counts.len());
        for c in counts {
            if c.key.is_empty() || c.key.len() > MAX_KEY_BYTES || !c.limit.is_finite() || c.limit < 0.0 {
                self.metrics.invalid_entries.inc();
                continue;
            }
            match index.get(&c.key).and_then(|i| entries.get_mut(*i)) {
                Some(e) => {
                    e.count = e.count.saturating_add(c.count);
                    e.limit = e.limit.min(c.limit);
                }
                None => {
                    index.insert(c.key.clone(), entries.len());
                    entries.push(ReportEntry { key: c.key, count: c.count, limit: c.limit });
                }
            }
        }
        entries
    }
}

fn merge_rate(rates: &mut [Option<f64>], i: usize, rate: f64) {
    if !rate.is_finite() {
        return;
    }
    if let Some(slot) = rates.get_mut(i) {
        *slot = Some(slot.map_or(rate, |r| r.max(rate)));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_largest_finite_rate() {
        let mut rates = vec![None, Some(3.0)];
        merge_rate(&mut rates, 0, 2.0);
        merge_rate(&mut rates, 1, 1.0);
        merge_rate(&mut rates, 1, f64::NAN);
        merge_rate(&mut rates, 5, 1.0);
        assert_eq!(rates, vec![Some(2.0), Some(3.0)]);
    }
}
