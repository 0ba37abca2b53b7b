//! The page_revisions API over real HTTP, reading revisions from the development back-end's
//! action API stand-in.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{client, reply, Reply};
use restrouter_storage::MwApiConfig;
use tokio::sync::oneshot;

/// The development back-end, shared by the tests (each uses its own titles or wiki).
fn devbackend() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(start_devbackend)
}

/// A development back-end of its own, for tests that count its requests.
fn start_devbackend() -> String {
    restrouter_devbackend::spawn(restrouter_devbackend::Config::default()).unwrap()
}

/// A storage service with an in-memory store reading from `mwapi`; stops when dropped.
struct Storage {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Storage {
    fn start(mwapi: Option<&str>) -> Self {
        let mwapi = mwapi.map(|url| MwApiConfig {
            url: url.to_owned(),
            timeout: Duration::from_secs(10),
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let store = restrouter_storage::Store::open(":memory:").unwrap();
                restrouter_storage::serve_with_mwapi(
                    listener,
                    store,
                    restrouter_storage::DEFAULT_MAX_BODY_BYTES,
                    mwapi,
                    async {
                        let _ = stopped.await;
                    },
                )
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Self {
            base: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn with_devbackend() -> Self {
        Self::start(Some(&format!("{}/w/api.php", devbackend())))
    }

    fn get(&self, path: &str) -> Reply {
        reply(client().get(format!("{}{path}", self.base)).call())
    }

    fn get_no_cache(&self, path: &str) -> Reply {
        reply(
            client()
                .get(format!("{}{path}", self.base))
                .header("cache-control", "no-cache")
                .call(),
        )
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How many action API requests the development back-end has answered.
fn api_requests(devbackend: &str) -> u64 {
    let metrics = reply(client().get(format!("{devbackend}/metrics")).call());
    let text = String::from_utf8(metrics.body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("devbackend_requests_total{service=\"action_api\"} "))
        .unwrap()
        .parse()
        .unwrap()
}

fn control(path: &str) -> serde_json::Value {
    let r = reply(client().post(format!("{}{path}", devbackend())).send(""));
    assert_eq!(r.status, 200);
    r.json()
}

fn assert_problem(r: &Reply, status: u16, kind: &str, detail: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let body = r.json();
    assert_eq!(
        body["type"],
        format!("https://mediawiki.org/wiki/HyperSwitch/errors/{kind}")
    );
    assert_eq!(body["detail"], detail);
}

fn row(r: &Reply) -> serde_json::Value {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let row = body["items"][0].clone();
    assert_eq!(
        r.header("etag").unwrap(),
        format!("\"{}/{}\"", row["rev"], row["tid"].as_str().unwrap())
    );
    row
}

const EARTH: &str = "/en.wikipedia.org/v1/page_revisions/page/Earth";

#[test]
fn fetched_once_then_served_from_storage() {
    let dev = start_devbackend();
    let storage = Storage::start(Some(&format!("{dev}/w/api.php")));
    let before = api_requests(&dev);
    let first = row(&storage.get(EARTH));
    assert_eq!(first["title"], "Earth");
    assert_eq!(first["page_id"], 9228);
    assert_eq!(first["namespace"], 0);
    assert_eq!(first["redirect"], false);
    assert_eq!(first["page_language"], "en");
    assert_eq!(first["restrictions"], serde_json::json!([]));
    assert!(first["user_text"].is_string() && first["timestamp"].is_string());
    assert!(api_requests(&dev) > before);

    let counted = api_requests(&dev);
    let rev = first["rev"].as_u64().unwrap();
    let again = storage.get(EARTH);
    assert_eq!(row(&again), first);
    let by_rev = storage.get(&format!("{EARTH}/{rev}"));
    assert_eq!(row(&by_rev), first);
    assert_eq!(api_requests(&dev), counted, "served from storage");

    // no-cache asks the action API again; an unchanged revision keeps its tid.
    let refreshed = storage.get_no_cache(EARTH);
    assert_eq!(row(&refreshed), first);
    assert!(api_requests(&dev) > counted);
}

#[test]
fn titles_must_be_normalized() {
    let storage = Storage::with_devbackend();
    assert_problem(
        &storage.get("/en.wikipedia.org/v1/page_revisions/page/earth"),
        404,
        "not_found",
        "Page or revision not found.",
    );
}

#[test]
fn missing_page_and_unknown_revision_are_404() {
    let storage = Storage::with_devbackend();
    assert_problem(
        &storage.get("/en.wikipedia.org/v1/page_revisions/page/Missing_page"),
        404,
        "not_found",
        "Page or revision not found.",
    );
    assert_problem(
        &storage.get(&format!("{EARTH}/7")),
        404,
        "not_found",
        "Page or revision not found.",
    );
    let bad = storage.get(&format!("{EARTH}/12ab"));
    assert_problem(&bad, 400, "bad_request", "Invalid revision: 12ab");
}

#[test]
fn hidden_text_is_403_and_hidden_user_is_left_out() {
    let storage = Storage::with_devbackend();
    let r = storage.get("/en.wikipedia.org/v1/page_revisions/page/Suppressed_edit");
    let rev = serde_json::from_slice::<serde_json::Value>(&r.body).unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(rev["title"], "Access to resource denied");
    let detail = rev["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Access is restricted for revision "),
        "{detail}"
    );
    assert_problem(&r, 403, "access_denied#revision", detail);

    let hidden = row(&storage.get("/en.wikipedia.org/v1/page_revisions/page/Userhidden_edit"));
    for field in ["user_id", "user_text", "comment"] {
        assert!(hidden.get(field).is_none(), "{field} should be left out");
    }
    let restrictions = hidden["restrictions"].as_array().unwrap();
    assert!(restrictions.contains(&"userhidden".into()));
    assert!(restrictions.contains(&"commenthidden".into()));
}

#[test]
fn redirect_pages_are_marked() {
    let storage = Storage::with_devbackend();
    let redirect = row(&storage.get("/en.wikipedia.org/v1/page_revisions/page/Redirect_to_Earth"));
    assert_eq!(redirect["redirect"], true);
}

#[test]
fn suppression_after_storing_is_seen_on_no_cache() {
    let storage = Storage::with_devbackend();
    let domain = "suppress.wikipedia.org";
    let path = format!("/{domain}/v1/page_revisions/page/Later_suppressed");
    let stored = row(&storage.get(&path));
    let rev = stored["rev"].as_u64().unwrap();
    control(&format!("/_dev/action/{domain}/hide/{rev}"));
    // Until told, storage serves what it stored (RESTBase learnt of suppressions when
    // change-propagation re-requested the revision with no-cache).
    assert_eq!(row(&storage.get(&path)), stored);
    let detail = format!("Access is restricted for revision {rev}");
    assert_problem(
        &storage.get_no_cache(&path),
        403,
        "access_denied#revision",
        &detail,
    );
    assert_problem(&storage.get(&path), 403, "access_denied#revision", &detail);
    assert_problem(
        &storage.get(&format!("{path}/{rev}")),
        403,
        "access_denied#revision",
        &detail,
    );
}

/// The action API has no such page or revision: 404 for this request.
fn assert_missing(r: &Reply) {
    assert_problem(r, 404, "not_found", "Page or revision not found.");
}

/// The page is marked deleted: 404 from storage alone.
fn assert_deleted(r: &Reply) {
    assert_problem(r, 404, "not_found#page_revisions", "Page was deleted");
}

/// A new edit of a page marked deleted is served again, under a new tid.
fn assert_new_edit_is_served(
    storage: &Storage,
    domain: &str,
    title: &str,
    first: &serde_json::Value,
) {
    let path = format!("/{domain}/v1/page_revisions/page/{title}");
    let edited = control(&format!("/_dev/action/{domain}/edit/{title}"));
    let latest = row(&storage.get_no_cache(&path));
    assert_eq!(latest["rev"], edited["revid"]);
    assert_ne!(latest["tid"], first["tid"]);
    assert_eq!(row(&storage.get(&path)), latest);
}

#[test]
fn deletion_and_a_new_edit() {
    let storage = Storage::with_devbackend();
    let domain = "delete.wikipedia.org";
    let path = format!("/{domain}/v1/page_revisions/page/Deleted_later");
    let first = row(&storage.get(&path));
    control(&format!("/_dev/action/{domain}/delete/Deleted_later"));
    assert_missing(&storage.get_no_cache(&path));
    assert_deleted(&storage.get(&path));
    let rev = first["rev"].as_u64().unwrap();
    assert_deleted(&storage.get(&format!("{path}/{rev}")));
    assert_new_edit_is_served(&storage, domain, "Deleted_later", &first);
}

/// A revision number the wiki never had, asked for under no-cache (any client can make the
/// router ask so), is a 404 for that revision alone: the page stays served.
#[test]
fn an_unknown_revision_does_not_delete_the_page() {
    let storage = Storage::with_devbackend();
    let path = "/en.wikipedia.org/v1/page_revisions/page/Earth";
    let latest = row(&storage.get(path));
    assert_missing(&storage.get_no_cache(&format!("{path}/1234")));
    assert_eq!(row(&storage.get(path)), latest);
    assert_eq!(row(&storage.get_no_cache(path))["rev"], latest["rev"]);
}

/// A stored revision the action API no longer has (the page was deleted) marks the page.
#[test]
fn a_stored_revision_found_gone_deletes_the_page() {
    let storage = Storage::with_devbackend();
    let domain = "delete.wikipedia.org";
    let path = format!("/{domain}/v1/page_revisions/page/Deleted_by_revision");
    let first = row(&storage.get(&path));
    let rev = first["rev"].as_u64().unwrap();
    control(&format!("/_dev/action/{domain}/delete/Deleted_by_revision"));
    assert_missing(&storage.get_no_cache(&format!("{path}/{rev}")));
    assert_deleted(&storage.get(&path));
    assert_new_edit_is_served(&storage, domain, "Deleted_by_revision", &first);
}

#[test]
fn action_api_down_is_503_and_counted() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let storage = Storage::start(Some(&format!("http://{closed}/w/api.php")));
    let r = storage.get(EARTH);
    assert_problem(
        &r,
        503,
        "service_unavailable",
        "The MediaWiki action API did not answer; try again later.",
    );
    let metrics = String::from_utf8(storage.get("/metrics").body).unwrap();
    assert!(
        metrics.contains("restrouter_storage_mwapi_failures_total 1\n"),
        "{metrics}"
    );
}

#[test]
fn no_action_api_configured_is_503() {
    let storage = Storage::start(None);
    assert_problem(
        &storage.get(EARTH),
        503,
        "service_unavailable",
        "No MediaWiki action API is configured for page_revisions.",
    );
}
