//! Request validation against an operation's OpenAPI parameters and request body.
//!
//! As in RESTBase (hyperswitch's validator), all parts of a request are checked by one JSON
//! schema over `{params, query, headers, body}`, compiled once per operation. String values are
//! first coerced to the declared type, so `revision=abc` fails as "should be an integer".
//! Unlike RESTBase, header parameters are matched case-insensitively (so they are really checked)
//! and booleans accept only `true`/`false`.

use crate::spec::model::{Location, Parameter, RequestBody};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Schema keywords copied from a parameter's schema (hyperswitch's list; `format` is not checked).
const KEYWORDS: &[&str] = &[
    "type", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
    "maxItems", "minItems", "uniqueItems", "enum", "multipleOf",
];

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Form,
}

#[derive(Debug)]
struct Body {
    required: bool,
    formats: Vec<BodyFormat>,
}

pub struct Validator {
    path: Vec<Param>,
    query: Vec<Param>,
    headers: Vec<Param>,
    body: Option<Body>,
    /// None when presence and type coercion already say everything.
    schema: Option<jsonschema::Validator>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").field("path", &self.path).field("query", &self.query).field("schema", &self.schema.is_some()).finish()
    }
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

fn filtered(schema: &Value) -> (Value, bool) {
    let mut out = Map::new();
    let mut constrained = false;
    if let Some(obj) = schema.as_object() {
        for (k, v) in obj {
            if KEYWORDS.contains(&k.as_str()) {
                constrained |= k != "type";
                out.insert(k.clone(), v.clone());
            }
        }
    }
    (Value::Object(out), constrained)
}

fn part_schema(params: &[&Parameter]) -> (Value, bool) {
    let mut props = Map::new();
    let mut constrained = false;
    for p in params {
        let (s, c) = p.schema.as_ref().map(filtered).unwrap_or((Value::Object(Map::new()), false));
        constrained |= c;
        let name = if p.location == Location::Header { p.name.to_ascii_lowercase() } else { p.name.clone() };
        props.insert(name, s);
    }
    (serde_json::json!({ "type": "object", "properties": props }), constrained)
}

impl Validator {
    /// Compiles the validator of one operation; `components` lets body schemas use `$ref`.
    pub fn compile(parameters: &[Parameter], body: Option<&RequestBody>, components: Option<&Value>) -> Result<Validator, String> {
        let by = |loc: Location| parameters.iter().filter(|p| p.location == loc).collect::<Vec<_>>();
        let (path, query, headers) = (by(Location::Path), by(Location::Query), by(Location::Header));
        let to_params = |ps: &[&Parameter], lower: bool| {
            ps.iter()
                .map(|p| Param {
                    name: if lower { p.name.to_ascii_lowercase() } else { p.name.clone() },
                    required: p.required || p.location == Location::Path,
                    kind: kind_of(p.schema.as_ref()),
                })
                .collect::<Vec<_>>()
        };

        let mut properties = Map::new();
        let mut constrained = false;
        for (part, ps) in [("params", &path), ("query", &query), ("headers", &headers)] {
            let (s, c) = part_schema(ps);
            constrained |= c;
            properties.insert(part.to_string(), s);
        }
        let mut body_spec = None;
        if let Some(rb) = body {
            let mut formats = Vec::new();
            for (media, mt) in &rb.content {
                let format = if media.starts_with("application/json") {
                    BodyFormat::Json
                } else if media.starts_with("application/x-www-form-urlencoded") {
                    BodyFormat::Form
                } else {
                    return Err(format!("requestBody: unsupported media type '{media}' (application/json or application/x-www-form-urlencoded)"));
                };
                formats.push(format);
                if let Some(s) = &mt.schema {
                    if !properties.contains_key("body") {
                        properties.insert("body".into(), s.clone());
                        constrained = true;
                    }
                }
            }
            body_spec = Some(Body { required: rb.required, formats });
        }

        let schema = if constrained {
            let mut root = serde_json::json!({ "type": "object", "properties": properties });
            if let (Some(c), Some(obj)) = (components, root.as_object_mut()) {
                obj.insert("components".into(), c.clone());
            }
            Some(jsonschema::validator_for(&root).map_err(|e| format!("parameter schema: {e}"))?)
        } else {
            None
        };
        Ok(Validator {
            path: to_params(&path, false),
            query: to_params(&query, false),
            headers: to_params(&headers, true),
            body: body_spec,
            schema,
        })
    }

    /// Lower-case names of the request headers this operation validates.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().map(|p| p.name.as_str())
    }

    pub fn wants_body(&self) -> bool {
        self.body.is_some()
    }

    pub fn validate(&self, input: &Input<'_>) -> Result<(), Invalid> {
        self.check(input, true)
    }

    /// Path, query and headers only: the body has not arrived yet.
    pub fn validate_without_body(&self, input: &Input<'_>) -> Result<(), Invalid> {
        self.check(input, false)
    }

    fn check(&self, input: &Input<'_>, with_body: bool) -> Result<(), Invalid> {
        let params = coerce("params", &self.path, input.path)?;
        let query = coerce("query", &self.query, input.query)?;
        let headers = coerce("headers", &self.headers, input.headers)?;
        let mut instance = Map::new();
        instance.insert("params".into(), params);
        instance.insert("query".into(), query);
        instance.insert("headers".into(), headers);
        if let Some(spec) = self.body.as_ref().filter(|_| with_body) {
            match input.body.filter(|b| !b.is_empty()) {
                Some(bytes) => {
                    instance.insert("body".into(), parse_body(spec, bytes, input.content_type)?);
                }
                None if spec.required => return Err(Invalid::Parameter("data should have required property 'body'".into())),
                None => {}
            }
        }
        let Some(schema) = &self.schema else { return Ok(()) };
        let instance = Value::Object(instance);
        schema.validate(&instance).map_err(|e| {
            let at = e.instance_path().as_str().replace('/', ".");
            let message: String = e.to_string().chars().take(300).collect();
            Invalid::Parameter(format!("data{at} {message}"))
        })
    }
}

fn coerce(part: &str, params: &[Param], values: &HashMap<String, String>) -> Result<Value, Invalid> {
    let mut out = Map::new();
    for p in params {
        match values.get(&p.name) {
            None if p.required => return Err(Invalid::Parameter(format!("data.{part} should have required property '{}'", p.name))),
            None => {}
            Some(raw) => {
                out.insert(p.name.clone(), coerce_value(part, p, raw)?);
            }
        }
    }
    Ok(Value::Object(out))
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
            Ok(Value::Object(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
        }
    }
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
        let v = Validator::compile(&[param(json!({"name":"revision","in":"path","required":true,"schema":{"type":"integer"}}))], None, None).unwrap();
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
            None,
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
            &[
                param(json!({"name":"q","in":"query","required":true,"schema":{"type":"string"}})),
                param(json!({"name":"Accept-Language","in":"header","schema":{"type":"string","maxLength":5}})),
            ],
            None,
            None,
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
            "application/json": {"schema": {"type":"object","required":["wikitext"],"properties":{"wikitext":{"type":"string","maxLength":10}}}},
            "application/x-www-form-urlencoded": {}
        }}))
        .unwrap();
        let v = Validator::compile(&[], Some(&body), None).unwrap();
        let e = HashMap::new();
        let run = |b: &[u8], ct: &str| v.validate(&Input { path: &e, query: &e, headers: &e, body: Some(b), content_type: Some(ct) });
        assert!(run(br#"{"wikitext":"''hi''"}"#, "application/json").is_ok());
        assert!(run(b"wikitext=%27%27hi", "application/x-www-form-urlencoded").is_ok());
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
    fn unconstrained_operations_compile_no_schema() {
        let v = Validator::compile(&[param(json!({"name":"title","in":"path","required":true,"schema":{"type":"string"}}))], None, None).unwrap();
        assert!(v.schema.is_none());
    }
}
