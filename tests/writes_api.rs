//! Writes made as the client, through Envoy: page saves (wikitext, and HTML through Parsoid)
//! as the action API's edit, and reading lists on MediaWiki's REST routes, both with the
//! client's session; and the trust boundary around them: the client's cookie and
//! authorization reach the back-end of those operations only (never storage, another
//! back-end or the event service), and their answers are private and never stored.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::{json, Value};
use support::{client, DevBackend, Envoy, Recorded, Reply, Response, Stack, Upstream};

const DOMAIN: &str = "en.wikipedia.org";
const PRIVATE: &str = "private, max-age=0, s-maxage=0, must-revalidate";
const COOKIE: &str = "enwikiSession=0123abcd; enwikiUserName=Example";
const AUTH: &str = "Bearer example-oauth-token";
const FORM: &str = "application/x-www-form-urlencoded";
const LISTS: &str = "/en.wikipedia.org/v1/data/lists";

fn carries_credentials(r: &Recorded) -> bool {
    r.header("cookie").is_some() || r.header("authorization").is_some()
}

/// The session's CSRF token, as a client gets it: from the action API, with its cookie.
fn token(dev: &DevBackend, cookie: &str) -> String {
    let r = client::send("GET", &format!("{}?action=query&meta=tokens&format=json&formatversion=2", dev.mwapi_url()), &[("host", DOMAIN), ("cookie", cookie)], None);
    r.json()["query"]["tokens"]["csrftoken"].as_str().unwrap().to_string()
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'_' { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn multipart(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--XbOuNdArY\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str("--XbOuNdArY--\r\n");
    body.into_bytes()
}

fn post(envoy: &Envoy, path: &str, cookie: Option<&str>, content_type: &str, body: &[u8]) -> Response {
    let mut headers = vec![("content-type", content_type)];
    headers.extend(cookie.map(|c| ("cookie", c)));
    envoy.send("POST", path, &headers, Some(body))
}

/// The latest revision of a page, from the action API itself.
fn latest_revision(dev: &DevBackend, title: &str) -> u64 {
    let r = client::send("GET", &format!("{}?action=query&format=json&formatversion=2&prop=revisions&titles={title}", dev.mwapi_url()), &[("host", DOMAIN)], None);
    r.json()["query"]["pages"][0]["revisions"][0]["revid"].as_u64().unwrap()
}

#[test]
fn credentials_reach_only_the_operations_acting_as_the_client() {
    // Every cluster a recording upstream: storage, the back-ends, the action API.
    let storage = Upstream::start();
    storage.on_any(Reply::status(404).header("content-type", "application/problem+json").body(r#"{"type":"not_found"}"#));
    let s = Stack::with_builder(Envoy::builder().set("storage", &storage.addr()));
    s.backend.on_any(Reply::json(&json!({"items": []})).header("cache-control", "s-maxage=60"));
    s.mwapi.on("/w/rest.php/readinglists/v0/lists", Reply::json(&json!({"lists": []})).header("cache-control", "public, s-maxage=600"));
    let credentials = [("cookie", COOKIE), ("authorization", AUTH)];

    // Reads that are not the client's: a stored page (page_revisions in storage), a
    // pass-through, a metrics query.
    for path in [
        "/en.wikipedia.org/v1/page/summary/Earth",
        "/en.wikipedia.org/v1/data/css/mobile/base",
        "/wikimedia.org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/Earth/daily/20200101/20200110",
    ] {
        let r = s.envoy.get_with(path, &credentials);
        assert!(r.status == 200 || r.status == 404, "{path}: {r}");
    }
    assert!(storage.total() >= 1, "the stored route asked storage");
    assert_eq!(s.backend.total(), 2, "the pass-through and the metrics query reached the back-end");
    for r in storage.requests().iter().chain(s.backend.requests().iter()) {
        assert!(!carries_credentials(r), "{} {} carried the client's credentials: {:?}", r.method, r.path, r.headers);
    }

    // The client's own lists: its credentials go to MediaWiki, the answer is private.
    let r = s.envoy.get_with(&format!("{LISTS}/?sort=updated"), &credentials);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.header("cache-control"), Some(PRIVATE), "{r}");
    let seen = s.mwapi.last("/w/rest.php/readinglists/v0/lists").unwrap();
    assert_eq!((seen.path.as_str(), seen.header("cookie"), seen.header("authorization")), ("/w/rest.php/readinglists/v0/lists?sort=updated", Some(COOKIE), Some(AUTH)));

    // A save: the edit carries them; nothing before it does (the siteinfo for the title).
    let before = s.mwapi.requests().len();
    let r = post(&s.envoy, "/en.wikipedia.org/v1/page/wikitext/Earth", Some(COOKIE), FORM, b"wikitext=Hello&csrf_token=abc%2B%5C");
    // This action API answers siteinfo to everything, so the edit's answer is not an edit.
    r.assert_problem(500, "server_error", "POST", "/en.wikipedia.org/v1/page/wikitext/Earth");
    let calls = s.mwapi.requests();
    let edit = calls.iter().skip(before).find(|c| String::from_utf8_lossy(&c.body).starts_with("action=edit")).expect("an edit was sent");
    assert_eq!(edit.header("cookie"), Some(COOKIE));
    assert!(String::from_utf8_lossy(&edit.body).ends_with("&token=abc%2B%5C"));
    for other in calls.iter().filter(|c| !String::from_utf8_lossy(&c.body).starts_with("action=edit") && !c.path.starts_with("/w/rest.php/")) {
        assert!(!carries_credentials(other), "{} {}: {:?}", other.method, other.path, other.headers);
    }
    // Neither answer was stored, nor an event sent for it.
    assert!(storage.requests().iter().all(|r| r.method == "GET"), "{:?}", storage.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>());
    assert!(s.events.requests().is_empty());
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn page_saves_round_trip_through_the_action_api() {
    let dev = DevBackend::start();
    let storage = Upstream::start();
    let s = Stack::with_builder(Envoy::builder().sets(&[("mwapi", dev.addr()), ("parsoid", dev.addr()), ("storage", &storage.addr())]));
    let cookie = "enwikiSession=saver";
    let t = token(&dev, cookie);
    let page = "Writes_api_page";
    let base = latest_revision(&dev, page);

    // Wikitext, as RESTBase's declared multipart form: a new revision.
    let path = format!("/en.wikipedia.org/v1/page/wikitext/{page}");
    let r = post(&s.envoy, &path, Some(cookie), "multipart/form-data; boundary=XbOuNdArY", &multipart(&[("wikitext", "== One =="), ("csrf_token", &t), ("comment", "first")]));
    assert_eq!(r.status, 201, "{r}");
    assert_eq!((r.header("content-type"), r.header("cache-control")), (Some("application/json"), Some(PRIVATE)));
    let edit = r.json();
    assert_eq!((edit["result"].as_str(), edit["oldrevid"].as_u64(), edit["newrevid"].as_u64()), (Some("Success"), Some(base), Some(base + 1)), "{edit}");
    assert_eq!(latest_revision(&dev, page), base + 1);
    // The same text again: 200, nothing changed.
    let again = format!("wikitext=%3D%3D+One+%3D%3D&csrf_token={}", enc(&t));
    let r = post(&s.envoy, &path, Some(cookie), FORM, again.as_bytes());
    assert_eq!((r.status, r.json()["nochange"].as_bool()), (200, Some(true)), "{r}");

    // HTML: Parsoid's wikitext of it is saved, based on the revision of `base_etag`.
    let html_path = format!("/en.wikipedia.org/v1/page/html/{page}");
    let body = json!({"html": "<p>Two</p>", "csrf_token": t, "base_etag": format!("\"{}/2c7e2b40-9b62-11ee-8000-000000000000\"", base + 1)}).to_string();
    let r = post(&s.envoy, &html_path, Some(cookie), "application/json", body.as_bytes());
    assert_eq!(r.status, 201, "{r}");
    assert_eq!(r.json()["newrevid"].as_u64(), Some(base + 2));

    // Based on a revision that is no longer the latest: an edit conflict.
    let stale = format!("wikitext=Three&csrf_token={}&base_etag={}", enc(&t), enc(&format!("\"{base}/2c7e2b40-9b62-11ee-8000-000000000000\"")));
    let p = post(&s.envoy, &path, Some(cookie), FORM, stale.as_bytes()).assert_problem(409, "conflict", "POST", &path);
    assert_eq!(p["title"], "editconflict");
    // A token of another session, or the right token without the session's cookie.
    for (cookie, token) in [(Some("enwikiSession=someone-else"), t.as_str()), (None, t.as_str())] {
        let body = format!("wikitext=Four&csrf_token={}", enc(token));
        let p = post(&s.envoy, &path, cookie, FORM, body.as_bytes()).assert_problem(400, "bad_request", "POST", &path);
        assert_eq!(p["title"], "badtoken", "{p}");
    }
    // Refused before anything is sent: no token, a bad base ETag.
    post(&s.envoy, &path, Some(cookie), FORM, b"wikitext=Five").assert_problem(400, "bad_request", "POST", &path);
    let p = post(&s.envoy, &path, Some(cookie), FORM, format!("wikitext=Five&csrf_token={}&base_etag=%22x%2Fy%22", enc(&t)).as_bytes()).assert_problem(400, "bad_request", "POST", &path);
    assert_eq!(p["title"], "Bad revision");
    assert_eq!(latest_revision(&dev, page), base + 2, "only the two good saves made revisions");
    // Saves never touch storage.
    assert_eq!(storage.total(), 0, "{:?}", storage.requests().iter().map(|r| r.path.clone()).collect::<Vec<_>>());
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn a_reading_list_session_end_to_end() {
    let dev = DevBackend::start();
    let storage = Upstream::start();
    let s = Stack::with_builder(Envoy::builder().sets(&[("mwapi", dev.addr()), ("storage", &storage.addr())]));
    let cookie = "enwikiSession=reader";
    let t = enc(&token(&dev, cookie));
    let call = |method: &str, path: &str, body: Option<Value>| -> Response {
        let body = body.map(|b| b.to_string().into_bytes());
        let mut headers = vec![("cookie", cookie)];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let r = s.envoy.send(method, path, &headers, body.as_deref());
        if r.status < 400 {
            assert_eq!(r.header("cache-control"), Some(PRIVATE), "{method} {path}: {r}");
        }
        r
    };

    // Not set up yet: MediaWiki's error, as a problem.
    let p = call("GET", &format!("{LISTS}/"), None).assert_problem(400, "bad_request", "GET", &format!("{LISTS}/"));
    assert!(p["detail"].as_str().unwrap().contains("readinglists-db-error-not-set-up"), "{p}");
    // The token is required where RESTBase required it: the router refuses without one.
    call("POST", &format!("{LISTS}/setup"), None).assert_problem(400, "bad_request", "POST", &format!("{LISTS}/setup"));
    // A wrong one is MediaWiki's 403.
    assert_eq!(call("POST", &format!("{LISTS}/setup?csrf_token=nope"), None).status, 403);

    let r = call("POST", &format!("{LISTS}/setup?csrf_token={t}"), None);
    assert_eq!((r.status, r.json()), (200, json!({})), "{r}");
    let r = call("POST", &format!("{LISTS}/?csrf_token={t}"), Some(json!({"name": "Rivers", "description": "Long ones"})));
    assert_eq!(r.status, 200, "{r}");
    let list = r.json()["id"].as_u64().unwrap();
    let r = call("POST", &format!("{LISTS}/{list}/entries/?csrf_token={t}"), Some(json!({"project": "https://en.wikipedia.org", "title": "Danube"})));
    assert_eq!(r.status, 200, "{r}");
    let entry = r.json()["id"].as_u64().unwrap();
    let r = call("POST", &format!("{LISTS}/{list}/entries/batch?csrf_token={t}"), Some(json!({"batch": [{"project": "https://en.wikipedia.org", "title": "Nile"}]})));
    assert_eq!(r.status, 200, "{r}");

    let entries = call("GET", &format!("{LISTS}/{list}/entries/?sort=name"), None).json();
    let titles: Vec<&str> = entries["entries"].as_array().unwrap().iter().filter_map(|e| e["title"].as_str()).collect();
    assert_eq!(titles, ["Danube", "Nile"], "{entries}");
    let holding = call("GET", &format!("{LISTS}/pages/https%3A%2F%2Fen.wikipedia.org/Danube"), None).json();
    assert_eq!(holding["lists"][0]["id"].as_u64(), Some(list), "{holding}");
    let changes = call("GET", &format!("{LISTS}/changes/since/2000-01-01T00:00:00Z"), None).json();
    assert!(changes["entries"].as_array().is_some_and(|e| e.len() == 2), "{changes}");
    // Someone else's session sees none of it.
    let other = s.envoy.get_with(&format!("{LISTS}/{list}/entries/"), &[("cookie", "enwikiSession=stranger")]);
    assert_eq!(other.status, 400, "{other}");

    assert_eq!(call("DELETE", &format!("{LISTS}/{list}/entries/{entry}"), None).status, 200);
    assert_eq!(call("PUT", &format!("{LISTS}/{list}?csrf_token={t}"), Some(json!({"name": "Rivers of Africa"}))).json()["list"]["name"], "Rivers of Africa");
    assert_eq!(call("DELETE", &format!("{LISTS}/{list}"), None).status, 200);
    let lists = call("GET", &format!("{LISTS}/"), None).json();
    assert_eq!(lists["lists"].as_array().map(Vec::len), Some(1), "only the default list is left: {lists}");
    assert_eq!(call("POST", &format!("{LISTS}/teardown?csrf_token={t}"), None).json(), json!({}));
    // Nothing of it was stored.
    assert_eq!(storage.total(), 0);
    s.envoy.assert_no_vm_trouble();
}

#[test]
fn rollout_moves_saves_and_lists_on_their_own_and_never_mirrors_them() {
    let legacy = Upstream::start();
    legacy.on_any(Reply::html("legacy").header("x-legacy", "1"));
    let builder = Envoy::builder().template("envoy/rollout.yaml.j2").set("legacy", &legacy.addr()).set("rollout", "page-save=100,page-html=0,lists=0");
    let s = Stack::with_builder(builder);
    let from_legacy = |r: &Response| r.header("x-legacy") == Some("1");
    // Saves of HTML and wikitext are restrouter's (its problem: no token), reads of HTML are not.
    for path in ["/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v1/page/wikitext/Earth"] {
        let r = post(&s.envoy, path, None, FORM, b"x=1");
        assert!(!from_legacy(&r), "{path}: {r}");
        r.assert_problem(400, "bad_request", "POST", path);
    }
    assert!(from_legacy(&s.envoy.get("/en.wikipedia.org/v1/page/html/Earth")));
    assert!(from_legacy(&s.envoy.get_with(&format!("{LISTS}/"), &[("cookie", COOKIE)])));
    assert_eq!(legacy.requests().last().and_then(|r| r.header("cookie").map(str::to_string)).as_deref(), Some(COOKIE), "RESTBase still gets the session it needs");
    // A mirror of a writing service is refused when the configuration is rendered.
    let render = |mirror: &str| {
        std::process::Command::new(support::binary("restrouter-render"))
            .current_dir(support::repo_root())
            .args(["envoy", "--template", "envoy/rollout.yaml.j2", "--set", &format!("rollout_mirror={mirror}"), "--set", "wasm=restrouter.wasm"])
            .output()
            .unwrap()
    };
    assert!(render("page-html").status.success(), "{}", String::from_utf8_lossy(&render("page-html").stderr));
    for service in ["page-save", "lists"] {
        let out = render(service);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("writes as the client"), "{service}: {err}");
    }
}
