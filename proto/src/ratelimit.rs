//! The rate-limit sidecar's sync API (`POST /v1/sync`, docs/interfaces.md): what Envoy's
//! singleton sends and gets back. The filter writes requests and reads answers, the sidecar
//! the other way round; both use these types.
//!
//! Contract: `window_ms` is required in an answer. An answer without it is not the sidecar's,
//! so the filter treats it as a failed sync and judges from its own counts. Unknown fields are
//! ignored both ways, so either side may add fields first.

use serde::{Deserialize, Serialize};

/// One key's count since the previous sync, with the limit (requests per second) that applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub key: String,
    pub count: u64,
    pub limit: f64,
}

/// A key over its limit and the share of its requests each Envoy admits (`limit / rate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverLimit {
    pub key: String,
    pub rate: f64,
    pub limit: f64,
    pub admit: f64,
}

impl OverLimit {
    pub fn new(key: String, rate: f64, limit: f64) -> OverLimit {
        OverLimit { key, rate, limit, admit: admit_share(rate, limit) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub counts: Vec<Count>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The window the rates were estimated over.
    pub window_ms: u64,
    pub over_limit: Vec<OverLimit>,
}

/// Share of requests to admit so that `rate` comes down to `limit`, in `[0, 1]`.
pub fn admit_share(rate: f64, limit: f64) -> f64 {
    if rate > 0.0 {
        (limit / rate).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn admit_is_limit_over_rate() {
        assert_eq!(admit_share(30.0, 20.0), 20.0 / 30.0);
        assert_eq!(admit_share(30.0, 0.0), 0.0);
        assert_eq!(admit_share(0.0, 0.0), 1.0);
        assert_eq!(admit_share(10.0, 20.0), 1.0);
        assert_eq!(OverLimit::new("k".into(), 40.0, 10.0).admit, 0.25);
    }

    #[test]
    fn request_wire_format() {
        let r = SyncRequest { counts: vec![Count { key: "op.GET|10.0.0.1".into(), count: 3, limit: 25.0 }] };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v, json!({"counts": [{"key": "op.GET|10.0.0.1", "count": 3, "limit": 25.0}]}));
        assert_eq!(serde_json::from_value::<SyncRequest>(v).unwrap(), r);
        assert!(serde_json::from_value::<SyncRequest>(json!({"counts": [{"key": "k", "count": -1, "limit": 1}]})).is_err());
        assert!(serde_json::from_value::<SyncRequest>(json!({})).is_err());
    }

    #[test]
    fn answer_wire_format() {
        // The example of docs/interfaces.md.
        let v = json!({"window_ms": 10000, "over_limit": [{"key": "k", "rate": 31.5, "limit": 25.0, "admit": 0.79}], "later": 1});
        let r: SyncResponse = serde_json::from_value(v).unwrap();
        assert_eq!(r.window_ms, 10_000);
        assert_eq!(r.over_limit, vec![OverLimit { key: "k".into(), rate: 31.5, limit: 25.0, admit: 0.79 }]);
        assert_eq!(serde_json::from_value::<SyncResponse>(serde_json::to_value(&r).unwrap()).unwrap(), r);
    }

    #[test]
    fn answer_without_window_or_verdicts_is_refused() {
        assert!(serde_json::from_value::<SyncResponse>(json!({"over_limit": []})).is_err());
        assert!(serde_json::from_value::<SyncResponse>(json!({"window_ms": 5000})).is_err());
        assert!(serde_json::from_value::<SyncResponse>(json!({"window_ms": 5000, "over_limit": [{"key": "k"}]})).is_err());
    }
}
