//! Request counters, served in the OpenMetrics text format.

use axum::extract::State;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::Shared;

/// The emulated service a request was for.
#[derive(Clone, Copy, Debug)]
pub enum Service {
    Parsoid,
    Mobileapps,
    Wikifeeds,
    Aqs,
    /// cxserver (Content Translation).
    Cxserver,
    /// mathoid (math formulas).
    Mathoid,
    Eventgate,
    /// The MediaWiki action API (`/w/api.php`).
    ActionApi,
    /// Paths no stand-in serves.
    Unrouted,
}

impl Service {
    const ALL: [Service; 9] = [
        Service::Parsoid,
        Service::Mobileapps,
        Service::Wikifeeds,
        Service::Aqs,
        Service::Cxserver,
        Service::Mathoid,
        Service::Eventgate,
        Service::ActionApi,
        Service::Unrouted,
    ];

    fn label(self) -> &'static str {
        match self {
            Service::Parsoid => "parsoid",
            Service::Mobileapps => "mobileapps",
            Service::Wikifeeds => "wikifeeds",
            Service::Aqs => "aqs",
            Service::Cxserver => "cxserver",
            Service::Mathoid => "mathoid",
            Service::Eventgate => "eventgate",
            Service::ActionApi => "action_api",
            Service::Unrouted => "unrouted",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<ServiceLabels, Counter>,
    events_received: Counter,
    events_kept: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("devbackend");
        let requests = Family::<ServiceLabels, Counter>::default();
        // Every service is listed from the start, at 0.
        for service in Service::ALL {
            let _ = requests.get_or_create(&ServiceLabels {
                service: service.label(),
            });
        }
        let events_received = Counter::default();
        let events_kept = Gauge::default();
        registry.register(
            "requests",
            "Requests received, by emulated service",
            requests.clone(),
        );
        registry.register(
            "events_received",
            "Events accepted by the event service",
            events_received.clone(),
        );
        registry.register(
            "events_kept",
            "Events currently kept for GET /v1/events",
            events_kept.clone(),
        );
        Metrics {
            registry,
            requests,
            events_received,
            events_kept,
        }
    }
}

impl Metrics {
    pub fn count(&self, service: Service) {
        self.requests
            .get_or_create(&ServiceLabels {
                service: service.label(),
            })
            .inc();
    }

    pub fn count_events(&self, n: u64) {
        self.events_received.inc_by(n);
    }
}

pub async fn render(State(state): State<Shared>) -> Response {
    let metrics = &state.metrics;
    metrics
        .events_kept
        .set(i64::try_from(state.events.len()).unwrap_or(i64::MAX));
    restrouter_service::metrics_response(&metrics.registry)
}
