//! What the filter needs from the proxy it runs in, as one small trait: the pipeline
//! (`pipeline`), the singleton service (`service`) and the rate-limit worker state are written
//! against it. `glue` implements it over proxy-wasm host calls; the tests use a fake.
//!
//! Every method is infallible from the caller's side: a host call that fails is an `Option`,
//! a `false` or nothing, never a panic (a panic kills the worker's VM).

use crate::flow::Callout;

/// A header map read whole: lowercase names (as Envoy keeps them), values as text.
pub type Headers = Vec<(String, String)>;

/// The first value of `name` (lowercase) in a map read whole.
pub fn header<'a>(map: &'a [(String, String)], name: &str) -> Option<&'a str> {
    map.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

pub trait Host {
    /// The request headers, in one host call. Only until the request is let through: Envoy
    /// then takes them away.
    fn request_headers(&self) -> Headers;
    fn set_request_header(&self, name: &str, value: &str);
    fn remove_request_header(&self, name: &str);
    /// The request body buffered so far (`size` bytes).
    fn request_body(&self, size: usize) -> Option<Vec<u8>>;

    /// The response headers as they stand, in one host call.
    fn response_headers(&self) -> Headers;
    fn set_response_header(&self, name: &str, value: &str);
    /// For a name the map does not hold yet: no lookup.
    fn add_response_header(&self, name: &str, value: &str);
    fn remove_response_header(&self, name: &str);
    /// At most `max` bytes of the response body buffered so far.
    fn response_body(&self, max: usize) -> Vec<u8>;
    fn replace_response_body(&self, body: &[u8]);

    /// Lets a request held on its headers or body go on (after a callout decided it may).
    fn resume_request(&self);
    /// Answers the request in place of the upstream; false when the host refused.
    fn send_reply(&self, status: u16, headers: &[(String, String)], body: &[u8]) -> bool;
    /// Starts a callout; its token, or `None` when it could not be dispatched.
    fn dispatch(&self, callout: &Callout) -> Option<u32>;

    /// Envoy's view of the client connection (`source.address`), one of the dearer calls.
    fn source_address(&self) -> Option<String>;
    /// Envoy's response flags bit-vector for the answer the router got (0 when unknown).
    fn response_flags(&self) -> u64;
    fn now_ms(&self) -> u64;

    fn define_metric(&self, kind: MetricKind, name: &str) -> Option<u32>;
    fn increment(&self, metric: u32, by: i64);
    fn record(&self, metric: u32, value: u64);

    fn register_queue(&self, name: &str) -> Option<u32>;
    fn resolve_queue(&self, vm_id: &str, name: &str) -> Option<u32>;
    fn enqueue(&self, queue: u32, bytes: &[u8]) -> bool;
    fn dequeue(&self, queue: u32) -> Option<Vec<u8>>;
    /// Shared data: value and compare-and-swap token.
    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    fn set_shared_data(&self, key: &str, value: &[u8]) -> bool;
    /// Writes only if the value still has compare-and-swap token `cas` (a key that does not
    /// exist yet is written whatever `cas` says: the host's rule). False on a mismatch.
    fn set_shared_data_if(&self, key: &str, value: &[u8], cas: u32) -> bool;
    fn set_tick_period_ms(&self, ms: u64);
}
