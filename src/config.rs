//! The plugin configuration: the API spec plus deployment settings, as Envoy hands it over (JSON).

use crate::client::Trust;
use ipnet::IpNet;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The API spec: present for the HTTP filter, absent for the singleton service.
    #[serde(default)]
    pub spec: Option<serde_json::Value>,
    #[serde(default)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub storage_cluster: String,
    pub event_cluster: String,
    pub internal_cidrs: Vec<IpNet>,
    pub trusted_proxies: Vec<IpNet>,
    pub timeouts_ms: Timeouts,
    pub event_stream: String,
    /// Stream of the events of re-renders change-propagation made for a transcluded page's
    /// change (its `x-triggered-by` names `transcludes`); empty: `event_stream`.
    pub event_transcludes_stream: String,
    /// Largest request body the router validates and forwards (bytes).
    pub max_body_bytes: usize,
    /// Base of the public URIs in `resource_change` events (`//{domain}` + this + route path).
    pub event_base_path: String,
    pub ratelimit: RateLimitSettings,
    /// The MediaWiki action API (siteinfo for title normalization): Envoy cluster and path.
    pub mwapi_cluster: String,
    pub mwapi_path: String,
    /// How long a wiki's siteinfo is used before it is fetched again (shared by the workers).
    pub siteinfo_ttl_s: u64,
    /// How long a wiki whose siteinfo fetch failed is answered 503 without asking again (also
    /// the answer's `retry-after`); 0 asks again on every request.
    pub siteinfo_failure_ttl_s: u64,
    /// `cache-control` of title-normalization redirects (RESTBase's `purged_cache_control`: the
    /// CDN keeps them, change-propagation purges them).
    pub redirect_cache_control: String,
    pub coalesce: CoalesceSettings,
}

/// Requests that miss the same stored content share one render (`pipeline::coalesce`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoalesceSettings {
    /// Longest a request waits for another's render before it renders itself; 0: no sharing.
    pub wait_ms: u64,
    /// How often a waiting request looks whether the render is done (the workers' tick).
    pub poll_ms: u64,
}

impl Default for CoalesceSettings {
    fn default() -> Self {
        // As long as a render and its write may take with the default timeouts.
        CoalesceSettings { wait_ms: 11_000, poll_ms: 50 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    pub storage: u64,
    pub backend: u64,
    pub event: u64,
    pub sidecar: u64,
    pub mwapi: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub sync_interval_ms: u64,
    pub sidecar_cluster: String,
    /// Upper bound of distinct keys tracked per Envoy between two syncs.
    pub max_keys: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            storage_cluster: "storage".into(),
            event_cluster: "eventgate".into(),
            internal_cidrs: ["127.0.0.0/8", "10.0.0.0/8", "::1/128"].iter().filter_map(|s| s.parse().ok()).collect(),
            trusted_proxies: Vec::new(),
            timeouts_ms: Timeouts::default(),
            event_stream: "resource_change".into(),
            event_transcludes_stream: "change-prop.transcludes.resource-change".into(),
            max_body_bytes: 1 << 20,
            event_base_path: "/api/rest_v1".into(),
            ratelimit: RateLimitSettings::default(),
            mwapi_cluster: "mwapi".into(),
            mwapi_path: "/w/api.php".into(),
            siteinfo_ttl_s: 3600,
            siteinfo_failure_ttl_s: 5,
            redirect_cache_control: "s-maxage=1209600, max-age=0, must-revalidate".into(),
            coalesce: CoalesceSettings::default(),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { storage: 1000, backend: 10_000, event: 2000, sidecar: 500, mwapi: 2000 }
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings { enabled: true, sync_interval_ms: 1000, sidecar_cluster: "ratelimit".into(), max_keys: 100_000 }
    }
}

impl Settings {
    pub fn trust(&self) -> Trust {
        Trust { internal: self.internal_cidrs.clone(), trusted_proxies: self.trusted_proxies.clone() }
    }
}

/// Parses the configuration bytes, naming the field that is wrong.
#[cfg(not(target_arch = "wasm32"))]
pub fn parse(bytes: &[u8]) -> Result<PluginConfig, String> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| format!("configuration: {}: {}", e.path(), e.inner()))
}

/// Parses the configuration bytes (serde's message only: see `spec::from_value`).
#[cfg(target_arch = "wasm32")]
pub fn parse(bytes: &[u8]) -> Result<PluginConfig, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("configuration: {e}"))
}
