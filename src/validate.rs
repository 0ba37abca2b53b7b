//! Request validation against an operation's OpenAPI parameters and request body.
//!
//! As in RESTBase (hyperswitch's validator), path, query and header parameters and the body
//! are checked against their schemas, compiled once per operation. String values are first
//! coerced to the declared type, so `revision=abc` fails as "should be an integer". Unlike
//! RESTBase, header parameters are matched case-insensitively (so they are really checked) and
//! booleans accept only `true`/`false`.

use crate::schema::Schema;
use crate::spec::model::{Location, Parameter, RequestBody};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug)]
struct Param {
    /// Header names are lower-cased.
    name: String,
    required: bool,
    kind: Kind,
    /// None when the declared type says everything.
    schema: Option<Schema>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Form,
    Multipart,
}

#[derive(Debug)]
struct Body {
    required: bool,
    formats: Vec<BodyFormat>,
    schema: Option<Schema>,
    /// Declared types of the top-level properties: form fields are strings until coerced.
    form_kinds: HashMap<String, Kind>,
}

#[derive(Debug)]
pub struct Validator {
    path: Vec<Param>,
    query: Vec<Param>,
    headers: Vec<Param>,
    body: Option<Body>,
}

/// What the router knows about a request, decoded.
#[derive(Debug)]
pub struct Input<'a> {
    pub path: &'a HashMap<String, String>,
    pub query: &'a HashMap<String, String>,
    /// Lower-case names of the headers listed by [`Validator::header_names`].
    pub headers: &'a HashMap<String, String>,
    pub body: Option<&'a [u8]>,
    pub content_type: Option<&'a str>,
}

/// A failed validation: `invalid_request` for an unreadable body, `bad_request` otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Parameter(String),
    Body(String),
}

fn kind_of(schema: Option<&Value>) -> Kind {
    match schema.and_then(|s| s.get("type")).and_then(Value::as_str) {
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        _ => Kind::String,
    }
}

impl Validator {
    /// Compiles the validator of one operation; `root` (the spec) lets schemas use `$ref`.
    pub fn compile(parameters: &[Parameter], body: Option<&RequestBody>, root: &Value) -> Result<Validator, String> {
        let params = |loc: Location| -> Result<Vec<Param>, String> {
            parameters
                .iter()
                .filter(|p| p.location == loc)
                .map(|p| {
                    let schema = match &p.schema {
                        Some(s) => Some(Schema::compile(s, root).map_err(|e| format!("{}: {e}", p.name))?).filter(|s| !s.is_trivial()),
                        None => None,
                    };
                    Ok(Param {
                        name: if loc == Location::Header { p.name.to_ascii_lowercase() } else { p.name.clone() },
                        required: p.required || loc == Location::Path,
                        kind: kind_of(p.schema.as_ref()),
                        schema,
                    })
                })
                .collect()
        };
        let body = match body {
            None => None,
            Some(rb) => {
                let mut formats = Vec::new();
                let mut schema = None;
                let mut form_kinds = HashMap::new();
                for (media, mt) in &rb.content {
                    formats.push(if media.starts_with("application/json") {
                        BodyFormat::Json
                    } else if media.starts_with("application/x-www-form-urlencoded") {
                        BodyFormat::Form
                    } else if media.starts_with("multipart/form-data") {
                        BodyFormat::Multipart
                    } else {
                        return Err(format!("requestBody: unsupported media type '{media}' (application/json, application/x-www-form-urlencoded or multipart/form-data)"));
                    });
                    if let (Some(s), None) = (&mt.schema, &schema) {
                        schema = Some(Schema::compile(s, root).map_err(|e| format!("requestBody: {e}"))?);
                        form_kinds = property_kinds(s, root);
                    }
                }
                Some(Body { required: rb.required, formats, schema, form_kinds })
            }
        };
        Ok(Validator { path: params(Location::Path)?, query: params(Location::Query)?, headers: params(Location::Header)?, body })
    }

    /// Lower-case names of the request headers this operation validates.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().map(|p| p.name.as_str())
    }

    pub fn wants_body(&self) -> bool {
        self.body.is_some()
    }

    /// The body as the validator reads it (form fields coerced to their declared types); for
    /// operations that act on its fields. A body the validator accepted parses.
    pub fn body_value(&self, bytes: &[u8], content_type: Option<&str>) -> Result<Value, Invalid> {
        match &self.body {
            Some(spec) => parse_body(spec, bytes, content_type),
            None => Err(Invalid::Body("this operation takes no body".into())),
        }
    }

    pub fn validate(&self, input: &Input<'_>) -> Result<(), Invalid> {
        self.check(input, true)
    }

    /// Path, query and headers only: the body has not arrived yet.
    pub fn validate_without_body(&self, input: &Input<'_>) -> Result<(), Invalid> {
        self.check(input, false)
    }

    fn check(&self, input: &Input<'_>, with_body: bool) -> Result<(), Invalid> {
        check_part("params", &self.path, input.path)?;
        check_part("query", &self.query, input.query)?;
        check_part("headers", &self.headers, input.headers)?;
        let Some(spec) = self.body.as_ref().filter(|_| with_body) else { return Ok(()) };
        match input.body.filter(|b| !b.is_empty()) {
            Some(bytes) => {
                let body = parse_body(spec, bytes, input.content_type)?;
                match &spec.schema {
                    Some(schema) => schema.validate(&body, "data.body").map_err(Invalid::Parameter),
                    None => Ok(()),
                }
            }
            None if spec.required => Err(Invalid::Parameter("data should have required property 'body'".into())),
            None => Ok(()),
        }
    }
}

/// `properties.*.type` of an object schema (following one top-level `$ref`).
fn property_kinds(schema: &Value, root: &Value) -> HashMap<String, Kind> {
    let schema = match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => root.pointer(pointer).unwrap_or(schema),
        None => schema,
    };
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return HashMap::new() };
    props.iter().map(|(name, p)| (name.clone(), kind_of(Some(p)))).collect()
}

fn check_part(part: &str, params: &[Param], values: &HashMap<String, String>) -> Result<(), Invalid> {
    for p in params {
        match values.get(&p.name) {
            None if p.required => return Err(Invalid::Parameter(format!("data.{part} should have required property '{}'", p.name))),
            None => {}
            Some(raw) => {
                let value = coerce_value(part, p, raw)?;
                if let Some(schema) = &p.schema {
                    schema.validate(&value, &format!("data.{part}.{}", p.name)).map_err(Invalid::Parameter)?;
                }
            }
        }
    }
    Ok(())
}

fn coerce_value(part: &str, p: &Param, raw: &str) -> Result<Value, Invalid> {
    let fail = |what: &str| Invalid::Parameter(format!("data.{part}.{} should be {what}", p.name));
    Ok(match p.kind {
        Kind::String => Value::String(raw.to_string()),
        Kind::Integer => {
            // Plain decimal only: no sign games, no exponents, no overflow.
            let ok = !raw.is_empty() && raw.len() <= 19 && raw.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-' && raw.len() > 1));
            Value::from(raw.parse::<i64>().ok().filter(|_| ok).ok_or_else(|| fail("an integer"))?)
        }
        Kind::Number => {
            let n = raw.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| fail("a number"))?;
            serde_json::Number::from_f64(n).map(Value::Number).ok_or_else(|| fail("a number"))?
        }
        Kind::Boolean => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(fail("a boolean")),
        },
    })
}

fn parse_body(spec: &Body, bytes: &[u8], content_type: Option<&str>) -> Result<Value, Invalid> {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let format = if ct.starts_with("application/json") {
        BodyFormat::Json
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        BodyFormat::Form
    } else if ct.starts_with("multipart/form-data") {
        BodyFormat::Multipart
    } else if let [only] = spec.formats.as_slice() {
        *only
    } else {
        return Err(Invalid::Body(format!("unsupported content-type '{}'", ct.chars().take(80).collect::<String>())));
    };
    if !spec.formats.contains(&format) {
        return Err(Invalid::Body(format!("unsupported content-type '{}'", ct.chars().take(80).collect::<String>())));
    }
    match format {
        BodyFormat::Json => serde_json::from_slice(bytes).map_err(|e| Invalid::Body(format!("invalid JSON body: {e}"))),
        BodyFormat::Form => {
            let text = std::str::from_utf8(bytes).map_err(|_| Invalid::Body("form body is not UTF-8".into()))?;
            let pairs = crate::paths::parse_query(text).map_err(|e| Invalid::Body(format!("invalid form body: {e}")))?;
            Ok(form_value(spec, pairs))
        }
        BodyFormat::Multipart => {
            let boundary = crate::multipart::boundary(content_type.unwrap_or("")).ok_or_else(|| Invalid::Body("multipart/form-data without a boundary".into()))?;
            let pairs = crate::multipart::fields(bytes, boundary).map_err(|e| Invalid::Body(format!("invalid multipart body: {e}")))?;
            Ok(form_value(spec, pairs))
        }
    }
}

/// Form fields as an object. `body_only=true` is a boolean in a form: coerced by the declared
/// type, as query parameters are; what does not coerce stays a string and fails the schema by
/// name.
fn form_value(spec: &Body, pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    let fields = pairs.into_iter().map(|(k, v)| {
        let kind = spec.form_kinds.get(&k).copied().unwrap_or(Kind::String);
        let p = Param { name: k.clone(), required: false, kind, schema: None };
        let value = coerce_value("body", &p, &v).unwrap_or(Value::String(v));
        (k, value)
    });
    Value::Object(fields.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(v: Value) -> Parameter {
        serde_json::from_value(v).unwrap()
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn check(v: &Validator, path: &[(&str, &str)], query: &[(&str, &str)]) -> Result<(), Invalid> {
        let (p, q, h) = (map(path), map(query), HashMap::new());
        v.validate(&Input { path: &p, query: &q, headers: &h, body: None, content_type: None })
    }

    #[test]
    fn integer_coercion_names_the_parameter() {
        let v = Validator::compile(&[param(json!({"name":"revision","in":"path","required":true,"schema":{"type":"integer"}}))], None, &json!({})).unwrap();
        assert!(check(&v, &[("revision", "42")], &[]).is_ok());
        assert_eq!(check(&v, &[("revision", "abc")], &[]), Err(Invalid::Parameter("data.params.revision should be an integer".into())));
        assert!(check(&v, &[("revision", "99999999999999999999999")], &[]).is_err());
        assert!(check(&v, &[("revision", "+1")], &[]).is_err());
        assert!(check(&v, &[("revision", "1e3")], &[]).is_err());
    }

    #[test]
    fn enum_pattern_and_bounds() {
        let v = Validator::compile(
            &[
                param(json!({"name":"access","in":"path","required":true,"schema":{"type":"string","enum":["all-access","desktop"]}})),
                param(json!({"name":"start","in":"path","required":true,"schema":{"type":"string","pattern":"^[0-9]{8}$"}})),
                param(json!({"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":10,"multipleOf":2}})),
                param(json!({"name":"title","in":"query","schema":{"type":"string","minLength":2,"maxLength":4}})),
            ],
            None,
            &json!({}),
        )
        .unwrap();
        assert!(check(&v, &[("access", "desktop"), ("start", "20200101")], &[("limit", "4")]).is_ok());
        let e = check(&v, &[("access", "bogus"), ("start", "20200101")], &[]).unwrap_err();
        assert!(matches!(&e, Invalid::Parameter(d) if d.starts_with("data.params.access ")), "{e:?}");
        assert!(check(&v, &[("access", "desktop"), ("start", "2020")], &[]).is_err());
        assert!(check(&v, &[("access", "desktop"), ("start", "20200101")], &[("limit", "12")]).is_err());
        assert!(check(&v, &[("access", "desktop"), ("start", "20200101")], &[("limit", "3")]).is_err());
        assert!(check(&v, &[("access", "desktop"), ("start", "20200101")], &[("title", "x")]).is_err());
        let e = check(&v, &[("access", "desktop"), ("start", "20200101")], &[("limit", "x")]).unwrap_err();
        assert_eq!(e, Invalid::Parameter("data.query.limit should be an integer".into()));
    }

    #[test]
    fn required_query_and_header_parameters() {
        let v = Validator::compile(
            &[param(json!({"name":"q","in":"query","required":true,"schema":{"type":"string"}})), param(json!({"name":"Accept-Language","in":"header","schema":{"type":"string","maxLength":5}}))],
            None,
            &json!({}),
        )
        .unwrap();
        assert_eq!(v.header_names().collect::<Vec<_>>(), vec!["accept-language"]);
        assert_eq!(check(&v, &[], &[]), Err(Invalid::Parameter("data.query should have required property 'q'".into())));
        let (p, q, h) = (map(&[]), map(&[("q", "x")]), map(&[("accept-language", "far-too-long")]));
        assert!(v.validate(&Input { path: &p, query: &q, headers: &h, body: None, content_type: None }).is_err());
    }

    #[test]
    fn json_and_form_bodies() {
        let body: RequestBody = serde_json::from_value(json!({"required": true, "content": {
            "application/json": {"schema": {"type":"object","required":["wikitext"],"properties":{"wikitext":{"type":"string","maxLength":10},"body_only":{"type":"boolean"}}}},
            "application/x-www-form-urlencoded": {}
        }}))
        .unwrap();
        let v = Validator::compile(&[], Some(&body), &json!({})).unwrap();
        let e = HashMap::new();
        let run = |b: &[u8], ct: &str| v.validate(&Input { path: &e, query: &e, headers: &e, body: Some(b), content_type: Some(ct) });
        assert!(run(br#"{"wikitext":"''hi''"}"#, "application/json").is_ok());
        assert!(run(b"wikitext=%27%27hi", "application/x-www-form-urlencoded").is_ok());
        assert!(run(b"wikitext=x&body_only=true", "application/x-www-form-urlencoded").is_ok());
        assert!(matches!(run(b"wikitext=x&body_only=yes", "application/x-www-form-urlencoded"), Err(Invalid::Parameter(_))));
        assert!(matches!(run(br#"{"wikitext":"#, "application/json"), Err(Invalid::Body(_))));
        assert!(matches!(run(br#"{"other":1}"#, "application/json"), Err(Invalid::Parameter(_))));
        assert!(matches!(run(br#"{"wikitext":"far too long text"}"#, "application/json"), Err(Invalid::Parameter(_))));
        assert!(matches!(run(b"x", "text/plain"), Err(Invalid::Body(_))));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(run(deep.as_bytes(), "application/json"), Err(Invalid::Body(_))));
        let none = v.validate(&Input { path: &e, query: &e, headers: &e, body: None, content_type: None });
        assert!(none.is_err());
    }

    #[test]
    fn unconstrained_parameters_compile_no_schema() {
        let v = Validator::compile(&[param(json!({"name":"title","in":"path","required":true,"schema":{"type":"string"}}))], None, &json!({})).unwrap();
        assert!(v.path[0].schema.is_none());
    }
}
