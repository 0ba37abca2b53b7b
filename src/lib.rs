//! restrouter: Wikimedia's REST API router as a proxy-wasm filter for Envoy.
//!
//! Everything but `glue` is host-agnostic: the per-request `pipeline` and the singleton
//! `service` are written against the small `host::Host` trait and tested natively with a fake
//! host; `glue` (compiled for wasm only) implements `Host` over proxy-wasm host calls and
//! forwards callbacks.

pub mod client;
pub mod config;
pub mod events;
pub mod flow;
pub mod host;
pub mod math;
pub mod metrics;
pub mod multipart;
pub mod pages;
pub mod paths;
pub mod pipeline;
pub mod policy;
pub mod problem;
pub mod ratelimit;
pub mod reply;
pub mod router;
pub mod save;
pub mod schema;
pub mod service;
pub mod siteinfo;
pub mod spec;
pub mod title;
pub mod validate;

// Not in the test build: the unit tests also run compiled to wasm32-wasip1 under a plain WASI
// runner, which has none of the proxy-wasm host functions the glue imports.
#[cfg(all(target_arch = "wasm32", not(test)))]
mod glue;

#[cfg(test)]
mod logic_cost;
#[cfg(test)]
mod memory_tests;
