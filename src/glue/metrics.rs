//! Metric ids, defined once per VM in `on_configure`.

use super::host;
use crate::metrics::{route_latency, route_ratelimit, route_requests, status_class, Counter, RATELIMIT_OUTCOMES, STATUS_CLASSES};
use crate::ratelimit::Decision;
use crate::spec::Api;
use proxy_wasm::types::MetricType;
use std::collections::HashMap;

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
    pub fn define(api: Option<&Api>) -> Metrics {
        let counters = Counter::ALL.iter().map(|c| (*c, host::define(MetricType::Counter, c.name()))).collect();
        let routes = api
            .map(|api| {
                api.ops
                    .iter()
                    .map(|op| RouteMetrics {
                        requests: STATUS_CLASSES.map(|class| host::define(MetricType::Counter, &route_requests(&op.id, class))),
                        latency: host::define(MetricType::Histogram, &route_latency(&op.id)),
                        ratelimit: RATELIMIT_OUTCOMES.map(|o| op.rate_limit.as_ref().and_then(|_| host::define(MetricType::Counter, &route_ratelimit(&op.id, o)))),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Metrics { counters, routes }
    }

    pub fn count(&self, c: Counter) {
        host::increment(self.counters.get(&c).copied().flatten(), 1);
    }

    pub fn request(&self, op_index: usize, status: u16, latency_ms: u64) {
        if let Some(m) = self.routes.get(op_index) {
            host::increment(m.requests.get(status_class(status)).copied().flatten(), 1);
            host::record(m.latency, latency_ms);
        }
    }

    pub fn ratelimit(&self, op_index: usize, decision: Decision) {
        let outcome = match decision {
            Decision::Allow => 0,
            Decision::Limit { .. } => 1,
            Decision::LogOnly => 2,
        };
        if let Some(m) = self.routes.get(op_index) {
            host::increment(m.ratelimit.get(outcome).copied().flatten(), 1);
        }
    }
}
