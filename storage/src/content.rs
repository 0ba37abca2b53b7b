//! How a write request becomes a stored entry, and when two entries count as
//! the same content (RESTBase's `if-none-hash-match`).

use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::HeaderMap;
use restrouter_proto::etag;
use uuid::Uuid;

use crate::store::{Entry, Headers};

const STORE_PREFIX: &str = "x-store-";

/// Headers that describe a message's framing, not its content; storing them
/// would corrupt the responses that replay them.
const NOT_STORABLE: &[&str] = &[
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The headers a write stores: every `x-store-<name>` as `<name>`, and the
/// request's own `content-type` when no `x-store-content-type` is given.
pub fn stored_headers(request: &HeaderMap) -> Result<Headers, String> {
    let mut stored = Headers::new();
    for (name, value) in request {
        let Some(stored_name) = name.as_str().strip_prefix(STORE_PREFIX) else {
            continue;
        };
        if stored_name.is_empty() || NOT_STORABLE.contains(&stored_name) {
            continue;
        }
        let value = std::str::from_utf8(value.as_bytes())
            .map_err(|_| format!("header {name} is not UTF-8"))?;
        // Repeated headers combine as a list, as HTTP defines.
        stored
            .entry(stored_name.to_owned())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    if !stored.contains_key(CONTENT_TYPE.as_str()) {
        if let Some(value) = request.get(CONTENT_TYPE) {
            let value = std::str::from_utf8(value.as_bytes())
                .map_err(|_| "header content-type is not UTF-8".to_owned())?;
            stored.insert(CONTENT_TYPE.as_str().to_owned(), value.to_owned());
        }
    }
    Ok(stored)
}

/// The tid for a new write: the one inside a stored ETag of the form
/// `"<revision>/<tid>"` when it is a time uuid, as RESTBase did, so the ETag
/// and the row agree; otherwise a fresh uuid v1.
pub fn write_tid(headers: &Headers, node_id: &[u8; 6]) -> Uuid {
    headers
        .get(ETAG.as_str())
        .and_then(|etag| tid_in_etag(etag))
        .unwrap_or_else(|| Uuid::now_v1(node_id))
}

fn tid_in_etag(etag: &str) -> Option<Uuid> {
    let tid = etag::parse(etag)?.tid;
    Uuid::parse_str(tid)
        .ok()
        .filter(|u| u.get_version_num() == 1)
}

/// The ETag RESTBase gave an entry stored without one.
pub fn default_etag(tid: &str) -> String {
    etag::format(0, tid)
}

/// The ETag to report for an entry.
pub fn etag_of(entry: &Entry) -> String {
    entry
        .headers
        .get(ETAG.as_str())
        .cloned()
        .unwrap_or_else(|| default_etag(&entry.tid))
}

/// Whether `new` would store the same content as `current`: the same body
/// (JSON compared as values, so formatting and key order do not matter) and,
/// when `new` names a content type, the same content type.
pub fn same_content(current: &Entry, new: &Entry) -> bool {
    let current_type = current.headers.get(CONTENT_TYPE.as_str());
    let new_type = new.headers.get(CONTENT_TYPE.as_str());
    if new_type.is_some() && new_type != current_type {
        return false;
    }
    if current.value == new.value {
        return true;
    }
    let is_json = new_type.or(current_type).is_some_and(|t| is_json_type(t));
    if !is_json {
        return false;
    }
    match (
        serde_json::from_slice::<serde_json::Value>(&current.value),
        serde_json::from_slice::<serde_json::Value>(&new.value),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `application/json`, `application/problem+json`, `…; profile=…` and so on.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn entry(content_type: Option<&str>, value: &[u8]) -> Entry {
        let mut headers = Headers::new();
        if let Some(t) = content_type {
            headers.insert("content-type".into(), t.into());
        }
        Entry {
            tid: "t".into(),
            headers,
            value: value.to_vec(),
        }
    }

    #[test]
    fn x_store_headers_are_renamed_and_content_type_falls_back() {
        let mut req = HeaderMap::new();
        req.insert("x-store-etag", HeaderValue::from_static("\"1/abc\""));
        req.insert("x-store-content-language", HeaderValue::from_static("en"));
        req.append("x-store-vary", HeaderValue::from_static("accept"));
        req.append("x-store-vary", HeaderValue::from_static("accept-language"));
        req.insert("x-store-content-length", HeaderValue::from_static("3"));
        req.insert("content-type", HeaderValue::from_static("text/html"));
        req.insert("user-agent", HeaderValue::from_static("x"));
        let stored = stored_headers(&req).unwrap();
        assert_eq!(
            stored,
            Headers::from([
                ("etag".into(), "\"1/abc\"".into()),
                ("content-language".into(), "en".into()),
                ("vary".into(), "accept, accept-language".into()),
                ("content-type".into(), "text/html".into()),
            ])
        );
        req.insert(
            "x-store-content-type",
            HeaderValue::from_static("text/plain"),
        );
        assert_eq!(stored_headers(&req).unwrap()["content-type"], "text/plain");
    }

    #[test]
    fn tid_comes_from_etag_when_it_is_a_time_uuid() {
        let node = [1, 2, 3, 4, 5, 6];
        let tid = Uuid::now_v1(&node);
        let headers = Headers::from([("etag".into(), format!("W/\"42/{tid}\""))]);
        assert_eq!(write_tid(&headers, &node), tid);
        let headers = Headers::from([("etag".into(), "\"42/not-a-uuid\"".into())]);
        let fresh = write_tid(&headers, &node);
        assert_eq!(fresh.get_version_num(), 1);
        assert_ne!(fresh, tid);
    }

    #[test]
    fn json_compares_as_values() {
        let a = entry(Some("application/json"), br#"{"a":1,"b":[1,2]}"#);
        let b = entry(
            Some("application/json; charset=utf-8"),
            br#"{ "b": [1, 2], "a": 1 }"#,
        );
        // Different content types never match …
        assert!(!same_content(&a, &b));
        // … the same type with reordered JSON does.
        let b = entry(Some("application/json"), br#"{ "b": [1, 2], "a": 1 }"#);
        assert!(same_content(&a, &b));
        let c = entry(Some("application/json"), br#"{"a":2,"b":[1,2]}"#);
        assert!(!same_content(&a, &c));
    }

    #[test]
    fn bytes_compare_exactly_and_missing_type_matches_any() {
        let a = entry(Some("text/html"), b"<p>x</p>");
        assert!(same_content(&a, &entry(None, b"<p>x</p>")));
        assert!(!same_content(&a, &entry(Some("text/html"), b"<p>x</p> ")));
        assert!(!same_content(&a, &entry(Some("text/plain"), b"<p>x</p>")));
    }
}
