//! The key_value API over real HTTP against an in-process service.

// Test code: a failed unwrap or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{client, reply, Server};

const KEY: &str = "/en.wikipedia.org/v1/key_value/parsoidphp/Main_Page";

fn get(server: &Server, path: &str) -> common::Reply {
    reply(client().get(server.url(path)).call())
}

fn put_html(server: &Server, path: &str, body: &[u8]) -> common::Reply {
    reply(
        client()
            .put(server.url(path))
            .header("x-store-etag", "\"123/a\"")
            .header("x-store-content-type", "text/html; charset=utf-8")
            .send(body),
    )
}

fn assert_problem(r: &common::Reply, status: u16, kind: &str, method: &str, uri: &str) {
    assert_eq!(r.status, status);
    assert_eq!(
        r.header("content-type"),
        Some(restrouter_proto::problem::CONTENT_TYPE)
    );
    let body = r.json();
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["detail", "method", "title", "type", "uri"]);
    assert_eq!(body["type"], restrouter_proto::problem::type_uri(kind));
    assert_eq!(body["method"], method);
    assert_eq!(body["uri"], uri);
}

#[test]
fn health_answers() {
    let server = Server::start();
    let r = get(&server, "/healthz");
    assert_eq!(r.status, 200);
}

#[test]
fn absent_key_and_unknown_bucket_are_404() {
    let server = Server::start();
    let r = get(&server, KEY);
    assert_problem(&r, 404, "not_found", "get", KEY);

    let r = reply(
        client()
            .put(server.url("/en.wikipedia.org/v1/key_value/parsoidphp"))
            .header("content-type", "application/json")
            .send(r#"{"valueType":"blob"}"#),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), serde_json::json!({"type": "table_created"}));
    // Creating again is an upgrade, not an error.
    let r = reply(
        client()
            .put(server.url("/en.wikipedia.org/v1/key_value/parsoidphp"))
            .send_empty(),
    );
    assert_eq!(r.status, 201);

    assert_problem(&get(&server, KEY), 404, "not_found", "get", KEY);
}

#[test]
fn write_then_read_returns_headers_and_exact_bytes() {
    let server = Server::start();
    let body: Vec<u8> = (0..=255u8).chain(b"<html>".iter().copied()).collect();
    let r = reply(
        client()
            .put(server.url(KEY))
            .header("x-store-etag", "\"123/a\"")
            .header("x-store-content-type", "text/html; charset=utf-8")
            .header("x-store-content-language", "en")
            .header("x-store-vary", "Accept-Language")
            .header("user-agent", "not stored")
            .send(&body[..]),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("etag"), Some("\"123/a\""));
    assert_eq!(r.json()["message"], "Created.");

    let r = get(&server, KEY);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
    assert_eq!(r.header("etag"), Some("\"123/a\""));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("content-language"), Some("en"));
    assert_eq!(r.header("vary"), Some("Accept-Language"));
    assert_eq!(r.header("user-agent"), None);

    // A second write replaces the first.
    let r = put_html(&server, KEY, b"two");
    assert_eq!(r.status, 201);
    assert_eq!(get(&server, KEY).body, b"two");
}

#[test]
fn content_type_is_stored_when_no_x_store_content_type() {
    let server = Server::start();
    let r = reply(
        client()
            .put(server.url(KEY))
            .header("content-type", "application/json")
            .send(r#"{"a":1}"#),
    );
    assert_eq!(r.status, 201);
    let tid = r.json()["tid"].as_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&tid).unwrap().get_version_num(), 1);

    let r = get(&server, KEY);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Stored without an etag: RESTBase's default "0/<tid>".
    assert_eq!(r.header("etag"), Some(format!("\"0/{tid}\"").as_str()));

    // x-store-content-type wins over content-type.
    reply(
        client()
            .put(server.url(KEY))
            .header("content-type", "application/octet-stream")
            .header("x-store-content-type", "text/plain")
            .send("x"),
    );
    assert_eq!(get(&server, KEY).header("content-type"), Some("text/plain"));
}

#[test]
fn each_write_gets_a_new_tid() {
    let server = Server::start();
    let tids: Vec<String> = (0..3)
        .map(|_| {
            let r = reply(client().put(server.url(KEY)).send("x"));
            r.json()["tid"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_ne!(tids[0], tids[1]);
    assert_ne!(tids[1], tids[2]);
}

#[test]
fn no_cache_read_is_404_even_when_stored() {
    let server = Server::start();
    put_html(&server, KEY, b"<p>stored</p>");
    let r = reply(
        client()
            .get(server.url(KEY))
            .header("cache-control", "no-cache")
            .call(),
    );
    assert_problem(&r, 404, "not_found", "get", KEY);
    assert_eq!(get(&server, KEY).status, 200);
}

#[test]
fn no_store_write_is_202_and_not_written() {
    let server = Server::start();
    let r = reply(
        client()
            .put(server.url(KEY))
            .header("cache-control", "no-store")
            .header("x-store-etag", "\"9/x\"")
            .send("<p>x</p>"),
    );
    assert_eq!(r.status, 202);
    assert_eq!(r.header("etag"), Some("\"9/x\""));
    assert_eq!(get(&server, KEY).status, 404);
}

#[test]
fn if_none_hash_match_refuses_identical_content() {
    let server = Server::start();
    let json_put = |body: &str, content_type: &str| {
        reply(
            client()
                .put(server.url(KEY))
                .header("if-none-hash-match", "*")
                .header("x-store-etag", "\"1/new\"")
                .header("x-store-content-type", content_type)
                .send(body),
        )
    };
    // Nothing stored yet: written.
    let r = reply(
        client()
            .put(server.url(KEY))
            .header("if-none-hash-match", "*")
            .header("x-store-etag", "\"1/first\"")
            .header("x-store-content-type", "application/json")
            .send(r#"{"title":"Main Page","n":[1,2]}"#),
    );
    assert_eq!(r.status, 201);

    // Same JSON, other formatting and key order: 412 with the stored etag.
    let r = json_put(
        r#"{ "n": [1, 2], "title": "Main Page" }"#,
        "application/json",
    );
    assert_problem(&r, 412, "precondition_failed", "put", KEY);
    assert_eq!(r.header("etag"), Some("\"1/first\""));
    assert_eq!(get(&server, KEY).header("etag"), Some("\"1/first\""));

    // Other content: written.
    let r = json_put(r#"{"title":"Main Page","n":[1,3]}"#, "application/json");
    assert_eq!(r.status, 201);
    assert_eq!(get(&server, KEY).header("etag"), Some("\"1/new\""));

    // Same body, other content type: written.
    let r = json_put(
        r#"{"title":"Main Page","n":[1,3]}"#,
        "application/json; profile=x",
    );
    assert_eq!(r.status, 201);

    // Without the header an identical write is stored again.
    let r = reply(
        client()
            .put(server.url(KEY))
            .header("x-store-content-type", "application/json; profile=x")
            .send(r#"{"title":"Main Page","n":[1,3]}"#),
    );
    assert_eq!(r.status, 201);
}

#[test]
fn if_none_hash_match_compares_non_json_as_bytes() {
    let server = Server::start();
    put_html(&server, KEY, b"<p>a</p>");
    let put = |body: &str| {
        reply(
            client()
                .put(server.url(KEY))
                .header("if-none-hash-match", "*")
                .header("x-store-content-type", "text/html; charset=utf-8")
                .send(body),
        )
    };
    assert_eq!(put("<p>a</p>").status, 412);
    assert_eq!(put("<p>a</p> ").status, 201);
}

#[test]
fn encoded_slash_stays_inside_the_key() {
    let server = Server::start();
    let slashed = "/en.wikipedia.org/v1/key_value/parsoidphp/AC%2FDC";
    assert_eq!(put_html(&server, slashed, b"band").status, 201);
    let r = get(&server, slashed);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"band"[..]));
    // The decoded key is the same key however it is encoded.
    assert_eq!(
        get(&server, "/en.wikipedia.org/v1/key_value/parsoidphp/AC%2fDC").status,
        200
    );
    // A real slash is another path, which has no route.
    let r = get(&server, "/en.wikipedia.org/v1/key_value/parsoidphp/AC/DC");
    assert_problem(
        &r,
        404,
        "not_found#route",
        "get",
        "/en.wikipedia.org/v1/key_value/parsoidphp/AC/DC",
    );
    assert_eq!(
        get(&server, "/en.wikipedia.org/v1/key_value/parsoidphp/AC").status,
        404
    );
    // Other encodings decode too.
    put_html(
        &server,
        "/en.wikipedia.org/v1/key_value/parsoidphp/Caf%C3%A9",
        b"c",
    );
    assert_eq!(
        get(
            &server,
            "/en.wikipedia.org/v1/key_value/parsoidphp/Caf%C3%A9"
        )
        .body,
        b"c"
    );
}

#[test]
fn domains_are_separate_namespaces() {
    let server = Server::start();
    put_html(&server, "/en.wikipedia.org/v1/key_value/b/k", b"en");
    put_html(&server, "/de.wikipedia.org/v1/key_value/b/k", b"de");
    assert_eq!(
        get(&server, "/en.wikipedia.org/v1/key_value/b/k").body,
        b"en"
    );
    assert_eq!(
        get(&server, "/de.wikipedia.org/v1/key_value/b/k").body,
        b"de"
    );
    assert_eq!(
        get(&server, "/fr.wikipedia.org/v1/key_value/b/k").status,
        404
    );
    // Buckets too.
    assert_eq!(
        get(&server, "/en.wikipedia.org/v1/key_value/c/k").status,
        404
    );
}

#[test]
fn oversized_body_is_413() {
    let server = Server::with_limit(1024);
    assert_eq!(put_html(&server, KEY, &[b'a'; 1024]).status, 201);
    let r = put_html(&server, KEY, &[b'b'; 4096]);
    assert_problem(&r, 413, "too_large", "put", KEY);
    assert_eq!(get(&server, KEY).body, vec![b'a'; 1024]);
    let r = reply(
        client()
            .put(server.url("/en.wikipedia.org/v1/key_value/b"))
            .send(&vec![b' '; 4096][..]),
    );
    assert_eq!(r.status, 413);
}

#[test]
fn head_is_get_without_body() {
    let server = Server::start();
    let r = reply(client().head(server.url(KEY)).call());
    assert_eq!((r.status, r.body.len()), (404, 0));
    put_html(&server, KEY, b"<p>head</p>");
    let r = reply(client().head(server.url(KEY)).call());
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some("\"123/a\""));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let r = reply(
        client()
            .head(server.url(KEY))
            .header("cache-control", "no-cache")
            .call(),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn malformed_requests_get_problems() {
    let server = Server::start();
    // Key that does not decode to UTF-8.
    let bad = "/en.wikipedia.org/v1/key_value/b/%FF%FE";
    assert_problem(&get(&server, bad), 400, "bad_request", "get", bad);
    assert_eq!(put_html(&server, bad, b"x").status, 400);
    // Bucket bodies must be JSON objects.
    let bucket = "/en.wikipedia.org/v1/key_value/b";
    let r = reply(client().put(server.url(bucket)).send("{nope"));
    assert_problem(&r, 400, "bad_request", "put", bucket);
    // Unknown paths and methods.
    assert_problem(
        &get(&server, "/nothing"),
        404,
        "not_found#route",
        "get",
        "/nothing",
    );
    assert_problem(&get(&server, "/"), 404, "not_found#route", "get", "/");
    let r = reply(client().delete(server.url(KEY)).call());
    assert_problem(&r, 405, "method_not_allowed", "delete", KEY);
    let r = reply(client().get(server.url(bucket)).call());
    assert_eq!(r.status, 405);
}

#[test]
fn metrics_count_outcomes() {
    let server = Server::start();
    get(&server, KEY); // miss
    put_html(&server, KEY, b"x"); // write
    get(&server, KEY); // hit
    reply(
        client()
            .put(server.url(KEY))
            .header("if-none-hash-match", "*")
            .send("x"),
    ); // unchanged
    reply(
        client()
            .put(server.url(KEY))
            .header("cache-control", "no-store")
            .send("y"),
    );
    let r = get(&server, "/metrics");
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).unwrap();
    for (outcome, count) in [
        ("hit", 1),
        ("miss", 1),
        ("write", 1),
        ("unchanged", 1),
        ("not_stored", 1),
    ] {
        let line = format!("restrouter_storage_requests_total{{outcome=\"{outcome}\"}} {count}\n");
        assert!(text.contains(&line), "{line:?} missing in:\n{text}");
    }
}

#[test]
fn concurrent_clients_each_read_their_own_writes() {
    let server = Server::start();
    std::thread::scope(|scope| {
        for worker in 0..8 {
            let server = &server;
            scope.spawn(move || {
                for i in 0..25 {
                    let path = format!("/en.wikipedia.org/v1/key_value/b/w{worker}-{i}");
                    let body = format!("{worker}/{i}");
                    assert_eq!(put_html(server, &path, body.as_bytes()).status, 201);
                    assert_eq!(get(server, &path).body, body.as_bytes());
                }
            });
        }
    });
}

#[test]
fn bodies_above_axum_default_limit_are_accepted() {
    let server = Server::start();
    let body: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    assert_eq!(put_html(&server, KEY, &body).status, 201);
    assert_eq!(get(&server, KEY).body, body);
}
