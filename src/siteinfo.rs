//! A wiki's site information, as the MediaWiki action API reports it and as far as the REST API
//! needs it: the content language, which characters titles may hold, the namespaces (local
//! names, canonical names, aliases, first-letter case), special page aliases and the language
//! variants the wiki converts between.
//!
//! RESTBase asked for it with `action=query&meta=siteinfo&siprop=general|namespaces|
//! namespacealiases|specialpagealiases|languagevariants` ([`QUERY`]); both `formatversion=1`
//! (`"*"` for names) and `formatversion=2` (`name`, `alias`) answers are read.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The action API form parameters of the siteinfo request (sent as a POST form, with the wiki's
/// domain as `Host`).
pub const QUERY: &str = "action=query&format=json&formatversion=2&meta=siteinfo\
    &siprop=general%7Cnamespaces%7Cnamespacealiases%7Cspecialpagealiases%7Clanguagevariants";

/// MediaWiki's default `$wgLegalTitleChars`, used when siteinfo does not give one.
const DEFAULT_LEGAL_TITLE_CHARS: &str = " %!\"$&'()*,\\-.\\/0-9:;=?@A-Z\\\\^_`a-z~\\x80-\\xFF+";

/// One namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub id: i64,
    /// The local name (`Benutzer` on de.wikipedia.org); empty for the main namespace.
    pub name: String,
    /// The canonical English name (`User`), absent for the main namespace.
    pub canonical: Option<String>,
    /// `case: first-letter` (the first letter of a title is upper-cased) rather than
    /// `case-sensitive`.
    pub first_letter: bool,
}

/// Which characters titles may hold: MediaWiki's `$wgLegalTitleChars` byte class. Any byte at
/// or above 0x80 in the class admits every non-ASCII character, as MediaWiki's conversion of the
/// byte class to a Unicode class does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalChars {
    ascii: [bool; 128],
    non_ascii: bool,
}

impl LegalChars {
    /// Reads a `legaltitlechars` regex class body; `None` when it is not one this parser knows.
    fn parse(class: &str) -> Option<Self> {
        let mut ascii = [false; 128];
        let mut non_ascii = false;
        let mut items: Vec<u32> = Vec::new();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut chars = class.chars().peekable();
        let mut pending_dash = false;
        while let Some(c) = chars.next() {
            let code = match c {
                '\\' => match chars.next() {
                    Some('x') => {
                        let hi = chars.next()?.to_digit(16)?;
                        let lo = chars.next()?.to_digit(16)?;
                        hi * 16 + lo
                    }
                    Some(d @ '0'..='7') => {
                        let b = chars.next()?.to_digit(8)?;
                        let c = chars.next()?.to_digit(8)?;
                        d.to_digit(8)? * 64 + b * 8 + c
                    }
                    // An escaped character, `-` included, stands for itself.
                    Some(other) => u32::from(other),
                    None => u32::from('\\'),
                },
                '-' if !items.is_empty() && !pending_dash => {
                    pending_dash = true;
                    continue;
                }
                other => u32::from(other),
            };
            if pending_dash {
                pending_dash = false;
                let start = items.pop()?;
                if start > code {
                    return None;
                }
                ranges.push((start, code));
            } else {
                items.push(code);
            }
        }
        if pending_dash {
            items.push(u32::from('-'));
        }
        ranges.extend(items.into_iter().map(|c| (c, c)));
        for (start, end) in ranges {
            for code in start..=end.min(127) {
                if let Some(slot) = usize::try_from(code).ok().and_then(|i| ascii.get_mut(i)) {
                    *slot = true;
                }
            }
            if end >= 0x80 {
                non_ascii = true;
            }
        }
        Some(Self { ascii, non_ascii })
    }

    pub fn allows(&self, c: char) -> bool {
        match usize::try_from(u32::from(c)) {
            Ok(i) if i < 128 => self.ascii.get(i).copied().unwrap_or(false),
            _ => self.non_ascii,
        }
    }
}

/// What the REST API uses of one wiki's siteinfo.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    /// The content language code (`general.lang`).
    pub lang: String,
    /// The main page's title, as text (`general.mainpage`).
    pub main_page: String,
    legal: LegalChars,
    namespaces: Vec<Namespace>,
    /// Namespace aliases, as (name, namespace id).
    aliases: Vec<(String, i64)>,
    /// Special page aliases; the first alias of each is the page's local name.
    special_aliases: Vec<Vec<String>>,
    /// The variant codes the wiki's content language converts to (empty: no variants).
    variants: Vec<String>,
}

#[derive(Deserialize)]
struct Query {
    general: General,
    #[serde(default)]
    namespaces: BTreeMap<String, RawNamespace>,
    #[serde(default)]
    namespacealiases: Vec<RawAlias>,
    #[serde(default)]
    specialpagealiases: Vec<RawSpecialAlias>,
    #[serde(default)]
    languagevariants: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct General {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    mainpage: String,
    legaltitlechars: Option<String>,
    #[serde(default)]
    variants: Vec<RawVariant>,
}

#[derive(Deserialize)]
struct RawVariant {
    code: String,
}

#[derive(Deserialize)]
struct RawNamespace {
    id: i64,
    #[serde(default)]
    case: String,
    name: Option<String>,
    #[serde(rename = "*")]
    star: Option<String>,
    canonical: Option<String>,
}

#[derive(Deserialize)]
struct RawAlias {
    id: i64,
    alias: Option<String>,
    #[serde(rename = "*")]
    star: Option<String>,
}

#[derive(Deserialize)]
struct RawSpecialAlias {
    #[serde(default)]
    aliases: Vec<String>,
}

impl SiteInfo {
    /// Reads an action API siteinfo answer: the whole response (`{"query": …}`) or its `query`
    /// object.
    pub fn from_json(body: &[u8]) -> Result<Self, String> {
        let mut value: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("siteinfo is not JSON: {e}"))?;
        let query_value = match value.get_mut("query") {
            Some(query) => query.take(),
            None => value,
        };
        let query: Query = serde_json::from_value(query_value).map_err(|e| format!("siteinfo is not an action API siteinfo answer: {e}"))?;
        Ok(Self::from_query(query))
    }

    fn from_query(query: Query) -> Self {
        let legal = query
            .general
            .legaltitlechars
            .as_deref()
            .and_then(LegalChars::parse)
            .or_else(|| LegalChars::parse(DEFAULT_LEGAL_TITLE_CHARS))
            .unwrap_or(LegalChars { ascii: [false; 128], non_ascii: true });
        let mut namespaces: Vec<Namespace> =
            query.namespaces.into_values().map(|ns| Namespace { id: ns.id, name: ns.name.or(ns.star).unwrap_or_default(), canonical: ns.canonical, first_letter: ns.case == "first-letter" }).collect();
        namespaces.sort_by_key(|ns| ns.id);
        let aliases = query.namespacealiases.into_iter().filter_map(|a| a.alias.or(a.star).map(|name| (name, a.id))).collect();
        let special_aliases = query.specialpagealiases.into_iter().map(|s| s.aliases).filter(|a| !a.is_empty()).collect();
        let lang = query.general.lang;
        let mut variants: Vec<String> = query.general.variants.into_iter().map(|v| v.code).collect();
        if variants.is_empty() {
            if let Some(listed) = query.languagevariants.get(&lang) {
                variants = listed.keys().cloned().collect();
            }
        }
        Self { lang, main_page: query.general.mainpage, legal, namespaces, aliases, special_aliases, variants }
    }

    pub fn legal_chars(&self) -> &LegalChars {
        &self.legal
    }

    /// The namespace with this id.
    pub fn namespace(&self, id: i64) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| ns.id == id)
    }

    /// The namespace a prefix names: its local or canonical name or an alias, compared
    /// upper-cased with underscores as spaces.
    pub fn namespace_by_name(&self, text: &str) -> Option<&Namespace> {
        let wanted = fold_name(text);
        let by_name = self.namespaces.iter().find(|ns| ns.canonical.as_deref().is_some_and(|c| fold_name(c) == wanted) || (!ns.name.is_empty() && fold_name(&ns.name) == wanted));
        by_name.or_else(|| self.aliases.iter().find(|(alias, _)| fold_name(alias) == wanted).and_then(|(_, id)| self.namespace(*id)))
    }

    /// The local name of the special page `name` names, if `name` is one of its aliases.
    pub fn special_page_name(&self, name: &str) -> Option<&str> {
        let wanted = name.to_uppercase();
        self.special_aliases.iter().find(|aliases| aliases.iter().any(|a| a.to_uppercase() == wanted)).and_then(|aliases| aliases.first()).map(String::as_str)
    }

    /// The language variants the wiki converts between; empty when it has none.
    pub fn variants(&self) -> &[String] {
        &self.variants
    }

    /// Whether the wiki converts between language variants (`vary: accept-language`).
    pub fn has_variants(&self) -> bool {
        !self.variants.is_empty()
    }
}

/// mediawiki-title's namespace name comparison key.
fn fold_name(name: &str) -> String {
    name.to_uppercase().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_legal_chars() {
        let legal = LegalChars::parse(DEFAULT_LEGAL_TITLE_CHARS).unwrap();
        for c in " %!\"$&'()*,-./09:;=?@AZ\\^_`az~+éΩ💩".chars() {
            assert!(legal.allows(c), "{c:?} should be legal");
        }
        for c in "<>[]{}|#\n\t\u{7f}".chars() {
            assert!(!legal.allows(c), "{c:?} should be illegal");
        }
    }

    #[test]
    fn ascii_only_class() {
        let legal = LegalChars::parse("A-Za-z\\-").unwrap();
        assert!(legal.allows('-') && legal.allows('q'));
        assert!(!legal.allows('é') && !legal.allows(' '));
        assert!(LegalChars::parse("\\x8").is_none());
        assert!(LegalChars::parse("z-a").is_none());
    }

    #[test]
    fn reads_both_format_versions() {
        let v1 = br#"{"query":{"general":{"lang":"de","mainpage":"Wikipedia:Hauptseite"},
            "namespaces":{"2":{"id":2,"case":"first-letter","*":"Benutzer","canonical":"User"}},
            "namespacealiases":[{"id":2,"*":"Benutzerin"}]}}"#;
        let v2 = br#"{"general":{"lang":"de","mainpage":"Wikipedia:Hauptseite"},
            "namespaces":{"2":{"id":2,"case":"first-letter","name":"Benutzer","canonical":"User"}},
            "namespacealiases":[{"id":2,"alias":"Benutzerin"}]}"#;
        for body in [&v1[..], &v2[..]] {
            let site = SiteInfo::from_json(body).unwrap();
            assert_eq!(site.lang, "de");
            for name in ["benutzer", "USER", "Benutzerin"] {
                assert_eq!(site.namespace_by_name(name).unwrap().name, "Benutzer");
            }
            assert!(site.namespace_by_name("Datei").is_none());
            assert!(!site.has_variants());
        }
        assert!(SiteInfo::from_json(b"[]").is_err());
        assert!(SiteInfo::from_json(b"{").is_err());
    }

    #[test]
    fn variants_from_general_or_languagevariants() {
        let general = br#"{"query":{"general":{"lang":"sr","variants":[{"code":"sr","name":"x"},{"code":"sr-ec","name":"y"},{"code":"sr-el","name":"z"}]}}}"#;
        let site = SiteInfo::from_json(general).unwrap();
        assert_eq!(site.variants(), ["sr", "sr-ec", "sr-el"]);
        let listed = br#"{"query":{"general":{"lang":"zh"},"languagevariants":{"zh":{"zh":{},"zh-hans":{},"zh-hant":{}},"sr":{"sr-el":{}}}}}"#;
        let site = SiteInfo::from_json(listed).unwrap();
        assert_eq!(site.variants(), ["zh", "zh-hans", "zh-hant"]);
        let none = br#"{"query":{"general":{"lang":"en"},"languagevariants":{"zh":{"zh":{}}}}}"#;
        assert!(!SiteInfo::from_json(none).unwrap().has_variants());
    }
}
