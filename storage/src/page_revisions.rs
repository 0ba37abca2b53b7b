//! RESTBase's `page_revisions` API: revision metadata per title, read from the MediaWiki action
//! API on a miss and kept in SQLite (RESTBase `sys/page_revisions.js`, `lib/mwUtil.js`
//! `applyAccessChecks`).
//!
//! - `GET /{domain}/v1/page_revisions/page/{title}`: the newest stored revision of the title;
//! - `GET /{domain}/v1/page_revisions/page/{title}/{revision}`: that revision.
//!
//! Both answer `{items:[row]}` with `etag: "<rev>/<tid>"`. A miss, or `cache-control: no-cache`,
//! asks the action API and stores the row; the action API reporting the page or revision gone
//! under `no-cache` marks the page deleted, so later reads answer 404 until a newer revision is
//! stored. A revision whose text or SHA-1 is hidden answers 403 `access_denied#revision`; hidden
//! user or comment fields are left out of the row.

use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::warn;

use crate::api::App;
use crate::mwapi::{MwApi, MwApiError, Selector};
use crate::problem::{Problem, RequestLine};
use crate::store::{Store, StoreError};

/// One revision's metadata: RESTBase's `title_revisions-ng` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub title: String,
    pub page_id: u64,
    pub rev: u64,
    pub tid: String,
    pub namespace: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_text: Option<String>,
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub tags: Vec<String>,
    /// The revision's `…hidden` flags: `texthidden`, `sha1hidden`, `userhidden`, `commenthidden`.
    pub restrictions: Vec<String>,
    pub page_language: Option<String>,
    pub redirect: bool,
}

impl Row {
    /// Equal but for the tid (RESTBase's `_checkSameRev`): storing it again changes nothing.
    fn same_revision(&self, other: &Row) -> bool {
        Row {
            tid: String::new(),
            ..self.clone()
        } == Row {
            tid: String::new(),
            ..other.clone()
        }
    }
}

/// What the service keeps for this API: the action API client and its counters.
pub struct Revisions {
    mwapi: MwApi,
    fetched: Counter,
}

impl Revisions {
    pub fn new(mwapi: MwApi, fetched: Counter) -> Self {
        Self { mwapi, fetched }
    }
}

/// What a lookup in the table found.
enum Stored {
    Row(Box<Row>),
    Deleted,
    Nothing,
}

fn read_stored(
    store: &Store,
    domain: &str,
    title: &str,
    rev: Option<u64>,
) -> Result<Stored, StoreError> {
    store.read(|conn| {
        let deleted = conn
            .prepare_cached("SELECT 1 FROM page_deletions WHERE domain = ?1 AND title = ?2")?
            .exists(params![domain, title])?;
        if deleted {
            return Ok(Stored::Deleted);
        }
        let row: Option<String> = match rev {
            Some(rev) => conn
                .prepare_cached(
                    "SELECT row FROM page_revisions WHERE domain = ?1 AND title = ?2 AND rev = ?3",
                )?
                .query_row(params![domain, title, sql_rev(rev)], |r| r.get(0))
                .optional()?,
            None => conn
                .prepare_cached(
                    "SELECT row FROM page_revisions WHERE domain = ?1 AND title = ?2
                     ORDER BY rev DESC LIMIT 1",
                )?
                .query_row(params![domain, title], |r| r.get(0))
                .optional()?,
        };
        match row {
            Some(json) => Ok(Stored::Row(Box::new(serde_json::from_str(&json)?))),
            None => Ok(Stored::Nothing),
        }
    })
}

/// Stores `row` unless the same revision is stored identically; answers the stored row. A
/// stored revision clears the page's deletion mark, as RESTBase's write of `page_deleted: null`.
fn write_row(store: &Store, domain: &str, row: Row) -> Result<Row, StoreError> {
    store.write(|conn| {
        let current: Option<String> = conn
            .prepare_cached(
                "SELECT row FROM page_revisions WHERE domain = ?1 AND title = ?2 AND rev = ?3",
            )?
            .query_row(params![domain, row.title, sql_rev(row.rev)], |r| r.get(0))
            .optional()?;
        conn.prepare_cached("DELETE FROM page_deletions WHERE domain = ?1 AND title = ?2")?
            .execute(params![domain, row.title])?;
        if let Some(current) = current {
            let current: Row = serde_json::from_str(&current)?;
            if current.same_revision(&row) {
                return Ok(current);
            }
        }
        conn.prepare_cached(
            "INSERT INTO page_revisions (domain, title, rev, row) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (domain, title, rev) DO UPDATE SET row = excluded.row",
        )?
        .execute(params![
            domain,
            row.title,
            sql_rev(row.rev),
            serde_json::to_string(&row)?
        ])?;
        Ok(row)
    })
}

/// Marks the title deleted if any revision of it is stored (RESTBase kept `page_deleted` as a
/// static column of the stored rows). Asked about one revision, only if that revision is
/// stored: a revision number the wiki never had (any client can ask for one) says nothing
/// about the page, as RESTBase looked up the stored row of exactly that revision.
fn mark_deleted(
    store: &Store,
    domain: &str,
    title: &str,
    rev: Option<u64>,
) -> Result<(), StoreError> {
    store.write(|conn| {
        let latest: Option<i64> = conn
            .prepare_cached(
                "SELECT rev FROM page_revisions WHERE domain = ?1 AND title = ?2
                 AND (?3 IS NULL OR rev = ?3) ORDER BY rev DESC LIMIT 1",
            )?
            .query_row(params![domain, title, rev.map(|r| r as i64)], |r| r.get(0))
            .optional()?;
        if let Some(rev) = latest {
            conn.prepare_cached(
                "INSERT INTO page_deletions (domain, title, page_deleted) VALUES (?1, ?2, ?3)
                 ON CONFLICT (domain, title) DO UPDATE SET page_deleted = excluded.page_deleted",
            )?
            .execute(params![domain, title, rev])?;
        }
        Ok(())
    })
}

/// The row for the action API's answer, or `None` when it reports no such page or revision,
/// or a page under another title than `title` (the router asks with normalized titles).
fn row_from_answer(answer: &Value, title: &str, tid: String) -> Option<Row> {
    let page = answer.get("query")?.get("pages")?.as_array()?.first()?;
    let revision = page.get("revisions")?.as_array()?.first()?;
    let mw_title = page.get("title")?.as_str()?.replace(' ', "_");
    let namespace = page.get("ns").and_then(Value::as_i64).unwrap_or(0);
    if !same_title(&mw_title, title, namespace) {
        return None;
    }
    let restrictions: Vec<String> = revision
        .as_object()?
        .iter()
        .filter(|(key, value)| key.ends_with("hidden") && value.as_bool() != Some(false))
        .map(|(key, _)| key.clone())
        .collect();
    let hidden = |flag: &str| restrictions.iter().any(|r| r == flag);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(Row {
        title: title.to_owned(),
        page_id: page.get("pageid").and_then(Value::as_u64)?,
        rev: revision.get("revid").and_then(Value::as_u64)?,
        tid,
        namespace,
        user_id: if hidden("userhidden") {
            None
        } else {
            revision.get("userid").and_then(Value::as_u64)
        },
        user_text: if hidden("userhidden") {
            None
        } else {
            text(revision, "user")
        },
        timestamp: text(revision, "timestamp"),
        comment: if hidden("commenthidden") {
            None
        } else {
            text(revision, "comment")
        },
        tags: revision
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        restrictions: restrictions.clone(),
        page_language: text(page, "pagelanguage"),
        redirect: page
            .get("redirect")
            .is_some_and(|r| r.as_bool() != Some(false)),
    })
}

/// Whether MediaWiki's title (underscored) is the requested one. RESTBase re-normalized it
/// with siteinfo; the one difference that can remain for a normalized request is a gendered
/// user namespace name (`Benutzerin:` for `Benutzer:`), so user pages compare after the prefix.
fn same_title(mw_title: &str, requested: &str, namespace: i64) -> bool {
    if mw_title == requested {
        return true;
    }
    if namespace == 2 || namespace == 3 {
        let after = |t: &str| t.split_once(':').map(|(_, rest)| rest.to_owned());
        return after(mw_title).is_some() && after(mw_title) == after(requested);
    }
    false
}

/// SQLite integers are signed; revision ids are far below `i64::MAX`.
fn sql_rev(rev: u64) -> i64 {
    i64::try_from(rev).unwrap_or(i64::MAX)
}

fn new_tid(node: &[u8; 6]) -> String {
    uuid::Uuid::now_v1(node).to_string()
}

/// `GET /{domain}/v1/page_revisions/page/{title}`.
pub async fn latest(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let request = RequestLine { method, uri };
    match path {
        Ok(Path((domain, title))) => get(&app, &request, &headers, domain, title, None).await,
        Err(e) => app.reject(&request, Problem::bad_request(e.body_text())),
    }
}

/// `GET /{domain}/v1/page_revisions/page/{title}/{revision}`.
pub async fn at_revision(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let request = RequestLine { method, uri };
    let (domain, title, revision) = match path {
        Ok(Path(p)) => p,
        Err(e) => return app.reject(&request, Problem::bad_request(e.body_text())),
    };
    let rev = match revision.parse::<u64>() {
        Ok(rev) if revision.bytes().all(|b| b.is_ascii_digit()) => rev,
        _ => {
            return app.reject(
                &request,
                Problem::bad_request(format!("Invalid revision: {revision}")),
            )
        }
    };
    get(&app, &request, &headers, domain, title, Some(rev)).await
}

async fn get(
    app: &Arc<App>,
    request: &RequestLine,
    headers: &HeaderMap,
    domain: String,
    title: String,
    rev: Option<u64>,
) -> Response {
    let no_cache = crate::api::cache_control_has(headers, "no-cache");
    if !no_cache {
        let (d, t) = (domain.clone(), title.clone());
        match app
            .with_store(move |store| read_stored(store, &d, &t, rev))
            .await
        {
            Ok(Stored::Row(row)) => return respond(app, request, *row),
            Ok(Stored::Deleted) => return page_deleted().respond(request),
            Ok(Stored::Nothing) => {}
            Err(problem) => return app.reject(request, problem),
        }
    }
    let app_for_fetch = Arc::clone(app);
    let (d, t) = (domain.clone(), title.clone());
    let fetched = tokio::task::spawn_blocking(move || {
        let revisions = &app_for_fetch.revisions;
        revisions.fetched.inc();
        let selector = match rev {
            Some(rev) => Selector::Revision(rev),
            None => Selector::Title(&t),
        };
        let answer = revisions.mwapi.revision_query(&d, &selector)?;
        Ok::<_, MwApiError>(row_from_answer(
            &answer,
            &t,
            new_tid(app_for_fetch.node_id()),
        ))
    })
    .await;
    match fetched {
        Ok(Ok(Some(row))) => {
            let d = domain.clone();
            match app.with_store(move |store| write_row(store, &d, row)).await {
                Ok(row) => respond(app, request, row),
                Err(problem) => app.reject(request, problem),
            }
        }
        Ok(Ok(None)) => {
            if no_cache {
                let (d, t) = (domain.clone(), title.clone());
                if let Err(problem) = app
                    .with_store(move |store| mark_deleted(store, &d, &t, rev))
                    .await
                {
                    return app.reject(request, problem);
                }
            }
            Problem::not_found("Page or revision not found.").respond(request)
        }
        Ok(Err(MwApiError::NotConfigured)) => app.reject(
            request,
            unavailable("No MediaWiki action API is configured for page_revisions."),
        ),
        Ok(Err(e)) => {
            warn!(%domain, error = %e, "action API request failed");
            app.reject(
                request,
                unavailable("The MediaWiki action API did not answer; try again later."),
            )
        }
        Err(e) => {
            warn!(error = %e, "action API task failed");
            app.reject(request, Problem::internal())
        }
    }
}

fn page_deleted() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not_found#page_revisions",
        "Not found.",
        "Page was deleted".into(),
    )
}

fn unavailable(detail: &str) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "Service unavailable.",
        detail.into(),
    )
}

/// The row after RESTBase's access checks: 403 for hidden text or SHA-1, else 200.
fn respond(app: &App, request: &RequestLine, row: Row) -> Response {
    if row
        .restrictions
        .iter()
        .any(|r| r == "texthidden" || r == "sha1hidden")
    {
        return app.reject(
            request,
            Problem::new(
                StatusCode::FORBIDDEN,
                "access_denied#revision",
                "Access to resource denied",
                format!("Access is restricted for revision {}", row.rev),
            ),
        );
    }
    let etag = format!("\"{}/{}\"", row.rev, row.tid);
    let body = serde_json::json!({ "items": [row] }).to_string();
    let mut response = (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(revision: Value) -> Value {
        json!({"query": {"pages": [{
            "pageid": 7, "ns": 0, "title": "Main Page", "pagelanguage": "en", "redirect": true,
            "revisions": [revision]
        }]}})
    }

    #[test]
    fn row_from_a_normal_revision() {
        let a = answer(
            json!({"revid": 42, "user": "U", "userid": 3, "timestamp": "2020-01-01T00:00:00Z",
            "comment": "c", "tags": ["mobile edit"], "sha1": "x"}),
        );
        let row = row_from_answer(&a, "Main_Page", "t".into()).unwrap();
        assert_eq!((row.page_id, row.rev, row.namespace), (7, 42, 0));
        assert_eq!(row.user_text.as_deref(), Some("U"));
        assert_eq!(row.tags, ["mobile edit"]);
        assert!(row.restrictions.is_empty());
        assert!(row.redirect);
        assert_eq!(row.page_language.as_deref(), Some("en"));
        assert!(row_from_answer(&a, "Other", "t".into()).is_none());
    }

    #[test]
    fn hidden_fields_become_restrictions() {
        let a = answer(
            json!({"revid": 42, "userhidden": true, "commenthidden": true,
            "texthidden": true, "sha1hidden": true, "suppressed": true}),
        );
        let row = row_from_answer(&a, "Main_Page", "t".into()).unwrap();
        let mut r = row.restrictions.clone();
        r.sort();
        assert_eq!(
            r,
            ["commenthidden", "sha1hidden", "texthidden", "userhidden"]
        );
        assert!(row.user_id.is_none() && row.user_text.is_none() && row.comment.is_none());
    }

    #[test]
    fn missing_and_bad_revisions_have_no_row() {
        let missing = json!({"query": {"pages": [{"ns": 0, "title": "X", "missing": true}]}});
        assert!(row_from_answer(&missing, "X", "t".into()).is_none());
        let bad = json!({"query": {"badrevids": {"5": {"revid": 5, "missing": true}}}});
        assert!(row_from_answer(&bad, "X", "t".into()).is_none());
    }

    #[test]
    fn gendered_user_namespace_is_the_same_title() {
        assert!(same_title("Benutzerin:Anna", "Benutzer:Anna", 2));
        assert!(!same_title("Benutzerin:Anna", "Benutzer:Bob", 2));
        assert!(!same_title("Earth", "Moon", 0));
    }
}
