//! Response header policy: what every answer carries (CORS, security headers, CSP,
//! cache-control), as RESTBase's security_response_header_filter did.

use crate::spec::model::CspProfile;

/// `cache-control` of answers whose route sets none, and of every error.
pub const DEFAULT_CACHE_CONTROL: &str = "private, max-age=0, s-maxage=0, must-revalidate";

const STATIC: &[(&str, &str)] = &[
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET,HEAD"),
    (
        "access-control-allow-headers",
        "accept, content-type, content-length, cache-control, accept-language, api-user-agent, if-match, if-modified-since, if-none-match, dnt, accept-encoding",
    ),
    ("access-control-expose-headers", "etag"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("referrer-policy", "origin-when-cross-origin"),
    ("x-xss-protection", "1; mode=block"),
];

const CSP_STRICT: &str = "default-src 'none'; frame-ancestors 'none'";
const CSP_MOBILE_HTML: &str = "default-src 'none'; connect-src app://*.wikipedia.org https://*.wikipedia.org; media-src app://upload.wikimedia.org https://upload.wikimedia.org 'self'; img-src app://*.wikimedia.org https://*.wikimedia.org app://wikimedia.org https://wikimedia.org 'self' data:; object-src 'none'; script-src app://meta.wikimedia.org https://meta.wikimedia.org 'unsafe-inline'; style-src app://meta.wikimedia.org https://meta.wikimedia.org app://*.wikipedia.org https://*.wikipedia.org 'self' 'unsafe-inline'; frame-ancestors 'self'";
const CSP_NAMES: &[&str] = &["content-security-policy", "x-content-security-policy", "x-webkit-csp"];

/// The names this policy sets: an upstream's own values for them are replaced.
pub fn managed_names() -> impl Iterator<Item = &'static str> {
    STATIC.iter().map(|(n, _)| *n).chain(CSP_NAMES.iter().copied())
}

fn html_csp(domain: &str) -> String {
    // Styles from the wiki family of the request domain: en.wikipedia.org → *.wikipedia.org.
    let family = match domain.split_once('.') {
        Some((_, rest)) if rest.contains('.') => format!("*.{rest}"),
        _ => format!("*.{domain}"),
    };
    format!("default-src 'none'; media-src *; img-src *; style-src http://{family} https://{family} 'unsafe-inline'; frame-ancestors 'self'")
}

/// The security and CORS headers of an answer with this content type.
pub fn security(content_type: &str, csp: CspProfile, domain: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = STATIC.iter().map(|(n, v)| (*n, (*v).to_string())).collect();
    let is_html = content_type.trim_start().to_ascii_lowercase().starts_with("text/html");
    let policy = match (csp, is_html) {
        (CspProfile::MobileHtml, true) => CSP_MOBILE_HTML.to_string(),
        (_, true) => html_csp(domain),
        _ => CSP_STRICT.to_string(),
    };
    out.extend(CSP_NAMES.iter().map(|n| (*n, policy.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(h: &'a [(&str, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn html_gets_the_family_style_policy() {
        let h = security("text/html; charset=utf-8", CspProfile::Auto, "en.wikipedia.org");
        assert_eq!(get(&h, "content-security-policy"), Some("default-src 'none'; media-src *; img-src *; style-src http://*.wikipedia.org https://*.wikipedia.org 'unsafe-inline'; frame-ancestors 'self'"));
        assert_eq!(get(&h, "x-webkit-csp"), get(&h, "content-security-policy"));
        assert_eq!(get(&h, "access-control-allow-origin"), Some("*"));
    }

    #[test]
    fn non_html_and_mobile_html() {
        let h = security("application/json", CspProfile::Auto, "en.wikipedia.org");
        assert_eq!(get(&h, "content-security-policy"), Some(CSP_STRICT));
        let h = security("application/json", CspProfile::MobileHtml, "en.wikipedia.org");
        assert_eq!(get(&h, "content-security-policy"), Some(CSP_STRICT));
        let h = security("text/html", CspProfile::MobileHtml, "en.wikipedia.org");
        assert_eq!(get(&h, "content-security-policy"), Some(CSP_MOBILE_HTML));
    }
}
