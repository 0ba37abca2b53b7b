//! The action API stand-in over real HTTP: siteinfo per wiki, page and revision queries, and the
//! controls that change a wiki after the fact.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{agent, base};
use serde_json::Value;

/// POSTs `form` to the API as the wiki `domain` (its Host header), as RESTBase did.
fn api(domain: &str, form: &str) -> Value {
    let mut response = agent()
        .post(format!("{}/w/api.php", base()))
        .header("host", domain)
        .header("content-type", "application/x-www-form-urlencoded")
        .send(form)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

fn control(path: &str, body: &str) -> Value {
    let mut response = agent()
        .post(format!("{}{path}", base()))
        .send(body)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

const SITEINFO: &str = "action=query&format=json&formatversion=2&meta=siteinfo\
    &siprop=general%7Cnamespaces%7Cnamespacealiases%7Cspecialpagealiases%7Clanguagevariants";
const REVISION: &str = "action=query&format=json&formatversion=2&prop=info%7Crevisions\
    &rvprop=ids%7Ctimestamp%7Cuser%7Cuserid%7Csize%7Csha1%7Ccontentmodel%7Ccomment%7Ctags";

#[test]
fn siteinfo_per_wiki() {
    let en = api("en.wikipedia.org", SITEINFO);
    let q = &en["query"];
    assert_eq!(q["general"]["lang"], "en");
    assert_eq!(q["general"]["case"], "first-letter");
    assert_eq!(q["namespaces"]["2"]["name"], "User");
    assert_eq!(q["namespaces"]["4"]["name"], "Wikipedia");
    assert_eq!(q["namespaces"]["4"]["canonical"], "Project");
    assert!(q["namespaces"]["0"].get("canonical").is_none());
    assert!(q["general"].get("variants").is_none());
    assert!(q["languagevariants"]["sr"]["sr-el"].is_object());

    let de = api("de.wikipedia.org", SITEINFO);
    let q = &de["query"];
    assert_eq!(q["namespaces"]["2"]["name"], "Benutzer");
    assert_eq!(q["namespaces"]["2"]["canonical"], "User");
    assert_eq!(q["namespaces"]["6"]["name"], "Datei");
    let aliases = q["namespacealiases"].as_array().unwrap();
    assert!(aliases
        .iter()
        .any(|a| a["id"] == 2 && a["alias"] == "Benutzerin"));

    let sr = api("sr.wikipedia.org:443", SITEINFO);
    let codes: Vec<&str> = sr["query"]["general"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["sr", "sr-ec", "sr-el"]);
    assert!(api("zh.wikipedia.org", SITEINFO)["query"]["general"]["variants"].is_array());
    assert_eq!(
        api("en.wiktionary.org", SITEINFO)["query"]["namespaces"]["0"]["case"],
        "case-sensitive"
    );
}

#[test]
fn siteinfo_feeds_title_normalization_shape() {
    // The answer is what the filter's siteinfo reader expects: formatversion=2 names.
    let de = api("de.wikipedia.org", SITEINFO);
    for ns in de["query"]["namespaces"].as_object().unwrap().values() {
        assert!(ns["name"].is_string() && ns["id"].is_i64() && ns["case"].is_string());
    }
}

#[test]
fn normal_page_by_title_and_by_revision() {
    let answer = api("en.wikipedia.org", &format!("{REVISION}&titles=earth"));
    let q = &answer["query"];
    assert_eq!(q["normalized"][0]["from"], "earth");
    assert_eq!(q["normalized"][0]["to"], "Earth");
    let page = &q["pages"][0];
    assert_eq!(page["title"], "Earth");
    assert_eq!(page["pageid"], 9228);
    assert_eq!(page["pagelanguage"], "en");
    assert!(page.get("redirect").is_none());
    let rev = &page["revisions"][0];
    let revid = rev["revid"].as_u64().unwrap();
    assert_eq!(page["lastrevid"], revid);
    assert_eq!(rev["sha1"].as_str().unwrap().len(), 40);
    for field in [
        "timestamp",
        "user",
        "userid",
        "size",
        "comment",
        "tags",
        "contentmodel",
    ] {
        assert!(rev.get(field).is_some(), "{field} missing");
    }
    assert!(rev.get("texthidden").is_none());

    let by_rev = api("en.wikipedia.org", &format!("{REVISION}&revids={revid}"));
    assert_eq!(by_rev["query"]["pages"][0]["title"], "Earth");
    assert_eq!(by_rev["query"]["pages"][0]["revisions"][0]["revid"], revid);
}

#[test]
fn unknown_revision_is_a_bad_revid() {
    let answer = api("en.wikipedia.org", &format!("{REVISION}&revids=12345"));
    assert_eq!(answer["query"]["badrevids"]["12345"]["missing"], true);
    assert!(answer["query"].get("pages").is_none());
}

#[test]
fn missing_page() {
    let answer = api(
        "en.wikipedia.org",
        &format!("{REVISION}&titles=Missing_page"),
    );
    let page = &answer["query"]["pages"][0];
    assert_eq!(page["missing"], true);
    assert_eq!(page["title"], "Missing page");
    assert!(page.get("pageid").is_none());
}

#[test]
fn redirect_page_and_following_it() {
    let own = api(
        "en.wikipedia.org",
        &format!("{REVISION}&titles=Redirect_to_Earth"),
    );
    assert_eq!(own["query"]["pages"][0]["redirect"], true);
    assert_eq!(own["query"]["pages"][0]["title"], "Redirect to Earth");

    let followed = api(
        "en.wikipedia.org",
        &format!("{REVISION}&titles=Redirect_to_Earth&redirects=1"),
    );
    assert_eq!(
        followed["query"]["redirects"][0]["from"],
        "Redirect to Earth"
    );
    assert_eq!(followed["query"]["redirects"][0]["to"], "Earth");
    assert_eq!(followed["query"]["pages"][0]["title"], "Earth");
}

#[test]
fn suppressed_and_user_hidden_revisions() {
    let answer = api(
        "en.wikipedia.org",
        &format!("{REVISION}&titles=Suppressed_edit"),
    );
    let rev = &answer["query"]["pages"][0]["revisions"][0];
    assert_eq!(rev["texthidden"], true);
    assert_eq!(rev["sha1hidden"], true);
    assert_eq!(rev["suppressed"], true);
    assert!(rev.get("sha1").is_none());

    let answer = api(
        "en.wikipedia.org",
        &format!("{REVISION}&titles=Userhidden_edit"),
    );
    let rev = &answer["query"]["pages"][0]["revisions"][0];
    assert_eq!(rev["userhidden"], true);
    assert_eq!(rev["commenthidden"], true);
    assert!(rev.get("user").is_none() && rev.get("comment").is_none());
    assert!(rev["sha1"].is_string());
}

#[test]
fn controls_hide_delete_and_edit() {
    let domain = "controls.wikipedia.org";
    let first = api(domain, &format!("{REVISION}&titles=Control_page"));
    let revid = first["query"]["pages"][0]["revisions"][0]["revid"]
        .as_u64()
        .unwrap();

    control(&format!("/_dev/action/{domain}/hide/{revid}"), "");
    let hidden = api(domain, &format!("{REVISION}&revids={revid}"));
    assert_eq!(
        hidden["query"]["pages"][0]["revisions"][0]["texthidden"],
        true
    );
    // Other wikis are not affected.
    let other = api(
        "en.wikipedia.org",
        &format!("{REVISION}&titles=Control_page"),
    );
    assert!(other["query"]["pages"][0]["revisions"][0]
        .get("texthidden")
        .is_none());

    let edited = control(&format!("/_dev/action/{domain}/edit/Control_page"), "");
    let new_rev = edited["revid"].as_u64().unwrap();
    assert_eq!(new_rev, revid + 1);
    let latest = api(domain, &format!("{REVISION}&titles=Control_page"));
    assert_eq!(
        latest["query"]["pages"][0]["revisions"][0]["revid"],
        new_rev
    );
    assert_eq!(latest["query"]["pages"][0]["lastrevid"], new_rev);

    control(&format!("/_dev/action/{domain}/delete/Control_page"), "");
    let gone = api(domain, &format!("{REVISION}&titles=Control_page"));
    assert_eq!(gone["query"]["pages"][0]["missing"], true);
    let gone = api(domain, &format!("{REVISION}&revids={new_rev}"));
    assert_eq!(
        gone["query"]["badrevids"][new_rev.to_string()]["missing"],
        true
    );
}

#[test]
fn unknown_action_is_an_api_error() {
    let mut response = agent()
        .get(format!("{}/w/api.php?action=parse&format=json", base()))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["mediawiki-api-error"], "badvalue");
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "badvalue");
}
