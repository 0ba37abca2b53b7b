//! Metric ids, defined once per VM in `on_configure`.

use super::host;
use crate::metrics::{route_latency, route_requests, status_class, Counter, STATUS_CLASSES};
use crate::spec::Api;
use proxy_wasm::types::MetricType;
use std::collections::HashMap;

pub struct Metrics {
    counters: HashMap<Counter, Option<u32>>,
    /// Per operation (by `Op::index`): one counter per status class, and a latency histogram.
    routes: Vec<([Option<u32>; 5], Option<u32>)>,
}

impl Metrics {
    pub fn define(api: Option<&Api>) -> Metrics {
        let counters = Counter::ALL.iter().map(|c| (*c, host::define(MetricType::Counter, c.name()))).collect();
        let routes = api
            .map(|api| {
                api.ops
                    .iter()
                    .map(|op| (STATUS_CLASSES.map(|class| host::define(MetricType::Counter, &route_requests(&op.id, class))), host::define(MetricType::Histogram, &route_latency(&op.id))))
                    .collect()
            })
            .unwrap_or_default();
        Metrics { counters, routes }
    }

    pub fn count(&self, c: Counter) {
        host::increment(self.counters.get(&c).copied().flatten(), 1);
    }

    pub fn request(&self, op_index: usize, status: u16, latency_ms: u64) {
        if let Some((classes, latency)) = self.routes.get(op_index) {
            host::increment(classes.get(status_class(status)).copied().flatten(), 1);
            host::record(*latency, latency_ms);
        }
    }
}
