//! One render per stored resource at a time. Requests that miss the same content (same domain,
//! bucket, key and revision) share one back-end call and one storage write: the first takes a
//! lease in shared data (compare-and-swap, so one worker of all wins) and renders; the others
//! wait, held, until the lease is given back, then read storage again. The wait is bounded:
//! past `coalesce.wait_ms` a request renders itself, and a lease whose leader went away
//! expires.
//!
//! ```text
//! fetch due ──lease taken──▶ leader: fetch, store ──▶ lease given back (or marked failed)
//!     └──held by another──▶ Waiting ──(tick: given back)──▶ storage read ──hit──▶ answer
//!                             │                                  └─miss──▶ own fetch
//!                             │  (tick: marked failed)──▶ the leader's failure, answered alike
//!                             └──(tick: past the bound)──▶ own fetch
//! ```
//!
//! Shared data has no delete, so leases live in a fixed number of slots (a hash of the
//! resource), each naming the resource it is for: memory stays bounded, and two resources that
//! meet in one slot only do not share (the second renders alone). Workers learn that a lease
//! was given back on their tick (`Filter::on_tick`), which the glue turns into [`Request::on_wake`]
//! for each waiting request.

use super::{Action, Phase, Request};
use crate::flow::{Callout, Step, StoredFlow, Upstream};
use crate::host::Host;
use crate::metrics::Counter;

/// Lease slots in shared data (keys `restrouter.render.<n>`).
pub const SLOTS: u64 = 512;
/// Slack on top of a leader's own timeouts before its lease counts as abandoned.
const LEASE_SLACK_MS: u64 = 1000;

/// A request waiting for another's render of the same resource.
#[derive(Debug)]
pub(super) struct Waiting {
    flow: StoredFlow,
    /// The fetch it would have made, made after all past the bound.
    fetch: Callout,
    /// Storage's answer is held, to be replaced (see `Phase::Callout`).
    pub(super) replacing: bool,
    resource: String,
    /// The lease as it was seen: another value means it was given back.
    cas: u32,
}

/// What a request holds or waits for.
#[derive(Debug, Default)]
pub(super) struct Coalescing {
    /// The lease this request took: resource and compare-and-swap token.
    held: Option<(String, u32)>,
    /// When waiting ends; set once it waited (it does not wait twice).
    deadline: Option<u64>,
}

/// A slot's value.
#[derive(Debug, PartialEq, Eq)]
enum Lease {
    Free,
    Held {
        resource: String,
        until_ms: u64,
    },
    /// The leader's fetch failed with this status (0: reset).
    Failed {
        resource: String,
        status: u16,
    },
}

impl Lease {
    fn encode(&self) -> Vec<u8> {
        match self {
            Lease::Free => Vec::new(),
            Lease::Held { resource, until_ms } => format!("held {until_ms}\n{resource}").into_bytes(),
            Lease::Failed { resource, status } => format!("failed {status}\n{resource}").into_bytes(),
        }
    }

    fn decode(bytes: Option<&[u8]>) -> Lease {
        let text = bytes.and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default();
        let Some((head, resource)) = text.split_once('\n') else { return Lease::Free };
        let resource = resource.to_string();
        match head.split_once(' ') {
            Some(("held", until)) => until.parse().map_or(Lease::Free, |until_ms| Lease::Held { resource, until_ms }),
            Some(("failed", status)) => status.parse().map_or(Lease::Free, |status| Lease::Failed { resource, status }),
            _ => Lease::Free,
        }
    }

    fn held_for(&self, wanted: &str, now: u64) -> bool {
        matches!(self, Lease::Held { resource, until_ms } if resource == wanted && *until_ms > now)
    }
}

/// The shared data key of a resource's slot (FNV-1a of the resource).
fn slot_key(resource: &str) -> String {
    let hash = resource.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("restrouter.render.{}", hash % SLOTS)
}

/// Creates the slots this VM finds missing. A key that does not exist is written whatever
/// compare-and-swap token a write names (the host's rule), so only slots that exist make taking
/// a lease atomic; making them all at start leaves that gap to VMs starting at once.
pub fn prepare(host: &impl Host) {
    for n in 0..SLOTS {
        let key = format!("restrouter.render.{n}");
        if host.shared_data(&key).1.is_none() {
            host.set_shared_data(&key, &[]);
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Claim {
    /// This request renders; the lease's token.
    Lead(u32),
    /// Another renders; the lease's token as seen.
    Follow(u32),
    /// The slot is another resource's, or shared data refused: render without a lease.
    Alone,
}

fn claim(host: &impl Host, resource: &str, now: u64, ttl_ms: u64) -> Claim {
    let key = slot_key(resource);
    let (value, cas) = host.shared_data(&key);
    let lease = Lease::decode(value.as_deref());
    match (&lease, cas) {
        (_, Some(cas)) if lease.held_for(resource, now) => return Claim::Follow(cas),
        (Lease::Held { until_ms, .. }, _) if *until_ms > now => return Claim::Alone,
        _ => {}
    }
    let mine = Lease::Held { resource: resource.to_string(), until_ms: now + ttl_ms };
    let written = match cas {
        Some(cas) => host.set_shared_data_if(&key, &mine.encode(), cas),
        None => host.set_shared_data(&key, &mine.encode()),
    };
    let (value, cas) = host.shared_data(&key);
    match (written, cas) {
        (true, Some(cas)) if Lease::decode(value.as_deref()) == mine => Claim::Lead(cas),
        // Another worker was first.
        (false, Some(cas)) if Lease::decode(value.as_deref()).held_for(resource, now) => Claim::Follow(cas),
        _ => Claim::Alone,
    }
}

/// Gives a lease back, marked failed when the leader's fetch failed; a lease that moved on
/// (expired and taken by another) is left alone.
fn release(host: &impl Host, resource: &str, cas: u32, failed: Option<u16>) {
    let value = match failed {
        Some(status) => Lease::Failed { resource: resource.to_string(), status },
        None => Lease::Free,
    };
    host.set_shared_data_if(&slot_key(resource), &value.encode(), cas);
}

#[derive(Debug, PartialEq, Eq)]
enum Watch {
    Held,
    Released,
    Failed(u16),
}

fn watch(host: &impl Host, resource: &str, seen: u32, now: u64) -> Watch {
    let (value, cas) = host.shared_data(&slot_key(resource));
    let lease = Lease::decode(value.as_deref());
    if cas == Some(seen) {
        // Unchanged: still rendering, unless the leader went away and the lease expired.
        return if lease.held_for(resource, now) { Watch::Held } else { Watch::Released };
    }
    match lease {
        Lease::Failed { resource: r, status } if r == resource => Watch::Failed(status),
        _ => Watch::Released,
    }
}

impl Request {
    /// Before a fetch goes out: takes the lease of what it renders (and `None`: the fetch is
    /// made), or finds another request holding it: the lease to wait on.
    pub(super) fn lease_to_wait_on(&mut self, host: &impl Host, flow: &StoredFlow) -> Option<(String, u32)> {
        let settings = &self.filter.settings;
        let (wait_ms, ttl_ms) = (settings.coalesce.wait_ms, settings.timeouts_ms.backend + 2 * settings.timeouts_ms.storage + LEASE_SLACK_MS);
        let resource = flow.render_key().filter(|_| wait_ms > 0 && self.coalescing.held.is_none())?;
        let now = host.now_ms();
        match claim(host, &resource, now, ttl_ms) {
            Claim::Lead(cas) => {
                self.coalescing.held = Some((resource, cas));
                None
            }
            // A request waits once: if what it waited for is not in storage after all (the
            // render failed to store, or stored another revision), it renders itself rather
            // than queue behind one render after another.
            Claim::Alone => None,
            Claim::Follow(_) if self.coalescing.deadline.is_some() => None,
            Claim::Follow(cas) => {
                self.coalescing.deadline = Some(now + wait_ms);
                self.filter.metrics.count(host, Counter::CoalescedWait);
                Some((resource, cas))
            }
        }
    }

    /// Holds the request until the lease is given back (see [`Request::on_wake`]).
    pub(super) fn wait(&mut self, flow: StoredFlow, fetch: Callout, replacing: bool, (resource, cas): (String, u32)) -> Action {
        self.phase = Phase::Waiting(Box::new(Waiting { flow, fetch, replacing, resource, cas }));
        Action::Pause
    }

    /// The flow answered: a lease it held is given back (marked failed if its fetch failed).
    pub(super) fn release_lease(&mut self, host: &impl Host, flow: &StoredFlow) {
        if let Some((resource, cas)) = self.coalescing.held.take() {
            release(host, &resource, cas, flow.failed_status());
        }
    }

    /// True while the request waits for another's render: the glue then calls
    /// [`Request::on_wake`] on every tick.
    pub fn is_waiting(&self) -> bool {
        matches!(self.phase, Phase::Waiting(_))
    }

    /// The token of the callout the request waits on, if any.
    pub fn pending_callout(&self) -> Option<u32> {
        match self.phase {
            Phase::Callout { token, .. } => Some(token),
            _ => None,
        }
    }

    /// A tick: a waiting request looks at the lease, and goes on when it was given back,
    /// marked failed, or when the wait is over.
    pub fn on_wake(&mut self, host: &impl Host) {
        let Phase::Waiting(w) = std::mem::take(&mut self.phase) else { return };
        let Waiting { mut flow, fetch, replacing, resource, cas } = *w;
        let now = host.now_ms();
        let step = match watch(host, &resource, cas, now) {
            Watch::Held if self.coalescing.deadline.is_some_and(|d| now < d) => {
                self.phase = Phase::Waiting(Box::new(Waiting { flow, fetch, replacing, resource, cas }));
                return;
            }
            Watch::Held => {
                self.filter.metrics.count(host, Counter::CoalescedTimeout);
                Step::Call(fetch)
            }
            // The same answer the leader got, whatever the flow makes of it.
            Watch::Failed(status) => flow.on_response(Upstream::callout(status, Vec::new(), Vec::new())),
            Watch::Released => flow.recheck(),
        };
        // Either answered or on to the next callout: nothing to resume.
        let _ = self.run(host, flow, step, replacing);
    }

    /// The request ends (answered, or the client went away): a lease still held is given back
    /// so the waiting requests go on at once rather than at its expiry.
    pub fn on_done(&mut self, host: &impl Host) {
        if let Some((resource, cas)) = self.coalescing.held.take() {
            release(host, &resource, cas, None);
        }
    }
}

#[cfg(test)]
#[path = "coalesce_tests.rs"]
mod tests;
