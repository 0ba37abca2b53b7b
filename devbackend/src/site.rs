//! What a wiki domain implies for content: language and writing direction.

/// Project families whose first domain label is a language code.
const LANGUAGE_PROJECTS: &[&str] = &[
    "wikipedia",
    "wiktionary",
    "wikibooks",
    "wikinews",
    "wikiquote",
    "wikisource",
    "wikiversity",
    "wikivoyage",
];

const RTL_LANGUAGES: &[&str] = &[
    "ar", "arc", "arz", "azb", "ckb", "dv", "fa", "glk", "he", "ks", "mzn", "pnb", "ps", "sd",
    "ug", "ur", "yi",
];

pub struct Site<'a> {
    pub domain: &'a str,
    pub lang: &'a str,
    pub rtl: bool,
}

impl<'a> Site<'a> {
    pub fn new(domain: &'a str) -> Self {
        let mut labels = domain.split('.');
        let first = labels.next().unwrap_or_default();
        let project = labels.next().unwrap_or_default();
        let is_code = !first.is_empty()
            && first.len() <= 12
            && first.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        let lang = if is_code && LANGUAGE_PROJECTS.contains(&project) {
            first
        } else {
            "en"
        };
        Self {
            domain,
            lang,
            rtl: RTL_LANGUAGES.contains(&lang),
        }
    }

    pub fn dir(&self) -> &'static str {
        if self.rtl {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// The mobile host, as PCS reports it in `content_urls.mobile`.
    pub fn mobile_domain(&self) -> String {
        match self.domain.split_once('.') {
            Some((first, rest)) if rest.contains('.') => format!("{first}.m.{rest}"),
            _ => self.domain.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_domain() {
        let site = Site::new("de.wikipedia.org");
        assert_eq!(site.lang, "de");
        assert_eq!(site.dir(), "ltr");
        assert_eq!(site.mobile_domain(), "de.m.wikipedia.org");
        assert!(Site::new("he.wikipedia.org").rtl);
        assert_eq!(Site::new("commons.wikimedia.org").lang, "en");
        assert_eq!(Site::new("www.wikidata.org").lang, "en");
        assert_eq!(Site::new("<x>").lang, "en");
    }
}
