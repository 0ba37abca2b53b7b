//! Errors as `application/problem+json`, the way RESTBase (HyperSwitch) and the services behind
//! it answer them: exactly `{type, title, method, detail, uri}`, with `type` a URI under
//! [`TYPE_PREFIX`] and `method` in lower case.

use serde::{Deserialize, Serialize};

/// Every problem `type` is this prefix followed by the kind, e.g. `not_found#route`.
pub const TYPE_PREFIX: &str = "https://mediawiki.org/wiki/HyperSwitch/errors/";
pub const CONTENT_TYPE: &str = "application/problem+json";

/// The body of an error answer, fields in the order RESTBase writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub method: String,
    pub detail: String,
    pub uri: String,
}

impl ProblemBody {
    /// `kind` is the part after [`TYPE_PREFIX`]; `method` is lower-cased.
    pub fn new(kind: &str, title: &str, method: &str, detail: &str, uri: &str) -> ProblemBody {
        ProblemBody { kind: type_uri(kind), title: title.to_owned(), method: method.to_ascii_lowercase(), detail: detail.to_owned(), uri: uri.to_owned() }
    }

    /// The JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        // Serialising plain strings cannot fail; fall back to an empty object rather than panic.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// The part of `type` after the prefix, when it has the prefix.
    pub fn kind(&self) -> Option<&str> {
        kind_of(&self.kind)
    }
}

/// The `type` URI of a kind.
pub fn type_uri(kind: &str) -> String {
    format!("{TYPE_PREFIX}{kind}")
}

/// The kind a `type` URI names, when it is one of ours.
pub fn kind_of(type_uri: &str) -> Option<&str> {
    type_uri.strip_prefix(TYPE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_exactly_the_five_fields_in_order() {
        let body = ProblemBody::new("not_found#route", "Not found.", "GET", "Not found: /x", "/en.wikipedia.org/v1/x");
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            r#"{"type":"https://mediawiki.org/wiki/HyperSwitch/errors/not_found#route","title":"Not found.","method":"get","detail":"Not found: /x","uri":"/en.wikipedia.org/v1/x"}"#
        );
        assert_eq!(body.kind(), Some("not_found#route"));
    }

    #[test]
    fn parses_back_and_refuses_other_shapes() {
        let body = ProblemBody::new("bad_request", "Invalid parameters", "post", "d", "/u");
        let back: ProblemBody = serde_json::from_slice(&body.to_vec()).unwrap();
        assert_eq!(back, body);
        assert!(serde_json::from_str::<ProblemBody>(r#"{"type":"x","title":"t"}"#).is_err());
        assert_eq!(kind_of("https://example.org/errors/x"), None);
    }
}
