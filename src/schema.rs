//! A JSON-schema validator for the keywords RESTBase's validator used (hyperswitch/ajv v6):
//! type, enum, pattern, minimum/maximum (and their exclusive forms), minLength/maxLength,
//! multipleOf, required, properties, additionalProperties, items, minItems/maxItems,
//! uniqueItems, and local `$ref`s.
//!
//! Written here rather than taken from the `jsonschema` crate on numbers: that crate adds about
//! 2.7 MB to the module (3.4 MB in all), which made Envoy's start-up 4.8–5.1 s and its RSS
//! 175 MB; with this module and `regex-lite` the filter is 0.7 MB, starts in about 1.2 s and
//! uses 108 MB (BENCHMARKS.md). A keyword it does not know is refused when the spec is loaded,
//! never silently skipped; annotations (description, example, format, …) are ignored, as
//! RESTBase did.

use regex_lite::Regex;
use serde_json::{Map, Value};

const ANNOTATIONS: &[&str] = &["description", "title", "example", "examples", "default", "format", "deprecated", "readOnly", "writeOnly", "nullable", "xml", "externalDocs", "$comment"];
const MAX_REF_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    Null,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            "object" => Type::Object,
            "array" => Type::Array,
            "null" => Type::Null,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
            Type::Object => "object",
            Type::Array => "array",
            Type::Null => "null",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match self {
            Type::String => v.is_string(),
            Type::Integer => v.as_i64().is_some() || v.as_u64().is_some() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
            Type::Number => v.is_number(),
            Type::Boolean => v.is_boolean(),
            Type::Object => v.is_object(),
            Type::Array => v.is_array(),
            Type::Null => v.is_null(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Schema {
    types: Vec<Type>,
    enumeration: Option<Vec<Value>>,
    pattern: Option<(Regex, String)>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    minimum: Option<(f64, bool)>,
    maximum: Option<(f64, bool)>,
    multiple_of: Option<f64>,
    required: Vec<String>,
    properties: Vec<(String, Schema)>,
    /// `additionalProperties`: None allows anything, Some(None) forbids, Some(Some(s)) checks.
    additional: Option<Option<Box<Schema>>>,
    items: Option<Box<Schema>>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
}

fn number(v: &Value, key: &str) -> Result<f64, String> {
    v.as_f64().filter(|f| f.is_finite()).ok_or_else(|| format!("{key} must be a number"))
}

fn count(v: &Value, key: &str) -> Result<u64, String> {
    v.as_u64().ok_or_else(|| format!("{key} must be a non-negative integer"))
}

impl Schema {
    /// Compiles `schema`; `root` is the document local `$ref`s (`#/components/...`) point into.
    pub fn compile(schema: &Value, root: &Value) -> Result<Schema, String> {
        Self::compile_at(schema, root, 0)
    }

    fn compile_at(schema: &Value, root: &Value, depth: usize) -> Result<Schema, String> {
        let obj = match schema {
            Value::Object(o) => o,
            Value::Bool(true) => return Ok(Schema::default()),
            _ => return Err("a schema must be an object".into()),
        };
        if let Some(r) = obj.get("$ref") {
            let target = r.as_str().unwrap_or_default();
            if depth >= MAX_REF_DEPTH {
                return Err(format!("$ref '{target}': too deeply nested (recursive schema?)"));
            }
            let pointer = target.strip_prefix('#').ok_or_else(|| format!("$ref '{target}': only local references are supported"))?;
            let resolved = root.pointer(pointer).ok_or_else(|| format!("$ref '{target}' points at nothing"))?;
            return Self::compile_at(resolved, root, depth + 1);
        }
        let mut s = Schema::default();
        let mut exclusive_min = false;
        let mut exclusive_max = false;
        for (key, v) in obj {
            match key.as_str() {
                "type" => {
                    let names: Vec<&str> = match v {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    s.types = names.iter().map(|n| Type::parse(n).ok_or_else(|| format!("type: unknown type '{n}'"))).collect::<Result<_, _>>()?;
                }
                "enum" => s.enumeration = Some(v.as_array().cloned().ok_or("enum must be an array")?),
                "pattern" => {
                    let p = v.as_str().ok_or("pattern must be a string")?;
                    let re = Regex::new(p).map_err(|e| format!("pattern '{p}': {e}"))?;
                    s.pattern = Some((re, p.to_string()));
                }
                "minLength" => s.min_length = Some(count(v, key)?),
                "maxLength" => s.max_length = Some(count(v, key)?),
                "minItems" => s.min_items = Some(count(v, key)?),
                "maxItems" => s.max_items = Some(count(v, key)?),
                "uniqueItems" => s.unique_items = v.as_bool().unwrap_or(false),
                "minimum" => s.minimum = Some((number(v, key)?, false)),
                "maximum" => s.maximum = Some((number(v, key)?, false)),
                // OpenAPI 3.0 (draft 4) booleans, or draft 6+ numbers.
                "exclusiveMinimum" => match v {
                    Value::Bool(b) => exclusive_min = *b,
                    _ => s.minimum = Some((number(v, key)?, true)),
                },
                "exclusiveMaximum" => match v {
                    Value::Bool(b) => exclusive_max = *b,
                    _ => s.maximum = Some((number(v, key)?, true)),
                },
                "multipleOf" => {
                    let m = number(v, key)?;
                    if m <= 0.0 {
                        return Err("multipleOf must be positive".into());
                    }
                    s.multiple_of = Some(m);
                }
                "required" => s.required = v.as_array().ok_or("required must be an array")?.iter().filter_map(|r| r.as_str().map(str::to_string)).collect(),
                "properties" => {
                    let props = v.as_object().ok_or("properties must be an object")?;
                    for (name, p) in props {
                        s.properties.push((name.clone(), Self::compile_at(p, root, depth).map_err(|e| format!("properties.{name}: {e}"))?));
                    }
                }
                "additionalProperties" => {
                    s.additional = Some(match v {
                        Value::Bool(true) => Some(Box::new(Schema::default())),
                        Value::Bool(false) => None,
                        other => Some(Box::new(Self::compile_at(other, root, depth).map_err(|e| format!("additionalProperties: {e}"))?)),
                    })
                }
                "items" => s.items = Some(Box::new(Self::compile_at(v, root, depth).map_err(|e| format!("items: {e}"))?)),
                k if ANNOTATIONS.contains(&k) || k.starts_with("x-") => {}
                other => return Err(format!("schema keyword '{other}' is not supported")),
            }
        }
        if exclusive_min {
            s.minimum = s.minimum.map(|(m, _)| (m, true));
        }
        if exclusive_max {
            s.maximum = s.maximum.map(|(m, _)| (m, true));
        }
        Ok(s)
    }

    /// True when only `type` is set: coercion already checked it.
    pub fn is_trivial(&self) -> bool {
        self.enumeration.is_none()
            && self.pattern.is_none()
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.multiple_of.is_none()
            && self.required.is_empty()
            && self.properties.is_empty()
            && self.additional.is_none()
            && self.items.is_none()
            && self.min_items.is_none()
            && self.max_items.is_none()
            && !self.unique_items
    }

    /// Checks `v`; the error reads like ajv's (`data.params.revision should be integer`), with
    /// `at` the path of `v`.
    pub fn validate(&self, v: &Value, at: &str) -> Result<(), String> {
        let fail = |what: String| Err(format!("{at} {what}"));
        if !self.types.is_empty() && !self.types.iter().any(|t| t.matches(v)) {
            let names: Vec<&str> = self.types.iter().map(|t| t.name()).collect();
            return fail(format!("should be {}", names.join(",")));
        }
        if let Some(allowed) = &self.enumeration {
            if !allowed.contains(v) {
                let list: Vec<String> = allowed.iter().map(|a| a.as_str().map(str::to_string).unwrap_or_else(|| a.to_string())).collect();
                return fail(format!("should be equal to one of the allowed values: [{}]", list.join(", ")));
            }
        }
        match v {
            Value::String(text) => {
                let chars = text.chars().count() as u64;
                if let Some(min) = self.min_length.filter(|m| chars < *m) {
                    return fail(format!("should NOT be shorter than {min} characters"));
                }
                if let Some(max) = self.max_length.filter(|m| chars > *m) {
                    return fail(format!("should NOT be longer than {max} characters"));
                }
                if let Some((re, p)) = &self.pattern {
                    if !re.is_match(text) {
                        return fail(format!("should match pattern \"{p}\""));
                    }
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if let Some((m, excl)) = self.minimum {
                    if x < m || (excl && x == m) {
                        return fail(format!("should be {} {m}", if excl { ">" } else { ">=" }));
                    }
                }
                if let Some((m, excl)) = self.maximum {
                    if x > m || (excl && x == m) {
                        return fail(format!("should be {} {m}", if excl { "<" } else { "<=" }));
                    }
                }
                if let Some(m) = self.multiple_of {
                    let q = x / m;
                    if (q - q.round()).abs() > 1e-9 {
                        return fail(format!("should be multiple of {m}"));
                    }
                }
            }
            Value::Object(obj) => self.validate_object(obj, at)?,
            Value::Array(items) => {
                let n = items.len() as u64;
                if let Some(min) = self.min_items.filter(|m| n < *m) {
                    return fail(format!("should NOT have fewer than {min} items"));
                }
                if let Some(max) = self.max_items.filter(|m| n > *m) {
                    return fail(format!("should NOT have more than {max} items"));
                }
                if self.unique_items && items.iter().enumerate().any(|(i, a)| items.iter().skip(i + 1).any(|b| a == b)) {
                    return fail("should NOT have duplicate items".into());
                }
                if let Some(schema) = &self.items {
                    for (i, item) in items.iter().enumerate() {
                        schema.validate(item, &format!("{at}[{i}]"))?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn validate_object(&self, obj: &Map<String, Value>, at: &str) -> Result<(), String> {
        if let Some(missing) = self.required.iter().find(|r| !obj.contains_key(*r)) {
            return Err(format!("{at} should have required property '{missing}'"));
        }
        for (name, value) in obj {
            match self.properties.iter().find(|(p, _)| p == name) {
                Some((_, schema)) => schema.validate(value, &format!("{at}.{name}"))?,
                None => match &self.additional {
                    Some(None) => return Err(format!("{at} should NOT have additional properties ('{name}')")),
                    Some(Some(schema)) => schema.validate(value, &format!("{at}.{name}"))?,
                    None => {}
                },
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, v: Value) -> Result<(), String> {
        Schema::compile(&schema, &json!({})).unwrap().validate(&v, "data")
    }

    #[test]
    fn keywords() {
        assert!(check(json!({"type": "integer"}), json!(3)).is_ok());
        assert_eq!(check(json!({"type": "integer"}), json!("3")), Err("data should be integer".into()));
        assert!(check(json!({"type": "integer"}), json!(3.5)).is_err());
        assert!(check(json!({"enum": ["a", "b"]}), json!("c")).unwrap_err().contains("allowed values: [a, b]"));
        assert!(check(json!({"pattern": "^[0-9]{4}$"}), json!("2020")).is_ok());
        assert!(check(json!({"pattern": "^[0-9]{4}$"}), json!("20201")).is_err());
        assert!(check(json!({"minLength": 2, "maxLength": 3}), json!("é")).is_err());
        assert!(check(json!({"minLength": 2, "maxLength": 3}), json!("éé")).is_ok());
        assert!(check(json!({"minimum": 1, "maximum": 10}), json!(0)).is_err());
        assert!(check(json!({"minimum": 1, "exclusiveMinimum": true}), json!(1)).is_err());
        assert!(check(json!({"exclusiveMaximum": 10}), json!(10)).is_err());
        assert!(check(json!({"multipleOf": 0.5}), json!(1.5)).is_ok());
        assert!(check(json!({"multipleOf": 2}), json!(3)).is_err());
        assert!(check(json!({"type": "array", "items": {"type": "string"}, "maxItems": 2, "uniqueItems": true}), json!(["a", "a"])).is_err());
        assert_eq!(check(json!({"type": "array", "items": {"type": "string"}}), json!(["a", 1])), Err("data[1] should be string".into()));
    }

    #[test]
    fn objects_and_refs() {
        let root = json!({"components": {"schemas": {"t": {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}, "additionalProperties": false}}}});
        let s = Schema::compile(&json!({"$ref": "#/components/schemas/t"}), &root).unwrap();
        assert!(s.validate(&json!({"x": "a"}), "data.body").is_ok());
        assert_eq!(s.validate(&json!({}), "data.body"), Err("data.body should have required property 'x'".into()));
        assert_eq!(s.validate(&json!({"x": 1}), "data.body"), Err("data.body.x should be string".into()));
        assert!(s.validate(&json!({"x": "a", "y": 1}), "data.body").is_err());
    }

    #[test]
    fn unknown_keywords_and_bad_refs_fail_at_load() {
        assert!(Schema::compile(&json!({"oneOf": []}), &json!({})).unwrap_err().contains("oneOf"));
        assert!(Schema::compile(&json!({"$ref": "#/nope"}), &json!({})).is_err());
        assert!(Schema::compile(&json!({"$ref": "http://x/y"}), &json!({})).is_err());
        let recursive = json!({"a": {"$ref": "#/a"}});
        assert!(Schema::compile(&json!({"$ref": "#/a"}), &recursive).is_err());
        assert!(Schema::compile(&json!({"pattern": "("}), &json!({})).is_err());
        assert!(Schema::compile(&json!({"description": "x", "format": "date", "x-y": 1}), &json!({})).unwrap().is_trivial());
    }
}
