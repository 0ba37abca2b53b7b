//! The singleton service VM (`envoy.bootstrap.wasm`, `singleton: true`, same `vm_id` as the
//! filter): owns work that must outlive a request. It delivers `resource_change` events with
//! bounded retries, and once per sync interval turns the workers' rate counts into verdicts,
//! globally through the sidecar when it answers, per Envoy when it does not (fail open to local
//! limits).

use crate::config::Settings;
use crate::events::{self, Batch, Change, Outbox, Outcome, Pending};
use crate::flow::{Callout, Upstream};
use crate::host::{Host, MetricKind};
use crate::metrics::{Counter, Metrics};
use crate::pipeline::ratelimit::{COUNTS_QUEUE, VERDICTS_KEY};
use crate::pipeline::EVENTS_QUEUE;
use crate::ratelimit::{Count, SyncRequest, SyncResponse, Verdict, Window};
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

/// Also the longest an event waits to be sent with others.
const TICK_MS: u64 = 50;
/// Events gathered into one POST at most; a full batch goes out at once.
const BATCH_EVENTS: usize = 100;
const OUTBOX_CAPACITY: usize = 10_000;
const EVENT_ATTEMPTS: u32 = 5;
const EVENT_BACKOFF_MS: u64 = 500;
const EVENTS_IN_FLIGHT: usize = 8;
/// Rate window of the local (per-Envoy) estimate.
const WINDOW_MS: u64 = 5000;

enum InFlight {
    Event(Pending),
    Sync,
}

pub struct Service {
    settings: Settings,
    vm_id: String,
    events_queue: Option<u32>,
    counts_queue: Option<u32>,
    /// Events waiting for the tick (or for a full batch) to join the outbox as one delivery.
    batch: Batch,
    outbox: Outbox,
    in_flight: HashMap<u32, InFlight>,
    /// Counts since the last sync, for the sidecar.
    pending: HashMap<String, (u64, f64)>,
    window: Window,
    last_sync_ms: u64,
    sidecar_up: Option<bool>,
    metrics: Metrics,
    gauge_keys: Option<u32>,
    gauge_sidecar: Option<u32>,
    gauge_outbox: Option<u32>,
}

impl Service {
    pub fn new(host: &impl Host, settings: Settings, vm_id: String) -> Service {
        let max_keys = settings.ratelimit.max_keys;
        Service {
            settings,
            vm_id,
            events_queue: None,
            counts_queue: None,
            batch: Batch::default(),
            outbox: Outbox::new(OUTBOX_CAPACITY, EVENT_ATTEMPTS, EVENT_BACKOFF_MS),
            in_flight: HashMap::new(),
            pending: HashMap::new(),
            window: Window::new(WINDOW_MS, max_keys),
            last_sync_ms: 0,
            sidecar_up: None,
            metrics: Metrics::define(host, None),
            gauge_keys: host.define_metric(MetricKind::Gauge, "restrouter.ratelimit.keys_tracked"),
            gauge_sidecar: host.define_metric(MetricKind::Gauge, "restrouter.ratelimit.sidecar_up"),
            gauge_outbox: host.define_metric(MetricKind::Gauge, "restrouter.events.outbox"),
        }
    }

    pub fn start(&mut self, host: &impl Host) {
        self.events_queue = host.register_queue(EVENTS_QUEUE);
        self.counts_queue = host.register_queue(COUNTS_QUEUE);
        host.set_tick_period_ms(TICK_MS);
        log::info!("restrouter: service started (vm_id '{}')", self.vm_id);
    }

    pub fn on_queue_ready(&mut self, host: &impl Host, queue: u32) {
        let now = host.now_ms();
        while let Some(bytes) = host.dequeue(queue) {
            if Some(queue) == self.events_queue {
                self.queue_events(host, &bytes, now);
            } else if Some(queue) == self.counts_queue {
                let counts: Vec<Count> = serde_json::from_slice(&bytes).unwrap_or_default();
                for c in counts {
                    self.window.add(&c.key, c.count, c.limit, now);
                    let e = self.pending.entry(c.key).or_insert((0, c.limit));
                    e.0 = e.0.saturating_add(c.count);
                    e.1 = c.limit;
                }
            }
        }
        self.pump_events(host, now);
    }

    pub fn on_tick(&mut self, host: &impl Host) {
        let now = host.now_ms();
        self.flush_batch(host, now);
        self.pump_events(host, now);
        if now.saturating_sub(self.last_sync_ms) >= self.settings.ratelimit.sync_interval_ms {
            self.last_sync_ms = now;
            self.sync(host, now);
        }
        record(host, self.gauge_outbox, self.outbox.len() as u64);
        record(host, self.gauge_keys, self.window.len() as u64);
    }

    pub fn on_callout(&mut self, host: &impl Host, token: u32, resp: Upstream) {
        let Some(what) = self.in_flight.remove(&token) else { return };
        let now = host.now_ms();
        match what {
            InFlight::Event(p) => {
                let ok = (200..300).contains(&resp.status);
                self.finish_event(host, p, ok, now);
                self.pump_events(host, now);
            }
            InFlight::Sync => {
                let parsed = if resp.status == 200 { serde_json::from_slice::<SyncResponse>(&resp.body).ok() } else { None };
                match parsed {
                    Some(r) => {
                        self.sidecar(host, true);
                        self.publish(host, r.over_limit);
                    }
                    None => {
                        self.sidecar(host, false);
                        let local = self.window.verdicts(now);
                        self.publish(host, local);
                    }
                }
            }
        }
    }

    /// A worker's message: a list of changes (a request's, as they are stored).
    fn queue_events(&mut self, host: &impl Host, bytes: &[u8], now: u64) {
        let Ok(changes) = serde_json::from_slice::<Vec<Change>>(bytes) else {
            self.metrics.count(host, Counter::EventsDropped);
            return;
        };
        if self.settings.event_cluster.is_empty() {
            return;
        }
        let dt = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(now)).to_string();
        for change in &changes {
            let streams = events::Streams { default: &self.settings.event_stream, transcludes: &self.settings.event_transcludes_stream };
            // Nothing is added once the re-render loop guard dropped every event.
            self.batch.add(&events::resource_change_events(change, &streams, &dt, || uuid::Uuid::new_v4().to_string()));
            if self.batch.events() >= BATCH_EVENTS {
                self.flush_batch(host, now);
            }
        }
    }

    /// The events gathered become one delivery.
    fn flush_batch(&mut self, host: &impl Host, now: u64) {
        if let Some((body, changes)) = self.batch.take() {
            if !self.outbox.push(body, changes, now) {
                self.metrics.count_n(host, Counter::EventsDropped, changes);
            }
        }
    }

    fn pump_events(&mut self, host: &impl Host, now: u64) {
        while self.in_flight.values().filter(|f| matches!(f, InFlight::Event(_))).count() < EVENTS_IN_FLIGHT {
            let Some(p) = self.outbox.next_due(now) else { return };
            let callout = Callout {
                cluster: self.settings.event_cluster.clone(),
                method: "POST",
                path: "/v1/events".into(),
                authority: self.settings.event_cluster.clone(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: Some(p.body.clone()),
                timeout_ms: self.settings.timeouts_ms.event,
                forward_client: false,
            };
            match host.dispatch(&callout) {
                Some(token) => {
                    self.in_flight.insert(token, InFlight::Event(p));
                }
                None => self.finish_event(host, p, false, now),
            }
        }
    }

    fn finish_event(&mut self, host: &impl Host, p: Pending, ok: bool, now: u64) {
        let changes = p.changes;
        match self.outbox.finish(p, ok, now) {
            Outcome::Sent => self.metrics.count_n(host, Counter::EventsSent, changes),
            Outcome::Retrying => self.metrics.count_n(host, Counter::EventsRetried, changes),
            Outcome::Dropped => {
                self.metrics.count_n(host, Counter::EventsDropped, changes);
                log::warn!("restrouter: resource_change event dropped after {EVENT_ATTEMPTS} attempts ({changes} changes in the batch)");
            }
        }
    }

    fn sync(&mut self, host: &impl Host, now: u64) {
        let counts: Vec<Count> = self.pending.drain().map(|(key, (count, limit))| Count { key, count, limit }).collect();
        let rl = &self.settings.ratelimit;
        if !rl.enabled || rl.sidecar_cluster.is_empty() {
            let local = self.window.verdicts(now);
            self.publish(host, local);
            return;
        }
        if self.in_flight.values().any(|f| matches!(f, InFlight::Sync)) {
            // The previous sync has not come back: judge locally for now.
            let local = self.window.verdicts(now);
            self.publish(host, local);
            return;
        }
        let body = serde_json::to_vec(&SyncRequest { counts }).unwrap_or_default();
        let callout = Callout {
            cluster: rl.sidecar_cluster.clone(),
            method: "POST",
            path: "/v1/sync".into(),
            authority: "ratelimit".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(body),
            timeout_ms: self.settings.timeouts_ms.sidecar,
            forward_client: false,
        };
        match host.dispatch(&callout) {
            Some(token) => {
                self.in_flight.insert(token, InFlight::Sync);
            }
            None => {
                self.sidecar(host, false);
                let local = self.window.verdicts(now);
                self.publish(host, local);
            }
        }
    }

    fn sidecar(&mut self, host: &impl Host, up: bool) {
        self.metrics.count(host, if up { Counter::SyncOk } else { Counter::SyncFailed });
        record(host, self.gauge_sidecar, u64::from(up));
        if self.sidecar_up != Some(up) {
            if up {
                log::info!("restrouter: rate-limit sidecar reachable: global limits apply");
            } else {
                log::warn!("restrouter: rate-limit sidecar unreachable: limits fall back to this Envoy's own counts");
            }
            self.sidecar_up = Some(up);
        }
    }

    fn publish(&mut self, host: &impl Host, mut verdicts: Vec<Verdict>) {
        verdicts.truncate(self.settings.ratelimit.max_keys);
        for v in verdicts.iter().take(5) {
            log::info!("restrouter: rate limit: {} at {:.1}/s over {}/s, admitting {:.0}%", v.key, v.rate, v.limit, v.admit * 100.0);
        }
        let bytes = serde_json::to_vec(&verdicts).unwrap_or_default();
        host.set_shared_data(VERDICTS_KEY, &bytes);
    }
}

fn record(host: &impl Host, gauge: Option<u32>, value: u64) {
    if let Some(id) = gauge {
        host.record(id, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::pipeline::fake::FakeHost;
    use serde_json::{json, Value};

    fn answer(s: &mut Service, h: &FakeHost, status: u16, body: &str) -> Callout {
        let (token, c) = h.pending.borrow_mut().pop().expect("a callout");
        s.on_callout(h, token, Upstream::callout(status, Vec::new(), body.as_bytes().to_vec()));
        c
    }

    /// A started service without a sidecar (the only callouts are deliveries), and its
    /// events queue.
    fn started(h: &FakeHost) -> (Service, u32) {
        let mut settings = Settings::default();
        settings.ratelimit.sidecar_cluster.clear();
        let mut s = Service::new(h, settings, "vm".into());
        s.start(h);
        let events = h.resolve_queue("vm", EVENTS_QUEUE).unwrap();
        (s, events)
    }

    #[test]
    fn events_are_delivered_retried_with_backoff_then_dropped() {
        let h = FakeHost::default();
        let (mut s, events) = started(&h);
        let change = Change { domain: "en.wikipedia.org".into(), uris: vec!["//en.wikipedia.org/api/rest_v1/page/html/Earth".into()], request_id: Some("r1".into()), triggered_by: None };
        h.enqueue(events, &serde_json::to_vec(&[&change]).unwrap());
        s.on_queue_ready(&h, events);
        assert!(h.pending.borrow().is_empty(), "gathered until the tick");
        s.on_tick(&h);
        let c = answer(&mut s, &h, 201, "");
        assert_eq!((c.cluster.as_str(), c.method, c.path.as_str()), ("eventgate", "POST", "/v1/events"));
        let body: Value = serde_json::from_slice(c.body.as_deref().unwrap()).unwrap();
        assert_eq!(body[0]["meta"]["uri"], "http://en.wikipedia.org/api/rest_v1/page/html/Earth");
        assert_eq!(body[0]["meta"]["request_id"], "r1");
        assert_eq!(h.counter("restrouter.events.sent"), 1);
        // The event service failing: five attempts at growing intervals, then a counted drop.
        h.enqueue(events, &serde_json::to_vec(&[&change]).unwrap());
        s.on_queue_ready(&h, events);
        s.on_tick(&h);
        let mut attempts = vec![h.now.get()];
        answer(&mut s, &h, 503, "");
        while h.counter("restrouter.events.dropped") == 0 {
            h.now.set(h.now.get() + 100);
            s.on_tick(&h);
            if !h.pending.borrow().is_empty() {
                attempts.push(h.now.get());
                answer(&mut s, &h, 503, "");
            }
            assert!(h.now.get() < 60_000, "never dropped");
        }
        assert_eq!(attempts.len(), 5, "{attempts:?}");
        let gaps: Vec<u64> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] > g[0]), "backoff grows: {gaps:?}");
        assert_eq!(h.counter("restrouter.events.retried"), 4);
    }

    #[test]
    fn the_changes_of_a_tick_go_out_in_one_post_and_a_full_batch_at_once() {
        let h = FakeHost::default();
        let (mut s, events) = started(&h);
        let change = |title: &str| {
            let uris = vec![format!("//en.wikipedia.org/api/rest_v1/page/html/{title}/1"), format!("//en.wikipedia.org/api/rest_v1/page/html/{title}")];
            serde_json::to_vec(&[Change { domain: "en.wikipedia.org".into(), uris, request_id: None, triggered_by: None }]).unwrap()
        };
        for title in ["A", "B", "C"] {
            h.enqueue(events, &change(title));
            s.on_queue_ready(&h, events);
        }
        assert!(h.pending.borrow().is_empty());
        s.on_tick(&h);
        assert_eq!(h.pending.borrow().len(), 1, "one POST for the tick's changes");
        let c = answer(&mut s, &h, 201, "");
        let body: Value = serde_json::from_slice(c.body.as_deref().unwrap()).unwrap();
        let uris: Vec<_> = body.as_array().unwrap().iter().map(|e| e["meta"]["uri"].as_str().unwrap().rsplit('/').next().unwrap().to_string()).collect();
        assert_eq!(uris, ["1", "A", "1", "B", "1", "C"]);
        assert_eq!(h.counter("restrouter.events.sent"), 3, "changes are counted");
        // A full batch does not wait for the tick.
        for i in 0..BATCH_EVENTS / 2 {
            h.enqueue(events, &change(&format!("T{i}")));
        }
        s.on_queue_ready(&h, events);
        let c = answer(&mut s, &h, 201, "");
        let body: Value = serde_json::from_slice(c.body.as_deref().unwrap()).unwrap();
        assert_eq!(body.as_array().map(Vec::len), Some(BATCH_EVENTS));
        assert_eq!(h.counter("restrouter.events.sent"), 3 + BATCH_EVENTS as i64 / 2);
        s.on_tick(&h);
        assert!(h.pending.borrow().is_empty(), "nothing was left over");
    }

    #[test]
    fn verdicts_come_from_the_sidecar_or_else_from_local_counts() {
        let h = FakeHost::default();
        let mut s = Service::new(&h, Settings::default(), "vm".into());
        s.start(&h);
        let counts = h.resolve_queue("vm", COUNTS_QUEUE).unwrap();
        h.now.set(10_000);
        h.enqueue(counts, json!([{"key": "k", "count": 50, "limit": 10.0}]).to_string().as_bytes());
        s.on_queue_ready(&h, counts);
        s.on_tick(&h);
        let c = answer(&mut s, &h, 200, r#"{"window_ms": 5000, "over_limit": [{"key": "k", "rate": 40.0, "limit": 10.0, "admit": 0.25}]}"#);
        assert_eq!((c.cluster.as_str(), c.path.as_str()), ("ratelimit", "/v1/sync"));
        let sent: Value = serde_json::from_slice(c.body.as_deref().unwrap()).unwrap();
        assert_eq!(sent["counts"][0]["count"], 50);
        let verdicts: Vec<Verdict> = serde_json::from_slice(&h.shared_data(VERDICTS_KEY).0.unwrap()).unwrap();
        assert_eq!(verdicts[0].admit, 0.25, "the sidecar's verdict");
        assert_eq!(h.counter("restrouter.ratelimit.sync_ok"), 1);
        // The sidecar down: this Envoy's own counts decide (50 in the first second: over 10/s).
        h.now.set(11_000);
        s.on_tick(&h);
        answer(&mut s, &h, 503, "");
        let verdicts: Vec<Verdict> = serde_json::from_slice(&h.shared_data(VERDICTS_KEY).0.unwrap()).unwrap();
        assert_eq!(verdicts.len(), 1);
        assert!((verdicts[0].admit - 0.2).abs() < 0.01, "{verdicts:?}");
        assert_eq!(h.counter("restrouter.ratelimit.sync_failed"), 1);
    }
}
