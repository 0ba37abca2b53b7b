//! The ETag of stored content, `"<revision>/<tid>"`, as RESTBase gave it: the MediaWiki
//! revision (or, for feeds, the date) and the render's time-based UUID. The back-ends build it,
//! storage keeps the tid from it, the filter compares the revision with the requested one.

/// The quoted ETag of a render.
pub fn format(revision: impl std::fmt::Display, tid: &str) -> String {
    format!("\"{revision}/{tid}\"")
}

/// The parts of an ETag header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ETag<'a> {
    pub revision: &'a str,
    /// Everything after the first `/`; empty when there is none.
    pub tid: &'a str,
}

/// Reads an ETag header value, weak (`W/"…"`) or strong, quoted or not. `None` when the
/// revision part is empty.
pub fn parse(value: &str) -> Option<ETag<'_>> {
    let inner = value.trim();
    let inner = inner.strip_prefix("W/").unwrap_or(inner).trim_matches('"');
    let (revision, tid) = inner.split_once('/').unwrap_or((inner, ""));
    (!revision.is_empty()).then_some(ETag { revision, tid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_agree() {
        let tid = "20fc4000-9149-11e4-8000-000000000001";
        let e = format(42, tid);
        assert_eq!(e, "\"42/20fc4000-9149-11e4-8000-000000000001\"");
        assert_eq!(parse(&e), Some(ETag { revision: "42", tid }));
        assert_eq!(parse(&format("2020-01-31", tid)).map(|e| e.revision), Some("2020-01-31"));
    }

    #[test]
    fn weak_unquoted_and_partial_values() {
        assert_eq!(parse(" W/\"9/abc\" "), Some(ETag { revision: "9", tid: "abc" }));
        assert_eq!(parse("7/t1"), Some(ETag { revision: "7", tid: "t1" }));
        assert_eq!(parse("\"5\""), Some(ETag { revision: "5", tid: "" }));
        assert_eq!(parse("\"/abc\""), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("W/\"\""), None);
    }
}
