//! restrouter: Wikimedia's REST API router as a proxy-wasm filter for Envoy.
//!
//! Everything but `glue` is plain logic with no host calls, tested natively; `glue` is the thin
//! proxy-wasm layer (compiled for wasm only) that turns host calls into `Result`s and drives the
//! per-request state machine.

pub mod client;
pub mod config;
pub mod events;
pub mod flow;
pub mod headers;
pub mod metrics;
pub mod paths;
pub mod problem;
pub mod ratelimit;
pub mod reply;
pub mod router;
pub mod schema;
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
