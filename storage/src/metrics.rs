//! Request counters, served in Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a request ended, one counter each.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// GET/HEAD found a value.
    Hit,
    /// GET/HEAD found nothing, or was told `no-cache`.
    Miss,
    /// PUT stored a value.
    Write,
    /// PUT with `if-none-hash-match` matched the stored content (412).
    Unchanged,
    /// PUT with `no-store` (202).
    NotStored,
    /// PUT of a bucket.
    BucketCreated,
    /// Any other 4xx.
    Rejected,
    /// 5xx.
    Failed,
}

const OUTCOMES: [(Outcome, &str); 8] = [
    (Outcome::Hit, "hit"),
    (Outcome::Miss, "miss"),
    (Outcome::Write, "write"),
    (Outcome::Unchanged, "unchanged"),
    (Outcome::NotStored, "not_stored"),
    (Outcome::BucketCreated, "bucket_created"),
    (Outcome::Rejected, "rejected"),
    (Outcome::Failed, "failed"),
];

#[derive(Debug, Default)]
pub struct Metrics {
    counts: [AtomicU64; OUTCOMES.len()],
}

impl Metrics {
    pub fn count(&self, outcome: Outcome) {
        if let Some(counter) = self.counts.get(outcome as usize) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP restrouter_storage_requests_total Storage API requests by outcome.\n\
             # TYPE restrouter_storage_requests_total counter\n",
        );
        for ((_, label), counter) in OUTCOMES.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "restrouter_storage_requests_total{{outcome=\"{label}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_line_up_with_variants() {
        for (index, (outcome, _)) in OUTCOMES.iter().enumerate() {
            assert_eq!(*outcome as usize, index);
        }
        let m = Metrics::default();
        m.count(Outcome::Unchanged);
        m.count(Outcome::Unchanged);
        assert!(m
            .render()
            .contains("restrouter_storage_requests_total{outcome=\"unchanged\"} 2\n"));
    }
}
