//! The host calls the filter makes, as `Result`s or `Option`s: nothing here panics on input.
//!
//! Header values come from clients, so they are read as bytes (the SDK's string getters
//! `unwrap()` a UTF-8 conversion, which a client could turn into a VM crash) and converted
//! lossily.

use crate::flow::{Callout, Upstream};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, MetricType, Status};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

pub fn set_request_header(name: &str, value: &str) {
    let _ = hostcalls::set_map_value_bytes(MapType::HttpRequestHeaders, name, Some(value.as_bytes()));
}

pub fn remove_request_header(name: &str) {
    let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
}

pub fn set_response_header(name: &str, value: &str) {
    let _ = hostcalls::set_map_value_bytes(MapType::HttpResponseHeaders, name, Some(value.as_bytes()));
}

/// For a name the map does not hold yet: no lookup.
pub fn add_response_header(name: &str, value: &str) {
    let _ = hostcalls::add_map_value_bytes(MapType::HttpResponseHeaders, name, value.as_bytes());
}

pub fn remove_response_header(name: &str) {
    let _ = hostcalls::remove_map_value(MapType::HttpResponseHeaders, name);
}

pub fn property(path: &[&str]) -> Option<String> {
    hostcalls::get_property(path.to_vec()).ok().flatten().map(lossy)
}

/// Envoy's response flags bit-vector (0 when unknown).
pub fn response_flags() -> u64 {
    hostcalls::get_property(vec!["response", "flags"])
        .ok()
        .flatten()
        .and_then(|b| b.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()))
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

pub fn request_body(size: usize) -> Option<Vec<u8>> {
    hostcalls::get_buffer(BufferType::HttpRequestBody, 0, size).ok().flatten()
}

pub fn replace_response_body(body: &[u8]) {
    let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, usize::MAX, body);
}

pub fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub fn now() -> SystemTime {
    hostcalls::get_current_time().unwrap_or(UNIX_EPOCH)
}

pub fn send_response(status: u16, headers: &[(String, String)], body: Option<&[u8]>) -> Result<(), Status> {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    hostcalls::send_http_response(u32::from(status), headers, body)
}

pub fn dispatch(c: &Callout) -> Result<u32, Status> {
    let headers: Vec<(&str, &str)> = c.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    hostcalls::dispatch_http_call(&c.cluster, headers, c.body.as_deref(), vec![], Duration::from_millis(c.timeout_ms))
}

/// A header map read whole. Names are plain ASCII (Envoy's codecs refuse anything else, which
/// the SDK's map parser relies on); values are converted lossily.
fn header_map(map: MapType) -> Vec<(String, String)> {
    hostcalls::get_map_bytes(map).unwrap_or_default().into_iter().map(|(n, v)| (n, lossy(v))).collect()
}

/// The request headers, in one host call. Only until the filter lets them through: Envoy then
/// takes them away, and the SDK panics on the status it answers.
pub fn request_headers() -> Vec<(String, String)> {
    header_map(MapType::HttpRequestHeaders)
}

/// The response headers as they stand, in one host call.
pub fn response_headers() -> Vec<(String, String)> {
    header_map(MapType::HttpResponseHeaders)
}

/// The first value of `name` (lowercase, as Envoy keeps header names) in a map read whole.
pub fn header<'a>(map: &'a [(String, String)], name: &str) -> Option<&'a str> {
    map.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The response of a finished callout; status 0 when it failed without one (reset).
pub fn callout_response(num_headers: usize, body_size: usize) -> Upstream {
    if num_headers == 0 {
        return Upstream::default();
    }
    let headers = header_map(MapType::HttpCallResponseHeaders);
    let status = header(&headers, ":status").and_then(|v| v.parse().ok()).unwrap_or(0);
    let body = if body_size > 0 { hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size).ok().flatten().unwrap_or_default() } else { Vec::new() };
    Upstream { status, headers, body }
}

pub fn define(kind: MetricType, name: &str) -> Option<u32> {
    hostcalls::define_metric(kind, name).ok()
}

pub fn increment(id: Option<u32>, by: i64) {
    if let Some(id) = id {
        let _ = hostcalls::increment_metric(id, by);
    }
}

pub fn record(id: Option<u32>, value: u64) {
    if let Some(id) = id {
        let _ = hostcalls::record_metric(id, value);
    }
}

pub fn enqueue(queue: u32, bytes: &[u8]) -> bool {
    hostcalls::enqueue_shared_queue(queue, Some(bytes)).is_ok()
}

pub fn resolve_queue(vm_id: &str, name: &str) -> Option<u32> {
    hostcalls::resolve_shared_queue(vm_id, name).ok().flatten()
}

pub fn shared_data(key: &str) -> (Option<Vec<u8>>, Option<u32>) {
    hostcalls::get_shared_data(key).unwrap_or((None, None))
}

pub fn set_shared_data(key: &str, value: &[u8], cas: Option<u32>) -> Result<(), Status> {
    hostcalls::set_shared_data(key, Some(value), cas)
}
