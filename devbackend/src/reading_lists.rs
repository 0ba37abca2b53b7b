//! Reading lists stand-in: the ReadingLists extension's MediaWiki REST module `readinglists/v0`
//! at `/w/rest.php/readinglists/v0/lists/…`, the contract RESTBase's `/data/lists/` routes had.
//!
//! Based on the extension's route file (src/Rest/ReadingListsRoutes.v0.json) and handlers
//! (src/Rest/*Handler.php): answers are JSON objects (`{}` for setup, teardown and deletions;
//! `{"id", "list"}` / `{"id", "entry"}` for creations; `lists`, `entries`, `batch`,
//! `continue-from` as there); the CSRF token comes as the `csrf_token` query parameter (or a
//! `token` body field) on setup, teardown and the creating and updating routes, checked as core's
//! `TokenAwareHandlerTrait` does (403 `rest-badtoken-missing`, `rest-badtoken-nosession` without
//! a session, `rest-badtoken` on a mismatch); an anonymous caller is refused with
//! `rest-permission-denied-anon`; repository errors are 400s with the
//! `readinglists-db-error-…` keys. Errors have MediaWiki REST's JSON shape ([`error::rest`]).
//!
//! The user is the session: the request's whole `Cookie` header (no cookie: anonymous). Its
//! CSRF token is [`csrf_token`] of that, which the action API stand-in also hands out
//! (`action=query&meta=tokens`). Lists live in memory; timestamps come from a counter, so
//! answers are deterministic. Not modelled: paging (`next` is never set), limits.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::error;
use crate::respond::with_headers;
use crate::Shared;

const BASE: &str = "/w/rest.php/readinglists/v0/lists";

/// Every user's lists, by session.
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, User>,
    /// Ids and timestamps: one sequence for all users, as database ids are.
    seq: u64,
}

#[derive(Default)]
struct User {
    lists: Vec<List>,
    entries: Vec<Entry>,
}

struct List {
    id: u64,
    name: String,
    description: String,
    default: bool,
    created: String,
    updated: String,
}

struct Entry {
    id: u64,
    list: u64,
    project: String,
    title: String,
    created: String,
    updated: String,
}

impl Inner {
    fn next(&mut self) -> (u64, String) {
        self.seq += 1;
        let s = self.seq;
        (
            s,
            format!(
                "2024-01-01T{:02}:{:02}:{:02}Z",
                (s / 3600) % 24,
                (s / 60) % 60,
                s % 60
            ),
        )
    }
}

/// The CSRF token of a session: MediaWiki's shape (hex, then `+\`).
pub fn csrf_token(cookie: &str) -> String {
    // FNV-1a: stable across runs, unlike the standard library's hasher.
    let hash = cookie.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}{hash:016x}+\\")
}

/// The session a request carries, if any.
pub fn session(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(&format!("{BASE}/setup"), post(setup))
        .route(&format!("{BASE}/teardown"), post(teardown))
        .route(BASE, get(lists).post(create_list))
        .route(&format!("{BASE}/"), get(lists).post(create_list))
        .route(&format!("{BASE}/batch"), post(create_lists))
        .route(
            &format!("{BASE}/{{id}}"),
            get(one_list).put(update_list).delete(delete_list),
        )
        .route(
            &format!("{BASE}/{{id}}/entries"),
            get(entries).post(create_entry),
        )
        .route(
            &format!("{BASE}/{{id}}/entries/"),
            get(entries).post(create_entry),
        )
        .route(
            &format!("{BASE}/{{id}}/entries/batch"),
            post(create_entries),
        )
        .route(
            &format!("{BASE}/{{id}}/entries/{{entry_id}}"),
            delete(delete_entry),
        )
        .route(&format!("{BASE}/pages/{{project}}/{{title}}"), get(pages))
        .route(&format!("{BASE}/changes/since/{{date}}"), get(changes))
}

type Params = Query<HashMap<String, String>>;

fn ok(body: Value) -> Response {
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// An error answer on its way back through `?` (boxed: a response is large).
type Refusal = Box<Response>;

fn bad(key: &str, message: &str) -> Refusal {
    Box::new(error::rest(StatusCode::BAD_REQUEST, key, message))
}

/// The session of a request that needs none but a logged-in user (`checkAuthority`).
fn user(headers: &HeaderMap) -> Result<String, Refusal> {
    session(headers).ok_or_else(|| {
        bad(
            "rest-permission-denied-anon",
            "Anonymous users cannot use this endpoint.",
        )
    })
}

/// The session of a request that must also carry its CSRF token (`validateToken`, before
/// `checkAuthority`, as the handlers order them).
fn user_with_token(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: Option<&Value>,
) -> Result<String, Refusal> {
    let from_body = body
        .and_then(|b| b.get("token"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    let submitted = from_body
        .or_else(|| query.get("csrf_token").map(String::as_str))
        .unwrap_or_default();
    let forbidden =
        |key: &str, message: &str| Box::new(error::rest(StatusCode::FORBIDDEN, key, message));
    match session(headers) {
        Some(s) if submitted == csrf_token(&s) => Ok(s),
        _ if submitted.is_empty() => Err(forbidden(
            "rest-badtoken-missing",
            "The token parameter is required.",
        )),
        None => Err(forbidden(
            "rest-badtoken-nosession",
            "Invalid CSRF token: you have no session, perhaps you are not logged in.",
        )),
        Some(_) => Err(forbidden("rest-badtoken", "Invalid CSRF token.")),
    }
}

fn json_body(body: &Bytes) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|_| {
        bad(
            "rest-json-body-parse-error",
            "The request body is not valid JSON.",
        )
    })
}

fn text<'a>(body: &'a Value, field: &str) -> Result<&'a str, Refusal> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| {
        bad(
            "paramvalidator-missingparam",
            &format!("The \"{field}\" parameter must be set."),
        )
    })
}

fn not_set_up() -> Refusal {
    bad(
        "readinglists-db-error-not-set-up",
        "Reading lists have not been set up for this user.",
    )
}

fn list_json(l: &List) -> Value {
    json!({"id": l.id, "name": l.name, "default": l.default, "description": l.description, "created": l.created, "updated": l.updated})
}

fn entry_json(e: &Entry) -> Value {
    json!({"id": e.id, "listId": e.list, "project": e.project, "title": e.title.replace('_', " "), "created": e.created, "updated": e.updated})
}

/// All users' lists, locked.
fn lock(state: &Shared) -> Result<MutexGuard<'_, Inner>, Refusal> {
    state.lists.inner.lock().map_err(|_| {
        Box::new(error::rest(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rest-exception",
            "Lock poisoned.",
        ))
    })
}

/// Runs `f` on the user's lists; a user without lists has not set them up.
fn on_lists(
    state: &Shared,
    session: &str,
    f: impl FnOnce(&mut User, &mut Inner) -> Result<Value, Refusal>,
) -> Response {
    let mut inner = match lock(state) {
        Ok(inner) => inner,
        Err(e) => return *e,
    };
    let Some(mut user) = inner.users.remove(session) else {
        return *not_set_up();
    };
    let answer = f(&mut user, &mut inner);
    inner.users.insert(session.to_string(), user);
    answer.map_or_else(|e| *e, ok)
}

/// Runs `f` on all users' lists with the session of a request that sends its CSRF token: setup
/// and teardown, whose body need not be JSON.
fn on_session_with_token(
    state: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Bytes,
    f: impl FnOnce(&mut Inner, String) -> Result<Value, Refusal>,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let answer = user_with_token(headers, query, parsed.as_ref())
        .and_then(|session| f(&mut *lock(state)?, session));
    answer.map_or_else(|e| *e, ok)
}

/// Runs `f` on the lists of a request's logged-in user.
fn for_user(
    state: &Shared,
    headers: &HeaderMap,
    f: impl FnOnce(&mut User, &mut Inner) -> Result<Value, Refusal>,
) -> Response {
    match user(headers) {
        Ok(session) => on_lists(state, &session, f),
        Err(e) => *e,
    }
}

/// Runs `f` with the JSON body on the lists of a request's user, who must send the CSRF token.
fn for_user_with_token(
    state: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Bytes,
    f: impl FnOnce(&mut User, &mut Inner, &Value) -> Result<Value, Refusal>,
) -> Response {
    let body = match json_body(body) {
        Ok(b) => b,
        Err(e) => return *e,
    };
    match user_with_token(headers, query, Some(&body)) {
        Ok(session) => on_lists(state, &session, |u, inner| f(u, inner, &body)),
        Err(e) => *e,
    }
}

async fn setup(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Params,
    body: Bytes,
) -> Response {
    on_session_with_token(&state, &headers, &q, &body, |inner, session| {
        if inner.users.contains_key(&session) {
            return Err(bad(
                "readinglists-db-error-already-set-up",
                "Reading lists have already been set up for this user.",
            ));
        }
        let (id, now) = inner.next();
        let default = List {
            id,
            name: "default".into(),
            description: String::new(),
            default: true,
            created: now.clone(),
            updated: now,
        };
        inner.users.insert(
            session,
            User {
                lists: vec![default],
                entries: Vec::new(),
            },
        );
        Ok(json!({}))
    })
}

async fn teardown(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Params,
    body: Bytes,
) -> Response {
    on_session_with_token(&state, &headers, &q, &body, |inner, session| {
        match inner.users.remove(&session) {
            Some(_) => Ok(json!({})),
            None => Err(not_set_up()),
        }
    })
}

async fn lists(State(state): State<Shared>, headers: HeaderMap) -> Response {
    for_user(&state, &headers, |u, inner| {
        let (_, now) = inner.next();
        Ok(
            json!({"lists": u.lists.iter().map(list_json).collect::<Vec<_>>(), "continue-from": now}),
        )
    })
}

async fn one_list(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    for_user(&state, &headers, |u, _| {
        find_list(u, &id).map(|i| u.lists.get(i).map(list_json).unwrap_or_default())
    })
}

fn find_list(u: &User, id: &str) -> Result<usize, Refusal> {
    let id: u64 = id.parse().map_err(|_| {
        bad(
            "paramvalidator-badinteger",
            &format!("Invalid value \"{id}\" for integer parameter \"id\"."),
        )
    })?;
    u.lists.iter().position(|l| l.id == id).ok_or_else(|| {
        bad(
            "readinglists-db-error-no-such-list",
            &format!("No such list: {id}."),
        )
    })
}

/// The id of the list `id` names, once checked to be one of the user's.
fn list_id(u: &User, id: &str) -> Result<u64, Refusal> {
    let i = find_list(u, id)?;
    Ok(u.lists.get(i).map(|l| l.id).unwrap_or_default())
}

fn add_list(u: &mut User, inner: &mut Inner, item: &Value) -> Result<Value, Refusal> {
    let name = text(item, "name")?.to_string();
    if u.lists.iter().any(|l| l.name == name) {
        return Err(bad(
            "readinglists-db-error-duplicate-list",
            &format!("A list with the name \"{name}\" already exists."),
        ));
    }
    let description = item
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (id, now) = inner.next();
    let list = List {
        id,
        name,
        description,
        default: false,
        created: now.clone(),
        updated: now,
    };
    let answer = list_json(&list);
    u.lists.push(list);
    Ok(answer)
}

async fn create_list(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Params,
    body: Bytes,
) -> Response {
    for_user_with_token(&state, &headers, &q, &body, |u, inner, body| {
        let list = add_list(u, inner, body)?;
        Ok(json!({"id": list.get("id"), "list": list}))
    })
}

async fn create_lists(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Params,
    body: Bytes,
) -> Response {
    for_user_with_token(&state, &headers, &q, &body, |u, inner, body| {
        let batch = batch(body)?;
        let made = batch
            .iter()
            .map(|item| add_list(u, inner, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(
            json!({"batch": made.iter().map(|l| json!({"id": l.get("id")})).collect::<Vec<_>>(), "lists": made}),
        )
    })
}

fn batch(body: &Value) -> Result<&Vec<Value>, Refusal> {
    body.get("batch")
        .and_then(Value::as_array)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            bad(
                "apierror-readinglists-batch-invalid-structure",
                "Invalid batch structure.",
            )
        })
}

async fn update_list(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    for_user_with_token(&state, &headers, &q, &body, |u, inner, body| {
        let i = find_list(u, &id)?;
        let (_, now) = inner.next();
        let Some(list) = u.lists.get_mut(i) else {
            return Err(not_set_up());
        };
        if list.default {
            return Err(bad(
                "readinglists-db-error-cannot-update-default-list",
                "The default list cannot be updated.",
            ));
        }
        if let Some(name) = body.get("name").and_then(Value::as_str) {
            list.name = name.to_string();
        }
        if let Some(description) = body.get("description").and_then(Value::as_str) {
            list.description = description.to_string();
        }
        list.updated = now;
        Ok(json!({"id": list.id, "list": list_json(list)}))
    })
}

async fn delete_list(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    for_user(&state, &headers, |u, _| {
        let i = find_list(u, &id)?;
        if u.lists.get(i).is_some_and(|l| l.default) {
            return Err(bad(
                "readinglists-db-error-cannot-delete-default-list",
                "The default list cannot be deleted.",
            ));
        }
        let removed = u.lists.remove(i);
        u.entries.retain(|e| e.list != removed.id);
        Ok(json!({}))
    })
}

async fn entries(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    for_user(&state, &headers, |u, _| {
        let list = list_id(u, &id)?;
        Ok(
            json!({"entries": u.entries.iter().filter(|e| e.list == list).map(entry_json).collect::<Vec<_>>()}),
        )
    })
}

fn add_entry(u: &mut User, inner: &mut Inner, list: u64, item: &Value) -> Result<Value, Refusal> {
    let project = text(item, "project")?.to_string();
    let title = text(item, "title")?.replace(' ', "_");
    if title.is_empty() || title.contains(['<', '>', '#', '[', ']', '{', '}', '|']) {
        return Err(bad(
            "apierror-invalidtitle",
            &format!("Bad title \"{title}\"."),
        ));
    }
    if u.entries
        .iter()
        .any(|e| e.list == list && e.project == project && e.title == title)
    {
        return Err(bad(
            "readinglists-db-error-duplicate-page",
            "This page is already in the list.",
        ));
    }
    let (id, now) = inner.next();
    let entry = Entry {
        id,
        list,
        project,
        title,
        created: now.clone(),
        updated: now,
    };
    let answer = entry_json(&entry);
    u.entries.push(entry);
    Ok(answer)
}

async fn create_entry(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    for_user_with_token(&state, &headers, &q, &body, |u, inner, body| {
        let list = list_id(u, &id)?;
        let entry = add_entry(u, inner, list, body)?;
        Ok(json!({"id": entry.get("id"), "entry": entry}))
    })
}

async fn create_entries(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Response {
    for_user_with_token(&state, &headers, &q, &body, |u, inner, body| {
        let list = list_id(u, &id)?;
        let made = batch(body)?
            .iter()
            .map(|item| add_entry(u, inner, list, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(
            json!({"batch": made.iter().map(|e| json!({"id": e.get("id")})).collect::<Vec<_>>(), "entries": made}),
        )
    })
}

async fn delete_entry(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((id, entry_id)): Path<(String, String)>,
) -> Response {
    for_user(&state, &headers, |u, _| {
        let list = list_id(u, &id)?;
        let entry_id: u64 = entry_id.parse().map_err(|_| {
            bad(
                "paramvalidator-badinteger",
                "Invalid value for integer parameter \"entry_id\".",
            )
        })?;
        let Some(i) = u
            .entries
            .iter()
            .position(|e| e.id == entry_id && e.list == list)
        else {
            return Err(bad(
                "readinglists-db-error-no-such-list-entry",
                &format!("No such list entry: {entry_id}."),
            ));
        };
        u.entries.remove(i);
        Ok(json!({}))
    })
}

async fn pages(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((project, title)): Path<(String, String)>,
) -> Response {
    let title = title.replace(' ', "_");
    for_user(&state, &headers, |u, _| {
        let holding: Vec<u64> = u
            .entries
            .iter()
            .filter(|e| e.project == project && e.title == title)
            .map(|e| e.list)
            .collect();
        Ok(
            json!({"lists": u.lists.iter().filter(|l| holding.contains(&l.id)).map(list_json).collect::<Vec<_>>()}),
        )
    })
}

async fn changes(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(date): Path<String>,
) -> Response {
    for_user(&state, &headers, |u, inner| {
        let (_, now) = inner.next();
        // ISO 8601 timestamps of one shape compare as text.
        let lists: Vec<Value> = u
            .lists
            .iter()
            .filter(|l| l.updated.as_str() > date.as_str())
            .map(list_json)
            .collect();
        let entries: Vec<Value> = u
            .entries
            .iter()
            .filter(|e| e.updated.as_str() > date.as_str())
            .map(entry_json)
            .collect();
        Ok(json!({"lists": lists, "entries": entries, "continue-from": now}))
    })
}
