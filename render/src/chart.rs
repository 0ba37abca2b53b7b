//! `restrouter-render chart`: the Envoy config of a Helm release. The chart's values (its
//! `values.yaml`, then each `-f` file, merged the way Helm merges them) become template
//! variables, so the chart deploys what the templates in `envoy/` produce instead of a second
//! copy of them in Helm's template language.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Where the pod mounts the `kubernetes.io/tls` Secret (helm/restrouter/templates/deployment.yaml).
const TLS_DIR: &str = "/etc/restrouter/tls";
/// The SDS file of the TLS Secret's files, in the pod's Envoy ConfigMap (configmap.yaml).
const TLS_SECRET: &str = "/etc/envoy/tls-secret.yaml";
/// Where the pod mounts the runtime ConfigMap (`rollout.percent`; deployment.yaml).
pub const RUNTIME_DIR: &str = "/etc/restrouter/runtime";

/// What `restrouter-render chart` renders for one set of values.
pub struct Release {
    /// `name=value` template variables.
    pub sets: Vec<String>,
    /// `envoy/restrouter.yaml.j2`, or `envoy/rollout.yaml.j2` with `rollout.enabled`.
    pub template: &'static str,
    /// `values.spec` when given; `None`: the chart's bundled `files/wikimedia.yaml`.
    pub spec: Option<Value>,
    /// The values the config depends on, recorded in it for the chart to compare with its own.
    pub recorded: Value,
}

/// The chart's `values.yaml` with each file merged over it.
pub fn values(chart: &Path, files: &[PathBuf]) -> Result<Value, String> {
    let mut values = read_yaml(&chart.join("values.yaml"))?;
    for file in files {
        merge(&mut values, read_yaml(file)?);
    }
    Ok(values)
}

fn read_yaml(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: Option<Value> = serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(value.unwrap_or(Value::Object(Map::new())))
}

/// Helm's merge of a values file over the values so far: maps merge key by key, a null removes
/// the key, anything else (lists included) replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match (b.get_mut(&k), v) {
                    (_, Value::Null) => {
                        b.remove(&k);
                    }
                    (Some(slot), v @ Value::Object(_)) if slot.is_object() => merge(slot, v),
                    (_, v) => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

/// The values the Envoy config depends on. The chart's `restrouter.renderedFrom` (in
/// `templates/_helpers.tpl`) selects the same ones from the release's values and refuses a
/// config that recorded others. `rollout.percent` is not one of them: the percentages reach
/// Envoy through the runtime ConfigMap, so moving traffic needs no new config.
pub fn recorded(values: &Value) -> Value {
    let at = |p: &str| values.pointer(p).cloned().unwrap_or(Value::Null);
    json!({
        "backends": at("/backends"),
        "settings": at("/settings"),
        "spec": at("/spec"),
        "rollout": {"enabled": at("/rollout/enabled"), "mirror": at("/rollout/mirror"), "shadowPort": at("/rollout/shadowPort")},
        "ports": at("/ports"),
        "tls": at("/tls/enabled"),
        "wasmPath": at("/image/wasmPath"),
        "adminPort": at("/envoy/adminPort"),
        "xffTrustedHops": at("/envoy/xffTrustedHops"),
        "ratelimit": at("/ratelimit/enabled"),
    })
}

/// A scalar value as a template variable.
fn scalar(values: &Value, pointer: &str) -> Result<String, String> {
    let name = pointer.trim_start_matches('/').replace('/', ".");
    match values.pointer(pointer) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(Value::Null) | None => Ok(String::new()),
        Some(other) => Err(format!("{name}: expected a scalar, got {other}")),
    }
}

fn truthy(values: &Value, pointer: &str) -> bool {
    values.pointer(pointer).is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)) && v != "")
}

fn list(values: &Value, pointer: &str) -> Result<String, String> {
    let items = values.pointer(pointer).and_then(Value::as_array).cloned().unwrap_or_default();
    let items: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
    items.map(|i| i.join(",")).ok_or_else(|| format!("{}: expected a list of strings", pointer.trim_start_matches('/').replace('/', ".")))
}

/// Maps the chart's values to the templates' variables (`restrouter-render vars`).
pub fn release(values: &Value) -> Result<Release, String> {
    let mut sets: Vec<(&str, String)> = vec![
        ("listen_address", "0.0.0.0".into()),
        ("http_port", scalar(values, "/ports/http")?),
        ("https_port", scalar(values, "/ports/https")?),
        ("metrics_port", scalar(values, "/ports/metrics")?),
        ("admin_port", scalar(values, "/envoy/adminPort")?),
        ("wasm", scalar(values, "/image/wasmPath")?),
        ("xff_trusted_hops", scalar(values, "/envoy/xffTrustedHops")?),
    ];
    for name in ["storage", "parsoid", "mobileapps", "wikifeeds", "aqs", "cxserver", "mathoid", "proton", "citoid", "recommendation", "graphoid", "mwapi", "eventgate", "legacy"] {
        sets.push((name, scalar(values, &format!("/backends/{name}"))?));
    }
    let sidecar = if truthy(values, "/ratelimit/enabled") { format!("127.0.0.1:{}", scalar(values, "/ports/ratelimitApi")?) } else { String::new() };
    sets.push(("ratelimit_sidecar", sidecar));
    if truthy(values, "/tls/enabled") {
        sets.push(("tls_cert", format!("{TLS_DIR}/tls.crt")));
        sets.push(("tls_key", format!("{TLS_DIR}/tls.key")));
        sets.push(("tls_secret", TLS_SECRET.into()));
    }
    sets.extend(settings(values)?);
    let mut template = "restrouter.yaml.j2";
    if truthy(values, "/rollout/enabled") {
        template = "rollout.yaml.j2";
        if values.pointer("/rollout/services").is_some() {
            return Err("rollout.services: replaced by rollout.percent (service: percent) and rollout.mirror (services); paths are set in envoy/rollout.yaml.j2".into());
        }
        // `rollout.percent` is not rendered (the routes default to 0): the chart puts it in the
        // runtime ConfigMap and checks it against the services this config names.
        sets.push(("rollout_mirror", list(values, "/rollout/mirror")?));
        sets.push(("shadow_port", scalar(values, "/rollout/shadowPort")?));
        sets.push(("runtime_dir", RUNTIME_DIR.into()));
    }
    let spec = values.get("spec").filter(|s| s.as_object().is_some_and(|m| !m.is_empty())).cloned();
    Ok(Release { sets: sets.into_iter().map(|(n, v)| format!("{n}={v}")).collect(), template, spec, recorded: recorded(values) })
}

/// `settings` (the filter's settings, src/config.rs) as template variables; the cluster names
/// are the templates' own.
fn settings(values: &Value) -> Result<Vec<(&'static str, String)>, String> {
    const KNOWN: &[&str] = &[
        "internal_cidrs",
        "trusted_proxies",
        "timeouts_ms",
        "event_stream",
        "event_transcludes_stream",
        "max_body_bytes",
        "event_base_path",
        "ratelimit",
        "mwapi_path",
        "siteinfo_ttl_s",
        "siteinfo_failure_ttl_s",
        "redirect_cache_control",
        "coalesce",
    ];
    if let Some(unknown) = values.get("settings").and_then(Value::as_object).and_then(|m| m.keys().find(|k| !KNOWN.contains(&k.as_str()))) {
        return Err(format!("settings.{unknown}: not a setting (src/config.rs; cluster names are set by the templates)"));
    }
    let mut sets = Vec::new();
    // A setting left out keeps the template default; an empty list stays empty.
    let given = |p: &str| values.pointer(p).is_some_and(|v| !v.is_null());
    for (name, key) in [("internal_cidrs", "internal_cidrs"), ("trusted_proxies", "trusted_proxies")] {
        let pointer = format!("/settings/{key}");
        if given(&pointer) {
            sets.push((name, list(values, &pointer)?));
        }
    }
    let scalars = [
        ("event_stream", "event_stream"),
        ("event_transcludes_stream", "event_transcludes_stream"),
        ("max_body_bytes", "max_body_bytes"),
        ("event_base_path", "event_base_path"),
        ("ratelimit_sync_ms", "ratelimit/sync_interval_ms"),
        ("ratelimit_max_keys", "ratelimit/max_keys"),
        ("storage_timeout_ms", "timeouts_ms/storage"),
        ("backend_timeout_ms", "timeouts_ms/backend"),
        ("event_timeout_ms", "timeouts_ms/event"),
        ("sidecar_timeout_ms", "timeouts_ms/sidecar"),
        ("mwapi_timeout_ms", "timeouts_ms/mwapi"),
        ("mwapi_path", "mwapi_path"),
        ("siteinfo_ttl_s", "siteinfo_ttl_s"),
        ("siteinfo_failure_ttl_s", "siteinfo_failure_ttl_s"),
        ("redirect_cache_control", "redirect_cache_control"),
        ("coalesce_wait_ms", "coalesce/wait_ms"),
    ];
    for (name, key) in scalars {
        let pointer = format!("/settings/{key}");
        if given(&pointer) {
            sets.push((name, scalar(values, &pointer)?));
        }
    }
    if given("/settings/ratelimit/enabled") {
        sets.push(("ratelimit", if truthy(values, "/settings/ratelimit/enabled") { "on" } else { "off" }.to_string()));
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_helms() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "l": [1, 2], "k": "v"});
        merge(&mut base, json!({"a": {"y": 3, "z": 4}, "l": [9], "k": null}));
        assert_eq!(base, json!({"a": {"x": 1, "y": 3, "z": 4}, "l": [9]}));
    }

    #[test]
    fn chart_values_map_to_variables() {
        let values = json!({
            "ports": {"http": 7231, "https": 7443, "metrics": 9102, "ratelimitApi": 7235},
            "envoy": {"adminPort": 9901, "xffTrustedHops": 1},
            "image": {"wasmPath": "/w.wasm"},
            "backends": {"storage": "s:1", "parsoid": "p:2", "mobileapps": "m:3", "wikifeeds": "w:4", "aqs": "a:5", "cxserver": "cx:7", "mathoid": "ma:8", "proton": "pr:9", "citoid": "ci:10", "recommendation": "re:11", "graphoid": "gr:12", "mwapi": "mw:6", "eventgate": ""},
            "ratelimit": {"enabled": true},
            "tls": {"enabled": true},
            "settings": {"internal_cidrs": ["10.0.0.0/8", "::1/128"], "timeouts_ms": {"storage": 1000}},
            "rollout": {"enabled": true, "shadowPort": 7236, "percent": {"feed": 100}, "mirror": ["feed"]},
            "spec": {},
        });
        let r = release(&values).unwrap_or_else(|e| panic!("{e}"));
        for want in [
            "http_port=7231",
            "metrics_port=9102",
            "ratelimit_sidecar=127.0.0.1:7235",
            "tls_cert=/etc/restrouter/tls/tls.crt",
            "internal_cidrs=10.0.0.0/8,::1/128",
            "storage_timeout_ms=1000",
            "rollout_mirror=feed",
            "runtime_dir=/etc/restrouter/runtime",
            "eventgate=",
        ] {
            assert!(r.sets.iter().any(|s| s == want), "{want} not in {:?}", r.sets);
        }
        assert_eq!(r.template, "rollout.yaml.j2");
        assert!(r.spec.is_none());
        // Percentages are the runtime ConfigMap's: neither rendered nor recorded.
        assert!(!r.sets.iter().any(|s| s.starts_with("rollout=")), "{:?}", r.sets);
        let mut moved = values.clone();
        moved["rollout"]["percent"]["feed"] = json!(10);
        assert_eq!(release(&moved).map(|m| m.recorded).ok(), Some(r.recorded.clone()));
        let mut bad = values.clone();
        bad["settings"]["storage_cluster"] = json!("x");
        assert!(release(&bad).is_err_and(|e| e.contains("settings.storage_cluster")));
        bad = values;
        bad["rollout"]["services"] = json!([{"name": "feed", "percent": 1}]);
        assert!(release(&bad).is_err_and(|e| e.contains("rollout.percent")));
    }
}
