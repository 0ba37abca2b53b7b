//! Writes as a user over real HTTP: the action API's tokens and `action=edit`, and the
//! ReadingLists REST routes, each user being their session cookie.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{agent, base, collect, Reply};
use serde_json::{json, Value};

fn send(method: &str, path: &str, cookie: Option<&str>, body: Option<&str>) -> Reply {
    let url = format!("{}{path}", base());
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("host", "en.wikipedia.org");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let req = if body.is_some() {
        req.header("content-type", "application/json")
    } else {
        req
    };
    let response = match body {
        Some(b) => agent().run(req.body(b.to_string()).unwrap()),
        None => agent().run(req.body(()).unwrap()),
    };
    collect(response.unwrap())
}

fn token(cookie: Option<&str>) -> String {
    let r = send(
        "GET",
        "/w/api.php?action=query&meta=tokens&format=json&formatversion=2",
        cookie,
        None,
    );
    r.json()["query"]["tokens"]["csrftoken"]
        .as_str()
        .unwrap()
        .to_string()
}

fn edit(cookie: Option<&str>, form: &str) -> Value {
    let mut req = agent()
        .post(format!("{}/w/api.php", base()))
        .header("host", "en.wikipedia.org")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    collect(req.send(form).unwrap()).json()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn tokens_belong_to_sessions() {
    let a = token(Some("s=alice"));
    assert!(a.ends_with("+\\") && a.len() > 2, "{a}");
    assert_ne!(a, token(Some("s=bob")));
    assert_eq!(token(None), "+\\");
}

#[test]
fn edits_check_the_token_and_the_base_revision() {
    let cookie = Some("s=editor");
    let t = enc(&token(cookie));
    let latest = |r: &Value| r["edit"]["newrevid"].as_u64().unwrap();
    let r = edit(
        cookie,
        &format!("action=edit&format=json&formatversion=2&title=Writes_page&text=one&token={t}"),
    );
    assert_eq!(r["edit"]["result"], "Success", "{r}");
    let first = latest(&r);
    assert_eq!(r["edit"]["oldrevid"].as_u64().unwrap() + 1, first);
    // The same text again changes nothing.
    let r = edit(
        cookie,
        &format!("action=edit&format=json&formatversion=2&title=Writes_page&text=one&token={t}"),
    );
    assert_eq!(r["edit"]["nochange"], true, "{r}");
    // Based on an older revision: a conflict; on the latest: a new revision.
    let r = edit(cookie, &format!("action=edit&format=json&formatversion=2&title=Writes_page&text=two&baserevid={}&token={t}", first - 1));
    assert_eq!(r["error"]["code"], "editconflict", "{r}");
    let r = edit(cookie, &format!("action=edit&format=json&formatversion=2&title=Writes_page&text=two&baserevid={first}&token={t}"));
    assert_eq!(latest(&r), first + 1);
    // Another session's token, or none.
    let r = edit(
        Some("s=other"),
        &format!("action=edit&format=json&formatversion=2&title=Writes_page&text=x&token={t}"),
    );
    assert_eq!(r["error"]["code"], "badtoken");
    assert_eq!(
        edit(cookie, "action=edit&format=json&title=Writes_page&text=x")["error"]["code"],
        "missingparam"
    );
    // Anonymous edits carry MediaWiki's anonymous token.
    let r = edit(
        None,
        "action=edit&format=json&formatversion=2&title=Writes_page&text=anon&token=%2B%5C",
    );
    assert_eq!(r["edit"]["result"], "Success", "{r}");
    assert_eq!(
        edit(
            cookie,
            &format!("action=edit&format=json&title=Missing_writes&text=x&token={t}")
        )["error"]["code"],
        "cantcreate"
    );
    // Edits are POSTs.
    let r = send(
        "GET",
        &format!("/w/api.php?action=edit&title=Writes_page&text=x&token={t}"),
        cookie,
        None,
    );
    assert_eq!(r.json()["error"]["code"], "mustbeposted");
}

const LISTS: &str = "/w/rest.php/readinglists/v0/lists";

#[test]
fn a_reading_list_session() {
    let cookie = Some("s=reader");
    let t = enc(&token(cookie));
    let rest_error = |r: &Reply, status: u16, key: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        let v = r.json();
        assert_eq!(
            (v["errorKey"].as_str(), v["httpCode"].as_u64()),
            (Some(key), Some(u64::from(status))),
            "{v}"
        );
        assert!(v["messageTranslations"]["en"].is_string());
    };
    rest_error(
        &send("GET", &format!("{LISTS}/"), cookie, None),
        400,
        "readinglists-db-error-not-set-up",
    );
    rest_error(
        &send("POST", &format!("{LISTS}/setup"), cookie, None),
        403,
        "rest-badtoken-missing",
    );
    rest_error(
        &send(
            "POST",
            &format!("{LISTS}/setup?csrf_token=nope"),
            cookie,
            None,
        ),
        403,
        "rest-badtoken",
    );
    rest_error(
        &send(
            "POST",
            &format!("{LISTS}/setup?csrf_token=nope"),
            None,
            None,
        ),
        403,
        "rest-badtoken-nosession",
    );
    rest_error(
        &send("GET", &format!("{LISTS}/"), None, None),
        400,
        "rest-permission-denied-anon",
    );
    let r = send(
        "POST",
        &format!("{LISTS}/setup?csrf_token={t}"),
        cookie,
        None,
    );
    assert_eq!((r.status, r.json()), (200, json!({})));
    rest_error(
        &send(
            "POST",
            &format!("{LISTS}/setup?csrf_token={t}"),
            cookie,
            None,
        ),
        400,
        "readinglists-db-error-already-set-up",
    );
    let r = send(
        "POST",
        &format!("{LISTS}/?csrf_token={t}"),
        cookie,
        Some(r#"{"name":"dogs","description":"Woof!"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json()["id"].as_u64().unwrap();
    assert_eq!(r.json()["list"]["name"], "dogs");
    let r = send(
        "POST",
        &format!("{LISTS}/{list}/entries/?csrf_token={t}"),
        cookie,
        Some(r#"{"project":"https://en.wikipedia.org","title":"Dog"}"#),
    );
    let entry = r.json()["id"].as_u64().unwrap();
    assert_eq!(r.json()["entry"]["title"], "Dog");
    rest_error(
        &send(
            "POST",
            &format!("{LISTS}/{list}/entries/?csrf_token={t}"),
            cookie,
            Some(r#"{"project":"https://en.wikipedia.org","title":"Dog"}"#),
        ),
        400,
        "readinglists-db-error-duplicate-page",
    );
    let r = send("GET", &format!("{LISTS}/{list}/entries/"), cookie, None);
    assert_eq!(r.json()["entries"][0]["id"].as_u64(), Some(entry));
    let r = send(
        "GET",
        &format!("{LISTS}/pages/https%3A%2F%2Fen.wikipedia.org/Dog"),
        cookie,
        None,
    );
    assert_eq!(
        r.json()["lists"][0]["id"].as_u64(),
        Some(list),
        "{}",
        r.body
    );
    // Another user sees nothing of it.
    rest_error(
        &send(
            "GET",
            &format!("{LISTS}/{list}/entries/"),
            Some("s=stranger"),
            None,
        ),
        400,
        "readinglists-db-error-not-set-up",
    );
    assert_eq!(
        send(
            "DELETE",
            &format!("{LISTS}/{list}/entries/{entry}"),
            cookie,
            None
        )
        .json(),
        json!({})
    );
    assert_eq!(
        send("GET", &format!("{LISTS}/{list}/entries/"), cookie, None).json()["entries"],
        json!([])
    );
    assert_eq!(
        send("DELETE", &format!("{LISTS}/{list}"), cookie, None).json(),
        json!({})
    );
    let lists = send("GET", &format!("{LISTS}/"), cookie, None).json();
    assert_eq!(
        lists["lists"].as_array().map(Vec::len),
        Some(1),
        "the default list stays: {lists}"
    );
    assert_eq!(
        send(
            "POST",
            &format!("{LISTS}/teardown?csrf_token={t}"),
            cookie,
            None
        )
        .json(),
        json!({})
    );
    rest_error(
        &send("GET", &format!("{LISTS}/"), cookie, None),
        400,
        "readinglists-db-error-not-set-up",
    );
}
