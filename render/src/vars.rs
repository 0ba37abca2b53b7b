//! Template variables: defaults for a local run, overridden by `RESTROUTER_<NAME>` environment
//! variables, then by `--set name=value`. One table, so the README, the Makefile and the tests
//! agree on names.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// (name, default, what it is)
const VARS: &[(&str, &str, &str)] = &[
    ("listen_address", "127.0.0.1", "address the public listeners bind"),
    ("http_port", "7231", "plain HTTP listener (LVS)"),
    ("https_port", "7443", "HTTPS listener; only rendered when tls_cert and tls_key are set"),
    ("admin_port", "9901", "Envoy admin, always on 127.0.0.1"),
    ("metrics_port", "", "listener exposing only GET /stats/prometheus and /ready of the admin; empty: none"),
    ("tls_cert", "", "PEM certificate chain file for the HTTPS listener"),
    ("tls_key", "", "PEM private key file for the HTTPS listener"),
    ("tls_secret", "", "SDS file naming tls_cert and tls_key (envoy/tls-secret.yaml.j2); required with them"),
    ("wasm", "target/wasm32-wasip1/wasm/restrouter.wasm", "the filter module"),
    ("filter", "on", "off leaves the wasm filter out of the HTTP chain (checks that routing holds without it)"),
    ("edge_answers", "on", "off leaves every routing error to the filter (on: Envoy answers unknown domains, non-API paths and unknown path prefixes itself)"),
    ("spec", "spec/wikimedia.yaml", "the API spec (OpenAPI 3 with x-restrouter extensions)"),
    ("storage", "127.0.0.1:7233", "storage service host:port (RESTBase storage API)"),
    ("parsoid", "127.0.0.1:8888", "Parsoid host:port"),
    ("mobileapps", "127.0.0.1:8888", "mobileapps (PCS) host:port"),
    ("wikifeeds", "127.0.0.1:8888", "wikifeeds host:port"),
    ("aqs", "127.0.0.1:8888", "AQS (metrics) host:port"),
    ("cxserver", "127.0.0.1:8888", "cxserver (Content Translation: machine translation, dictionaries, segmented pages) host:port"),
    ("mathoid", "127.0.0.1:8888", "mathoid (math formula checks and renders) host:port"),
    ("proton", "127.0.0.1:8888", "proton (page PDFs) host:port"),
    ("citoid", "127.0.0.1:8888", "citoid (citations) host:port"),
    ("recommendation", "127.0.0.1:8888", "recommendation-api (article and description recommendations) host:port"),
    ("graphoid", "127.0.0.1:8888", "graphoid (graph images) host:port"),
    ("mwapi", "127.0.0.1:8888", "MediaWiki action API host:port (siteinfo for title normalization)"),
    ("mwapi_path", "/w/api.php", "path of the action API on mwapi"),
    ("eventgate", "127.0.0.1:8888", "event service host:port; empty disables events"),
    ("ratelimit_sidecar", "", "rate-limit sidecar host:port; empty limits per Envoy only"),
    ("legacy", "127.0.0.1:7232", "legacy RESTBase host:port (rollout config)"),
    ("rollout", "", "rollout config: percent each service sends to restrouter, e.g. page-html=10,feed=100 (others 0)"),
    ("rollout_mirror", "", "rollout config: services whose legacy traffic is also mirrored to restrouter (comma separated)"),
    (
        "runtime_dir",
        "",
        "rollout config: directory laid out like a mounted ConfigMap, runtime files (restrouter.rollout.<service> = percent) under its ..data symlink, reloaded when ..data is swapped; empty: none",
    ),
    ("shadow_port", "7236", "rollout config: loopback listener that serves mirrored requests"),
    ("internal_cidrs", "127.0.0.0/8,::1/128,10.0.0.0/8", "client networks treated as internal"),
    ("trusted_proxies", "", "proxies whose x-client-ip header is believed"),
    ("xff_trusted_hops", "0", "x-forwarded-for hops Envoy trusts when finding the client address"),
    ("storage_timeout_ms", "1000", "timeout of each storage call"),
    ("backend_timeout_ms", "10000", "timeout of each back-end call"),
    ("event_timeout_ms", "2000", "timeout of each event delivery"),
    ("sidecar_timeout_ms", "500", "timeout of each rate-limit sync"),
    ("mwapi_timeout_ms", "2000", "timeout of each action API call"),
    ("siteinfo_ttl_s", "3600", "seconds a wiki's siteinfo is used before it is fetched again"),
    ("siteinfo_failure_ttl_s", "5", "seconds a wiki whose siteinfo fetch failed is answered 503 before it is asked for again"),
    ("redirect_cache_control", "s-maxage=1209600, max-age=0, must-revalidate", "cache-control of title-normalization redirects"),
    ("event_stream", "resource_change", "stream name of resource_change events"),
    ("event_transcludes_stream", "change-prop.transcludes.resource-change", "stream of the events of re-renders a transcluded page's change caused; empty: event_stream"),
    ("event_base_path", "/api/rest_v1", "path prefix of the public URIs in resource_change events"),
    ("max_body_bytes", "1048576", "largest request body accepted"),
    ("ratelimit", "on", "off disables rate limiting"),
    ("ratelimit_sync_ms", "1000", "rate-limit sync interval"),
    ("ratelimit_max_keys", "100000", "most client keys an Envoy tracks between syncs (bounds memory)"),
    ("coalesce_wait_ms", "11000", "longest a request waits for another's render of the same stored content before it renders itself; 0: every miss renders"),
];

pub struct Vars(BTreeMap<String, String>);

impl Vars {
    pub fn load(sets: &[String]) -> Result<Vars, String> {
        Vars::with(sets, true)
    }

    /// The defaults, then (when `from_env`) the environment, then `sets`.
    pub fn with(sets: &[String], from_env: bool) -> Result<Vars, String> {
        let mut map: BTreeMap<String, String> = VARS.iter().map(|(n, d, _)| (n.to_string(), d.to_string())).collect();
        if from_env {
            for (name, value) in map.iter_mut() {
                if let Ok(v) = std::env::var(format!("RESTROUTER_{}", name.to_ascii_uppercase())) {
                    *value = v;
                }
            }
        }
        for s in sets {
            let (n, v) = s.split_once('=').ok_or_else(|| format!("--set {s}: expected NAME=VALUE"))?;
            match map.get_mut(n) {
                Some(slot) => *slot = v.to_string(),
                None => return Err(format!("--set {n}: unknown variable (see `restrouter-render vars`)")),
            }
        }
        Ok(Vars(map))
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn number(&self, name: &str) -> Result<u64, String> {
        self.get(name).parse().map_err(|_| format!("{name}: '{}' is not a whole number", self.get(name)))
    }

    pub fn describe(&self) -> String {
        VARS.iter().map(|(n, _, what)| format!("RESTROUTER_{:<22} {:<40} {what}", n.to_ascii_uppercase(), self.get(n))).collect::<Vec<_>>().join("\n")
    }

    /// The template context: every variable as a string, plus `addr.<name>` = `{host, port, dns}`
    /// for addresses (`dns` when the host is a name rather than an IP).
    pub fn context(&self) -> Result<Map<String, Value>, String> {
        let mut ctx = Map::new();
        for (name, value) in &self.0 {
            ctx.insert(name.clone(), Value::String(value.clone()));
        }
        let mut addr = Map::new();
        for name in
            ["storage", "parsoid", "mobileapps", "wikifeeds", "aqs", "cxserver", "mathoid", "proton", "citoid", "recommendation", "graphoid", "mwapi", "eventgate", "ratelimit_sidecar", "legacy"]
        {
            let value = self.get(name);
            if value.is_empty() {
                continue;
            }
            let (host, port) = value.rsplit_once(':').ok_or_else(|| format!("{name}: '{value}' is not host:port"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            port.parse::<u16>().map_err(|_| format!("{name}: bad port in '{value}'"))?;
            let dns = host.parse::<std::net::IpAddr>().is_err();
            addr.insert(name.to_string(), serde_json::json!({ "host": host, "port": port, "dns": dns }));
        }
        ctx.insert("addr".into(), Value::Object(addr));
        Ok(ctx)
    }
}
