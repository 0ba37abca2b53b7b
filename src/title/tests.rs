//! The test vectors of the `mediawiki-title` library (github.com/wikimedia/mediawiki-title,
//! `test/index.js`, 2022), ported as data: the invalid titles with their error codes, the valid
//! titles, and the normalizations per wiki. The library ran them against live siteinfo; the
//! fixtures below hold the parts of each wiki's siteinfo those vectors depend on.

use serde_json::{json, Value};

use super::*;
use crate::siteinfo::SiteInfo;

/// en.wikipedia.org's namespaces (id, local name, canonical name).
const EN_NAMESPACES: &[(i64, &str, &str)] = &[
    (-2, "Media", "Media"),
    (-1, "Special", "Special"),
    (0, "", ""),
    (1, "Talk", "Talk"),
    (2, "User", "User"),
    (3, "User talk", "User talk"),
    (4, "Wikipedia", "Project"),
    (5, "Wikipedia talk", "Project talk"),
    (6, "File", "File"),
    (7, "File talk", "File talk"),
    (8, "MediaWiki", "MediaWiki"),
    (9, "MediaWiki talk", "MediaWiki talk"),
    (10, "Template", "Template"),
    (11, "Template talk", "Template talk"),
    (12, "Help", "Help"),
    (13, "Help talk", "Help talk"),
    (14, "Category", "Category"),
    (15, "Category talk", "Category talk"),
    (100, "Portal", "Portal"),
    (101, "Portal talk", "Portal talk"),
    (118, "Draft", "Draft"),
    (119, "Draft talk", "Draft talk"),
];

/// A formatversion=2 siteinfo answer: `names` with `case` for every namespace, except the main
/// namespace whose case is `main_case`.
fn siteinfo(lang: &str, main_case: &str, names: &[(i64, &str, &str)], aliases: &[(i64, &str)], special: Value) -> SiteInfo {
    let mut namespaces = serde_json::Map::new();
    for (id, name, canonical) in names {
        let mut ns = json!({
            "id": id,
            "case": if *id == 0 { main_case } else { "first-letter" },
            "name": name,
        });
        if *id != 0 {
            ns["canonical"] = json!(canonical);
        }
        namespaces.insert(id.to_string(), ns);
    }
    let aliases: Vec<Value> = aliases.iter().map(|(id, alias)| json!({"id": id, "alias": alias})).collect();
    let body = json!({
        "batchcomplete": true,
        "query": {
            "general": {
                "mainpage": "Main Page",
                "lang": lang,
                "legaltitlechars": " %!\"$&'()*,\\-.\\/0-9:;=?@A-Z\\\\^_`a-z~\\x80-\\xFF+",
                "case": main_case,
            },
            "namespaces": namespaces,
            "namespacealiases": aliases,
            "specialpagealiases": special,
        }
    });
    SiteInfo::from_json(body.to_string().as_bytes()).unwrap()
}

fn site(domain: &str) -> SiteInfo {
    let en_aliases: &[(i64, &str)] = &[(4, "WP"), (5, "WT"), (6, "Image"), (7, "Image talk"), (118, "Draft")];
    let en_special = json!([
        {"realname": "Contributions", "aliases": ["Contributions", "Contribs"]},
        {"realname": "Lonelypages", "aliases": ["LonelyPages", "OrphanedPages"]},
    ]);
    match domain {
        "en.wikipedia.org" => siteinfo("en", "first-letter", EN_NAMESPACES, en_aliases, en_special),
        "en.wiktionary.org" => {
            let mut names = EN_NAMESPACES.to_vec();
            names.push((100, "Appendix", "Appendix"));
            siteinfo("en", "case-sensitive", &names, &[], json!([]))
        }
        "es.wikipedia.org" => siteinfo(
            "es",
            "first-letter",
            &[(-1, "Especial", "Special"), (0, "", ""), (2, "Usuario", "User")],
            &[],
            json!([
                {"realname": "Specialpages", "aliases": ["PáginasEspeciales", "SpecialPages"]},
                {"realname": "ExpandTemplates",
                 "aliases": ["Sustituir_plantillas", "Expandir_plantillas", "ExpandTemplates"]},
                {"realname": "Booksources", "aliases": ["FuentesDeLibros", "BookSources"]},
            ]),
        ),
        "de.wikipedia.org" => siteinfo(
            "de",
            "first-letter",
            &[(0, "", ""), (2, "Benutzer", "User"), (3, "Benutzer Diskussion", "User talk"), (6, "Datei", "File")],
            &[(2, "Benutzerin"), (3, "Benutzerin Diskussion"), (6, "Bild")],
            json!([]),
        ),
        other => {
            // tr, az, kk, kaa, ka: only the language matters to the vectors.
            let lang = other.split('.').next().unwrap_or_default();
            siteinfo(lang, "first-letter", EN_NAMESPACES, &[], json!([]))
        }
    }
}

#[test]
fn invalid_titles() {
    let en = site("en.wikipedia.org");
    let cases: Vec<(String, &str)> = vec![
        ("foo\u{FFFD}".into(), "title-invalid-utf8"),
        ("".into(), "title-invalid-empty"),
        (":".into(), "title-invalid-empty"),
        ("__  __".into(), "title-invalid-empty"),
        ("  __  ".into(), "title-invalid-empty"),
        ("A [ B".into(), "title-invalid-characters"),
        ("A ] B".into(), "title-invalid-characters"),
        ("A { B".into(), "title-invalid-characters"),
        ("A } B".into(), "title-invalid-characters"),
        ("A < B".into(), "title-invalid-characters"),
        ("A > B".into(), "title-invalid-characters"),
        ("A | B".into(), "title-invalid-characters"),
        ("A%20B".into(), "title-invalid-characters"),
        ("A%23B".into(), "title-invalid-characters"),
        ("A%2523B".into(), "title-invalid-characters"),
        ("Talk:File:Example.svg".into(), "title-invalid-talk-namespace"),
        (".".into(), "title-invalid-relative"),
        ("..".into(), "title-invalid-relative"),
        ("./Sandbox".into(), "title-invalid-relative"),
        ("../Sandbox".into(), "title-invalid-relative"),
        ("Foo/./Sandbox".into(), "title-invalid-relative"),
        ("Foo/../Sandbox".into(), "title-invalid-relative"),
        ("Sandbox/.".into(), "title-invalid-relative"),
        ("Sandbox/..".into(), "title-invalid-relative"),
        ("A ~~~ Name".into(), "title-invalid-magic-tilde"),
        ("A ~~~~ Signature".into(), "title-invalid-magic-tilde"),
        ("A ~~~~~ Timestamp".into(), "title-invalid-magic-tilde"),
        ("x".repeat(257), "title-invalid-too-long"),
        (format!("Special:{}", "x".repeat(513)), "title-invalid-too-long"),
        ("\u{1F340}".repeat(64), "title-invalid-too-long"),
        ("Talk:".into(), "title-invalid-empty"),
        ("Talk:#".into(), "title-invalid-empty"),
        ("Category: ".into(), "title-invalid-empty"),
        ("Category: #bar".into(), "title-invalid-empty"),
        // Not in the library's list: control characters, and references that the router's
        // percent-decoding leaves in place.
        ("A\nB".into(), "title-invalid-characters"),
        ("A\u{7f}B".into(), "title-invalid-characters"),
        ("A\u{0}B".into(), "title-invalid-characters"),
        ("A &eacute; B".into(), "title-invalid-characters"),
        // (Numeric references start a fragment at `#`, as in the library.)
        ("A &amp;#233; B".into(), "title-invalid-characters"),
    ];
    for (text, code) in cases {
        match Title::new_from_text(&en, &text) {
            Ok(t) => panic!("{text:?} should be invalid ({code}), got {t:?}"),
            Err(e) => assert_eq!(e.code(), code, "{text:?}"),
        }
    }
}

#[test]
fn valid_titles() {
    let en = site("en.wikipedia.org");
    let cases: Vec<String> = vec![
        "Sandbox".into(),
        "A \"B\"".into(),
        "A 'B'".into(),
        ".com".into(),
        "~".into(),
        "#".into(),
        "Test#Abc".into(),
        "\"".into(),
        "'".into(),
        "Talk:Sandbox".into(),
        "Talk:Foo:Sandbox".into(),
        "File:Example.svg".into(),
        "File_talk:Example.svg".into(),
        "Foo/.../Sandbox".into(),
        "Sandbox/...".into(),
        "A~~".into(),
        ":A".into(),
        format!("Category:{}", "x".repeat(247)),
        format!("Special:{}", "x".repeat(499)),
        "x".repeat(251),
        "x".repeat(255),
        "\u{1F340}".repeat(63),
        "-".into(),
        "aũ".into(),
        "\"Believing_Women\"_in_Islam._Unreading_Patriarchal_Interpretations_of_the_Qur\\'ān".into(),
        "A &amp B".into(),
        "100%".into(),
    ];
    let other = Title::new_from_text(&en, "NOT EQUAL TO ANYTHING").unwrap();
    for text in cases {
        let title = Title::new_from_text(&en, &text).unwrap_or_else(|e| panic!("{text:?} should be valid: {e}"));
        // Equal to itself with surrounding space and underscore, unequal to another title.
        let padded = Title::new_from_text(&en, &format!(" {text}_")).unwrap();
        assert_eq!((title.namespace, &title.key), (padded.namespace, &padded.key), "{text:?}");
        assert_ne!((title.namespace, &title.key), (other.namespace, &other.key));
    }
}

#[test]
fn normalizations() {
    let cases: &[(&str, &str, &str)] = &[
        ("en.wikipedia.org", "Test", "Test"),
        ("en.wikipedia.org", ":Test", "Test"),
        ("en.wikipedia.org", ": Test", "Test"),
        ("en.wikipedia.org", ":_Test_", "Test"),
        ("en.wikipedia.org", "Test 123  456   789", "Test_123_456_789"),
        ("en.wikipedia.org", "💩", "💩"),
        ("en.wikipedia.org", "Foo:bar", "Foo:bar"),
        ("en.wikipedia.org", "Talk: foo", "Talk:Foo"),
        ("en.wikipedia.org", "int:eger", "Int:eger"),
        ("en.wikipedia.org", "WP:eger", "Wikipedia:Eger"),
        ("en.wikipedia.org", "X-Men (film series) #Gambit", "X-Men_(film_series)"),
        ("en.wikipedia.org", "Foo _ bar", "Foo_bar"),
        ("en.wiktionary.org", "cat", "cat"),
        ("en.wiktionary.org", "Appendix:Glossary", "Appendix:Glossary"),
        (
            "en.wikipedia.org",
            "Foo \u{00A0}\u{1680}\u{180E}\u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200A}\u{2028}\u{2029}\u{202F}\u{205F}\u{3000} bar",
            "Foo_bar",
        ),
        ("en.wikipedia.org", "Foo\u{200E}\u{200F}\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}bar", "Foobar"),
        ("tr.wikipedia.org", "iTestTest", "İTestTest"),
        ("az.wikipedia.org", "iTestTest", "İTestTest"),
        ("kk.wikipedia.org", "iTestTest", "İTestTest"),
        ("kaa.wikipedia.org", "iTestTest", "İTestTest"),
        ("en.wikipedia.org", "User:::1", "User:0:0:0:0:0:0:0:1"),
        ("en.wikipedia.org", "User:0:0:0:0:0:0:0:1", "User:0:0:0:0:0:0:0:1"),
        ("en.wikipedia.org", "User:127.000.000.001", "User:127.0.0.1"),
        ("en.wikipedia.org", "User:0.0.0.0", "User:0.0.0.0"),
        ("en.wikipedia.org", "User:00.00.00.00", "User:0.0.0.0"),
        ("en.wikipedia.org", "User:000.000.000.000", "User:0.0.0.0"),
        ("en.wikipedia.org", "User:141.000.011.253", "User:141.0.11.253"),
        ("en.wikipedia.org", "User: 1.2.4.5", "User:1.2.4.5"),
        ("en.wikipedia.org", "User:01.02.04.05", "User:1.2.4.5"),
        ("en.wikipedia.org", "User:001.002.004.005", "User:1.2.4.5"),
        ("en.wikipedia.org", "User:010.0.000.1", "User:10.0.0.1"),
        ("en.wikipedia.org", "User:080.072.250.04", "User:80.72.250.4"),
        ("en.wikipedia.org", "User:Foo.1000.00", "User:Foo.1000.00"),
        ("en.wikipedia.org", "User:Bar.01", "User:Bar.01"),
        ("en.wikipedia.org", "User:Bar.010", "User:Bar.010"),
        ("en.wikipedia.org", "User:cebc:2004:f::", "User:CEBC:2004:F:0:0:0:0:0"),
        ("en.wikipedia.org", "User:::", "User:0:0:0:0:0:0:0:0"),
        ("en.wikipedia.org", "User:0:0:0:1::", "User:0:0:0:1:0:0:0:0"),
        ("en.wikipedia.org", "User:3f:535::e:fbb", "User:3F:535:0:0:0:0:E:FBB"),
        ("en.wikipedia.org", "User Talk:::1", "User_talk:0:0:0:0:0:0:0:1"),
        ("en.wikipedia.org", "User_Talk:::1", "User_talk:0:0:0:0:0:0:0:1"),
        ("en.wikipedia.org", "User_talk:::1", "User_talk:0:0:0:0:0:0:0:1"),
        ("en.wikipedia.org", "User_talk:::1/24", "User_talk:0:0:0:0:0:0:0:1/24"),
        ("en.wikipedia.org", "user:pchelolo", "User:Pchelolo"),
        ("en.wiktionary.org", "user:pchelolo", "User:Pchelolo"),
        ("en.wikipedia.org", "list of Neighbours characters (2016)#Tom Quill", "List_of_Neighbours_characters_(2016)"),
        ("en.wikipedia.org", "ß", "ß"),
        ("en.wikipedia.org", "ŉ", "ŉ"),
        ("en.wikipedia.org", "ǰ", "ǰ"),
        ("en.wikipedia.org", "ΐ", "ΐ"),
        ("en.wikipedia.org", "ΰ", "ΰ"),
        ("en.wikipedia.org", "և", "և"),
        ("en.wikipedia.org", "ẖ", "ẖ"),
        ("en.wikipedia.org", "ẗ", "ẗ"),
        ("en.wikipedia.org", "ẘ", "ẘ"),
        ("en.wikipedia.org", "ẙ", "ẙ"),
        ("en.wikipedia.org", "ẚ", "ẚ"),
        ("en.wikipedia.org", "ὐ", "ὐ"),
        ("en.wikipedia.org", "ὒ", "ὒ"),
        ("en.wikipedia.org", "ὔ", "ὔ"),
        ("en.wikipedia.org", "ὖ", "ὖ"),
        ("en.wikipedia.org", "ᾀ", "ᾈ"),
        ("en.wikipedia.org", "ᾁ", "ᾉ"),
        ("en.wikipedia.org", "ᾂ", "ᾊ"),
        ("en.wikipedia.org", "ᾃ", "ᾋ"),
        ("en.wikipedia.org", "ᾄ", "ᾌ"),
        ("en.wikipedia.org", "ᾅ", "ᾍ"),
        ("en.wikipedia.org", "ᾆ", "ᾎ"),
        ("en.wikipedia.org", "ᾇ", "ᾏ"),
        ("en.wikipedia.org", "ᾐ", "ᾘ"),
        ("en.wikipedia.org", "ᾑ", "ᾙ"),
        ("en.wikipedia.org", "ᾒ", "ᾚ"),
        ("en.wikipedia.org", "ᾓ", "ᾛ"),
        ("en.wikipedia.org", "ᾔ", "ᾜ"),
        ("en.wikipedia.org", "ᾕ", "ᾝ"),
        ("en.wikipedia.org", "ᾖ", "ᾞ"),
        ("en.wikipedia.org", "ᾗ", "ᾟ"),
        ("en.wikipedia.org", "ᾠ", "ᾨ"),
        ("en.wikipedia.org", "ᾡ", "ᾩ"),
        ("en.wikipedia.org", "ᾢ", "ᾪ"),
        ("en.wikipedia.org", "ᾣ", "ᾫ"),
        ("en.wikipedia.org", "ᾤ", "ᾬ"),
        ("en.wikipedia.org", "ᾥ", "ᾭ"),
        ("en.wikipedia.org", "ᾦ", "ᾮ"),
        ("en.wikipedia.org", "ᾧ", "ᾯ"),
        ("en.wikipedia.org", "ﬀ", "ﬀ"),
        ("en.wikipedia.org", "ﬁ", "ﬁ"),
        ("en.wikipedia.org", "ﬂ", "ﬂ"),
        ("en.wikipedia.org", "ﬃ", "ﬃ"),
        ("en.wikipedia.org", "ﬄ", "ﬄ"),
        ("en.wikipedia.org", "ﬅ", "ﬅ"),
        ("en.wikipedia.org", "ﬆ", "ﬆ"),
        ("en.wikipedia.org", "ﬓ", "ﬓ"),
        ("en.wikipedia.org", "ﬔ", "ﬔ"),
        ("en.wikipedia.org", "ﬕ", "ﬕ"),
        ("en.wikipedia.org", "ﬖ", "ﬖ"),
        ("en.wikipedia.org", "ﬗ", "ﬗ"),
        ("en.wikipedia.org", "ⓝ", "ⓝ"),
        ("ka.wikipedia.org", "ო", "ო"),
        ("en.wikipedia.org", "Special:NotSpecial", "Special:NotSpecial"),
        ("en.wikipedia.org", "Special:Lonelypages", "Special:LonelyPages"),
        ("en.wikipedia.org", "Special:lonelypages", "Special:LonelyPages"),
        ("en.wikipedia.org", "Special:OrphanedPages", "Special:LonelyPages"),
        ("en.wikipedia.org", "Special:Contribs/124.106.240.49", "Special:Contributions/124.106.240.49"),
        ("es.wikipedia.org", "Especial:SpecialPages", "Especial:PáginasEspeciales"),
        ("es.wikipedia.org", "Especial:Expandir plantillas", "Especial:Sustituir_plantillas"),
        ("es.wikipedia.org", "Especial:BookSources/9784041047910", "Especial:FuentesDeLibros/9784041047910"),
        // The examples and localized names (not from the library).
        ("en.wikipedia.org", "main Page", "Main_Page"),
        ("en.wikipedia.org", "earth", "Earth"),
        ("de.wikipedia.org", "user:beispiel", "Benutzer:Beispiel"),
        ("de.wikipedia.org", "Benutzerin:Anna", "Benutzer:Anna"),
        ("de.wikipedia.org", "benutzerin diskussion:anna", "Benutzer_Diskussion:Anna"),
        ("de.wikipedia.org", "Image:Beispiel.jpg", "Image:Beispiel.jpg"),
        ("de.wikipedia.org", "bild:beispiel.jpg", "Datei:Beispiel.jpg"),
        ("de.wikipedia.org", "FILE:beispiel.jpg", "Datei:Beispiel.jpg"),
    ];
    for (domain, text, expected) in cases {
        let title = Title::new_from_text(&site(domain), text).unwrap_or_else(|e| panic!("{domain} {text:?}: {e}"));
        assert_eq!(title.prefixed_db_key(), *expected, "{domain} {text:?}");
    }
}

#[test]
fn fragment_is_kept_apart() {
    let en = site("en.wikipedia.org");
    let title = Title::new_from_text(&en, "Test#some fragment").unwrap();
    assert_eq!(title.fragment.as_deref(), Some("some_fragment"));
    assert_eq!(title.prefixed_db_key(), "Test");
}

#[test]
fn default_namespaces() {
    let en = site("en.wikipedia.org");
    let cases: &[(i64, &str, i64, &str)] = &[
        (0, "Example.svg", 0, "Example.svg"),
        (6, "Example.svg", 6, "File:Example.svg"),
        (6, "File:Example.svg", 6, "File:Example.svg"),
        (2, "File:Example.svg", 6, "File:Example.svg"),
        (2, "Test", 2, "User:Test"),
        (2, ":Test", 0, "Test"),
        (0, ":User:Test", 2, "User:Test"),
    ];
    for (default_ns, text, ns, expected) in cases {
        let title = Title::new_from_text_in(&en, text, *default_ns).unwrap();
        assert_eq!((title.namespace, title.prefixed_db_key().as_str()), (*ns, *expected));
    }
}

#[test]
fn normalize_refuses_a_bare_fragment() {
    let en = site("en.wikipedia.org");
    assert_eq!(normalize(&en, "#").unwrap_err(), TitleError::Empty);
    assert_eq!(normalize(&en, "main_Page#x").unwrap(), "Main_Page");
    let err = normalize(&en, "A<B").unwrap_err();
    assert_eq!(err.to_string(), "The title contains illegal characters: \"<\".");
}

#[test]
fn never_panics_on_odd_input() {
    let en = site("en.wikipedia.org");
    let pieces =
        ["", ":", "_", " ", "#", "%", "%4", "&", "&#", "&#x", ";", "/", ".", "~", "é", "💩", "\u{FFFD}", "User", "Talk", "Special", "::", "\n", "\u{0}", "\u{202E}", "i", "ß", "0", "1.2.3.4", "/24"];
    for a in pieces {
        for b in pieces {
            for c in pieces {
                let text = format!("{a}{b}:{c}");
                let _ = normalize(&en, &text);
                let _ = sanitize_ip(&text);
            }
        }
    }
}
