//! The worker side of rate limiting: count in VM memory, decide from the last verdicts, and on
//! the worker's tick hand the counts to the singleton and pick up new verdicts. No per-request
//! host call beyond what the request needs anyway.

use crate::config::Settings;
use crate::host::Host;
use crate::ratelimit::{key, Count, Decision, Local, Verdict};
use crate::spec::Op;
use std::cell::{Cell, RefCell};
use std::net::IpAddr;

pub const COUNTS_QUEUE: &str = "restrouter.ratelimit.counts";
pub const VERDICTS_KEY: &str = "restrouter.ratelimit.verdicts";

pub struct RateLimitState {
    local: RefCell<Local>,
    retry_after_s: u64,
    queue: Cell<Option<u32>>,
    verdicts_cas: Cell<Option<u32>>,
}

impl RateLimitState {
    pub fn new(settings: &Settings) -> RateLimitState {
        RateLimitState {
            local: RefCell::new(Local::new(settings.ratelimit.max_keys)),
            retry_after_s: settings.ratelimit.sync_interval_ms.div_ceil(1000).max(1),
            queue: Cell::new(None),
            verdicts_cas: Cell::new(None),
        }
    }

    pub fn check(&self, op: &Op, ip: &IpAddr, limit: f64, log_only: bool) -> Decision {
        let k = key(&op.id, &op.method, ip);
        match self.local.try_borrow_mut() {
            Ok(mut local) => local.check(&k, limit, log_only, self.retry_after_s),
            // Not reachable (one thread, no re-entry); fail open rather than panic.
            Err(_) => Decision::Allow,
        }
    }

    /// Worker tick: ship counts, refresh verdicts when the singleton published new ones.
    pub fn on_tick(&self, host: &impl Host, vm_id: &str) {
        let Ok(mut local) = self.local.try_borrow_mut() else { return };
        let counts: Vec<Count> = local.flush();
        if !counts.is_empty() {
            let queue = self.queue.get().or_else(|| host.resolve_queue(vm_id, COUNTS_QUEUE));
            self.queue.set(queue);
            let sent = match (queue, serde_json::to_vec(&counts)) {
                (Some(q), Ok(bytes)) => host.enqueue(q, &bytes),
                _ => false,
            };
            if !sent {
                // No singleton yet: the counts are lost for this tick, and limiting waits.
                self.queue.set(None);
            }
        }
        let (bytes, cas) = host.shared_data(VERDICTS_KEY);
        if cas.is_some() && cas != self.verdicts_cas.get() {
            self.verdicts_cas.set(cas);
            let verdicts: Vec<Verdict> = bytes.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
            local.set_verdicts(verdicts);
        }
    }
}
