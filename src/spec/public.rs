//! The public OpenAPI document a project serves at `/{domain}/v1/?spec`: the spec's own text
//! with the router's extensions removed and only the project's paths, so standard OpenAPI tools
//! can read and test the API.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

fn strip_extensions(v: &Value) -> Value {
    match v {
        Value::Object(obj) => Value::Object(obj.iter().filter(|(k, _)| !k.starts_with("x-restrouter")).map(|(k, v)| (k.clone(), strip_extensions(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(strip_extensions).collect()),
        other => other.clone(),
    }
}

pub fn document(doc: &Value, paths: &BTreeSet<&str>) -> Value {
    let mut out = match strip_extensions(doc) {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    if let Some(Value::Object(all)) = out.get("paths") {
        let kept: Map<String, Value> = all.iter().filter(|(k, _)| paths.contains(k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        out.insert("paths".into(), Value::Object(kept));
    }
    Value::Object(out)
}

/// The document for one domain: `servers` points at the API's base as the client addressed
/// it (`/{domain}/v1`, or `/api/rest_v1` on the wiki's own host).
pub fn for_base(project_doc: &Value, base: &str) -> Vec<u8> {
    let mut doc = project_doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("servers".into(), serde_json::json!([{ "url": base }]));
    }
    serde_json::to_vec(&doc).unwrap_or_default()
}
