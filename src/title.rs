//! MediaWiki title normalization as RESTBase did it: the rules of the `mediawiki-title` library
//! (`Title.newFromText(…).getPrefixedDBKey()`), driven by the wiki's [`SiteInfo`].
//!
//! The input is an already percent-decoded title. The result is the title's database key with
//! its namespace prefix (`Main_Page`, `User:Example`), or the reason it is not a valid title,
//! for a `400 bad_request`. Nothing here panics, whatever the input.

use crate::siteinfo::SiteInfo;

/// Longest title text, in UTF-8 bytes, after the namespace prefix.
const MAX_TITLE_BYTES: usize = 255;
/// Special pages may have longer titles (their subpage part holds parameters).
const MAX_SPECIAL_TITLE_BYTES: usize = 512;

const NS_SPECIAL: i64 = -1;
const NS_MAIN: i64 = 0;
const NS_TALK: i64 = 1;
const NS_USER: i64 = 2;
const NS_USER_TALK: i64 = 3;

/// Why a title is not valid; [`TitleError::code`] gives MediaWiki's message key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleError {
    /// U+FFFD, the trace of bytes that were not UTF-8.
    InvalidUtf8,
    /// Nothing left, or a namespace prefix with nothing after it.
    Empty,
    /// A character outside the wiki's legal title characters, or a percent-escape or character
    /// reference (they do not round-trip through links).
    IllegalCharacters(String),
    /// `Talk:File:…`: a talk page of something that is not in the main namespace.
    TalkNamespace,
    /// `.`, `..`, `./…`, `…/../…`: unreachable through relative URLs.
    Relative,
    /// `~~~`, which the editor would replace with a signature.
    MagicTilde,
    /// Longer than the byte limit.
    TooLong { max_bytes: usize },
}

impl TitleError {
    /// MediaWiki's message key for the error (`title-invalid-…`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "title-invalid-utf8",
            Self::Empty => "title-invalid-empty",
            Self::IllegalCharacters(_) => "title-invalid-characters",
            Self::TalkNamespace => "title-invalid-talk-namespace",
            Self::Relative => "title-invalid-relative",
            Self::MagicTilde => "title-invalid-magic-tilde",
            Self::TooLong { .. } => "title-invalid-too-long",
        }
    }
}

impl std::fmt::Display for TitleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUtf8 => f.write_str("The title is not valid UTF-8."),
            Self::Empty => f.write_str("The title is empty."),
            Self::IllegalCharacters(found) => {
                write!(f, "The title contains illegal characters: {found:?}.")
            }
            Self::TalkNamespace => f.write_str("A talk page title cannot name a page outside the main namespace."),
            Self::Relative => f.write_str("The title is a relative path ('.' or '..')."),
            Self::MagicTilde => f.write_str("The title contains '~~~'."),
            Self::TooLong { max_bytes } => {
                write!(f, "The title is longer than {max_bytes} bytes.")
            }
        }
    }
}

impl std::error::Error for TitleError {}

/// A parsed title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title {
    /// Namespace id.
    pub namespace: i64,
    /// The database key within the namespace (underscores for spaces).
    pub key: String,
    /// What followed `#`, if anything (not part of the page's identity).
    pub fragment: Option<String>,
    /// The namespace's local name as a prefix (`User_talk`), empty for the main namespace.
    prefix: String,
}

impl Title {
    /// `mediawiki-title`'s `newFromText`: parses `text` in the main namespace by default.
    pub fn new_from_text(site: &SiteInfo, text: &str) -> Result<Self, TitleError> {
        Self::new_from_text_in(site, text, NS_MAIN)
    }

    /// Parses `text`, in namespace `default_ns` unless it names one.
    pub fn new_from_text_in(site: &SiteInfo, text: &str, default_ns: i64) -> Result<Self, TitleError> {
        let mut title = clean_whitespace(text);
        if title.contains('\u{FFFD}') {
            return Err(TitleError::InvalidUtf8);
        }
        let mut default_ns = default_ns;
        // A leading colon forces the main namespace (`:User:X` is a main-namespace title).
        if let Some(rest) = title.strip_prefix(':') {
            title = rest.trim_start_matches('_').to_owned();
            default_ns = NS_MAIN;
        }
        if title.is_empty() {
            return Err(TitleError::Empty);
        }
        let (namespace, mut key) = match split_namespace(site, &title) {
            Some((id, rest)) => (id, rest.to_owned()),
            None => (default_ns, title.clone()),
        };
        if namespace == NS_TALK && split_namespace(site, &key).is_some_and(|(id, _)| id != NS_MAIN) {
            return Err(TitleError::TalkNamespace);
        }
        let mut fragment = None;
        if let Some(at) = key.find('#') {
            fragment = key.get(at + 1..).map(str::to_owned);
            key.truncate(at);
            let kept = key.trim_end_matches('_').len();
            key.truncate(kept);
        }
        check_legal_characters(site, &key)?;
        check_relative(&key)?;
        if key.contains("~~~") {
            return Err(TitleError::MagicTilde);
        }
        let max_bytes = if namespace == NS_SPECIAL { MAX_SPECIAL_TITLE_BYTES } else { MAX_TITLE_BYTES };
        if key.len() > max_bytes {
            return Err(TitleError::TooLong { max_bytes });
        }
        let ns_info = site.namespace(namespace);
        if ns_info.is_some_and(|ns| ns.first_letter) {
            key = upper_first(&site.lang, &key);
        }
        if namespace != NS_MAIN && key.is_empty() {
            return Err(TitleError::Empty);
        }
        if namespace == NS_USER || namespace == NS_USER_TALK {
            key = sanitize_ip(&key);
        }
        if namespace == NS_SPECIAL {
            key = fix_special_name(site, &key);
        }
        let prefix = ns_info.map(|ns| ns.name.replace(' ', "_")).unwrap_or_default();
        Ok(Self { namespace, key, fragment, prefix })
    }

    /// The database key with its namespace prefix: `Main_Page`, `User_talk:Example`.
    pub fn prefixed_db_key(&self) -> String {
        if self.namespace == NS_MAIN || self.prefix.is_empty() {
            self.key.clone()
        } else {
            format!("{}:{}", self.prefix, self.key)
        }
    }
}

/// The normalized form of a request's (percent-decoded) title, as the REST API serves and
/// stores it; an error means `400 bad_request`. A title that is only a fragment (`#x`) names no
/// page and is refused as empty.
pub fn normalize(site: &SiteInfo, raw: &str) -> Result<String, TitleError> {
    let title = Title::new_from_text(site, raw)?;
    if title.key.is_empty() {
        return Err(TitleError::Empty);
    }
    Ok(title.prefixed_db_key())
}

/// Drops bidi marks, turns each run of spaces, underscores and Unicode spaces into one
/// underscore and trims underscores at both ends.
fn clean_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}') {
            continue;
        }
        if is_title_space(c) {
            in_space = true;
            continue;
        }
        if in_space && !out.is_empty() {
            out.push('_');
        }
        in_space = false;
        out.push(c);
    }
    out
}

fn is_title_space(c: char) -> bool {
    matches!(c, ' ' | '_' | '\u{A0}' | '\u{1680}' | '\u{180E}' | '\u{2000}'..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}')
}

/// `Prefix:rest` where `Prefix` (before the first colon, underscores around the colon
/// dropped) names a namespace: that namespace's id and the rest.
fn split_namespace<'a>(site: &SiteInfo, title: &'a str) -> Option<(i64, &'a str)> {
    // The library's pattern does not match across line breaks; such titles are illegal anyway.
    if title.contains(['\n', '\r']) {
        return None;
    }
    let colon = title.get(1..)?.find(':')? + 1;
    let prefix = title.get(..colon)?.trim_end_matches('_');
    let rest = title.get(colon + 1..)?.trim_start_matches('_');
    if prefix.is_empty() {
        return None;
    }
    site.namespace_by_name(prefix).map(|ns| (ns.id, rest))
}

fn check_legal_characters(site: &SiteInfo, key: &str) -> Result<(), TitleError> {
    let legal = site.legal_chars();
    if let Some(c) = key.chars().find(|c| !legal.allows(*c)) {
        return Err(TitleError::IllegalCharacters(c.to_string()));
    }
    if let Some(found) = escape_or_reference(key) {
        return Err(TitleError::IllegalCharacters(found.to_owned()));
    }
    Ok(())
}

/// The first percent-escape (`%41`) or XML character reference (`&amp;`, `&#65;`, `&#x41;`).
fn escape_or_reference(key: &str) -> Option<&str> {
    let bytes = key.as_bytes();
    for (at, b) in bytes.iter().enumerate() {
        let rest = bytes.get(at + 1..).unwrap_or_default();
        let found_len = match b {
            b'%' => {
                let hex = rest.iter().take(2).filter(|b| b.is_ascii_hexdigit()).count();
                (hex == 2).then_some(3)
            }
            b'&' => reference_len(rest).map(|n| n + 1),
            _ => None,
        };
        if let Some(len) = found_len {
            return key.get(at..at + len);
        }
    }
    None
}

/// Length of `name;`, `#digits;` or `#xhex;` at the start of `rest` (after `&`). The library's
/// name class is `[A-Za-z0-9\x80-\xff]`: letters, digits and U+0080..U+00FF.
fn reference_len(rest: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(rest).ok()?;
    let (body_start, accept): (usize, fn(char) -> bool) = if text.starts_with("#x") {
        (2, |c| c.is_ascii_hexdigit())
    } else if text.starts_with('#') {
        (1, |c| c.is_ascii_digit())
    } else {
        (0, |c| c.is_ascii_alphanumeric() || ('\u{80}'..='\u{FF}').contains(&c))
    };
    let body = text.get(body_start..)?;
    let mut len = 0;
    for c in body.chars() {
        if c == ';' {
            return (len > 0).then_some(body_start + len + 1);
        }
        if !accept(c) {
            return None;
        }
        len += c.len_utf8();
    }
    None
}

fn check_relative(key: &str) -> Result<(), TitleError> {
    let relative = key == "." || key == ".." || key.starts_with("./") || key.starts_with("../") || key.contains("/./") || key.contains("/../") || key.ends_with("/.") || key.ends_with("/..");
    if relative {
        Err(TitleError::Relative)
    } else {
        Ok(())
    }
}

/// MediaWiki's `Language::ucfirst`: Turkic languages capitalize `i` as `İ`; otherwise the first
/// character's upper case as PHP computes it ([`PHP_UPPER`]). Like the library (which works on
/// UTF-16 code units), characters outside the Basic Multilingual Plane are left alone.
fn upper_first(lang: &str, key: &str) -> String {
    let mut chars = key.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let rest = chars.as_str();
    if first == 'i' && matches!(lang, "az" | "tr" | "kaa" | "kk") {
        return format!("İ{rest}");
    }
    if u32::from(first) > 0xFFFF {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len() + 4);
    match PHP_UPPER.binary_search_by_key(&first, |(from, _)| *from) {
        Ok(index) => out.push(PHP_UPPER.get(index).map_or(first, |(_, to)| *to)),
        Err(_) => out.extend(first.to_uppercase()),
    }
    out.push_str(rest);
    out
}

/// Where PHP's upper-casing (which MediaWiki uses) differs from Unicode's full upper-casing
/// (JavaScript's `toUpperCase`, Rust's `to_uppercase`): character → PHP's result, sorted.
/// Data from mediawiki-title's `lib/mediawiki.Title.phpCharToUpper.js` (itself generated from
/// MediaWiki core), characters above U+FFFF left out as the library never reaches them.
#[rustfmt::skip]
const PHP_UPPER: &[(char, char)] = &[
    ('\u{00DF}', '\u{00DF}'), ('\u{0149}', '\u{0149}'), ('\u{01F0}', '\u{01F0}'),
    ('\u{0282}', '\u{0282}'), ('\u{0345}', '\u{0345}'), ('\u{0390}', '\u{0390}'),
    ('\u{03B0}', '\u{03B0}'), ('\u{0587}', '\u{0587}'), ('\u{10D0}', '\u{10D0}'),
    ('\u{10D1}', '\u{10D1}'), ('\u{10D2}', '\u{10D2}'), ('\u{10D3}', '\u{10D3}'),
    ('\u{10D4}', '\u{10D4}'), ('\u{10D5}', '\u{10D5}'), ('\u{10D6}', '\u{10D6}'),
    ('\u{10D7}', '\u{10D7}'), ('\u{10D8}', '\u{10D8}'), ('\u{10D9}', '\u{10D9}'),
    ('\u{10DA}', '\u{10DA}'), ('\u{10DB}', '\u{10DB}'), ('\u{10DC}', '\u{10DC}'),
    ('\u{10DD}', '\u{10DD}'), ('\u{10DE}', '\u{10DE}'), ('\u{10DF}', '\u{10DF}'),
    ('\u{10E0}', '\u{10E0}'), ('\u{10E1}', '\u{10E1}'), ('\u{10E2}', '\u{10E2}'),
    ('\u{10E3}', '\u{10E3}'), ('\u{10E4}', '\u{10E4}'), ('\u{10E5}', '\u{10E5}'),
    ('\u{10E6}', '\u{10E6}'), ('\u{10E7}', '\u{10E7}'), ('\u{10E8}', '\u{10E8}'),
    ('\u{10E9}', '\u{10E9}'), ('\u{10EA}', '\u{10EA}'), ('\u{10EB}', '\u{10EB}'),
    ('\u{10EC}', '\u{10EC}'), ('\u{10ED}', '\u{10ED}'), ('\u{10EE}', '\u{10EE}'),
    ('\u{10EF}', '\u{10EF}'), ('\u{10F0}', '\u{10F0}'), ('\u{10F1}', '\u{10F1}'),
    ('\u{10F2}', '\u{10F2}'), ('\u{10F3}', '\u{10F3}'), ('\u{10F4}', '\u{10F4}'),
    ('\u{10F5}', '\u{10F5}'), ('\u{10F6}', '\u{10F6}'), ('\u{10F7}', '\u{10F7}'),
    ('\u{10F8}', '\u{10F8}'), ('\u{10F9}', '\u{10F9}'), ('\u{10FA}', '\u{10FA}'),
    ('\u{10FD}', '\u{10FD}'), ('\u{10FE}', '\u{10FE}'), ('\u{10FF}', '\u{10FF}'),
    ('\u{1D8E}', '\u{1D8E}'), ('\u{1E96}', '\u{1E96}'), ('\u{1E97}', '\u{1E97}'),
    ('\u{1E98}', '\u{1E98}'), ('\u{1E99}', '\u{1E99}'), ('\u{1E9A}', '\u{1E9A}'),
    ('\u{1F50}', '\u{1F50}'), ('\u{1F52}', '\u{1F52}'), ('\u{1F54}', '\u{1F54}'),
    ('\u{1F56}', '\u{1F56}'), ('\u{1F80}', '\u{1F88}'), ('\u{1F81}', '\u{1F89}'),
    ('\u{1F82}', '\u{1F8A}'), ('\u{1F83}', '\u{1F8B}'), ('\u{1F84}', '\u{1F8C}'),
    ('\u{1F85}', '\u{1F8D}'), ('\u{1F86}', '\u{1F8E}'), ('\u{1F87}', '\u{1F8F}'),
    ('\u{1F88}', '\u{1F88}'), ('\u{1F89}', '\u{1F89}'), ('\u{1F8A}', '\u{1F8A}'),
    ('\u{1F8B}', '\u{1F8B}'), ('\u{1F8C}', '\u{1F8C}'), ('\u{1F8D}', '\u{1F8D}'),
    ('\u{1F8E}', '\u{1F8E}'), ('\u{1F8F}', '\u{1F8F}'), ('\u{1F90}', '\u{1F98}'),
    ('\u{1F91}', '\u{1F99}'), ('\u{1F92}', '\u{1F9A}'), ('\u{1F93}', '\u{1F9B}'),
    ('\u{1F94}', '\u{1F9C}'), ('\u{1F95}', '\u{1F9D}'), ('\u{1F96}', '\u{1F9E}'),
    ('\u{1F97}', '\u{1F9F}'), ('\u{1F98}', '\u{1F98}'), ('\u{1F99}', '\u{1F99}'),
    ('\u{1F9A}', '\u{1F9A}'), ('\u{1F9B}', '\u{1F9B}'), ('\u{1F9C}', '\u{1F9C}'),
    ('\u{1F9D}', '\u{1F9D}'), ('\u{1F9E}', '\u{1F9E}'), ('\u{1F9F}', '\u{1F9F}'),
    ('\u{1FA0}', '\u{1FA8}'), ('\u{1FA1}', '\u{1FA9}'), ('\u{1FA2}', '\u{1FAA}'),
    ('\u{1FA3}', '\u{1FAB}'), ('\u{1FA4}', '\u{1FAC}'), ('\u{1FA5}', '\u{1FAD}'),
    ('\u{1FA6}', '\u{1FAE}'), ('\u{1FA7}', '\u{1FAF}'), ('\u{1FA8}', '\u{1FA8}'),
    ('\u{1FA9}', '\u{1FA9}'), ('\u{1FAA}', '\u{1FAA}'), ('\u{1FAB}', '\u{1FAB}'),
    ('\u{1FAC}', '\u{1FAC}'), ('\u{1FAD}', '\u{1FAD}'), ('\u{1FAE}', '\u{1FAE}'),
    ('\u{1FAF}', '\u{1FAF}'), ('\u{1FB2}', '\u{1FB2}'), ('\u{1FB3}', '\u{1FBC}'),
    ('\u{1FB4}', '\u{1FB4}'), ('\u{1FB6}', '\u{1FB6}'), ('\u{1FB7}', '\u{1FB7}'),
    ('\u{1FBC}', '\u{1FBC}'), ('\u{1FC2}', '\u{1FC2}'), ('\u{1FC3}', '\u{1FCC}'),
    ('\u{1FC4}', '\u{1FC4}'), ('\u{1FC6}', '\u{1FC6}'), ('\u{1FC7}', '\u{1FC7}'),
    ('\u{1FCC}', '\u{1FCC}'), ('\u{1FD2}', '\u{1FD2}'), ('\u{1FD3}', '\u{1FD3}'),
    ('\u{1FD6}', '\u{1FD6}'), ('\u{1FD7}', '\u{1FD7}'), ('\u{1FE2}', '\u{1FE2}'),
    ('\u{1FE3}', '\u{1FE3}'), ('\u{1FE4}', '\u{1FE4}'), ('\u{1FE6}', '\u{1FE6}'),
    ('\u{1FE7}', '\u{1FE7}'), ('\u{1FF2}', '\u{1FF2}'), ('\u{1FF3}', '\u{1FFC}'),
    ('\u{1FF4}', '\u{1FF4}'), ('\u{1FF6}', '\u{1FF6}'), ('\u{1FF7}', '\u{1FF7}'),
    ('\u{1FFC}', '\u{1FFC}'), ('\u{2170}', '\u{2170}'), ('\u{2171}', '\u{2171}'),
    ('\u{2172}', '\u{2172}'), ('\u{2173}', '\u{2173}'), ('\u{2174}', '\u{2174}'),
    ('\u{2175}', '\u{2175}'), ('\u{2176}', '\u{2176}'), ('\u{2177}', '\u{2177}'),
    ('\u{2178}', '\u{2178}'), ('\u{2179}', '\u{2179}'), ('\u{217A}', '\u{217A}'),
    ('\u{217B}', '\u{217B}'), ('\u{217C}', '\u{217C}'), ('\u{217D}', '\u{217D}'),
    ('\u{217E}', '\u{217E}'), ('\u{217F}', '\u{217F}'), ('\u{24D0}', '\u{24D0}'),
    ('\u{24D1}', '\u{24D1}'), ('\u{24D2}', '\u{24D2}'), ('\u{24D3}', '\u{24D3}'),
    ('\u{24D4}', '\u{24D4}'), ('\u{24D5}', '\u{24D5}'), ('\u{24D6}', '\u{24D6}'),
    ('\u{24D7}', '\u{24D7}'), ('\u{24D8}', '\u{24D8}'), ('\u{24D9}', '\u{24D9}'),
    ('\u{24DA}', '\u{24DA}'), ('\u{24DB}', '\u{24DB}'), ('\u{24DC}', '\u{24DC}'),
    ('\u{24DD}', '\u{24DD}'), ('\u{24DE}', '\u{24DE}'), ('\u{24DF}', '\u{24DF}'),
    ('\u{24E0}', '\u{24E0}'), ('\u{24E1}', '\u{24E1}'), ('\u{24E2}', '\u{24E2}'),
    ('\u{24E3}', '\u{24E3}'), ('\u{24E4}', '\u{24E4}'), ('\u{24E5}', '\u{24E5}'),
    ('\u{24E6}', '\u{24E6}'), ('\u{24E7}', '\u{24E7}'), ('\u{24E8}', '\u{24E8}'),
    ('\u{24E9}', '\u{24E9}'), ('\u{A794}', '\u{A794}'), ('\u{A7B9}', '\u{A7B9}'),
    ('\u{A7BB}', '\u{A7BB}'), ('\u{A7BD}', '\u{A7BD}'), ('\u{A7BF}', '\u{A7BF}'),
    ('\u{A7C3}', '\u{A7C3}'), ('\u{FB00}', '\u{FB00}'), ('\u{FB01}', '\u{FB01}'),
    ('\u{FB02}', '\u{FB02}'), ('\u{FB03}', '\u{FB03}'), ('\u{FB04}', '\u{FB04}'),
    ('\u{FB05}', '\u{FB05}'), ('\u{FB06}', '\u{FB06}'), ('\u{FB13}', '\u{FB13}'),
    ('\u{FB14}', '\u{FB14}'), ('\u{FB15}', '\u{FB15}'), ('\u{FB16}', '\u{FB16}'),
    ('\u{FB17}', '\u{FB17}'),
];

/// MediaWiki's `IPUtils::sanitizeIP` as the library ports it: user pages named after an IP
/// address get one spelling (IPv4 without leading zeros; IPv6 upper-case, `::` expanded,
/// leading zeros dropped). Anything else is returned as is.
fn sanitize_ip(key: &str) -> String {
    let ip = key.trim();
    if is_ipv4(ip) {
        return ip
            .split('.')
            .map(|block| {
                let trimmed = block.trim_start_matches('0');
                if trimmed.is_empty() {
                    "0"
                } else {
                    trimmed
                }
            })
            .collect::<Vec<_>>()
            .join(".");
    }
    if !is_ipv6_with_suffix(ip) {
        return ip.to_owned();
    }
    let mut ip = ip.to_uppercase();
    if let Some(abbrev) = ip.find("::") {
        let address_end = ip.find('/').map_or(ip.len(), |cidr| cidr).saturating_sub(1);
        let colons = ip.matches(':').count();
        let (repeat, extra, pad) = if abbrev == 0 {
            ("0:", if ip == "::" { "0" } else { "" }, 9)
        } else if abbrev + 1 == address_end {
            (":0", "", 9)
        } else {
            (":0", ":", 8)
        };
        let fill = format!("{}{extra}", repeat.repeat(pad_count(pad, colons)));
        ip = ip.replace("::", &fill);
    }
    ip.split(':').map(strip_block_zeros).collect::<Vec<_>>().join(":")
}

fn pad_count(pad: usize, colons: usize) -> usize {
    pad.saturating_sub(colons)
}

/// The library's `(^|:)0+([0-9A-F]{1,4})` → `$1$2` on one block: leading zeros go, but a
/// hexadecimal digit stays.
fn strip_block_zeros(block: &str) -> &str {
    let zeros = block.len() - block.trim_start_matches('0').len();
    if zeros == 0 {
        return block;
    }
    let after = block.get(zeros..).unwrap_or_default();
    if after.starts_with(|c: char| c.is_ascii_hexdigit()) {
        after
    } else if zeros >= 2 {
        block.get(zeros - 1..).unwrap_or(block)
    } else {
        block
    }
}

/// Four dot-separated decimal octets of one to three digits, each at most 255 (the library's
/// pattern, which admits leading zeros).
fn is_ipv4(text: &str) -> bool {
    let octets: Vec<&str> = text.split('.').collect();
    octets.len() == 4 && octets.iter().all(|o| (1..=3).contains(&o.len()) && o.bytes().all(|b| b.is_ascii_digit()) && o.parse::<u16>().is_ok_and(|v| v <= 255))
}

/// An IPv6 address, optionally with a `%zone` and a `/prefix` (0–128).
fn is_ipv6_with_suffix(text: &str) -> bool {
    let (rest, prefix_ok) = match text.rsplit_once('/') {
        Some((address, prefix)) => (
            address,
            !prefix.is_empty() && prefix.len() <= 3 && prefix.bytes().all(|b| b.is_ascii_digit()) && !(prefix.len() > 1 && prefix.starts_with('0')) && prefix.parse::<u8>().is_ok_and(|p| p <= 128),
        ),
        None => (text, true),
    };
    let address = match rest.split_once('%') {
        Some((address, zone)) if !zone.is_empty() => address,
        Some(_) => return false,
        None => rest,
    };
    prefix_ok && address.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `Special:Alias/sub` → `Special:LocalName/sub` when `Alias` is one of a special page's
/// aliases (case-insensitive).
fn fix_special_name(site: &SiteInfo, key: &str) -> String {
    let (first, rest) = match key.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (key, None),
    };
    match (site.special_page_name(first), rest) {
        (Some(name), Some(rest)) => format!("{name}/{rest}"),
        (Some(name), None) => name.to_owned(),
        (None, _) => key.to_owned(),
    }
}

#[cfg(test)]
mod tests;
