//! Page revisions through Envoy, on the development back-end's Parsoid and action API and the
//! real storage service's page_revisions: the latest revision resolved before rendering,
//! deleted and suppressed pages (also after they were stored, learnt through change-
//! propagation's `no-cache` re-request), redirect pages.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::envoy::Envoy;
use support::{DevBackend, Stack, Storage, EXTERNAL};

const DOMAIN: &str = "en.wikipedia.org";
const REDIRECT_CC: &str = "s-maxage=1209600, max-age=0, must-revalidate";

/// Envoy with storage, Parsoid, mobileapps and the action API all real (development) services.
fn stack(dev: &DevBackend) -> Stack {
    let storage = Storage::with_mwapi(Some(dev.mwapi_url()));
    let sets = [("parsoid", dev.addr()), ("mobileapps", dev.addr()), ("mwapi", dev.addr())];
    Stack::with_storage(storage, Envoy::builder().sets(&sets))
}

fn page(title: &str) -> String {
    format!("/{DOMAIN}/v1/page/html/{title}")
}

/// The revision storage's page_revisions holds as the title's latest.
fn latest_revision(s: &Stack, title: &str) -> u64 {
    let r = support::client::get(&s.storage.url(&format!("/{DOMAIN}/v1/page_revisions/page/{title}")));
    assert_eq!(r.status, 200, "{r}");
    r.json()["items"][0]["rev"].as_u64().unwrap()
}

fn etag_revision(r: &support::Response) -> u64 {
    let etag = r.header("etag").unwrap_or_else(|| panic!("no etag: {r}"));
    etag.trim_matches('"').split('/').next().unwrap().parse().unwrap()
}

#[test]
fn the_latest_revision_is_resolved_then_rendered_and_served_from_storage() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let first = s.envoy.get(&page("Earth"));
    assert_eq!(first.status, 200, "{first}");
    let rev = latest_revision(&s, "Earth");
    assert_eq!(etag_revision(&first), rev, "rendered at the revision page_revisions named");
    let second = s.envoy.get(&page("Earth"));
    assert_eq!((second.text(), second.header("etag")), (first.text(), first.header("etag")));
    assert_eq!(s.envoy.wait_counter("restrouter_storage_hit", &[], 1.0), 1.0);
    // An edit, announced by change-propagation's re-request: the new revision is rendered and
    // stored, and served from then on.
    let edited = dev.control(DOMAIN, "edit/Earth").json()["revid"].as_u64().unwrap();
    let r = s.envoy.get_with(&page("Earth"), &[("cache-control", "no-cache")]);
    assert_eq!((r.status, etag_revision(&r)), (200, edited), "{r}");
    let r = s.envoy.get(&page("Earth"));
    assert_eq!(etag_revision(&r), edited);
    assert_eq!(s.envoy.counter("restrouter_page_revisions_error", &[]), 0.0);
}

#[test]
fn missing_deleted_and_suppressed_pages() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let missing = page("Missing_page");
    let p = s.envoy.get(&missing).assert_problem(404, "not_found", "GET", &missing);
    assert_eq!(p["detail"], "Page or revision not found.");
    let suppressed = page("Suppressed_page");
    let r = s.envoy.get(&suppressed);
    let p = r.assert_problem(403, "access_denied#revision", "GET", &suppressed);
    assert_eq!(p["title"], "Access to resource denied");
    assert!(p["detail"].as_str().unwrap().starts_with("Access is restricted for revision "), "{p}");
    assert_eq!(s.storage.get(DOMAIN, "parsoidphp", "Suppressed_page").status, 404, "nothing rendered or stored");
}

#[test]
fn a_revision_suppressed_after_it_was_stored_is_never_served_again_once_change_propagation_asks() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let path = page("Moon");
    assert_eq!(s.envoy.get(&path).status, 200);
    let rev = latest_revision(&s, "Moon");
    assert_eq!(dev.control(DOMAIN, &format!("hide/{rev}")).status, 200);
    // Until change-propagation re-requests the page, page_revisions still has the visible row
    // (the bound: RESTBase learnt of suppressions the same way).
    assert_eq!(s.envoy.get_with(&path, &[EXTERNAL]).status, 200);
    // Its no-cache re-request refreshes the row: 403, and from then on for everyone, with the
    // stored copy still in storage but never served.
    s.envoy.get_with(&path, &[("cache-control", "no-cache")]).assert_problem(403, "access_denied#revision", "GET", &path);
    s.envoy.get_with(&path, &[EXTERNAL]).assert_problem(403, "access_denied#revision", "GET", &path);
    assert_eq!(s.storage.get(DOMAIN, "parsoidphp", "Moon").status, 200);
    let at_revision = format!("{path}/{rev}");
    s.envoy.get_with(&at_revision, &[EXTERNAL]).assert_problem(403, "access_denied#revision", "GET", &at_revision);
}

#[test]
fn a_page_deleted_after_it_was_stored_is_a_404() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let path = page("Mars");
    assert_eq!(s.envoy.get(&path).status, 200);
    assert_eq!(dev.control(DOMAIN, "delete/Mars").status, 200);
    s.envoy.get_with(&path, &[("cache-control", "no-cache")]).assert_problem(404, "not_found", "GET", &path);
    let p = s.envoy.get_with(&path, &[EXTERNAL]).assert_problem(404, "not_found#page_revisions", "GET", &path);
    assert_eq!(p["detail"], "Page was deleted");
}

#[test]
fn redirect_pages() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let path = page("Redirect_to_Earth");
    let r = s.envoy.get(&path);
    assert_eq!(r.status, 302, "{r}");
    assert_eq!(r.header("location"), Some("Earth"));
    assert_eq!(r.header("vary"), Some("origin"));
    assert_eq!(r.header("cache-control"), Some(REDIRECT_CC));
    // The redirect page itself.
    let r = s.envoy.get(&format!("{path}?redirect=false"));
    assert_eq!(r.status, 200, "{r}");
    // Cross-origin: the target's content, not cached, varying on origin.
    let earth = s.envoy.get(&page("Earth"));
    let r = s.envoy.get_with(&path, &[("origin", "https://example.org")]);
    assert_eq!((r.status, r.text()), (200, earth.text()), "{r}");
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.header("vary").unwrap_or_default().contains("origin"), "{r}");
}

#[test]
fn page_revisions_unavailable_serves_the_latest_parsoid_redirects_to() {
    let dev = DevBackend::start();
    // A storage service without an action API: its page_revisions answers 503.
    let s = Stack::with_builder(Envoy::builder().sets(&[("parsoid", dev.addr()), ("mwapi", dev.addr())]));
    let r = s.envoy.get(&page("Earth"));
    assert_eq!(r.status, 200, "{r}");
    assert!(r.text().contains("<html"), "{r}");
    // Parsoid's 302 to the latest revision was followed: its render, with its revision's ETag.
    let latest = support::client::get(&format!("http://{}/{DOMAIN}/v3/page/html/Earth", dev.addr()));
    assert_eq!(latest.status, 302, "{latest}");
    let location = latest.header("location").unwrap().to_string();
    let rev: u64 = location.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(etag_revision(&r), rev);
    assert_eq!(s.storage.get(DOMAIN, "parsoidphp", "Earth").status, 200);
    assert!(s.envoy.wait_counter("restrouter_page_revisions_error", &[], 1.0) >= 1.0);
}

#[test]
fn title_metadata_is_read_fresh_from_the_wiki() {
    let dev = DevBackend::start();
    let s = stack(&dev);
    let path = format!("/{DOMAIN}/v1/page/title/Earth");
    let r = s.envoy.get(&path);
    assert_eq!(r.status, 200, "{r}");
    assert!(r.header("content-type").unwrap_or_default().starts_with("application/json"), "{r}");
    let rev = r.json()["items"][0]["rev"].as_u64().unwrap();
    assert_eq!(r.json()["items"][0]["title"], "Earth");
    let at = format!("{path}/{rev}");
    assert_eq!(s.envoy.get(&at).json()["items"][0]["rev"].as_u64(), Some(rev));
    // Every request asks the wiki (RESTBase sent page_revisions no-cache here): an edit shows
    // at once, without change-propagation.
    let edited = dev.control(DOMAIN, "edit/Earth").json()["revid"].as_u64().unwrap();
    assert_eq!(s.envoy.get(&path).json()["items"][0]["rev"].as_u64(), Some(edited));
    let suppressed = format!("/{DOMAIN}/v1/page/title/Suppressed_page");
    s.envoy.get(&suppressed).assert_problem(403, "access_denied#revision", "GET", &suppressed);
    let missing = format!("/{DOMAIN}/v1/page/title/Missing_page");
    assert_eq!(s.envoy.get(&missing).status, 404);
    // Titles are normalized first, as everywhere.
    let r = s.envoy.get(&format!("/{DOMAIN}/v1/page/title/earth"));
    assert_eq!((r.status, r.header("location")), (301, Some("Earth")));
}
