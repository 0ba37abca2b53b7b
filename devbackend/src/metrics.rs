//! Request counters in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;

use crate::respond::with_headers;
use crate::Shared;

/// The emulated service a request was for.
#[derive(Clone, Copy, Debug)]
pub enum Service {
    Parsoid,
    Mobileapps,
    Wikifeeds,
    Aqs,
    Eventgate,
    /// The MediaWiki action API (`/w/api.php`).
    ActionApi,
    /// Paths no stand-in serves.
    Unrouted,
}

#[derive(Default)]
pub struct Metrics {
    parsoid: AtomicU64,
    mobileapps: AtomicU64,
    wikifeeds: AtomicU64,
    aqs: AtomicU64,
    eventgate: AtomicU64,
    action_api: AtomicU64,
    unrouted: AtomicU64,
    events_received: AtomicU64,
}

impl Metrics {
    pub fn count(&self, service: Service) {
        self.counter(service).fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_events(&self, n: u64) {
        self.events_received.fetch_add(n, Ordering::Relaxed);
    }

    fn counter(&self, service: Service) -> &AtomicU64 {
        match service {
            Service::Parsoid => &self.parsoid,
            Service::Mobileapps => &self.mobileapps,
            Service::Wikifeeds => &self.wikifeeds,
            Service::Aqs => &self.aqs,
            Service::Eventgate => &self.eventgate,
            Service::ActionApi => &self.action_api,
            Service::Unrouted => &self.unrouted,
        }
    }
}

const SERVICES: [(Service, &str); 7] = [
    (Service::Parsoid, "parsoid"),
    (Service::Mobileapps, "mobileapps"),
    (Service::Wikifeeds, "wikifeeds"),
    (Service::Aqs, "aqs"),
    (Service::Eventgate, "eventgate"),
    (Service::ActionApi, "action_api"),
    (Service::Unrouted, "unrouted"),
];

pub async fn render(State(state): State<Shared>) -> Response {
    let metrics = &state.metrics;
    let mut out = String::with_capacity(1024);
    out.push_str("# HELP devbackend_requests_total Requests received, by emulated service.\n");
    out.push_str("# TYPE devbackend_requests_total counter\n");
    for (service, name) in SERVICES {
        let n = metrics.counter(service).load(Ordering::Relaxed);
        let _ = writeln!(out, "devbackend_requests_total{{service=\"{name}\"}} {n}");
    }
    out.push_str("# HELP devbackend_events_received_total Events accepted by the event service.\n");
    out.push_str("# TYPE devbackend_events_received_total counter\n");
    let _ = writeln!(
        out,
        "devbackend_events_received_total {}",
        metrics.events_received.load(Ordering::Relaxed)
    );
    out.push_str("# HELP devbackend_events_kept Events currently kept for GET /v1/events.\n");
    out.push_str("# TYPE devbackend_events_kept gauge\n");
    let _ = writeln!(out, "devbackend_events_kept {}", state.events.len());
    with_headers(
        StatusCode::OK,
        &[(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
