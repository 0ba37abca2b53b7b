//! EventGate stand-in: accepts event batches and keeps the most recent ones for inspection.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::error;
use crate::metrics::Service;
use crate::respond::with_headers;
use crate::Shared;

pub const DEFAULT_EVENTS_KEPT: usize = 1000;

const PATH: &str = "/v1/events";

pub struct EventLog {
    capacity: usize,
    events: Mutex<VecDeque<Value>>,
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            events: Mutex::new(VecDeque::with_capacity(capacity.min(DEFAULT_EVENTS_KEPT))),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    // A panic while holding the lock cannot leave the queue inconsistent, so a poisoned lock
    // is still usable.
    fn lock(&self) -> MutexGuard<'_, VecDeque<Value>> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push_all(&self, batch: Vec<Value>) {
        let mut events = self.lock();
        for event in batch {
            if events.len() >= self.capacity {
                events.pop_front();
            }
            if self.capacity > 0 {
                events.push_back(event);
            }
        }
    }
}

/// `POST /v1/events`: a JSON array of event objects (a single object is accepted too, as
/// EventGate does). 201 when all were accepted, 400 for anything that is not event JSON.
pub async fn accept(State(state): State<Shared>, body: Bytes) -> Response {
    state.metrics.count(Service::Eventgate);
    let batch = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(events)) => events,
        Ok(event @ Value::Object(_)) => vec![event],
        Ok(_) => return error::bad_request(&Method::POST, PATH, "expected a JSON array of events"),
        Err(err) => {
            return error::bad_request(&Method::POST, PATH, &format!("invalid JSON: {err}"))
        }
    };
    if !batch.iter().all(Value::is_object) {
        return error::bad_request(&Method::POST, PATH, "every event must be a JSON object");
    }
    state
        .metrics
        .count_events(u64::try_from(batch.len()).unwrap_or(u64::MAX));
    state.events.push_all(batch);
    with_headers(StatusCode::CREATED, &[], "")
}

/// `GET /v1/events`: the kept events, oldest first.
pub async fn list(State(state): State<Shared>) -> Response {
    state.metrics.count(Service::Eventgate);
    let body = {
        let events = state.events.lock();
        let (front, back) = events.as_slices();
        let mut out = Vec::with_capacity(events.len());
        out.extend(front.iter().chain(back));
        serde_json::to_string(&out)
    };
    match body {
        Ok(body) => with_headers(
            StatusCode::OK,
            &[(header::CONTENT_TYPE, "application/json")],
            body,
        ),
        Err(_) => with_headers(StatusCode::INTERNAL_SERVER_ERROR, &[], ""),
    }
}

/// `DELETE /v1/events`: forget kept events (lets a test start from a clean slate).
pub async fn clear(State(state): State<Shared>) -> Response {
    state.metrics.count(Service::Eventgate);
    state.events.lock().clear();
    with_headers(StatusCode::NO_CONTENT, &[], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_most_recent() {
        let log = EventLog::new(2);
        log.push_all(vec![json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]);
        let events = log.lock();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0], json!({"n": 2}));
        assert_eq!(events[1], json!({"n": 3}));
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let log = EventLog::new(0);
        log.push_all(vec![json!({})]);
        assert_eq!(log.len(), 0);
    }
}
