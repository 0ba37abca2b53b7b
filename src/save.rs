//! Saving a page as the client: RESTBase's `POST /page/wikitext/{title}` and
//! `POST /page/html/{title}` (its sys/page_save module and the action module's `edit`, removed
//! from RESTBase in 2023). Wikitext goes to the action API's `action=edit` with the client's
//! cookie and CSRF token; HTML is first turned into wikitext by Parsoid. The answer is the
//! action API's `edit` result: 201 for a new revision, 200 for `nochange`; its errors become
//! problems with RESTBase's statuses.
//!
//! One change from RESTBase: it looked up the base revision's timestamp in page_revisions to
//! send `basetimestamp` (and `parentrevid`, for a MediaWiki change that was never merged).
//! `action=edit` now takes the base revision itself (`baserevid`, MediaWiki 1.35), which
//! detects edit conflicts the same way, without the extra call or storage.

use crate::flow::{Callout, Failure, Upstream};
use crate::paths;
use crate::problem;
use restrouter_proto::problem::ProblemBody;
use serde_json::Value;
use std::collections::HashMap;

/// How much of the wikitext makes the edit summary when the client gives none (RESTBase's).
const SUMMARY_CHARS: usize = 100;

/// What the request saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum From {
    Wikitext,
    Html,
}

/// An error answer of a save: RESTBase's problem type, title and detail, with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: u16,
    pub kind: &'static str,
    pub title: String,
    pub detail: String,
}

impl Error {
    fn bad_request(title: &str, detail: &str) -> Error {
        Error { status: 400, kind: "bad_request", title: title.into(), detail: detail.into() }
    }

    pub fn body(&self, method: &str, uri: &str) -> Vec<u8> {
        ProblemBody::new(self.kind, &self.title, method, &self.detail, uri).to_vec()
    }
}

/// A save request, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Save {
    pub from: From,
    pub domain: String,
    pub title: String,
    /// The wikitext or HTML to save.
    pub content: String,
    pub csrf_token: String,
    pub comment: Option<String>,
    pub minor: bool,
    pub bot: bool,
    /// The revision of `base_etag`: the edit is based on it.
    pub base_revision: Option<String>,
    /// When the client started editing, from the time UUID of its `if-match` ETag.
    pub start_timestamp: Option<String>,
    /// The ETag Parsoid gets as `if-match` for an HTML save: `base_etag`, else the header.
    pub parsoid_if_match: Option<String>,
}

/// Reads the body's fields (as the validator read them) in RESTBase's order of checks.
pub fn read(from: From, domain: &str, title: &str, fields: &Value, if_match: Option<&str>) -> Result<Save, Error> {
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_string);
    let flag = |name: &str| match fields.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    };
    let field = match from {
        From::Wikitext => "wikitext",
        From::Html => "html",
    };
    let content = text(field).filter(|c| !c.trim().is_empty());
    let (Some(content), Some(csrf_token)) = (content, text("csrf_token").filter(|t| !t.is_empty())) else {
        return Err(Error::bad_request("Missing parameters", "The html/wikitext and csrf_token parameters are required"));
    };
    let base_etag = text("base_etag").filter(|e| !e.is_empty());
    let base_revision = match &base_etag {
        None => None,
        Some(etag) => {
            let Some(e) = restrouter_proto::etag::parse(etag).filter(|e| !e.tid.is_empty() && !e.tid.contains('/')) else {
                return Err(Error::bad_request("Bad base_etag", "The supplied base_etag is invalid"));
            };
            if !digits(e.revision) {
                return Err(Error::bad_request("Bad revision", "The supplied revision ID is invalid"));
            }
            Some(e.revision.to_string())
        }
    };
    let start_timestamp = match if_match {
        None => None,
        Some(value) => {
            let stamp = restrouter_proto::etag::parse(value).filter(|e| digits(e.revision)).and_then(|e| time_uuid_iso(e.tid));
            Some(stamp.ok_or_else(|| Error::bad_request("Bad ETag in If-Match", "The supplied base_etag is invalid"))?)
        }
    };
    Ok(Save {
        from,
        domain: domain.to_string(),
        title: title.to_string(),
        content,
        csrf_token,
        comment: text("comment"),
        minor: flag("is_minor"),
        bot: flag("is_bot"),
        base_revision,
        start_timestamp,
        parsoid_if_match: base_etag.or_else(|| if_match.map(str::to_string)),
    })
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parsoid's HTML to wikitext transform of the page (at the base revision, when there is one).
pub fn transform_callout(save: &Save, cluster: &str, path_template: &str, timeout_ms: u64) -> Callout {
    let params: HashMap<String, String> = [("domain".to_string(), save.domain.clone()), ("title".to_string(), save.title.clone())].into();
    let mut path = paths::expand(path_template, &params);
    if let Some(rev) = &save.base_revision {
        path.push('/');
        path.push_str(rev);
    }
    let body = serde_json::json!({ "html": save.content }).to_string().into_bytes();
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(etag) = &save.parsoid_if_match {
        headers.push(("if-match".into(), etag.clone()));
    }
    Callout { cluster: cluster.to_string(), method: "POST", path, authority: save.domain.clone(), headers, body: Some(body), timeout_ms, forward_client: true }
}

/// The wikitext Parsoid answered, or the problem that ends the save.
pub fn transformed(resp: &Upstream) -> Result<String, Error> {
    if let Some(e) = failure(resp, "Parsoid") {
        return Err(e);
    }
    if resp.status != 200 {
        let detail = String::from_utf8_lossy(resp.body.get(..1024).unwrap_or(&resp.body)).trim().to_string();
        let p = problem::from_upstream(resp.status, &detail);
        return Err(Error { status: p.status, kind: p.kind, title: p.title.to_string(), detail: p.detail });
    }
    String::from_utf8(resp.body.clone()).map_err(|_| Error { status: 502, kind: "bad_gateway", title: "Bad gateway".into(), detail: "Parsoid answered wikitext that is not UTF-8".into() })
}

/// `action=edit` as the client: its cookie (and authorization) and token.
pub fn edit_callout(save: &Save, wikitext: &str, credentials: Vec<(String, String)>, cluster: &str, path: &str, timeout_ms: u64) -> Callout {
    let summary = save.comment.clone().unwrap_or_else(|| wikitext.chars().take(SUMMARY_CHARS).collect());
    let mut form: Vec<(&str, &str)> = vec![("action", "edit"), ("format", "json"), ("formatversion", "2"), ("title", &save.title), ("text", wikitext), ("summary", &summary)];
    // Booleans are sent only when set: the action API takes any value, "false" too, as true.
    if save.minor {
        form.push(("minor", "1"));
    }
    if save.bot {
        form.push(("bot", "1"));
    }
    if let Some(rev) = &save.base_revision {
        form.push(("baserevid", rev));
    }
    if let Some(start) = &save.start_timestamp {
        form.push(("starttimestamp", start));
    }
    // The token last: MediaWiki refuses a POST cut short before it.
    form.push(("token", &save.csrf_token));
    let body = form.iter().map(|(k, v)| format!("{k}={}", paths::encode_component(v))).collect::<Vec<_>>().join("&");
    let mut headers = vec![("content-type".to_string(), "application/x-www-form-urlencoded".to_string())];
    headers.extend(credentials);
    Callout { cluster: cluster.to_string(), method: "POST", path: path.to_string(), authority: save.domain.clone(), headers, body: Some(body.into_bytes()), timeout_ms, forward_client: true }
}

/// The answer to the client: the status and the `edit` object, or a problem.
pub fn edited(resp: &Upstream) -> Result<(u16, Vec<u8>), Error> {
    if let Some(e) = failure(resp, "The action API") {
        return Err(e);
    }
    if resp.status != 200 {
        return Err(api_error(None, &format!("Unexpected response status ({}) from the PHP action API.", resp.status)));
    }
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if let Some(err) = body.get("error") {
        let text = |f: &str| err.get(f).and_then(Value::as_str).map(|s| s.chars().filter(|c| !c.is_control()).take(500).collect::<String>());
        return Err(api_error(text("code").as_deref(), text("info").as_deref().unwrap_or("Unknown MW API error")));
    }
    let Some(edit) = body.get("edit").filter(|e| e.is_object()) else {
        return Err(api_error(None, "Unknown MW API error"));
    };
    let nochange = edit.get("nochange").is_some_and(|v| !matches!(v, Value::Bool(false) | Value::Null));
    Ok((if nochange { 200 } else { 201 }, edit.to_string().into_bytes()))
}

fn failure(resp: &Upstream, who: &str) -> Option<Error> {
    let (status, kind, title) = match (resp.failure, resp.status) {
        (Some(Failure::Timeout), _) => (504, "gateway_timeout", "Gateway timeout"),
        (Some(_), _) | (None, 0) => (502, "bad_gateway", "Bad gateway"),
        _ => return None,
    };
    Some(Error { status, kind, title: title.into(), detail: format!("{who} could not be reached") })
}

/// RESTBase's translation of an action API error code (sys/action.js `errCodes`): the status
/// and problem type, the code as title, the API's info as detail; unknown codes are 500s.
fn api_error(code: Option<&str>, info: &str) -> Error {
    let (status, kind) = code.map_or((500, "server_error"), status_of);
    Error { status, kind, title: code.unwrap_or("MW API Error").to_string(), detail: info.to_string() }
}

fn status_of(code: &str) -> (u16, &'static str) {
    const BAD: &[&str] = &[
        "articleexists",
        "badformat",
        "badmd5",
        "badtoken",
        "invalidparammix",
        "invalidsection",
        "invalidtitle",
        "invaliduser",
        "missingparam",
        "missingtitle",
        "nosuchpageid",
        "nosuchrcid",
        "nosuchrevid",
        "nosuchsection",
        "nosuchuser",
        "notext",
        "notitle",
        "pagecannotexist",
        "revwrongpage",
    ];
    const UNAUTHORIZED: &[&str] = &["cantcreate-anon", "confirmemail", "noedit-anon", "noimageredirect-anon", "notloggedin", "protectedpage", "readapidenied"];
    const FORBIDDEN: &[&str] = &[
        "autoblocked",
        "blocked",
        "cantcreate",
        "customcssjsprotected",
        "customcssprotected",
        "customjsprotected",
        "emptynewsection",
        "emptypage",
        "filtered",
        "hookaborted",
        "noedit",
        "noimageredirect",
        "permissiondenied",
        "protectednamespace",
        "protectednamespace-interface",
        "protectedtitle",
        "readonly",
        "unsupportednamespace",
        "writeapidenied",
    ];
    const CONFLICT: &[&str] = &["cascadeprotected", "editconflict", "pagedeleted", "spamdetected"];
    if BAD.contains(&code) || code.starts_with("readinglists-") {
        (400, "bad_request")
    } else if UNAUTHORIZED.contains(&code) {
        (401, "unauthorized")
    } else if FORBIDDEN.contains(&code) {
        (403, "forbidden#edit")
    } else if CONFLICT.contains(&code) {
        (409, "conflict")
    } else if code == "contenttoobig" {
        (413, "too_large")
    } else if code == "ratelimited" {
        (429, "rate_exceeded")
    } else if code == "editnotsupported" {
        (501, "not_supported")
    } else {
        (500, "server_error")
    }
}

/// The time of a version 1 (time-based) UUID as ISO 8601 with milliseconds, as JavaScript's
/// `Date.toISOString` writes it.
pub fn time_uuid_iso(uuid: &str) -> Option<String> {
    let hex: Vec<&str> = uuid.split('-').collect();
    let [low, mid, hi, clock, node] = hex.as_slice() else { return None };
    let lens = [(low, 8), (mid, 4), (hi, 4), (clock, 4), (node, 12)];
    if lens.iter().any(|(s, n)| s.len() != *n || !s.bytes().all(|b| b.is_ascii_hexdigit())) || !hi.starts_with('1') {
        return None;
    }
    let part = |s: &str| u64::from_str_radix(s, 16).ok();
    let ticks = ((part(hi)? & 0x0fff) << 48) | (part(mid)? << 32) | part(low)?;
    // 100 ns ticks since the Gregorian reform (1582-10-15) to milliseconds since 1970.
    let ms = ticks.checked_sub(0x01b2_1dd2_1381_4000)? / 10_000;
    let (days, rem) = (ms / 86_400_000, ms % 86_400_000);
    let (y, m, d) = civil(i64::try_from(days).ok()?);
    Some(format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000))
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: &str) -> Upstream {
        Upstream::callout(status, Vec::new(), body.as_bytes().to_vec())
    }

    #[test]
    fn time_uuids_give_their_time() {
        // RESTBase's ETag example, and the Unix epoch.
        assert_eq!(time_uuid_iso("154d7bca-c264-11e5-8c2f-1b51b33b59fc").as_deref(), Some("2016-01-24T06:31:21.458Z"));
        assert_eq!(time_uuid_iso("13814000-1dd2-11b2-8000-000000000000").as_deref(), Some("1970-01-01T00:00:00.000Z"));
        for bad in ["", "154d7bca-c264-41e5-8c2f-1b51b33b59fc", "154d7bca-c264-11e5-8c2f", "zz4d7bca-c264-11e5-8c2f-1b51b33b59fc", "00000000-0000-1000-8000-000000000000"] {
            assert_eq!(time_uuid_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_are_checked_in_restbase_order() {
        let read = |fields: Value, if_match: Option<&str>| read(From::Wikitext, "en.wikipedia.org", "Earth", &fields, if_match);
        let e = read(json!({"wikitext": "  ", "csrf_token": "t"}), None).unwrap_err();
        assert_eq!((e.status, e.title.as_str()), (400, "Missing parameters"));
        assert_eq!(read(json!({"wikitext": "x"}), None).unwrap_err().title, "Missing parameters");
        assert_eq!(read(json!({"wikitext": "x", "csrf_token": "t", "base_etag": "\"\""}), None).unwrap_err().title, "Bad base_etag");
        assert_eq!(read(json!({"wikitext": "x", "csrf_token": "t", "base_etag": "\"abc/def\""}), None).unwrap_err().title, "Bad revision");
        assert_eq!(read(json!({"wikitext": "x", "csrf_token": "t"}), Some("\"5/nope\"")).unwrap_err().title, "Bad ETag in If-Match");
        let s = read(json!({"wikitext": "x", "csrf_token": "t", "base_etag": "\"5/abc\"", "is_minor": true, "is_bot": "false"}), Some("W/\"5/154d7bca-c264-11e5-8c2f-1b51b33b59fc\"")).unwrap();
        assert_eq!((s.base_revision.as_deref(), s.minor, s.bot), (Some("5"), true, false));
        assert_eq!(s.start_timestamp.as_deref(), Some("2016-01-24T06:31:21.458Z"));
        assert_eq!(s.parsoid_if_match.as_deref(), Some("\"5/abc\""));
    }

    #[test]
    fn the_edit_is_a_form_with_the_clients_cookie() {
        let s = read(From::Html, "en.wikipedia.org", "Foo/Bar", &json!({"html": "<p>x</p>", "csrf_token": "ab+\\", "base_etag": "\"7/t\""}), None).unwrap();
        let t = transform_callout(&s, "parsoid", "/{domain}/v3/transform/html/to/wikitext/{title}", 1000);
        assert_eq!((t.path.as_str(), t.headers.last().map(|h| h.1.as_str())), ("/en.wikipedia.org/v3/transform/html/to/wikitext/Foo%2FBar/7", Some("\"7/t\"")));
        let c = edit_callout(&s, "x & y", vec![("cookie".into(), "s=1".into())], "mwapi", "/w/api.php", 1000);
        let body = String::from_utf8(c.body.unwrap()).unwrap();
        assert_eq!(body, "action=edit&format=json&formatversion=2&title=Foo%2FBar&text=x%20%26%20y&summary=x%20%26%20y&baserevid=7&token=ab%2B%5C");
        assert!(c.headers.contains(&("cookie".into(), "s=1".into())));
    }

    #[test]
    fn answers_and_errors_as_restbase_gave_them() {
        let (status, body) = edited(&answer(200, r#"{"edit":{"result":"Success","newrevid":9}}"#)).unwrap();
        assert_eq!((status, serde_json::from_slice::<Value>(&body).unwrap()), (201, json!({"result":"Success","newrevid":9})));
        assert_eq!(edited(&answer(200, r#"{"edit":{"result":"Success","nochange":true}}"#)).unwrap().0, 200);
        let e = edited(&answer(200, r#"{"error":{"code":"badtoken","info":"Invalid CSRF token."}}"#)).unwrap_err();
        assert_eq!(e, Error { status: 400, kind: "bad_request", title: "badtoken".into(), detail: "Invalid CSRF token.".into() });
        assert_eq!(edited(&answer(200, r#"{"error":{"code":"editconflict","info":"Edit conflict."}}"#)).unwrap_err().status, 409);
        assert_eq!(edited(&answer(200, r#"{"error":{"code":"protectedpage","info":"."}}"#)).unwrap_err().kind, "unauthorized");
        assert_eq!(edited(&answer(200, r#"{"error":{"code":"whatever","info":"."}}"#)).unwrap_err().status, 500);
        assert_eq!(edited(&answer(500, "")).unwrap_err().detail, "Unexpected response status (500) from the PHP action API.");
        assert_eq!(edited(&answer(503, "")).unwrap_err().status, 502);
        assert_eq!(edited(&answer(0, "")).unwrap_err().status, 502);
        assert_eq!(transformed(&answer(200, "== x ==")).unwrap(), "== x ==");
        assert_eq!(transformed(&answer(400, "bad html")).unwrap_err().status, 400);
    }
}
