//! Request counters, served in the OpenMetrics text format.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// How a request ended, one counter each. Variant names are the label values.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Outcome {
    /// GET/HEAD found a value.
    hit,
    /// GET/HEAD found nothing, or was told `no-cache`.
    miss,
    /// PUT stored a value.
    write,
    /// PUT with `if-none-hash-match` matched the stored content (412).
    unchanged,
    /// PUT with `no-store` (202).
    not_stored,
    /// PUT of a bucket.
    bucket_created,
    /// Any other 4xx.
    rejected,
    /// 5xx.
    failed,
}

const OUTCOMES: [Outcome; 8] = [
    Outcome::hit,
    Outcome::miss,
    Outcome::write,
    Outcome::unchanged,
    Outcome::not_stored,
    Outcome::bucket_created,
    Outcome::rejected,
    Outcome::failed,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: Outcome,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("restrouter_storage");
        let requests = Family::<OutcomeLabels, Counter>::default();
        // Every outcome is listed from the start, at 0, so rates exist before the first one.
        for outcome in OUTCOMES {
            let _ = requests.get_or_create(&OutcomeLabels { outcome });
        }
        registry.register(
            "requests",
            "Storage API requests by outcome",
            requests.clone(),
        );
        Metrics { registry, requests }
    }
}

impl Metrics {
    pub fn count(&self, outcome: Outcome) {
        self.requests
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_listed_and_counted() {
        let m = Metrics::default();
        m.count(Outcome::unchanged);
        m.count(Outcome::unchanged);
        let text = restrouter_service::encode(m.registry());
        assert!(text.contains("restrouter_storage_requests_total{outcome=\"unchanged\"} 2\n"));
        for label in [
            "hit",
            "miss",
            "write",
            "not_stored",
            "bucket_created",
            "rejected",
            "failed",
        ] {
            assert!(
                text.contains(&format!(
                    "restrouter_storage_requests_total{{outcome=\"{label}\"}} 0\n"
                )),
                "{label}: {text}"
            );
        }
    }
}
