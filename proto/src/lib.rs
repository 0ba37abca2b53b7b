//! What the filter, the rate-limit sidecar, storage and the development back-end agree on, in
//! one place: the error body (`problem`), the stored-content ETag (`etag`), the sidecar's sync
//! API (`ratelimit`) and the rate estimator both sides of it judge with (`rate`).
//!
//! The filter compiles this crate into its wasm module, so it holds plain data and logic with
//! serde-level dependencies only.

pub mod etag;
pub mod problem;
pub mod rate;
pub mod ratelimit;
