use super::*;
use crate::client::Class;
use crate::router::{route, Target};

pub(crate) fn shipped() -> Value {
    serde_norway::from_str(include_str!("../../spec/wikimedia.yaml")).unwrap()
}

fn api() -> Api {
    Api::compile(&shipped()).unwrap()
}

fn op(api: &Api, method: &str, path: &str) -> crate::router::Matched {
    match route(api, method, path, "", || Class::External) {
        Ok(Target::Op(m)) => m,
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn shipped_spec_compiles_and_routes() {
    let api = api();
    let m = op(&api, "GET", "/en.wikipedia.org/v1/page/html/Earth");
    assert_eq!(m.op.id, "getPageHtml");
    assert_eq!(m.params["title"], "Earth");
    let m = op(&api, "GET", "/de.wikipedia.org/v1/page/html/AC%2FDC/123");
    assert_eq!(m.op.id, "getPageHtmlRevision");
    assert_eq!(m.params["title"], "AC/DC");
    assert_eq!(m.params["revision"], "123");
    let m = op(&api, "HEAD", "/en.wikipedia.org/v1/page/summary/Caf%C3%A9");
    assert!(m.head);
    assert_eq!(m.params["title"], "Café");
    assert_eq!(op(&api, "GET", "/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20200101/20200110").op.id, "pageviewsPerArticle");
    assert_eq!(op(&api, "POST", "/en.wikipedia.org/v1/transform/wikitext/to/html").op.id, "transformWikitextToHtml");
}

#[test]
fn routing_errors() {
    let api = api();
    let err = |m: &str, p: &str, c: Class| route(&api, m, p, "", || c).err().unwrap();
    assert_eq!(err("GET", "/en.wikipedia.org/v1/page/nothing/X", Class::External).kind, "not_found#route");
    assert_eq!(err("GET", "/en.wikipedia.org/v2/page/html/X", Class::External).kind, "not_found#route");
    assert_eq!(err("GET", "/unknown.example.org/v1/page/html/X", Class::External).kind, "not_found#route");
    // wikimedia.org has no page routes; a wildcard is one label only.
    assert_eq!(err("GET", "/wikimedia.org/v1/page/html/X", Class::External).kind, "not_found#route");
    assert_eq!(err("GET", "/a.b.wikipedia.org/v1/page/html/X", Class::External).kind, "not_found#route");
    assert_eq!(err("PUT", "/en.wikipedia.org/v1/page/html/X", Class::External).status, 405);
    assert_eq!(err("GET", "/en.wikipedia.org/sys/key_value/x", Class::External).kind, "forbidden#sys");
    assert_eq!(err("GET", "/en.wikipedia.org/sys/key_value/x", Class::Internal).kind, "not_found#route");
    assert_eq!(err("GET", "/en.wikipedia.org/v1/page/html/%zz", Class::External).status, 400);
    assert_eq!(err("GET", "/en.wikipedia.org/v1/page/html/%2E%2E", Class::External).status, 400);
    assert_eq!(err("GET", "/en.wikipedia.org/v1/page/html/X?a=%zz", Class::External).status, 400);
}

#[test]
fn validation_through_routes() {
    let api = api();
    let none = HashMap::new();
    let m = op(&api, "GET", "/en.wikipedia.org/v1/page/html/Earth/abc");
    assert_eq!(m.validate(&none, None, None).unwrap_err().detail, "data.params.revision should be an integer");
    let m = op(&api, "GET", "/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/bogus/user/Earth/daily/20200101/20200110");
    let p = m.validate(&none, None, None).unwrap_err();
    assert_eq!(p.status, 400);
    assert!(p.detail.starts_with("data.params.access"), "{}", p.detail);
    let m = op(&api, "GET", "/en.wikipedia.org/v1/feed/featured/2020/13/01");
    assert!(m.validate(&none, None, None).is_err());
    let m = op(&api, "GET", "/en.wikipedia.org/v1/page/html/Earth?redirect=maybe");
    assert_eq!(m.validate(&none, None, None).unwrap_err().detail, "data.query.redirect should be a boolean");
}

#[test]
fn spec_and_listing() {
    let api = api();
    match route(&api, "GET", "/en.wikipedia.org/v1/?spec", "", || Class::External).unwrap() {
        Target::Spec(bytes) => {
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["servers"][0]["url"], "/en.wikipedia.org/v1");
            assert!(v["paths"]["/page/html/{title}"]["get"].is_object());
            assert!(v["paths"].get("/metrics/pageviews/per-article/{project}/{access}/{agent}/{article}/{granularity}/{start}/{end}").is_none());
            assert!(!String::from_utf8(bytes).unwrap().contains("x-restrouter"));
        }
        other => panic!("{other:?}"),
    }
    match route(&api, "GET", "/en.wikipedia.org/v1/", "", || Class::External).unwrap() {
        Target::Listing(bytes) => assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap()["items"], serde_json::json!(["data", "feed", "media", "page", "transform"])),
        other => panic!("{other:?}"),
    }
}

fn listing(api: &Api, method: &str, path: &str) -> Value {
    match route(api, method, path, "en.wikipedia.org", || Class::External) {
        Ok(Target::Listing(bytes)) => serde_json::from_slice::<Value>(&bytes).unwrap()["items"].clone(),
        other => panic!("{path}: {other:?}"),
    }
}

/// RESTBase listed every prefix ending in `/` that no operation serves: the next segments,
/// sorted; none where a parameter comes next.
#[test]
fn prefixes_are_listed_like_restbase() {
    let api = api();
    use serde_json::json;
    // What a Wikipedia has under /page/.
    let page = json!([
        "data-parsoid",
        "graph",
        "html",
        "lint",
        "media-list",
        "mobile-html",
        "mobile-html-offline-resources",
        "mobile-sections",
        "mobile-sections-lead",
        "mobile-sections-remaining",
        "pdf",
        "random",
        "related",
        "segments",
        "summary",
        "talk",
        "title",
        "wikitext"
    ]);
    assert_eq!(listing(&api, "GET", "/en.wikipedia.org/v1/page/"), page.clone());
    assert_eq!(listing(&api, "HEAD", "/en.wikipedia.org/v1/p%61ge/"), page.clone());
    assert_eq!(listing(&api, "GET", "/en.wikipedia.org/v1/transform/wikitext/to/"), json!(["html", "lint", "mobile-html"]));
    assert_eq!(listing(&api, "GET", "/en.wikipedia.org/v1/page/html/"), json!([]));
    assert_eq!(listing(&api, "GET", "/en.wikipedia.org/v1/page/html/Earth/"), json!([]));
    // A prefix's listing is not the project's document.
    assert_eq!(listing(&api, "GET", "/en.wikipedia.org/v1/page/?spec"), page.clone());
    // Each project lists its own paths.
    assert_eq!(listing(&api, "GET", "/wikimedia.org/v1/"), json!(["feed", "media", "metrics", "transform"]));
    assert_eq!(listing(&api, "GET", "/wikimedia.org/v1/transform/"), json!(["html", "list", "word"]));
    assert_eq!(listing(&api, "GET", "/wikimedia.org/v1/transform/list/"), json!(["languagepairs", "pair", "tool"]));
    assert_eq!(
        listing(&api, "GET", "/wikimedia.org/v1/metrics/"),
        json!(["bytes-difference", "edited-pages", "editors", "edits", "legacy", "mediarequests", "pageviews", "registered-users", "unique-devices"])
    );
    assert_eq!(listing(&api, "GET", "/wikimedia.org/v1/metrics/pageviews/"), json!(["aggregate", "per-article", "top", "top-by-country"]));
    assert_eq!(listing(&api, "GET", "/api/rest_v1/page/"), page.clone());
    assert!(matches!(route(&api, "OPTIONS", "/en.wikipedia.org/v1/page/", "", || Class::External), Ok(Target::Preflight)));
    let err = |m: &str, p: &str| route(&api, m, p, "", || Class::External).err().unwrap();
    assert_eq!(err("POST", "/en.wikipedia.org/v1/page/").status, 405);
    // Neither a prefix of a path nor a path's end: no listing.
    assert_eq!(err("GET", "/en.wikipedia.org/v1/nothing/").kind, "not_found#route");
    assert_eq!(err("GET", "/en.wikipedia.org/v1/page//").kind, "not_found#route");
    assert_eq!(err("GET", "/en.wikipedia.org/v1/page/summary/Earth/").kind, "not_found#route");
    assert_eq!(err("GET", "/wikimedia.org/v1/page/").kind, "not_found#route");
}

/// `/api/rest_v1/...` on the wiki's own host routes as `/{host}/v1/...`.
#[test]
fn host_form_routes_as_the_domain_form() {
    let api = api();
    let host = |path: &str, authority: &str| route(&api, "GET", path, authority, || Class::External);
    let Ok(Target::Op(m)) = host("/api/rest_v1/page/html/AC%2FDC/123", "De.Wikipedia.ORG:443") else { panic!() };
    assert_eq!((m.op.id.as_str(), m.domain.as_str()), ("getPageHtmlRevision", "de.wikipedia.org"));
    assert_eq!((m.params["title"].as_str(), m.params["domain"].as_str()), ("AC/DC", "de.wikipedia.org"));
    let Ok(Target::Op(m)) = host("/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20200101/20200110", "wikimedia.org") else { panic!() };
    assert_eq!(m.op.id, "pageviewsPerArticle");
    // `?spec` addresses the API as the client did.
    let Ok(Target::Spec(bytes)) = host("/api/rest_v1/?spec", "en.wikipedia.org") else { panic!() };
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap()["servers"][0]["url"], "/api/rest_v1");
    assert_eq!(listing(&api, "GET", "/api/rest_v1/"), serde_json::json!(["data", "feed", "media", "page", "transform"]));
    let unknown = host("/api/rest_v1/page/html/X", "example.org").err().unwrap();
    assert_eq!((unknown.kind, unknown.detail.as_str()), ("not_found#route", "Not found: /api/rest_v1/page/html/X"));
    assert_eq!(host("/api/rest_v1/page/html/X", "").err().unwrap().kind, "not_found#route");
    assert_eq!(host("/api/rest_v1/page/html/X", "wikimedia.org").err().unwrap().kind, "not_found#route");
    // The domain form ignores the host; no `sys` under the host form.
    assert!(matches!(route(&api, "GET", "/en.wikipedia.org/v1/page/html/X", "example.org", || Class::External), Ok(Target::Op(_))));
    assert_eq!(route(&api, "GET", "/api/rest_v1/sys/key_value/x", "en.wikipedia.org", || Class::Internal).err().unwrap().kind, "not_found#route");
    assert_eq!(crate::router::domain_of("/api/rest_v1/page/html/X?a=b", "EN.wikipedia.org:80"), "en.wikipedia.org");
    assert_eq!(crate::router::domain_of("/En.wikipedia.org/v1/page/html/X", "example.org"), "en.wikipedia.org");
}

fn broken(edit: impl FnOnce(&mut Value)) -> String {
    let mut doc = shipped();
    edit(&mut doc);
    Api::compile(&doc).err().unwrap()
}

#[test]
fn bad_specs_name_route_and_field() {
    let e = broken(|d| {
        d["paths"]["/page/html/{title}"]["get"]["x-restrouter"]["storage"].as_object_mut().unwrap().remove("bucket");
    });
    assert!(e.contains("paths./page/html/{title}.get") && e.contains("bucket"), "{e}");
    let e = broken(|d| d["paths"]["/page/html/{title}"]["get"]["x-restrouter"]["backend"]["path"] = "/{domain}/v3/{nope}".into());
    assert!(e.contains("backend.path") && e.contains("{nope}"), "{e}");
    let e = broken(|d| d["paths"]["/page/html/{title}"]["get"]["x-restrouter"]["rate_limit"] = serde_json::json!({"external": -1}));
    assert!(e.contains("rate_limit"), "{e}");
    let e = broken(|d| d["paths"]["/page/html/{title}"]["get"]["x-restrouter"]["cache_controll"] = "x".into());
    assert!(e.contains("cache_controll"), "{e}");
    let e = broken(|d| d["x-restrouter"]["projects"][0]["route_sets"] = serde_json::json!(["nope"]));
    assert!(e.contains("route_sets") && e.contains("nope"), "{e}");
    let e = broken(|d| d["paths"]["/page/summary/{title}"]["get"]["operationId"] = "getPageHtml".into());
    assert!(e.contains("used twice"), "{e}");
    let e = broken(|d| d["paths"]["/page/html/{title}"]["get"]["parameters"][0] = serde_json::json!({"$ref": "#/components/parameters/missing"}));
    assert!(e.contains("points at nothing"), "{e}");
    let e = broken(|d| d["paths"]["/page/mobile-sections-lead/{title}"]["get"]["x-restrouter"]["storage"]["part"] = "".into());
    assert!(e.contains("paths./page/mobile-sections-lead/{title}.get") && e.contains("storage.part"), "{e}");
    // Revisions: GET routes with a title, stored or passed through; never a POST.
    let e = broken(|d| d["paths"]["/transform/wikitext/to/html/{title}"]["post"]["x-restrouter"]["revisions"] = serde_json::json!({}));
    assert!(e.contains("revisions") && e.contains("GET"), "{e}");
    let e = broken(|d| d["paths"]["/page/lint/{title}"]["get"]["x-restrouter"]["revisions"]["backend_path"] = "/{domain}/v3/{nope}".into());
    assert!(e.contains("revisions.backend_path") && e.contains("{nope}"), "{e}");
    let e = broken(|d| random_redirect(d)["status"] = 200.into());
    assert!(e.contains("redirect.status"), "{e}");
    let e = broken(|d| random_redirect(d)["location"] = "../{format}/{nope}".into());
    assert!(e.contains("redirect.location") && e.contains("{nope}"), "{e}");
    let e = broken(|d| random_redirect(d)["from_body"]["title"] = "items/0/title".into());
    assert!(e.contains("redirect.from_body.title"), "{e}");
    // Math composites: their method and parameters, a back-end unless only storage is read.
    let e = broken(|d| d["paths"]["/media/math/render/{format}/{hash}"]["get"]["x-restrouter"]["math"]["step"] = "check".into());
    assert!(e.contains("x-restrouter.math") && e.contains("POST"), "{e}");
    let e = broken(|d| {
        d["paths"]["/media/math/render/{format}/{hash}"]["get"]["x-restrouter"].as_object_mut().unwrap().remove("backend");
    });
    assert!(e.contains("x-restrouter.backend") && e.contains("missing"), "{e}");
    let e = broken(|d| d["paths"]["/media/math/formula/{hash}"]["get"]["x-restrouter"]["math"]["domain"] = "a/b".into());
    assert!(e.contains("math.domain"), "{e}");
    let e = broken(|d| d["paths"]["/media/math/formula/{hash}"]["get"]["x-restrouter"]["storage"] = serde_json::json!({"bucket": "b", "key": "{hash}"}));
    assert!(e.contains("x-restrouter.math") && e.contains("storage"), "{e}");
    // `{site_lang}` is the wiki's language; other unknown names are refused.
    let e = broken(|d| d["paths"]["/transform/word/from/{from}/{word}"]["get"]["x-restrouter"]["backend"]["path"] = "/v1/dictionary/{word}/{from}/{lang}".into());
    assert!(e.contains("backend.path") && e.contains("{lang}"), "{e}");
}

#[test]
fn site_lang_asks_for_the_wikis_language_and_math_names_its_store() {
    let api = api();
    let m = op(&api, "GET", "/de.wikipedia.org/v1/transform/word/from/en/Haus");
    assert!(m.op.site_lang && !m.op.title);
    assert!(!op(&api, "GET", "/wikimedia.org/v1/transform/word/from/en/to/de/Haus").op.site_lang);
    let m = op(&api, "GET", "/fr.wikibooks.org/v1/media/math/formula/abc");
    assert_eq!(m.op.math.as_ref().map(|x| (x.step, x.domain.as_str())), Some((model::MathStep::Formula, "wikimedia.org")));
}

/// A back-end query and the wiki's language are for pass-through routes; related pages need a
/// title and a sane limit.
#[test]
fn query_language_and_related_are_checked() {
    let e = broken(|d| citation(d)["query"]["search"] = "{nope}".into());
    assert!(e.contains("backend.query") && e.contains("{nope}"), "{e}");
    let e = broken(|d| citation(d)["query"]["a&b"] = "{query}".into());
    assert!(e.contains("backend.query") && e.contains("a&b"), "{e}");
    let e = broken(|d| d["paths"]["/page/summary/{title}"]["get"]["x-restrouter"]["backend"]["wiki_language"] = true.into());
    assert!(e.contains("pass-through"), "{e}");
    let e = broken(|d| related(d)["related"]["limit"] = 0.into());
    assert!(e.contains("related.limit"), "{e}");
    let e = broken(|d| related(d)["revisions"] = serde_json::json!({}));
    assert!(e.contains("x-restrouter.related"), "{e}");
    let e = broken(|d| d["paths"]["/data/citation/{format}/{query}"]["get"]["x-restrouter"]["related"] = serde_json::json!({"limit": 5}));
    assert!(e.contains("x-restrouter"), "{e}");
}

/// The operations of other services, each on the projects RESTBase mounted it on.
#[test]
fn service_operations_route_per_project() {
    let api = api();
    let id = |path: &str| {
        route(&api, "GET", path, "", || Class::External).ok().and_then(|t| match t {
            Target::Op(m) => Some(m.op.id.clone()),
            _ => None,
        })
    };
    assert_eq!(id("/en.wikipedia.org/v1/page/pdf/Earth/a4/mobile").as_deref(), Some("getPagePdfFormatType"));
    assert_eq!(id("/en.wikivoyage.org/v1/page/pdf/Earth").as_deref(), Some("getPagePdf"));
    assert_eq!(id("/www.wikidata.org/v1/page/pdf/Earth"), None);
    assert_eq!(id("/www.wikidata.org/v1/data/recommendation/description/addition/de").as_deref(), Some("getDescriptionAddition"));
    assert_eq!(id("/en.wikipedia.org/v1/data/recommendation/description/addition/de"), None);
    assert_eq!(id("/www.wikidata.org/v1/page/graph/png/Q2/0/abc.png").as_deref(), Some("getGraphPng"));
    assert_eq!(id("/de.wikipedia.org/v1/data/citation/zotero/x").as_deref(), Some("getCitation"));
    assert_eq!(id("/wikimedia.org/v1/page/related/Earth"), None);
}

fn citation(d: &mut Value) -> &mut Value {
    &mut d["paths"]["/data/citation/{format}/{query}"]["get"]["x-restrouter"]["backend"]
}

fn related(d: &mut Value) -> &mut Value {
    &mut d["paths"]["/page/related/{title}"]["get"]["x-restrouter"]
}

fn random_redirect(d: &mut Value) -> &mut Value {
    &mut d["paths"]["/page/random/{format}"]["get"]["x-restrouter"]["redirect"]
}

/// The pass-through operations of the apps' services: routed for the projects that mount them.
#[test]
fn app_service_operations_route_per_project() {
    let api = api();
    let id = |path: &str| op(&api, "GET", path).op.id.clone();
    assert_eq!(id("/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth"), "getPageMobileHtmlOfflineResources");
    assert_eq!(id("/en.wikipedia.org/v1/page/mobile-html-offline-resources/Earth/123"), "getPageMobileHtmlOfflineResourcesWithRevision");
    assert_eq!(id("/en.wikipedia.org/v1/page/talk/Talk:Earth"), "getPageTalk");
    assert_eq!(id("/en.wikipedia.org/v1/page/talk/Talk:Earth/123"), "getPageTalkWithRevision");
    assert_eq!(id("/en.wikipedia.org/v1/data/javascript/mobile/pcs"), "getMobileJs");
    assert_eq!(id("/en.wikipedia.org/v1/data/i18n/pcs"), "getI18n");
    assert_eq!(id("/en.wikipedia.org/v1/feed/announcements"), "getAnnouncements");
    assert_eq!(id("/en.wikipedia.org/v1/feed/onthisday/births/01/15"), "onThisDay");
    assert_eq!(id("/en.wikipedia.org/v1/page/random/summary"), "getRandom");
    assert_eq!(id("/en.wikivoyage.org/v1/page/random/title"), "getRandom");
    assert_eq!(id("/wikimedia.org/v1/feed/availability"), "getFeedAvailability");
    let status = |path: &str| route(&api, "GET", path, "", || Class::External).err().map(|p| p.status);
    // Talk pages and the feed are the Wikipedias' alone; availability is wikimedia.org's.
    assert_eq!(status("/en.wiktionary.org/v1/page/talk/Talk:Earth"), Some(404));
    assert_eq!(status("/en.wikipedia.org/v1/feed/availability"), Some(404));
    // As RESTBase mounted them: no summary or random page on Wiktionary, no summary and no
    // mobile content on Wikidata.
    assert_eq!(status("/en.wiktionary.org/v1/page/random/title"), Some(404));
    assert_eq!(status("/en.wiktionary.org/v1/page/summary/Earth"), Some(404));
    assert_eq!(status("/www.wikidata.org/v1/page/summary/Q42"), Some(404));
    assert_eq!(status("/www.wikidata.org/v1/page/mobile-html/Q42"), Some(404));
    assert_eq!(id("/www.wikidata.org/v1/page/random/title"), "getRandom");
    let bad = |path: &str| op(&api, "GET", path).validate(&HashMap::new(), None, None).err().map(|p| p.status);
    assert_eq!(bad("/en.wikipedia.org/v1/data/i18n/css"), Some(400));
    assert_eq!(bad("/en.wikipedia.org/v1/data/javascript/mobile/site"), Some(400));
    assert_eq!(bad("/en.wikipedia.org/v1/feed/onthisday/weddings/01/15"), Some(400));
    assert_eq!(bad("/en.wikipedia.org/v1/page/random/pdf"), Some(400));
    assert_eq!(bad("/en.wikipedia.org/v1/page/talk/Talk:Earth/0"), Some(400));
    assert_eq!(bad("/en.wikipedia.org/v1/page/random/summary"), None);
}

#[test]
fn many_domains_share_routes() {
    let mut doc = shipped();
    let domains: Vec<Value> = (0..800).map(|i| Value::String(format!("wiki{i}.example.org"))).collect();
    doc["x-restrouter"]["projects"][1]["domains"] = Value::Array(domains);
    let projects = doc["x-restrouter"]["projects"].as_array().map(Vec::len);
    let api = Api::compile(&doc).unwrap();
    assert_eq!(Some(api.projects.len()), projects);
    assert_eq!(op(&api, "GET", "/wiki799.example.org/v1/page/html/X").op.id, "getPageHtml");
}

/// The public documents, written without a tree, are the bytes the tree gave: the spec with
/// extensions stripped, the project's paths, `servers` set.
#[test]
fn public_documents_as_the_tree_wrote_them() {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(obj) => Value::Object(obj.iter().filter(|(k, _)| !k.starts_with("x-restrouter")).map(|(k, v)| (k.clone(), strip(v))).collect()),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    fn tree(doc: &Value, paths: &BTreeSet<&str>, base: &str) -> Vec<u8> {
        let Value::Object(mut out) = strip(doc) else { unreachable!() };
        if let Some(Value::Object(all)) = out.get("paths") {
            let kept: serde_json::Map<String, Value> = all.iter().filter(|(k, _)| paths.contains(k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
            out.insert("paths".into(), Value::Object(kept));
        }
        out.insert("servers".into(), serde_json::json!([{ "url": base }]));
        serde_json::to_vec(&Value::Object(out)).unwrap()
    }
    let mut doc = shipped();
    // Members after `servers` and a spec's own `servers` are written as before too.
    doc["servers"] = serde_json::json!([{"url": "https://example.org"}]);
    doc["zz"] = serde_json::json!({"a": [1, {"x-restrouter-y": 2, "b": "\u{0}\"q"}]});
    let api = Api::compile(&doc).unwrap();
    for p in &api.projects {
        let paths: BTreeSet<&str> = p.routes.iter().flat_map(|r| r.ops.iter().map(|o| o.template.as_str())).collect();
        for base in ["/api/rest_v1", "/en.wikipedia.org/v1", "/a\"b\\c/v1"] {
            assert_eq!(p.public_spec.for_base(base), tree(&doc, &paths, base), "{} at {base}", p.name);
        }
    }
}
