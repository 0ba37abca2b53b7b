//! Metric names and the table of their ids. proxy-wasm metrics have no labels, so the route and
//! the status class are parts of the name (`restrouter.route.<operationId>.rq_2xx`); Envoy's
//! `stats_tags` in our configs turn them back into `route` and `status_class` labels for
//! Prometheus.

use crate::host::{Host, MetricKind};
use crate::ratelimit::Decision;
use crate::spec::Api;
use std::collections::HashMap;

/// Process-wide counters, one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    StorageHit,
    StorageMiss,
    StorageError,
    StoreWritten,
    StoreUnchanged,
    StoreError,
    BackendError,
    BackendTimeout,
    ServedStored,
    Unrouted,
    EventsQueued,
    EventsSent,
    EventsRetried,
    EventsDropped,
    SyncOk,
    SyncFailed,
    CalloutFailed,
    MwapiError,
    RevisionsError,
    CoalescedWait,
    CoalescedServed,
    CoalescedTimeout,
}

impl Counter {
    pub const ALL: &'static [Counter] = &[
        Counter::StorageHit,
        Counter::StorageMiss,
        Counter::StorageError,
        Counter::StoreWritten,
        Counter::StoreUnchanged,
        Counter::StoreError,
        Counter::BackendError,
        Counter::BackendTimeout,
        Counter::ServedStored,
        Counter::Unrouted,
        Counter::EventsQueued,
        Counter::EventsSent,
        Counter::EventsRetried,
        Counter::EventsDropped,
        Counter::SyncOk,
        Counter::SyncFailed,
        Counter::CalloutFailed,
        Counter::MwapiError,
        Counter::RevisionsError,
        Counter::CoalescedWait,
        Counter::CoalescedServed,
        Counter::CoalescedTimeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Counter::StorageHit => "restrouter.storage.hit",
            Counter::StorageMiss => "restrouter.storage.miss",
            Counter::StorageError => "restrouter.storage.error",
            Counter::StoreWritten => "restrouter.storage.write_ok",
            Counter::StoreUnchanged => "restrouter.storage.write_unchanged",
            Counter::StoreError => "restrouter.storage.write_error",
            Counter::BackendError => "restrouter.backend.error",
            Counter::BackendTimeout => "restrouter.backend.timeout",
            Counter::ServedStored => "restrouter.backend.served_stored_copy",
            Counter::Unrouted => "restrouter.unrouted",
            Counter::EventsQueued => "restrouter.events.queued",
            Counter::EventsSent => "restrouter.events.sent",
            Counter::EventsRetried => "restrouter.events.retried",
            Counter::EventsDropped => "restrouter.events.dropped",
            Counter::SyncOk => "restrouter.ratelimit.sync_ok",
            Counter::SyncFailed => "restrouter.ratelimit.sync_failed",
            Counter::CalloutFailed => "restrouter.callout.dispatch_failed",
            Counter::MwapiError => "restrouter.mwapi.error",
            Counter::RevisionsError => "restrouter.page_revisions.error",
            // A request waited for another's render of the same content; was served what it
            // stored; waited past the bound and rendered itself.
            Counter::CoalescedWait => "restrouter.coalesce.wait",
            Counter::CoalescedServed => "restrouter.coalesce.served",
            Counter::CoalescedTimeout => "restrouter.coalesce.timeout",
        }
    }
}

pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Index into [`STATUS_CLASSES`].
pub fn status_class(status: u16) -> usize {
    usize::from((status / 100).clamp(1, 5) - 1)
}

pub fn route_requests(op_id: &str, class: &str) -> String {
    format!("restrouter.route.{op_id}.rq_{class}")
}

/// Rate-limit outcomes of a route with a limit: `allowed`, `limited`, `log_only`.
pub const RATELIMIT_OUTCOMES: [&str; 3] = ["allowed", "limited", "log_only"];

pub fn route_ratelimit(op_id: &str, outcome: &str) -> String {
    format!("restrouter.route.{op_id}.ratelimit_{outcome}")
}

pub fn route_latency(op_id: &str) -> String {
    format!("restrouter.route.{op_id}.latency_ms")
}

/// Metric ids, defined once per VM (in `on_configure`); a metric the host refused is skipped.
pub struct Metrics {
    counters: HashMap<Counter, Option<u32>>,
    /// Per operation (by `Op::index`).
    routes: Vec<RouteMetrics>,
}

struct RouteMetrics {
    /// One counter per status class.
    requests: [Option<u32>; 5],
    latency: Option<u32>,
    /// Allowed, limited, log-only; only for routes with a rate limit.
    ratelimit: [Option<u32>; 3],
}

impl Metrics {
    /// The process-wide counters, and the per-route ones of `api` (the filter's).
    pub fn define(host: &impl Host, api: Option<&Api>) -> Metrics {
        let counters = Counter::ALL.iter().map(|c| (*c, host.define_metric(MetricKind::Counter, c.name()))).collect();
        let routes = api
            .map(|api| {
                api.ops
                    .iter()
                    .map(|op| RouteMetrics {
                        requests: STATUS_CLASSES.map(|class| host.define_metric(MetricKind::Counter, &route_requests(&op.id, class))),
                        latency: host.define_metric(MetricKind::Histogram, &route_latency(&op.id)),
                        ratelimit: RATELIMIT_OUTCOMES.map(|o| op.rate_limit.as_ref().and_then(|_| host.define_metric(MetricKind::Counter, &route_ratelimit(&op.id, o)))),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Metrics { counters, routes }
    }

    pub fn count(&self, host: &impl Host, c: Counter) {
        self.count_n(host, c, 1);
    }

    pub fn count_n(&self, host: &impl Host, c: Counter, n: u32) {
        if let Some(id) = self.counters.get(&c).copied().flatten() {
            host.increment(id, i64::from(n));
        }
    }

    pub fn request(&self, host: &impl Host, op_index: usize, status: u16, latency_ms: u64) {
        if let Some(m) = self.routes.get(op_index) {
            if let Some(id) = m.requests.get(status_class(status)).copied().flatten() {
                host.increment(id, 1);
            }
            if let Some(id) = m.latency {
                host.record(id, latency_ms);
            }
        }
    }

    pub fn ratelimit(&self, host: &impl Host, op_index: usize, decision: Decision) {
        let outcome = match decision {
            Decision::Allow => 0,
            Decision::Limit { .. } => 1,
            Decision::LogOnly => 2,
        };
        if let Some(id) = self.routes.get(op_index).and_then(|m| m.ratelimit.get(outcome).copied().flatten()) {
            host.increment(id, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(STATUS_CLASSES[status_class(200)], "2xx");
        assert_eq!(STATUS_CLASSES[status_class(404)], "4xx");
        assert_eq!(STATUS_CLASSES[status_class(0)], "1xx");
        assert_eq!(STATUS_CLASSES[status_class(999)], "5xx");
        let mut names: Vec<_> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.dedup();
        assert_eq!(names.len(), Counter::ALL.len());
    }
}
