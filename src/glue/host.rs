//! [`Host`] over proxy-wasm host calls. Nothing here panics on input: a failed call is an
//! `Option`, a `false` or nothing.
//!
//! Header values come from clients, so they are read as bytes (the SDK's string getters
//! `unwrap()` a UTF-8 conversion, which a client could turn into a VM crash) and converted
//! lossily.

use crate::flow::{Callout, Upstream};
use crate::host::{header, Headers, Host, MetricKind};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, MetricType};
use std::time::{Duration, UNIX_EPOCH};

/// The host of the running VM.
pub struct Hostcalls;

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A header map read whole. Names are plain ASCII (Envoy's codecs refuse anything else, which
/// the SDK's map parser relies on); values are converted lossily.
fn header_map(map: MapType) -> Headers {
    hostcalls::get_map_bytes(map).unwrap_or_default().into_iter().map(|(n, v)| (n, lossy(v))).collect()
}

pub fn property(path: &[&str]) -> Option<String> {
    hostcalls::get_property(path.to_vec()).ok().flatten().map(lossy)
}

/// The answer of a finished callout; status 0 when it failed without one (reset).
pub fn callout_response(num_headers: usize, body_size: usize) -> Upstream {
    if num_headers == 0 {
        return Upstream::callout(0, Vec::new(), Vec::new());
    }
    let headers = header_map(MapType::HttpCallResponseHeaders);
    let status = header(&headers, ":status").and_then(|v| v.parse().ok()).unwrap_or(0);
    let body = if body_size > 0 { hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size).ok().flatten().unwrap_or_default() } else { Vec::new() };
    Upstream::callout(status, headers, body)
}

impl Host for Hostcalls {
    fn request_headers(&self) -> Headers {
        header_map(MapType::HttpRequestHeaders)
    }

    fn set_request_header(&self, name: &str, value: &str) {
        let _ = hostcalls::set_map_value_bytes(MapType::HttpRequestHeaders, name, Some(value.as_bytes()));
    }

    fn remove_request_header(&self, name: &str) {
        let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
    }

    fn request_body(&self, size: usize) -> Option<Vec<u8>> {
        hostcalls::get_buffer(BufferType::HttpRequestBody, 0, size).ok().flatten()
    }

    fn response_headers(&self) -> Headers {
        header_map(MapType::HttpResponseHeaders)
    }

    fn set_response_header(&self, name: &str, value: &str) {
        let _ = hostcalls::set_map_value_bytes(MapType::HttpResponseHeaders, name, Some(value.as_bytes()));
    }

    fn add_response_header(&self, name: &str, value: &str) {
        let _ = hostcalls::add_map_value_bytes(MapType::HttpResponseHeaders, name, value.as_bytes());
    }

    fn remove_response_header(&self, name: &str) {
        let _ = hostcalls::remove_map_value(MapType::HttpResponseHeaders, name);
    }

    fn response_body(&self, max: usize) -> Vec<u8> {
        hostcalls::get_buffer(BufferType::HttpResponseBody, 0, max).ok().flatten().unwrap_or_default()
    }

    fn replace_response_body(&self, body: &[u8]) {
        let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, usize::MAX, body);
    }

    fn resume_request(&self) {
        let _ = hostcalls::resume_http_request();
    }

    fn send_reply(&self, status: u16, headers: &[(String, String)], body: &[u8]) -> bool {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        hostcalls::send_http_response(u32::from(status), headers, Some(body)).is_ok()
    }

    fn dispatch(&self, c: &Callout) -> Option<u32> {
        match hostcalls::dispatch_http_call(&c.cluster, c.all_headers(), c.body.as_deref(), vec![], Duration::from_millis(c.timeout_ms)) {
            Ok(token) => Some(token),
            Err(status) => {
                log::warn!("restrouter: callout to {} refused: {status:?}", c.cluster);
                None
            }
        }
    }

    fn source_address(&self) -> Option<String> {
        property(&["source", "address"])
    }

    fn response_flags(&self) -> u64 {
        hostcalls::get_property(vec!["response", "flags"]).ok().flatten().and_then(|b| b.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok())).map(u64::from_le_bytes).unwrap_or(0)
    }

    fn now_ms(&self) -> u64 {
        hostcalls::get_current_time().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
    }

    fn define_metric(&self, kind: MetricKind, name: &str) -> Option<u32> {
        let kind = match kind {
            MetricKind::Counter => MetricType::Counter,
            MetricKind::Gauge => MetricType::Gauge,
            MetricKind::Histogram => MetricType::Histogram,
        };
        hostcalls::define_metric(kind, name).ok()
    }

    fn increment(&self, metric: u32, by: i64) {
        let _ = hostcalls::increment_metric(metric, by);
    }

    fn record(&self, metric: u32, value: u64) {
        let _ = hostcalls::record_metric(metric, value);
    }

    fn register_queue(&self, name: &str) -> Option<u32> {
        hostcalls::register_shared_queue(name).ok()
    }

    fn resolve_queue(&self, vm_id: &str, name: &str) -> Option<u32> {
        hostcalls::resolve_shared_queue(vm_id, name).ok().flatten()
    }

    fn enqueue(&self, queue: u32, bytes: &[u8]) -> bool {
        hostcalls::enqueue_shared_queue(queue, Some(bytes)).is_ok()
    }

    fn dequeue(&self, queue: u32) -> Option<Vec<u8>> {
        hostcalls::dequeue_shared_queue(queue).ok().flatten()
    }

    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn set_shared_data(&self, key: &str, value: &[u8]) -> bool {
        hostcalls::set_shared_data(key, Some(value), None).is_ok()
    }

    fn set_shared_data_if(&self, key: &str, value: &[u8], cas: u32) -> bool {
        hostcalls::set_shared_data(key, Some(value), Some(cas)).is_ok()
    }

    fn set_tick_period_ms(&self, ms: u64) {
        let _ = hostcalls::set_tick_period(Duration::from_millis(ms));
    }
}
