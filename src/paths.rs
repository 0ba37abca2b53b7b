//! Request paths in, upstream paths out.
//!
//! Incoming: RESTBase percent-decodes every segment before matching, so `%2F` inside a title
//! stays in the title. We normalise each segment to a canonical form (fully decoded, with only
//! `/` and `%` re-encoded) so that literal segments match whatever encoding the client used, and
//! the router's captured parameters are decoded once more to their final value.
//!
//! Outgoing: parameters are expanded into path templates with every byte outside the RFC 3986
//! unreserved set encoded, so no parameter can add a segment, a query or a header to a callout.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashMap;

/// Everything but ALPHA / DIGIT / `-` `.` `_` `~` is encoded.
const SEGMENT_STRICT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// What JavaScript's `encodeURIComponent` leaves alone: RESTBase built redirect locations and
/// `content-location` with it.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'!').remove(b'~').remove(b'*').remove(b'\'').remove(b'(').remove(b')');
/// Canonical form of a matched segment: only the characters that would change its meaning.
const SEGMENT_CANONICAL: &AsciiSet = &percent_encoding::CONTROLS.add(b'/').add(b'%').add(b'?').add(b'#');

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A `%` not followed by two hex digits.
    BadEscape(String),
    /// The decoded bytes are not UTF-8.
    NotUtf8(String),
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::BadEscape(s) => write!(f, "invalid percent-encoding in path segment '{s}'"),
            PathError::NotUtf8(s) => write!(f, "path segment '{s}' is not valid UTF-8 once decoded"),
        }
    }
}

/// Splits `:path` into the path and the raw query string (without `?`).
pub fn split_query(path: &str) -> (&str, &str) {
    match path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path, ""),
    }
}

fn check_escapes(segment: &str) -> Result<(), PathError> {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let ok = matches!((bytes.get(i + 1), bytes.get(i + 2)), (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit());
            if !ok {
                return Err(PathError::BadEscape(segment.chars().take(64).collect()));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Fully decodes one segment (or parameter value), rejecting bad escapes and non-UTF-8.
pub fn decode(segment: &str) -> Result<String, PathError> {
    check_escapes(segment)?;
    percent_decode_str(segment).decode_utf8().map(|s| s.into_owned()).map_err(|_| PathError::NotUtf8(segment.chars().take(64).collect()))
}

/// Canonical form of a path (without query): each segment decoded, then `/ % ? #` and controls
/// re-encoded, so the router sees one spelling per path.
pub fn canonical(path: &str) -> Result<String, PathError> {
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if seg.contains('%') {
            let decoded = decode(seg)?;
            out.extend(utf8_percent_encode(&decoded, SEGMENT_CANONICAL));
        } else {
            out.push_str(seg);
        }
    }
    Ok(out)
}

/// Encodes a value as one path segment (strict: only unreserved characters stay as they are).
pub fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT_STRICT).to_string()
}

/// Encodes a value as JavaScript's `encodeURIComponent` does.
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, URI_COMPONENT).to_string()
}

/// Expands `{name}` placeholders with the strictly encoded parameter values; `{domain}` is a
/// parameter like any other. Unknown names were rejected when the spec was loaded.
pub fn expand(template: &str, params: &HashMap<String, String>) -> String {
    expand_with(template, params, encode_segment)
}

/// [`expand`] with the values encoded by `encode`.
pub fn expand_with(template: &str, params: &HashMap<String, String>, encode: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let (head, tail) = rest.split_at(start);
        out.push_str(head);
        match tail.find('}') {
            Some(end) => {
                let name = tail.get(1..end).unwrap_or_default();
                if let Some(v) = params.get(name) {
                    out.push_str(&encode(v));
                }
                rest = tail.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push_str(tail);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `.` and `..` would be normalised away by an upstream (path traversal), so the router rejects
/// them as parameter values.
pub fn is_dot_segment(value: &str) -> bool {
    value == "." || value == ".."
}

/// The placeholder names of a template, in order.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let tail = rest.get(start + 1..).unwrap_or_default();
        match tail.find('}') {
            Some(end) => {
                names.push(tail.get(..end).unwrap_or_default().to_string());
                rest = tail.get(end + 1..).unwrap_or_default();
            }
            None => break,
        }
    }
    names
}

/// Parses a query string into decoded name → value pairs (first value wins, like RESTBase's
/// single-valued parameters). `+` means space in query strings.
pub fn parse_query(query: &str) -> Result<HashMap<String, String>, PathError> {
    let mut out = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(&k.replace('+', " "))?;
        let v = decode(&v.replace('+', " "))?;
        out.entry(k).or_insert(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keeps_encoded_slash_in_segment() {
        assert_eq!(canonical("/en.wikipedia.org/v1/page/html/AC%2FDC").unwrap(), "/en.wikipedia.org/v1/page/html/AC%2FDC");
        assert_eq!(canonical("/en.wikipedia.org/v1/p%61ge/html/A%20B").unwrap(), "/en.wikipedia.org/v1/page/html/A B");
        assert_eq!(canonical("/x/%25").unwrap(), "/x/%25");
    }

    #[test]
    fn bad_escapes_and_utf8_are_errors() {
        assert!(matches!(canonical("/a/%zz"), Err(PathError::BadEscape(_))));
        assert!(matches!(canonical("/a/abc%"), Err(PathError::BadEscape(_))));
        assert!(matches!(canonical("/a/%4"), Err(PathError::BadEscape(_))));
        assert!(matches!(canonical("/a/%ff%fe"), Err(PathError::NotUtf8(_))));
        assert_eq!(decode("%C3%A9t%C3%A9").unwrap(), "été");
    }

    #[test]
    fn expand_encodes_each_parameter_into_one_segment() {
        let mut p = HashMap::new();
        p.insert("domain".to_string(), "en.wikipedia.org".to_string());
        p.insert("title".to_string(), "../../x?y=1#z\r\nHost: evil".to_string());
        let out = expand("/{domain}/v3/page/html/{title}", &p);
        assert_eq!(out, "/en.wikipedia.org/v3/page/html/..%2F..%2Fx%3Fy%3D1%23z%0D%0AHost%3A%20evil");
        assert_eq!(out.matches('/').count(), 5);
    }

    #[test]
    fn dot_segments_are_flagged() {
        assert!(is_dot_segment(".."));
        assert!(is_dot_segment("."));
        assert!(!is_dot_segment("..a"));
    }

    #[test]
    fn placeholders_in_order() {
        assert_eq!(placeholders("/{domain}/v1/page/{title}/{revision}"), vec!["domain", "title", "revision"]);
    }

    #[test]
    fn query_parsing() {
        let q = parse_query("redirect=false&stash=true&x=a+b&x=second&flag").unwrap();
        assert_eq!(q["redirect"], "false");
        assert_eq!(q["x"], "a b");
        assert_eq!(q["flag"], "");
        assert!(parse_query("a=%zz").is_err());
    }
}
