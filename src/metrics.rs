//! Metric names. proxy-wasm metrics have no labels, so the route and the status class are parts
//! of the name (`restrouter.route.<operationId>.rq_2xx`); Envoy's `stats_tags` in our configs turn
//! them back into `route` and `status_class` labels for Prometheus.

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
