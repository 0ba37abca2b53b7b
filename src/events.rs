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
    /// The request's `x-triggered-by` (change-propagation's chain of events behind it).
    #[serde(default)]
    pub triggered_by: Option<String>,
}

/// The change of `op`'s content: one public URI per event template, the title encoded as
/// RESTBase did (`encodeURIComponent`). `{revision}` is the request's, else the revision of the
/// content just stored; a template naming a revision nobody knows is left out.
pub fn change(op: &Op, params: &HashMap<String, String>, domain: &str, base_path: &str, stored_revision: Option<&str>, request_id: Option<String>, triggered_by: Option<String>) -> Option<Change> {
    let mut params = std::borrow::Cow::Borrowed(params);
    if let (false, Some(rev)) = (params.contains_key("revision"), stored_revision) {
        params.to_mut().insert("revision".into(), rev.to_string());
    }
    let uris: Vec<String> = op
        .events
        .iter()
        .filter(|t| crate::paths::placeholders(t).iter().all(|p| params.contains_key(p)))
        .map(|t| format!("//{domain}{base_path}{}", crate::paths::expand_with(t, &params, crate::paths::encode_component)))
        .collect();
    (!uris.is_empty()).then(|| Change { domain: domain.to_string(), uris, request_id, triggered_by })
}

/// Where events go: the configured stream, or the transclusion stream for re-renders
/// change-propagation made because a transcluded page changed.
pub struct Streams<'a> {
    pub default: &'a str,
    pub transcludes: &'a str,
}

/// The events of a change, as RESTBase's `sys/events.js` built them: `http:` URIs, the
/// `restbase` tag (change-propagation's purge rules select on it), the request's
/// `x-triggered-by`, and no event change-propagation is already processing (a re-render loop).
/// Empty when nothing is left to send. `ids` makes one unique id per event; `dt` is ISO 8601.
pub fn resource_change_events(change: &Change, streams: &Streams, dt: &str, mut ids: impl FnMut() -> String) -> Vec<serde_json::Value> {
    let triggered_by = change.triggered_by.as_deref();
    let stream = match triggered_by {
        Some(t) if !streams.transcludes.is_empty() && t.contains("transcludes") => streams.transcludes,
        _ => streams.default,
    };
    let chain = triggered_by.map(|t| t.replace("https:", "").replace("http:", ""));
    change
        .uris
        .iter()
        .filter(|uri| chain.as_ref().is_none_or(|c| !c.contains(&format!("{stream}:{uri}"))))
        .map(|uri| {
            let mut event = serde_json::json!({
                "$schema": "/resource_change/1.0.0",
                "meta": {
                    "uri": format!("http:{uri}"),
                    "stream": stream,
                    "request_id": change.request_id,
                    "id": ids(),
                    "dt": dt,
                    "domain": change.domain,
                },
                "tags": ["restbase"],
            });
            if let (Some(t), Some(map)) = (triggered_by, event.as_object_mut()) {
                map.insert("triggered_by".into(), t.into());
            }
            event
        })
        .collect()
}

/// Events gathered for one POST: EventGate takes a JSON array, so the changes of many requests
/// cost the event service (and Envoy) one exchange. The body is written as events arrive.
#[derive(Debug, Default)]
pub struct Batch {
    body: Vec<u8>,
    events: usize,
    changes: u32,
}

impl Batch {
    /// Adds a change's events (none: nothing to add).
    pub fn add(&mut self, events: &[serde_json::Value]) {
        if events.is_empty() {
            return;
        }
        for event in events {
            let mark = self.body.len();
            self.body.push(if self.events == 0 { b'[' } else { b',' });
            if serde_json::to_writer(&mut self.body, event).is_err() {
                self.body.truncate(mark);
                continue;
            }
            self.events += 1;
        }
        self.changes += 1;
    }

    /// Events gathered so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// The JSON array of everything gathered and how many changes it carries, leaving the
    /// batch empty; `None` when there is nothing to send.
    pub fn take(&mut self) -> Option<(Vec<u8>, u32)> {
        if self.events == 0 {
            return None;
        }
        let mut body = std::mem::take(&mut self.body);
        body.push(b']');
        let changes = std::mem::take(&mut self.changes);
        self.events = 0;
        Some((body, changes))
    }
}

/// One delivery waiting for the event service: a batch of events.
#[derive(Debug, Clone)]
pub struct Pending {
    pub body: Vec<u8>,
    /// The changes it carries (the events metrics count changes).
    pub changes: u32,
    pub attempts: u32,
    /// Not before this time (ms), for backoff.
    pub due_ms: u64,
}

/// A bounded outbox: deliveries of at most `capacity` changes in all wait; each is tried
/// `max_attempts` times with doubling backoff; what does not fit or runs out of attempts is
/// dropped (and counted).
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

    /// Queues a delivery of `changes` changes; false (dropped) when they do not fit.
    pub fn push(&mut self, body: Vec<u8>, changes: u32, now_ms: u64) -> bool {
        // A few batches wait at most: counting them is cheaper than keeping a count right.
        let held: usize = self.queue.iter().map(|p| p.changes as usize).sum();
        if held.saturating_add(changes as usize) > self.capacity {
            return false;
        }
        self.queue.push_back(Pending { body, changes, attempts: 0, due_ms: now_ms });
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
        // A retry is let back in even past `capacity`: what was taken in is not dropped for
        // what came after it.
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

    const STREAMS: Streams = Streams { default: "resource_change", transcludes: "change-prop.transcludes.resource-change" };

    fn earth(triggered_by: Option<&str>) -> Change {
        let uris = vec!["//en.wikipedia.org/api/rest_v1/page/html/Earth/7".into(), "//en.wikipedia.org/api/rest_v1/page/html/Earth".into()];
        Change { domain: "en.wikipedia.org".into(), uris, request_id: Some("r1".into()), triggered_by: triggered_by.map(str::to_string) }
    }

    fn events(c: &Change) -> Vec<serde_json::Value> {
        let mut n = 0;
        resource_change_events(c, &STREAMS, "2026-11-24T00:00:00.000Z", || {
            n += 1;
            format!("id{n}")
        })
    }

    /// The POST body of one change alone.
    fn body(c: &Change) -> serde_json::Value {
        let mut batch = Batch::default();
        batch.add(&events(c));
        batch.take().map(|(b, _)| serde_json::from_slice(&b).unwrap()).unwrap_or(serde_json::Value::Null)
    }

    #[test]
    fn body_has_one_event_per_uri_as_restbase_sent_it() {
        let v = body(&earth(None));
        assert_eq!(v[0]["meta"]["uri"], "http://en.wikipedia.org/api/rest_v1/page/html/Earth/7");
        assert_eq!(v[1]["meta"]["uri"], "http://en.wikipedia.org/api/rest_v1/page/html/Earth");
        assert_eq!(v[0]["meta"]["stream"], "resource_change");
        assert_eq!((v[0]["meta"]["id"].as_str(), v[1]["meta"]["id"].as_str()), (Some("id1"), Some("id2")));
        assert_eq!(v[0]["meta"]["request_id"], "r1");
        assert_eq!(v[0]["$schema"], "/resource_change/1.0.0");
        assert_eq!(v[0]["tags"], serde_json::json!(["restbase"]));
        assert!(v[0].get("triggered_by").is_none(), "{v}");
    }

    #[test]
    fn a_rerender_change_propagation_triggered_keeps_its_chain_and_drops_its_own_event() {
        // change-propagation re-requested the latest HTML because of the event for it: that
        // event is not sent again (a loop); the revision's is, with the chain.
        let chain = "mediawiki.revision-create:https://en.wikipedia.org/wiki/Earth,resource_change:https://en.wikipedia.org/api/rest_v1/page/html/Earth";
        let v = body(&earth(Some(chain)));
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
        assert_eq!(v[0]["meta"]["uri"], "http://en.wikipedia.org/api/rest_v1/page/html/Earth/7");
        assert_eq!(v[0]["triggered_by"], chain);
        // Re-renders for a transcluded page's change go to the transclusion stream.
        let v = body(&earth(Some("change-prop.transcludes.resource-change:https://en.wikipedia.org/wiki/Template:X")));
        assert_eq!(v[0]["meta"]["stream"], "change-prop.transcludes.resource-change");
        // Every event dropped: nothing to send.
        let both = "resource_change:http://en.wikipedia.org/api/rest_v1/page/html/Earth/7,resource_change:http://en.wikipedia.org/api/rest_v1/page/html/Earth";
        assert!(body(&earth(Some(both))).is_null());
    }

    #[test]
    fn a_batch_is_one_array_of_every_change_s_events() {
        let mut batch = Batch::default();
        assert!(batch.take().is_none(), "nothing to send");
        batch.add(&events(&earth(None)));
        let mut moon = earth(None);
        moon.uris = vec!["//en.wikipedia.org/api/rest_v1/page/html/Moon".into()];
        batch.add(&events(&moon));
        // A change whose every event the loop guard dropped adds nothing.
        let both = "resource_change:http://en.wikipedia.org/api/rest_v1/page/html/Earth/7,resource_change:http://en.wikipedia.org/api/rest_v1/page/html/Earth";
        batch.add(&events(&earth(Some(both))));
        assert_eq!(batch.events(), 3);
        let (bytes, changes) = batch.take().unwrap();
        assert_eq!(changes, 2);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let uris: Vec<_> = v.as_array().unwrap().iter().map(|e| e["meta"]["uri"].as_str().unwrap()).collect();
        assert_eq!(uris, ["http://en.wikipedia.org/api/rest_v1/page/html/Earth/7", "http://en.wikipedia.org/api/rest_v1/page/html/Earth", "http://en.wikipedia.org/api/rest_v1/page/html/Moon"]);
        assert!(batch.take().is_none(), "taken whole");
        batch.add(&events(&moon));
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&batch.take().unwrap().0).unwrap()[0]["meta"]["uri"], "http://en.wikipedia.org/api/rest_v1/page/html/Moon");
    }

    #[test]
    fn outbox_retries_with_backoff_then_drops() {
        let mut o = Outbox::new(3, 3, 100);
        assert!(o.push(b"a".to_vec(), 1, 0));
        assert!(o.push(b"b".to_vec(), 1, 0));
        assert!(!o.push(b"c".to_vec(), 2, 0), "full outbox drops");
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
