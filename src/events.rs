//! `resource_change` events (research §2.8): which public URIs changed, and the delivery queue
//! the singleton keeps so an event service outage costs bounded retries, then a counted drop.

use crate::spec::Op;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// What a worker hands to the singleton when stored content changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub domain: String,
    /// Protocol-relative public URIs: `//en.wikipedia.org/api/rest_v1/page/html/Earth`.
    pub uris: Vec<String>,
    pub request_id: Option<String>,
}

/// The URIs of `op`'s events for the content stored at `revision` (from its ETag): a template
/// with `{revision}` is left out when the revision is not known.
pub fn change(op: &Op, params: &HashMap<String, String>, revision: Option<&str>, domain: &str, base_path: &str, request_id: Option<String>) -> Option<Change> {
    if op.events.is_empty() {
        return None;
    }
    let mut params = params.clone();
    if let Some(rev) = revision {
        params.entry("revision".into()).or_insert_with(|| rev.to_string());
    }
    let uris = op
        .events
        .iter()
        .filter(|t| crate::paths::placeholders(t).iter().all(|n| params.contains_key(n) || n == "domain"))
        .map(|t| format!("//{domain}{base_path}{}", crate::paths::expand(t, &params)))
        .collect();
    Some(Change { domain: domain.to_string(), uris, request_id })
}

/// The JSON array EventGate takes. `ids` makes one unique id per event; `dt` is ISO 8601.
pub fn resource_change_body(change: &Change, stream: &str, dt: &str, mut ids: impl FnMut() -> String) -> Vec<u8> {
    let events: Vec<serde_json::Value> = change
        .uris
        .iter()
        .map(|uri| {
            serde_json::json!({
                "$schema": "/resource_change/1.0.0",
                "meta": {
                    "uri": format!("https:{uri}"),
                    "stream": stream,
                    "request_id": change.request_id,
                    "id": ids(),
                    "dt": dt,
                    "domain": change.domain,
                },
                "tags": ["restrouter"],
            })
        })
        .collect();
    serde_json::to_vec(&events).unwrap_or_default()
}

/// One delivery waiting for the event service.
#[derive(Debug, Clone)]
pub struct Pending {
    pub body: Vec<u8>,
    pub attempts: u32,
    /// Not before this time (ms), for backoff.
    pub due_ms: u64,
}

/// A bounded outbox: at most `capacity` deliveries wait; each is tried `max_attempts` times with
/// doubling backoff; what does not fit or runs out of attempts is dropped (and counted).
#[derive(Debug)]
pub struct Outbox {
    queue: VecDeque<Pending>,
    capacity: usize,
    max_attempts: u32,
    base_backoff_ms: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retrying,
    Dropped,
}

impl Outbox {
    pub fn new(capacity: usize, max_attempts: u32, base_backoff_ms: u64) -> Outbox {
        Outbox { queue: VecDeque::new(), capacity, max_attempts, base_backoff_ms }
    }

    /// Queues a delivery; false (dropped) when the outbox is full.
    pub fn push(&mut self, body: Vec<u8>, now_ms: u64) -> bool {
        if self.queue.len() >= self.capacity {
            return false;
        }
        self.queue.push_back(Pending { body, attempts: 0, due_ms: now_ms });
        true
    }

    /// The next delivery that is due, taken out while it is in flight.
    pub fn next_due(&mut self, now_ms: u64) -> Option<Pending> {
        let idx = self.queue.iter().position(|p| p.due_ms <= now_ms)?;
        self.queue.remove(idx)
    }

    /// Records the result of an attempt; a failed one goes back with backoff or is dropped.
    pub fn finish(&mut self, mut p: Pending, ok: bool, now_ms: u64) -> Outcome {
        if ok {
            return Outcome::Sent;
        }
        p.attempts += 1;
        if p.attempts >= self.max_attempts {
            return Outcome::Dropped;
        }
        p.due_ms = now_ms + self.base_backoff_ms.saturating_mul(1 << p.attempts.min(16));
        self.queue.push_back(p);
        Outcome::Retrying
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_one_event_per_uri() {
        let c = Change { domain: "en.wikipedia.org".into(), uris: vec!["//en.wikipedia.org/api/rest_v1/page/html/Earth".into()], request_id: Some("r1".into()) };
        let mut n = 0;
        let body = resource_change_body(&c, "resource_change", "2026-11-24T00:00:00.000Z", || {
            n += 1;
            format!("id{n}")
        });
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v[0]["meta"]["uri"], "https://en.wikipedia.org/api/rest_v1/page/html/Earth");
        assert_eq!(v[0]["meta"]["stream"], "resource_change");
        assert_eq!(v[0]["meta"]["id"], "id1");
        assert_eq!(v[0]["$schema"], "/resource_change/1.0.0");
    }

    #[test]
    fn outbox_retries_with_backoff_then_drops() {
        let mut o = Outbox::new(2, 3, 100);
        assert!(o.push(b"a".to_vec(), 0));
        assert!(o.push(b"b".to_vec(), 0));
        assert!(!o.push(b"c".to_vec(), 0), "full outbox drops");
        let p = o.next_due(0).unwrap();
        assert_eq!(o.finish(p, false, 0), Outcome::Retrying);
        // "a" is backing off (due at 200): "b" comes first.
        assert_eq!(o.next_due(0).unwrap().body, b"b");
        assert!(o.next_due(199).is_none());
        let p = o.next_due(200).unwrap();
        assert_eq!(o.finish(p, false, 200), Outcome::Retrying);
        let p = o.next_due(600).unwrap();
        assert_eq!(o.finish(p, false, 600), Outcome::Dropped);
        assert!(o.is_empty());
    }
}
