//! mathoid stand-in: the API RESTBase called, shaped as mathoid answered it in 2020
//! (wikimedia/mathoid `routes/mathoid.js`, `lib/math.js`, `lib/util.js`, content-version 1.0.0).
//!
//! `POST /{outformat}` with a JSON or form body `{q, type}` (`type`: tex, inline-tex, chem):
//! - `texvcinfo`: texvcinfo's feedback `{success, checked, requiredPackages, identifiers,
//!   endsWithDot}`, `checked` being the normalised TeX;
//! - `complete`: every render at once, `{mml: {headers, body}, svg: {...}, png: {headers, body:
//!   <Node Buffer as JSON>}, success, log, mathoidStyle, sanetex}`;
//! - `svg`, `mml`, `png`: that render alone, with its content type and profile.
//!
//! A formula the checker refuses, a missing `q`, an unknown type or format is a 400 with
//! mathoid's error body (`status, type: bad_request, title, detail, method, uri, success: false,
//! log, error`). The checker knows a handful of commands and balanced braces, and normalises a
//! lone-character super- or subscript to braces (`x^2` → `x^{2}`), as texvc does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::markup::escape;
use crate::metrics::Service;
use crate::respond::with_headers;
use crate::Shared;

const JSON: &str = "application/json; charset=utf-8";
const SVG: &str =
    "image/svg+xml; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/SVG/1.0.0\"";
const PNG: &str =
    "image/png; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/PNG/1.0.0\"";
const MML: &str = "application/mathml+xml; charset=utf-8; profile=\"https://www.mediawiki.org/wiki/Specs/MathML/1.0.0\"";

/// The commands the stand-in's checker accepts (texvc knows hundreds).
const COMMANDS: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "pi", "theta", "lambda", "mu", "sigma", "omega", "frac",
    "sqrt", "sum", "int", "infty", "cdot", "times", "left", "right", "mathrm", "ce", "le", "ge",
];

/// A 1×1 PNG: the stand-in's every PNG render.
const PNG_BYTES: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x60, 0x60, 0xf8,
    0x0f, 0x00, 0x01, 0x04, 0x01, 0x00, 0x5f, 0xe5, 0xc3, 0x4b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Mathoid's `POST /:outformat` (routes/mathoid.js), spelled out: the stand-ins share one port,
/// and a catch-all single segment would take every other service's unknown paths.
const OUTFORMATS: &[&str] = &[
    "svg",
    "mml",
    "png",
    "json",
    "complete",
    "texvcinfo",
    "speech",
    "graph",
];

pub fn routes() -> Router<Shared> {
    OUTFORMATS.iter().fold(Router::new(), |router, format| {
        router.route(
            &format!("/{format}"),
            post(move |state, headers, body| render(state, format, headers, body)),
        )
    })
}

async fn render(
    State(state): State<Shared>,
    outformat: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.metrics.count(Service::Mathoid);
    let uri = format!("/{outformat}");
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (q, kind) = fields(content_type, &body);
    match answer(outformat, q.as_deref(), kind.as_deref()) {
        Ok(response) => response,
        Err((error, detail)) => refusal(&uri, &error, detail),
    }
}

/// What mathoid answered for a request, or its error message and detail.
fn answer(
    outformat: &str,
    q: Option<&str>,
    kind: Option<&str>,
) -> Result<Response, (String, Value)> {
    let q = q
        .filter(|q| !q.is_empty())
        .ok_or_else(|| message("q (query) parameter is missing!"))?;
    let kind = kind.unwrap_or("tex").to_ascii_lowercase();
    if !matches!(kind.as_str(), "tex" | "inline-tex" | "chem") {
        return Err(message(&format!(
            "Input format \"{kind}\" is not recognized!"
        )));
    }
    let outformat = outformat.to_ascii_lowercase();
    if !matches!(
        outformat.as_str(),
        "texvcinfo" | "complete" | "svg" | "mml" | "png"
    ) {
        return Err(message(&format!(
            "Output format \"{outformat}\" is not recognized!"
        )));
    }
    let checked = check(q).map_err(|(name, text, at)| {
        let feedback = json!({
            "success": false,
            "error": {"name": name, "message": text, "location": {"start": {"offset": at}}},
        });
        (format!("{name}: {text}"), feedback)
    })?;
    let renders = Renders::of(&checked, kind == "tex");
    Ok(match outformat.as_str() {
        "texvcinfo" => json_reply(&json!({
            "success": true,
            "checked": checked,
            "requiredPackages": if kind == "chem" { json!(["mhchem"]) } else { json!([]) },
            "identifiers": identifiers(&checked),
            "endsWithDot": checked.trim_end().ends_with('.'),
        })),
        "complete" => json_reply(&json!({
            "mml": {"headers": {"content-type": MML, "x-mathoid-style": renders.style}, "body": renders.mml},
            "svg": {"headers": {"content-type": SVG}, "body": renders.svg},
            "png": {"headers": {"content-type": PNG}, "body": {"type": "Buffer", "data": PNG_BYTES}},
            "success": true,
            "log": "success",
            "mathoidStyle": renders.style,
            "sanetex": checked,
        })),
        "svg" => with_headers(StatusCode::OK, &[(header::CONTENT_TYPE, SVG)], renders.svg),
        "png" => with_headers(StatusCode::OK, &[(header::CONTENT_TYPE, PNG)], PNG_BYTES),
        _ => {
            let mut r = with_headers(StatusCode::OK, &[(header::CONTENT_TYPE, MML)], renders.mml);
            if let Ok(v) = renders.style.parse() {
                r.headers_mut().insert("x-mathoid-style", v);
            }
            r
        }
    })
}

fn message(text: &str) -> (String, Value) {
    (text.to_string(), Value::String(text.to_string()))
}

/// mathoid's error handler's body for an `emitError` (a 400).
fn refusal(uri: &str, error: &str, detail: Value) -> Response {
    let body = json!({
        "status": 400,
        "type": "bad_request",
        "title": "Bad Request",
        "detail": detail,
        "method": "POST",
        "uri": uri,
        "success": false,
        "log": detail,
        "error": error,
    });
    with_headers(
        StatusCode::BAD_REQUEST,
        &[(header::CONTENT_TYPE, JSON)],
        body.to_string(),
    )
}

fn json_reply(value: &Value) -> Response {
    with_headers(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, JSON)],
        value.to_string(),
    )
}

/// `q` and `type` from a JSON or form body (Express's json and urlencoded parsers).
fn fields(content_type: &str, body: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(body);
    if content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        return (get("q"), get("type"));
    }
    let get = |name: &str| {
        text.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k) == name).then(|| decode(v))
        })
    };
    (get("q"), get("type"))
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The checker: the normalised TeX, or the error's name, message and offset.
fn check(q: &str) -> Result<String, (&'static str, String, usize)> {
    let mut out = String::new();
    let mut depth = 0usize;
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let name: String = chars
                    .iter()
                    .skip(i + 1)
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                if name.is_empty() {
                    // An escaped symbol (`\{`, `\,`).
                    out.push(c);
                    if let Some(&next) = chars.get(i + 1) {
                        out.push(next);
                    }
                    i += 2;
                    continue;
                }
                if !COMMANDS.contains(&name.as_str()) {
                    return Err(("SyntaxError", "Illegal TeX function".into(), i));
                }
                out.push('\\');
                out.push_str(&name);
                i += 1 + name.chars().count();
                continue;
            }
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1).ok_or((
                    "SyntaxError",
                    "Expected end of input but \"}\" found.".to_string(),
                    i,
                ))?;
            }
            '^' | '_' => {
                out.push(c);
                match chars.get(i + 1) {
                    Some(&next) if next != '{' && next != '\\' && !next.is_whitespace() => {
                        out.push('{');
                        out.push(next);
                        out.push('}');
                        i += 2;
                    }
                    Some(_) => i += 1,
                    None => {
                        return Err((
                            "SyntaxError",
                            "Expected \"{\" or a character but end of input found.".into(),
                            i,
                        ))
                    }
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    if depth > 0 {
        return Err((
            "SyntaxError",
            "Expected \"}\" but end of input found.".into(),
            chars.len(),
        ));
    }
    Ok(out)
}

/// The letters a formula names, as texvcinfo's `identifiers`.
fn identifiers(tex: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut command = false;
    for c in tex.chars() {
        if c == '\\' {
            command = true;
        } else if c.is_ascii_alphabetic() {
            if !command {
                out.push(c.to_string());
            }
        } else {
            command = false;
        }
    }
    out
}

struct Renders {
    mml: String,
    svg: String,
    style: String,
}

impl Renders {
    fn of(tex: &str, display: bool) -> Renders {
        let shown = if display {
            format!("{{\\displaystyle {tex}}}")
        } else {
            tex.to_string()
        };
        let width = format!("{:.3}ex", 1.0 + tex.chars().count() as f64 * 1.1);
        let mml = format!(
            "<math xmlns=\"http://www.w3.org/1998/Math/MathML\" alttext=\"{alt}\"><semantics><mrow><mi>{alt}</mi></mrow><annotation encoding=\"application/x-tex\">{alt}</annotation></semantics></math>",
            alt = escape(&shown)
        );
        let svg = format!(
            "<svg xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{width}\" height=\"2.343ex\" style=\"vertical-align: -0.338ex;\" viewBox=\"0 -863.1 1000 1008.6\" role=\"img\" focusable=\"false\" xmlns=\"http://www.w3.org/2000/svg\" aria-labelledby=\"MathJax-SVG-1-Title\"><title id=\"MathJax-SVG-1-Title\">{}</title></svg>",
            escape(&shown)
        );
        let style = format!("vertical-align: -0.338ex; width:{width}; height:2.343ex;");
        Renders { mml, svg, style }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_normalises_and_refuses_as_texvc() {
        assert_eq!(check("E=mc^2").unwrap(), "E=mc^{2}");
        assert_eq!(
            check("x_{i}^2+\\frac{a}{b}").unwrap(),
            "x_{i}^{2}+\\frac{a}{b}"
        );
        assert_eq!(check("\\foo{x}").unwrap_err().1, "Illegal TeX function");
        assert!(check("{x").is_err());
        assert!(check("x}").is_err());
        assert!(check("x^").is_err());
    }

    #[test]
    fn fields_come_from_json_or_form() {
        let (q, t) = fields("application/json", br#"{"q":"x^2","type":"tex"}"#);
        assert_eq!((q.as_deref(), t.as_deref()), (Some("x^2"), Some("tex")));
        let (q, t) = fields(
            "application/x-www-form-urlencoded",
            b"q=E%3Dmc%5E2&type=inline-tex",
        );
        assert_eq!(
            (q.as_deref(), t.as_deref()),
            (Some("E=mc^2"), Some("inline-tex"))
        );
    }

    #[test]
    fn identifiers_skip_commands() {
        assert_eq!(identifiers("E=mc^{2}+\\alpha x"), vec!["E", "m", "c", "x"]);
    }
}
