//! Which tools serve which language pairs: a small fixed registry in the shape of cxserver's
//! (`lib/registry.js`, `config/*.yaml`): machine translation by Apertium between related
//! languages, Youdao for Chinese, Yandex for any other known pair; dictionaries (JsonDict, Dictd)
//! for a few pairs with English.

/// Languages the stand-in knows; cxserver answers 400 for others.
pub const LANGUAGES: &[&str] = &[
    "ca", "de", "en", "es", "fr", "it", "ja", "pt", "ru", "sv", "zh",
];

/// Related languages Apertium translates between.
const APERTIUM: &[&str] = &["ca", "en", "es", "fr", "it", "pt"];

/// JsonDict's languages; Dictd has English to German and French.
const JSONDICT: &[&str] = &["ca", "en", "es"];

pub const MT_PROVIDERS: &[&str] = &["Apertium", "Youdao", "Yandex"];
pub const DICTIONARY_PROVIDERS: &[&str] = &["JsonDict", "Dictd"];

pub fn known(lang: &str) -> bool {
    LANGUAGES.contains(&lang)
}

/// Machine translation providers for a pair, preferred (the default) first.
pub fn mt(from: &str, to: &str) -> Vec<&'static str> {
    if from == to || !known(from) || !known(to) {
        return Vec::new();
    }
    let mut providers = Vec::new();
    if APERTIUM.contains(&from) && APERTIUM.contains(&to) {
        providers.push("Apertium");
    }
    if from == "zh" || to == "zh" {
        providers.push("Youdao");
    }
    providers.push("Yandex");
    providers
}

/// Dictionary providers for a pair, preferred first.
pub fn dictionary(from: &str, to: &str) -> Vec<&'static str> {
    let mut providers = Vec::new();
    if from != to && JSONDICT.contains(&from) && JSONDICT.contains(&to) {
        providers.push("JsonDict");
    }
    if from == "en" && (to == "de" || to == "fr") {
        providers.push("Dictd");
    }
    providers
}

/// Tools by category for a pair.
pub fn tools(tool: &str, from: &str, to: &str) -> Option<Vec<&'static str>> {
    match tool {
        "mt" => Some(mt(from, to)),
        "dictionary" => Some(dictionary(from, to)),
        _ => None,
    }
}

/// The provider a request names, or the pair's default: `None` when the pair has no such tool.
pub fn provider(tool: &str, from: &str, to: &str, named: Option<&str>) -> Option<&'static str> {
    let available = tools(tool, from, to)?;
    match named {
        Some(name) => available.into_iter().find(|p| *p == name),
        None => available.into_iter().next(),
    }
}

/// Every pair a category's tools serve: `{provider: {from: [to, ...]}}`, as `/v1/list/{tool}`.
pub fn pairs_by_provider(tool: &str) -> Option<serde_json::Value> {
    let providers = match tool {
        "mt" => MT_PROVIDERS,
        "dictionary" => DICTIONARY_PROVIDERS,
        _ => return None,
    };
    let mut by_provider = serde_json::Map::new();
    for provider in providers {
        let mut by_source = serde_json::Map::new();
        for from in LANGUAGES {
            let targets: Vec<&str> = LANGUAGES
                .iter()
                .copied()
                .filter(|to| tools(tool, from, to).is_some_and(|t| t.contains(provider)))
                .collect();
            if !targets.is_empty() {
                by_source.insert((*from).to_string(), targets.into());
            }
        }
        by_provider.insert((*provider).to_string(), by_source.into());
    }
    Some(by_provider.into())
}
