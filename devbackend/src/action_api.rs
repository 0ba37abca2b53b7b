//! MediaWiki action API stand-in (`/w/api.php`), the wiki chosen by the `Host` header as on
//! Wikimedia's API servers. It answers the queries RESTBase made, in `formatversion=2` JSON
//! (shapes as MediaWiki's `ApiQuerySiteinfo`, `ApiQueryInfo`, `ApiQueryRevisions` and
//! `ApiPageSet` produce them):
//!
//! - `meta=siteinfo` with `siprop=general|namespaces|namespacealiases|specialpagealiases|
//!   languagevariants`: English namespace names, German ones (with gendered aliases) on
//!   `de.*`, and language variants on `sr.*` and `zh.*`;
//! - `prop=info|revisions` for `titles=` or `revids=`, revision data from the same generator as
//!   the Parsoid stand-in ([`Page`]);
//! - `generator=search` with `gsrsearch=morelike:<title>` (related pages): three pages named
//!   after the title.
//! - `meta=tokens`: the session's CSRF token (the session is the `Cookie` header, see
//!   `reading_lists`);
//! - `action=edit` (POST only): a page save with the session's token (see [`edit_page`]).
//!
//! Pages with fixed behaviour: titles starting `Missing` do not exist (`missing: true`);
//! `Redirect_to_<Target>` is a redirect to `<Target>` (followed with `redirects=1`);
//! `Suppressed_…` has its text and SHA-1 suppressed; `Userhidden_…` its user and comment hidden.
//! Revision ids the stand-in has not reported for a title are unknown (`badrevids`), as deleted
//! revisions are.
//!
//! Test controls under `/_dev/action/{domain}/…` change a wiki after the fact: hide a revision
//! (suppression), delete a page, make a new edit. The Parsoid stand-in reads the same state
//! ([`Wikis::revision`]), so both services agree on latest revisions, deletions and hidden text.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use crate::metrics::Service;
use crate::page::{parse_revision, Page};
use crate::respond::with_headers;
use crate::site::Site;
use crate::Shared;

const JSON: &str = "application/json; charset=utf-8";

/// Prefix of titles that are redirects to the rest of the title.
const REDIRECT_PREFIX: &str = "Redirect_to_";
const SUPPRESSED_PREFIX: &str = "Suppressed_";
const USERHIDDEN_PREFIX: &str = "Userhidden_";

/// What test controls changed, per wiki; everything else is generated.
#[derive(Default)]
pub struct Wikis {
    inner: Mutex<HashMap<String, Wiki>>,
}

#[derive(Default)]
struct Wiki {
    /// Revision id → page key, for every revision reported so far.
    revisions: HashMap<u64, String>,
    /// Revision id → hidden fields (`texthidden`, …) set by the hide control.
    hidden: HashMap<u64, Vec<String>>,
    /// Page key → latest revision, for pages edited through the control.
    edited: HashMap<String, u64>,
    /// Deleted page keys.
    deleted: Vec<String>,
    /// Page key → the text of its latest revision, for pages saved with `action=edit`.
    texts: HashMap<String, String>,
}

/// What a wiki holds for a title at one revision, as the action API would report it.
pub enum RevisionState {
    /// The page does not exist (never created, `Missing…`, or deleted).
    NoPage,
    /// The page exists but never had this revision.
    NoRevision,
    /// The revision exists but its text is hidden from the public (revision deletion).
    TextHidden,
    /// The revision is readable.
    Visible(Page),
}

impl Wikis {
    fn with<T>(&self, domain: &str, f: impl FnOnce(&mut Wiki) -> T) -> T {
        let mut wikis = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(wikis.entry(domain.to_owned()).or_default())
    }

    /// The state of `title` at `revision` (its latest if `None`).
    pub fn revision(&self, domain: &str, title: &str, revision: Option<u64>) -> RevisionState {
        let key = page_key(title);
        self.with(domain, |wiki| {
            let Some(latest) = wiki.latest(&key) else {
                return RevisionState::NoPage;
            };
            let revision = revision.unwrap_or(latest);
            // Generated histories run up to the latest revision; ids reported for another page
            // were never this page's.
            let other_page = wiki.revisions.get(&revision).is_some_and(|k| *k != key);
            if revision > latest || other_page {
                return RevisionState::NoRevision;
            }
            let Some(page) = Page::lookup(&key, Some(revision)) else {
                return RevisionState::NoPage;
            };
            wiki.revisions.insert(revision, key);
            if wiki.text_hidden(&page) {
                RevisionState::TextHidden
            } else {
                RevisionState::Visible(page)
            }
        })
    }
}

impl Wiki {
    /// The one place the latest revision of a page is decided: edits through the control move
    /// it on; deleted and never-created pages have none.
    fn latest(&self, key: &str) -> Option<u64> {
        if self.deleted.iter().any(|k| k == key) {
            return None;
        }
        let generated = Page::lookup(key, None)?.revision;
        Some(self.edited.get(key).copied().unwrap_or(generated))
    }

    /// Hidden fields of a revision: by title prefix, then by the hide control.
    fn hidden_fields<'a>(&'a self, page: &Page) -> Vec<&'a str> {
        let mut hidden: Vec<&str> = Vec::new();
        if page.key.starts_with(SUPPRESSED_PREFIX) {
            hidden.extend(["texthidden", "sha1hidden", "suppressed"]);
        }
        if page.key.starts_with(USERHIDDEN_PREFIX) {
            hidden.extend(["userhidden", "commenthidden"]);
        }
        if let Some(set) = self.hidden.get(&page.revision) {
            hidden.extend(set.iter().map(String::as_str));
        }
        hidden
    }

    fn text_hidden(&self, page: &Page) -> bool {
        self.hidden_fields(page).contains(&"texthidden")
    }
}

/// The key (DB form) MediaWiki stores a title under: first letter upper-case, underscores.
pub fn page_key(title: &str) -> String {
    display(title).replace(' ', "_")
}

/// The target of a redirect page (`Redirect_to_<Target>`), in key form.
pub fn redirect_target(key: &str) -> Option<String> {
    key.strip_prefix(REDIRECT_PREFIX)
        .filter(|t| !t.is_empty())
        .map(page_key)
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/w/api.php", get(api_get).post(api_post))
        .route("/_dev/action/{domain}/hide/{revision}", post(hide))
        .route("/_dev/action/{domain}/delete/{title}", post(delete))
        .route("/_dev/action/{domain}/edit/{title}", post(edit))
}

async fn api_get(State(state): State<Shared>, headers: HeaderMap, query: RawQuery) -> Response {
    let params = form(query.0.as_deref().unwrap_or_default());
    if params.get("action").is_some_and(|a| a == "edit") {
        return api_error(
            "mustbeposted",
            "The \"edit\" module requires a POST request.",
        );
    }
    answer(&state, &headers, &params)
}

/// RESTBase POSTed its queries as a form; MediaWiki reads query string and body alike.
async fn api_post(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: RawQuery,
    body: Bytes,
) -> Response {
    let mut params = form(query.0.as_deref().unwrap_or_default());
    params.extend(form(&String::from_utf8_lossy(&body)));
    answer(&state, &headers, &params)
}

/// `application/x-www-form-urlencoded` pairs; later ones win.
fn form(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The wiki a request is for: its `Host` without a port.
fn host(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en.wikipedia.org");
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
        .to_ascii_lowercase()
}

fn answer(state: &Shared, headers: &HeaderMap, params: &BTreeMap<String, String>) -> Response {
    state.metrics.count(Service::ActionApi);
    let domain = host(headers);
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    if get("action") == "edit" {
        return edit_page(state, headers, &domain, params);
    }
    if get("action") != "query" {
        return api_error(
            "badvalue",
            &format!(
                "Unrecognized value for parameter \"action\": {}.",
                get("action")
            ),
        );
    }
    let mut query = Map::new();
    if get("meta") == "tokens" {
        // `ApiQueryTokens`: the session's CSRF token; `+\` (MediaWiki's anonymous token)
        // without a session.
        let token = crate::reading_lists::session(headers).map_or_else(
            || "+\\".to_string(),
            |s| crate::reading_lists::csrf_token(&s),
        );
        query.insert("tokens".into(), json!({ "csrftoken": token }));
    } else if !get("meta").is_empty() {
        if get("meta") != "siteinfo" {
            return api_error(
                "badvalue",
                &format!(
                    "Unrecognized value for parameter \"meta\": {}.",
                    get("meta")
                ),
            );
        }
        siteinfo(&domain, &mut query);
    }
    if !get("generator").is_empty() {
        if get("generator") != "search" {
            return api_error(
                "badvalue",
                &format!(
                    "Unrecognized value for parameter \"generator\": {}.",
                    get("generator")
                ),
            );
        }
        let limit = get("gsrlimit").parse().unwrap_or(10);
        let found = search(get("gsrsearch"), limit);
        if found.is_empty() {
            // MediaWiki leaves `query` out when a generator finds nothing.
            return with_headers(
                StatusCode::OK,
                &[(header::CONTENT_TYPE, JSON)],
                json!({ "batchcomplete": true }).to_string(),
            );
        }
        query.insert("pages".into(), Value::Array(found));
    }
    if !get("prop").is_empty() || !get("titles").is_empty() || !get("revids").is_empty() {
        let list = |name: &str| -> Vec<String> {
            get(name)
                .split('|')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let props = list("prop");
        let request = PageRequest {
            info: props.iter().any(|p| p == "info"),
            revisions: props.iter().any(|p| p == "revisions"),
            follow_redirects: params.contains_key("redirects"),
        };
        let titles = list("titles");
        let revids = list("revids");
        if !titles.is_empty() && !revids.is_empty() {
            return api_error(
                "invalidparammix",
                "The parameters \"titles\" and \"revids\" can not be used together.",
            );
        }
        state.action.with(&domain, |wiki| {
            pages(wiki, &domain, &request, &titles, &revids, &mut query)
        });
    }
    let body = json!({ "batchcomplete": true, "query": query });
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        body.to_string(),
    )
}

/// `generator=search` with CirrusSearch's `morelike:` (what RESTBase's related pages asked):
/// pages like an existing title, as `formatversion=2` lists generated pages (`pageid`, `ns`,
/// `title`, and the search rank as `index`), at most `limit`. Nothing is like a page that does
/// not exist, and only `morelike:` searches find anything here.
fn search(text: &str, limit: usize) -> Vec<Value> {
    let Some(seed) = text
        .strip_prefix("morelike:")
        .and_then(|t| Page::lookup(t, None))
    else {
        return Vec::new();
    };
    [
        format!("History of {}", seed.text),
        format!("{} in culture", seed.text),
        format!("Geography of {}", seed.text),
    ]
    .into_iter()
    .filter_map(|title| Page::lookup(&title, None))
    .take(limit)
    .enumerate()
    .map(|(i, page)| json!({"pageid": page.page_id, "ns": 0, "title": page.text, "index": i + 1}))
    .collect()
}

/// `action=edit` (`ApiEditPage`, `formatversion=2` answers): the token must be the session's
/// (`badtoken`; anonymous sessions have `+\`), the text replaces the page's, a `baserevid`
/// other than the latest revision is an `editconflict` (no merging), the same text again is
/// `nochange`. Pages that do not exist cannot be created here (`cantcreate`).
fn edit_page(
    state: &Shared,
    headers: &HeaderMap,
    domain: &str,
    params: &BTreeMap<String, String>,
) -> Response {
    let Some(token) = params.get("token") else {
        return api_error("missingparam", "The \"token\" parameter must be set.");
    };
    let session = crate::reading_lists::session(headers);
    let expected = session
        .as_deref()
        .map_or_else(|| "+\\".to_string(), crate::reading_lists::csrf_token);
    if *token != expected {
        return api_error("badtoken", "Invalid CSRF token.");
    }
    let title = params.get("title").map(String::as_str).unwrap_or_default();
    if title.is_empty() {
        return api_error("missingparam", "The \"title\" parameter must be set.");
    }
    let Some(text) = params.get("text") else {
        return api_error(
            "missingparam",
            "One of the parameters \"text\", \"appendtext\" and \"undo\" is required.",
        );
    };
    let key = page_key(title);
    let base = params.get("baserevid").and_then(|b| parse_revision(b));
    let outcome = state.action.with(domain, |wiki| {
        let latest = wiki.latest(&key)?;
        if base.is_some_and(|b| b != latest) {
            return Some(Err(()));
        }
        if wiki.texts.get(&key) == Some(text) {
            return Some(Ok((latest, None)));
        }
        let next = latest + 1;
        wiki.edited.insert(key.clone(), next);
        wiki.texts.insert(key.clone(), text.clone());
        Some(Ok((latest, Some(next))))
    });
    let page_id = Page::lookup(&key, None).map_or(0, |p| p.page_id);
    let mut edit = json!({
        "result": "Success",
        "pageid": page_id,
        "title": display(title),
        "contentmodel": "wikitext",
    });
    match outcome {
        None => api_error(
            "cantcreate",
            "You do not have permission to create new pages.",
        ),
        Some(Err(())) => api_error("editconflict", "Edit conflict."),
        Some(Ok((_, None))) => {
            set(&mut edit, "nochange", json!(true));
            api_answer(json!({ "edit": edit }))
        }
        Some(Ok((old, Some(new)))) => {
            set(&mut edit, "oldrevid", json!(old));
            set(&mut edit, "newrevid", json!(new));
            set(&mut edit, "newtimestamp", json!("2024-01-01T00:00:00Z"));
            set(&mut edit, "watched", json!(false));
            api_answer(json!({ "edit": edit }))
        }
    }
}

fn api_answer(body: Value) -> Response {
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        body.to_string(),
    )
}

/// An API error: HTTP 200 with the error object and the `MediaWiki-API-Error` header, as the
/// action API answers them.
fn api_error(code: &str, info: &str) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "info": info,
            "docref": "See https://en.wikipedia.org/w/api.php for API usage.",
        },
        "servedby": "devbackend",
    });
    let mut response = with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        body.to_string(),
    );
    if let Ok(value) = header::HeaderValue::from_str(code) {
        response.headers_mut().insert("mediawiki-api-error", value);
    }
    response
}

/// Namespace ids with their canonical names.
const NAMESPACES: &[(i64, &str)] = &[
    (-2, "Media"),
    (-1, "Special"),
    (0, ""),
    (1, "Talk"),
    (2, "User"),
    (3, "User talk"),
    (4, "Project"),
    (5, "Project talk"),
    (6, "File"),
    (7, "File talk"),
    (8, "MediaWiki"),
    (9, "MediaWiki talk"),
    (10, "Template"),
    (11, "Template talk"),
    (12, "Help"),
    (13, "Help talk"),
    (14, "Category"),
    (15, "Category talk"),
];

/// German local names (de.wikipedia.org's), by namespace id.
const GERMAN: &[(i64, &str)] = &[
    (-2, "Medium"),
    (-1, "Spezial"),
    (1, "Diskussion"),
    (2, "Benutzer"),
    (3, "Benutzer Diskussion"),
    (4, "Wikipedia"),
    (5, "Wikipedia Diskussion"),
    (6, "Datei"),
    (7, "Datei Diskussion"),
    (10, "Vorlage"),
    (11, "Vorlage Diskussion"),
    (12, "Hilfe"),
    (13, "Hilfe Diskussion"),
    (14, "Kategorie"),
    (15, "Kategorie Diskussion"),
];

/// Language variants per language with variants (a subset of MediaWiki's).
const VARIANTS: &[(&str, &[&str])] = &[
    ("sr", &["sr", "sr-ec", "sr-el"]),
    (
        "zh",
        &[
            "zh", "zh-hans", "zh-hant", "zh-cn", "zh-hk", "zh-mo", "zh-my", "zh-sg", "zh-tw",
        ],
    ),
];

fn siteinfo(domain: &str, query: &mut Map<String, Value>) {
    let site = Site::new(domain);
    let german = site.lang == "de";
    let project = if german || domain.contains("wikipedia") {
        "Wikipedia"
    } else {
        "Project"
    };
    let local_name = |id: i64, canonical: &str| -> String {
        match id {
            4 => project.to_owned(),
            5 if german => format!("{project} Diskussion"),
            5 => format!("{project} talk"),
            _ => GERMAN
                .iter()
                .find(|(i, _)| german && *i == id)
                .map_or(canonical, |(_, name)| name)
                .to_owned(),
        }
    };
    // Wiktionaries keep the first letter of main-namespace titles as typed.
    let main_case = if domain.contains("wiktionary") {
        "case-sensitive"
    } else {
        "first-letter"
    };
    let mut namespaces = Map::new();
    for (id, canonical) in NAMESPACES {
        let mut ns = json!({
            "id": id,
            "case": if *id == 0 { main_case } else { "first-letter" },
            "name": local_name(*id, canonical),
            "subpages": !matches!(id, -2 | -1 | 0 | 6 | 14),
            "content": *id == 0,
            "nonincludable": false,
        });
        if *id != 0 {
            set(&mut ns, "canonical", json!(canonical));
        }
        namespaces.insert(id.to_string(), ns);
    }
    let mut aliases = vec![
        json!({"id": 6, "alias": "Image"}),
        json!({"id": 7, "alias": "Image talk"}),
    ];
    if german {
        aliases.extend([
            json!({"id": 2, "alias": "Benutzerin"}),
            json!({"id": 3, "alias": "Benutzerin Diskussion"}),
            json!({"id": 6, "alias": "Bild"}),
            json!({"id": 7, "alias": "Bild Diskussion"}),
        ]);
    } else if domain.contains("wikipedia") {
        aliases.extend([
            json!({"id": 4, "alias": "WP"}),
            json!({"id": 5, "alias": "WT"}),
        ]);
    }
    let mut general = json!({
        "mainpage": if german { "Wikipedia:Hauptseite" } else { "Main Page" },
        "base": format!("https://{domain}/wiki/Main_Page"),
        "sitename": "Wikipedia",
        "generator": "MediaWiki 1.36.0-wmf.22",
        "case": main_case,
        "lang": site.lang,
        "fallback": [],
        "rtl": site.rtl,
        "legaltitlechars": " %!\"$&'()*,\\-.\\/0-9:;=?@A-Z\\\\^_`a-z~\\x80-\\xFF+",
        "server": format!("//{domain}"),
        "servername": domain,
        "articlepath": "/wiki/$1",
        "scriptpath": "/w",
        "wikiid": domain.replace('.', "_"),
    });
    if let Some((_, codes)) = VARIANTS.iter().find(|(lang, _)| *lang == site.lang) {
        set(
            &mut general,
            "variants",
            codes
                .iter()
                .map(|code| json!({"code": code, "name": code}))
                .collect(),
        );
        set(&mut general, "variantarticlepath", json!(false));
    }
    let languagevariants: Map<String, Value> = VARIANTS
        .iter()
        .map(|(lang, codes)| {
            let variants: Map<String, Value> = codes
                .iter()
                .map(|code| ((*code).to_owned(), json!({"fallbacks": []})))
                .collect();
            ((*lang).to_owned(), Value::Object(variants))
        })
        .collect();
    query.insert("general".into(), general);
    query.insert("namespaces".into(), Value::Object(namespaces));
    query.insert("namespacealiases".into(), Value::Array(aliases));
    query.insert(
        "specialpagealiases".into(),
        json!([
            {"realname": "Contributions", "aliases": ["Contributions", "Contribs"]},
            {"realname": "Search", "aliases": ["Search"]},
        ]),
    );
    query.insert("languagevariants".into(), Value::Object(languagevariants));
}

struct PageRequest {
    info: bool,
    revisions: bool,
    follow_redirects: bool,
}

/// The title as MediaWiki displays it: spaces, first letter upper-case.
fn display(title: &str) -> String {
    let spaced = title.trim().replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

fn pages(
    wiki: &mut Wiki,
    domain: &str,
    request: &PageRequest,
    titles: &[String],
    revids: &[String],
    query: &mut Map<String, Value>,
) {
    let mut normalized = Vec::new();
    let mut redirects = Vec::new();
    let mut bad = Map::new();
    let mut found: Vec<Value> = Vec::new();
    // (page key, revision) pairs to report.
    let mut wanted: Vec<(String, Option<u64>)> = Vec::new();
    for title in titles {
        let text = display(title);
        if text != *title {
            normalized.push(json!({"fromencoded": false, "from": title, "to": text}));
        }
        let mut key = text.replace(' ', "_");
        if request.follow_redirects {
            if let Some(target) = key.strip_prefix(REDIRECT_PREFIX).filter(|t| !t.is_empty()) {
                let target = display(target);
                redirects.push(json!({"from": text, "to": target}));
                key = target.replace(' ', "_");
            }
        }
        wanted.push((key, None));
    }
    for revid in revids {
        let known = parse_revision(revid).and_then(|rev| {
            let key = wiki.revisions.get(&rev)?.clone();
            (!wiki.deleted.contains(&key)).then_some((key, rev))
        });
        match known {
            Some((key, rev)) => wanted.push((key, Some(rev))),
            None => {
                let id = parse_revision(revid).map_or(json!(revid), |r| json!(r));
                bad.insert(revid.clone(), json!({"revid": id, "missing": true}));
            }
        }
    }
    for (key, revision) in wanted {
        let latest = wiki.latest(&key);
        let page = latest.and_then(|latest| Page::lookup(&key, Some(revision.unwrap_or(latest))));
        let (Some(page), Some(latest_rev)) = (page, latest) else {
            found.push(json!({"ns": 0, "title": key.replace('_', " "), "missing": true}));
            continue;
        };
        wiki.revisions.insert(page.revision, page.key.clone());
        let mut entry = json!({"pageid": page.page_id, "ns": 0, "title": page.text});
        if request.info {
            let site = Site::new(domain);
            set(&mut entry, "contentmodel", json!("wikitext"));
            set(&mut entry, "pagelanguage", json!(site.lang));
            set(&mut entry, "pagelanguagehtmlcode", json!(site.lang));
            set(&mut entry, "pagelanguagedir", json!(site.dir()));
            set(&mut entry, "touched", json!(page.timestamp));
            set(&mut entry, "lastrevid", json!(latest_rev));
            set(&mut entry, "length", json!(page_size(&page)));
            if page.key.starts_with(REDIRECT_PREFIX) {
                set(&mut entry, "redirect", json!(true));
            }
        }
        if request.revisions {
            set(&mut entry, "revisions", json!([revision_json(wiki, &page)]));
        }
        found.push(entry);
    }
    if !normalized.is_empty() {
        query.insert("normalized".into(), Value::Array(normalized));
    }
    if !redirects.is_empty() {
        query.insert("redirects".into(), Value::Array(redirects));
    }
    if !bad.is_empty() {
        query.insert("badrevids".into(), Value::Object(bad));
    }
    if !found.is_empty() {
        query.insert("pages".into(), Value::Array(found));
    }
}

fn page_size(page: &Page) -> u64 {
    1_000 + page.page_id % 9_000
}

fn revision_json(wiki: &Wiki, page: &Page) -> Value {
    let hidden = wiki.hidden_fields(page);
    let mut rev = json!({
        "revid": page.revision,
        "parentid": page.revision.saturating_sub(1),
        "minor": false,
        "timestamp": page.timestamp,
        "size": page_size(page),
        "contentmodel": "wikitext",
        "tags": [],
    });
    if hidden.contains(&"userhidden") {
        set(&mut rev, "userhidden", json!(true));
    } else {
        set(&mut rev, "user", json!("Example editor"));
        set(&mut rev, "userid", json!(4_242));
    }
    if hidden.contains(&"commenthidden") {
        set(&mut rev, "commenthidden", json!(true));
    } else {
        set(&mut rev, "comment", json!(format!("Edit to {}", page.text)));
    }
    if hidden.contains(&"sha1hidden") {
        set(&mut rev, "sha1hidden", json!(true));
    } else {
        set(&mut rev, "sha1", json!(page.sha1()));
    }
    for flag in ["texthidden", "suppressed"] {
        if hidden.contains(&flag) {
            set(&mut rev, flag, json!(true));
        }
    }
    rev
}

/// Sets a field of a JSON object (`value["key"] = …` without indexing).
fn set(value: &mut Value, key: &str, field: Value) {
    if let Some(object) = value.as_object_mut() {
        object.insert(key.to_owned(), field);
    }
}

fn control_answer(body: Value) -> Response {
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        body.to_string(),
    )
}

/// `POST /_dev/action/{domain}/hide/{revision}`: hides the revision's text and SHA-1 and marks
/// it suppressed (revision deletion by an oversighter). A JSON array body names other fields,
/// e.g. `["userhidden","commenthidden"]`.
async fn hide(
    State(state): State<Shared>,
    Path((domain, revision)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(revision) = parse_revision(&revision) else {
        return with_headers(
            StatusCode::BAD_REQUEST,
            &[],
            "revision must be a positive integer\n",
        );
    };
    let fields: Vec<String> = if body.is_empty() {
        vec![
            "texthidden".into(),
            "sha1hidden".into(),
            "suppressed".into(),
        ]
    } else {
        match serde_json::from_slice(&body) {
            Ok(fields) => fields,
            Err(e) => return with_headers(StatusCode::BAD_REQUEST, &[], format!("{e}\n")),
        }
    };
    state.action.with(&domain, |wiki| {
        wiki.hidden
            .entry(revision)
            .or_default()
            .extend(fields.clone());
    });
    control_answer(json!({"revid": revision, "hidden": fields}))
}

/// `POST /_dev/action/{domain}/delete/{title}`: deletes the page.
async fn delete(
    State(state): State<Shared>,
    Path((domain, title)): Path<(String, String)>,
) -> Response {
    let key = display(&title).replace(' ', "_");
    state
        .action
        .with(&domain, |wiki| wiki.deleted.push(key.clone()));
    control_answer(json!({"deleted": key}))
}

/// `POST /_dev/action/{domain}/edit/{title}`: a new latest revision of the page; answers with
/// its id.
async fn edit(
    State(state): State<Shared>,
    Path((domain, title)): Path<(String, String)>,
) -> Response {
    let key = display(&title).replace(' ', "_");
    let Some(current) = Page::lookup(&key, None) else {
        return with_headers(StatusCode::NOT_FOUND, &[], "no such page\n");
    };
    let revision = state.action.with(&domain, |wiki| {
        let next = wiki.edited.get(&key).copied().unwrap_or(current.revision) + 1;
        wiki.edited.insert(key.clone(), next);
        // The edit made the revision: its id is the page's from now on, by `revids=` too.
        wiki.revisions.insert(next, key.clone());
        wiki.deleted.retain(|k| *k != key);
        next
    });
    control_answer(json!({"title": key, "revid": revision}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let p = form("action=query&titles=Main+Page%7CFoo&redirects");
        assert_eq!(p.get("titles").unwrap(), "Main Page|Foo");
        assert_eq!(p.get("redirects").unwrap(), "");
    }

    #[test]
    fn host_drops_port() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "De.Wikipedia.org:8888".parse().unwrap());
        assert_eq!(host(&h), "de.wikipedia.org");
    }

    #[test]
    fn display_titles() {
        assert_eq!(display("main_Page"), "Main Page");
        assert_eq!(display(""), "");
    }
}
