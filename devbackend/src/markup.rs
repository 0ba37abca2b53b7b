//! Escaping for HTML and for titles in URLs.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters MediaWiki leaves readable in `/wiki/` URLs (as `wfUrlencode` does).
const TITLE_IN_URL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b';')
    .remove(b'@')
    .remove(b'$')
    .remove(b'!')
    .remove(b'*')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b'/')
    .remove(b':');

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A title (DB key form) as it appears in a `/wiki/` URL.
pub fn url_title(key: &str) -> String {
    utf8_percent_encode(key, TITLE_IN_URL).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn encodes_titles_like_mediawiki() {
        assert_eq!(url_title("AC/DC"), "AC/DC");
        assert_eq!(url_title("Talk:Foo?_bar&baz"), "Talk:Foo%3F_bar%26baz");
        assert_eq!(url_title("Zürich"), "Z%C3%BCrich");
    }
}
