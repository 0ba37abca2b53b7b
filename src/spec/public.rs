//! The public OpenAPI document a project serves at `/{domain}/v1/?spec`: the spec's own text
//! with the router's extensions removed and only the project's paths, so standard OpenAPI tools
//! can read and test the API.
//!
//! Each project keeps its document serialized, split where the `servers` URL goes: as a JSON
//! tree it took several times the bytes in every VM (wasm memory never shrinks), and it is
//! written straight from the spec, never copied as a tree first.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::collections::BTreeSet;

/// A project's document, serialized around its `servers` URL.
#[derive(Debug)]
pub struct Document {
    head: Vec<u8>,
    tail: Vec<u8>,
}

/// A value of the spec as the public document shows it: extensions left out.
struct Stripped<'a>(&'a Value);

impl Serialize for Stripped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(obj) => s.collect_map(obj.iter().filter(|(k, _)| !k.starts_with("x-restrouter")).map(|(k, v)| (k, Stripped(v)))),
            Value::Array(items) => s.collect_seq(items.iter().map(Stripped)),
            other => other.serialize(s),
        }
    }
}

/// A member of the document's top level.
enum Member<'a> {
    Spec(&'a Value),
    /// Only the project's paths.
    Paths(&'a serde_json::Map<String, Value>, &'a BTreeSet<&'a str>),
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Spec(v) => Stripped(v).serialize(s),
            Member::Paths(all, kept) => {
                let mut map = s.serialize_map(None)?;
                for (k, v) in all.iter().filter(|(k, _)| kept.contains(k.as_str())) {
                    map.serialize_entry(k, &Stripped(v))?;
                }
                map.end()
            }
        }
    }
}

impl Document {
    /// The document of the project serving `paths`. Written as serde_json writes an object of
    /// the spec: members sorted, `servers` (always the router's) among them.
    pub fn of(doc: &Value, paths: &BTreeSet<&str>) -> Document {
        let mut head = b"{".to_vec();
        let mut tail = b"}]".to_vec();
        if let Value::Object(obj) = doc {
            for (k, v) in obj.iter().filter(|(k, _)| !k.starts_with("x-restrouter") && k.as_str() != "servers") {
                let member = match v {
                    Value::Object(all) if k == "paths" => Member::Paths(all, paths),
                    _ => Member::Spec(v),
                };
                let before = k.as_str() < "servers";
                let out = if before { &mut head } else { &mut tail };
                if !before {
                    out.push(b',');
                }
                // Writing into memory fails only for a map key that is not a string.
                serde_json::to_writer(&mut *out, k).unwrap_or_default();
                out.push(b':');
                serde_json::to_writer(&mut *out, &member).unwrap_or_default();
                if before {
                    out.push(b',');
                }
            }
        }
        head.extend_from_slice(br#""servers":[{"url":"#);
        tail.push(b'}');
        head.shrink_to_fit();
        tail.shrink_to_fit();
        Document { head, tail }
    }

    /// The document for one domain: `servers` points at the API's base as the client addressed
    /// it (`/{domain}/v1`, or `/api/rest_v1` on the wiki's own host).
    pub fn for_base(&self, base: &str) -> Vec<u8> {
        let base = serde_json::to_vec(base).unwrap_or_default();
        let mut out = Vec::with_capacity(self.head.len() + base.len() + self.tail.len());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&base);
        out.extend_from_slice(&self.tail);
        out
    }
}
