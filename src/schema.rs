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

/// Ignored, as RESTBase did. `nullable` is not among them: it changes what validates.
const ANNOTATIONS: &[&str] = &["description", "title", "example", "examples", "default", "format", "deprecated", "readOnly", "writeOnly", "xml", "externalDocs", "$comment"];
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
            // A number with no fractional part, `2.0` included (JSON Schema draft 6 on).
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
    minimum: Option<f64>,
    exclusive_minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_maximum: Option<f64>,
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

/// The location of `key` under `at`, as a JSON pointer (relative to the schema being compiled,
/// or from the document root after a `$ref`).
fn child(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn number(v: &Value, at: &str) -> Result<f64, String> {
    v.as_f64().filter(|f| f.is_finite()).ok_or_else(|| format!("'{at}' must be a number"))
}

fn count(v: &Value, at: &str) -> Result<u64, String> {
    v.as_u64().ok_or_else(|| format!("'{at}' must be a non-negative integer"))
}

fn boolean(v: &Value, at: &str) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| format!("'{at}' must be true or false"))
}

impl Schema {
    /// Compiles `schema`; `root` is the document local `$ref`s (`#/components/...`) point into.
    /// A keyword this validator does not know, or one whose value has the wrong form, is
    /// refused with its location (`properties/title/maxLength`), never skipped.
    pub fn compile(schema: &Value, root: &Value) -> Result<Schema, String> {
        Self::compile_at(schema, root, 0, "")
    }

    fn compile_at(schema: &Value, root: &Value, depth: usize, at: &str) -> Result<Schema, String> {
        let obj = match schema {
            Value::Object(o) => o,
            Value::Bool(true) => return Ok(Schema::default()),
            _ => return Err(format!("'{}' must be a schema object", if at.is_empty() { "/" } else { at })),
        };
        if let Some(r) = obj.get("$ref") {
            let target = r.as_str().ok_or_else(|| format!("'{}' must be a string", child(at, "$ref")))?;
            if depth >= MAX_REF_DEPTH {
                return Err(format!("$ref '{target}': too deeply nested (recursive schema?)"));
            }
            let pointer = target.strip_prefix('#').ok_or_else(|| format!("$ref '{target}': only local references are supported"))?;
            let resolved = root.pointer(pointer).ok_or_else(|| format!("$ref '{target}' points at nothing"))?;
            return Self::compile_at(resolved, root, depth + 1, target);
        }
        let mut s = Schema::default();
        let mut nullable = false;
        for (key, v) in obj {
            let here = child(at, key);
            match key.as_str() {
                "type" => s.types = types(v, &here)?,
                // OpenAPI 3.0: `true` adds null to the types given beside it (no effect without).
                "nullable" => nullable = boolean(v, &here)?,
                "enum" => {
                    let values = v.as_array().filter(|a| !a.is_empty()).ok_or_else(|| format!("'{here}' must be a non-empty array"))?;
                    s.enumeration = Some(values.clone());
                }
                "pattern" => {
                    let p = v.as_str().ok_or_else(|| format!("'{here}' must be a string"))?;
                    let re = Regex::new(p).map_err(|e| format!("'{here}' '{p}': {e}"))?;
                    s.pattern = Some((re, p.to_string()));
                }
                "minLength" => s.min_length = Some(count(v, &here)?),
                "maxLength" => s.max_length = Some(count(v, &here)?),
                "minItems" => s.min_items = Some(count(v, &here)?),
                "maxItems" => s.max_items = Some(count(v, &here)?),
                "uniqueItems" => s.unique_items = boolean(v, &here)?,
                "minimum" => s.minimum = Some(number(v, &here)?),
                "maximum" => s.maximum = Some(number(v, &here)?),
                // Booleans (OpenAPI 3.0, draft 4) are applied below, once `minimum` is known;
                // numbers (draft 6 on) are bounds of their own.
                "exclusiveMinimum" if v.is_boolean() => {}
                "exclusiveMaximum" if v.is_boolean() => {}
                "exclusiveMinimum" => s.exclusive_minimum = Some(number(v, &here)?),
                "exclusiveMaximum" => s.exclusive_maximum = Some(number(v, &here)?),
                "multipleOf" => {
                    let m = number(v, &here)?;
                    if m <= 0.0 {
                        return Err(format!("'{here}' must be positive"));
                    }
                    s.multiple_of = Some(m);
                }
                "required" => {
                    let names = v.as_array().ok_or_else(|| format!("'{here}' must be an array of property names"))?;
                    s.required = names.iter().map(|n| n.as_str().map(str::to_string).ok_or_else(|| format!("'{here}' must be an array of property names"))).collect::<Result<_, _>>()?;
                    if s.required.iter().enumerate().any(|(i, n)| s.required.iter().skip(i + 1).any(|m| m == n)) {
                        return Err(format!("'{here}' names a property twice"));
                    }
                }
                "properties" => {
                    let props = v.as_object().ok_or_else(|| format!("'{here}' must be an object"))?;
                    for (name, p) in props {
                        s.properties.push((name.clone(), Self::compile_at(p, root, depth, &child(&here, name))?));
                    }
                }
                "additionalProperties" => {
                    s.additional = Some(match v {
                        Value::Bool(true) => Some(Box::new(Schema::default())),
                        Value::Bool(false) => None,
                        other => Some(Box::new(Self::compile_at(other, root, depth, &here)?)),
                    })
                }
                "items" => s.items = Some(Box::new(Self::compile_at(v, root, depth, &here)?)),
                k if ANNOTATIONS.contains(&k) || k.starts_with("x-") => {}
                _ => return Err(format!("'{here}': keyword not supported")),
            }
        }
        if let Some(Value::Bool(exclusive)) = obj.get("exclusiveMinimum") {
            let m = s.minimum.ok_or_else(|| format!("'{}' needs 'minimum' beside it", child(at, "exclusiveMinimum")))?;
            if *exclusive {
                s.minimum = None;
                s.exclusive_minimum = Some(s.exclusive_minimum.map_or(m, |e| e.max(m)));
            }
        }
        if let Some(Value::Bool(exclusive)) = obj.get("exclusiveMaximum") {
            let m = s.maximum.ok_or_else(|| format!("'{}' needs 'maximum' beside it", child(at, "exclusiveMaximum")))?;
            if *exclusive {
                s.maximum = None;
                s.exclusive_maximum = Some(s.exclusive_maximum.map_or(m, |e| e.min(m)));
            }
        }
        if nullable && !s.types.is_empty() && !s.types.contains(&Type::Null) {
            s.types.push(Type::Null);
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
            && self.exclusive_minimum.is_none()
            && self.maximum.is_none()
            && self.exclusive_maximum.is_none()
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
            if !allowed.iter().any(|a| json_eq(a, v)) {
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
                if let Some(m) = self.minimum.filter(|m| x < *m) {
                    return fail(format!("should be >= {m}"));
                }
                if let Some(m) = self.exclusive_minimum.filter(|m| x <= *m) {
                    return fail(format!("should be > {m}"));
                }
                if let Some(m) = self.maximum.filter(|m| x > *m) {
                    return fail(format!("should be <= {m}"));
                }
                if let Some(m) = self.exclusive_maximum.filter(|m| x >= *m) {
                    return fail(format!("should be < {m}"));
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
                if self.unique_items && items.iter().enumerate().any(|(i, a)| items.iter().skip(i + 1).any(|b| json_eq(a, b))) {
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

/// `type`: one type name or a non-empty array of them.
fn types(v: &Value, at: &str) -> Result<Vec<Type>, String> {
    let parse = |n: &Value| {
        let name = n.as_str().ok_or_else(|| format!("'{at}' must be a type name or an array of type names"))?;
        Type::parse(name).ok_or_else(|| format!("'{at}': unknown type '{name}'"))
    };
    let types: Vec<Type> = match v {
        Value::String(_) => vec![parse(v)?],
        Value::Array(names) if !names.is_empty() => names.iter().map(parse).collect::<Result<_, _>>()?,
        _ => return Err(format!("'{at}' must be a type name or a non-empty array of type names")),
    };
    if types.iter().enumerate().any(|(i, t)| types.iter().skip(i + 1).any(|u| u == t)) {
        return Err(format!("'{at}' names a type twice"));
    }
    Ok(types)
}

/// Equality as JSON Schema defines it for `enum` and `uniqueItems`: numbers by value (`1` and
/// `1.0` are equal), arrays and objects element by element.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(i), Some(j), _, _) => i == j,
            (_, _, Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64() && x.as_f64().is_some(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b))),
        _ => a == b,
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
    fn malformed_keywords_fail_at_load_naming_keyword_and_place() {
        let refused = |schema: Value| Schema::compile(&schema, &json!({})).unwrap_err();
        assert_eq!(refused(json!({"type": ["string", 1]})), "'/type' must be a type name or an array of type names");
        assert_eq!(refused(json!({"type": []})), "'/type' must be a type name or a non-empty array of type names");
        assert_eq!(refused(json!({"type": "text"})), "'/type': unknown type 'text'");
        assert_eq!(refused(json!({"type": ["string", "string"]})), "'/type' names a type twice");
        assert_eq!(refused(json!({"required": ["a", "a"]})), "'/required' names a property twice");
        assert_eq!(refused(json!({"properties": {"a": {"items": {"uniqueItems": "yes"}}}})), "'/properties/a/items/uniqueItems' must be true or false");
        assert_eq!(refused(json!({"maxLength": -1})), "'/maxLength' must be a non-negative integer");
        assert_eq!(refused(json!({"minItems": 1.5})), "'/minItems' must be a non-negative integer");
        assert_eq!(refused(json!({"required": ["a", 2]})), "'/required' must be an array of property names");
        assert_eq!(refused(json!({"enum": []})), "'/enum' must be a non-empty array");
        assert_eq!(refused(json!({"nullable": "true"})), "'/nullable' must be true or false");
        assert_eq!(refused(json!({"multipleOf": 0})), "'/multipleOf' must be positive");
        assert_eq!(refused(json!({"exclusiveMinimum": true})), "'/exclusiveMinimum' needs 'minimum' beside it");
        assert_eq!(refused(json!({"exclusiveMaximum": "5"})), "'/exclusiveMaximum' must be a number");
        assert_eq!(refused(json!({"additionalProperties": {"oneOf": []}})), "'/additionalProperties/oneOf': keyword not supported");
        assert_eq!(refused(json!({"items": [{"type": "string"}]})), "'/items' must be a schema object");
        assert_eq!(refused(json!({"properties": {"a/b": {"minimum": null}}})), "'/properties/a~1b/minimum' must be a number");
        let root = json!({"components": {"schemas": {"t": {"properties": {"x": {"maxLength": "3"}}}}}});
        let e = Schema::compile(&json!({"$ref": "#/components/schemas/t"}), &root).unwrap_err();
        assert_eq!(e, "'#/components/schemas/t/properties/x/maxLength' must be a non-negative integer");
    }

    #[test]
    fn nullable_adds_null_to_the_given_types_only() {
        assert!(check(json!({"type": "string", "nullable": true}), json!(null)).is_ok());
        assert!(check(json!({"type": "string", "nullable": true, "maxLength": 1}), json!("ab")).is_err());
        assert_eq!(check(json!({"type": "string", "nullable": false}), json!(null)), Err("data should be string".into()));
        assert_eq!(check(json!({"type": "string"}), json!(null)), Err("data should be string".into()));
        // OpenAPI 3.0.3: other keywords keep their meaning, so an enum without null refuses it.
        assert!(check(json!({"type": "string", "nullable": true, "enum": ["a"]}), json!(null)).is_err());
        assert!(check(json!({"type": "string", "nullable": true, "enum": ["a", null]}), json!(null)).is_ok());
        // Without `type`, anything goes already.
        assert!(check(json!({"nullable": true, "minimum": 1}), json!(null)).is_ok());
    }

    #[test]
    fn numbers_compare_by_value_and_bounds_combine() {
        assert!(check(json!({"enum": [1, 2]}), json!(1.0)).is_ok());
        assert!(check(json!({"enum": [[1], {"a": 2.0}]}), json!({"a": 2})).is_ok());
        assert!(check(json!({"uniqueItems": true}), json!([1, 1.0])).is_err());
        assert!(check(json!({"uniqueItems": true}), json!([{"a": [1]}, {"a": [1.0]}])).is_err());
        assert!(check(json!({"uniqueItems": true}), json!([1, "1", true])).is_ok());
        // Draft 6+ numeric bounds apply together with minimum/maximum, whatever their order.
        assert!(check(json!({"minimum": 1, "exclusiveMinimum": 3}), json!(2)).is_err());
        assert!(check(json!({"minimum": 1, "exclusiveMinimum": 3}), json!(3.5)).is_ok());
        assert!(check(json!({"maximum": 9, "exclusiveMaximum": 4}), json!(4)).is_err());
        assert!(check(json!({"minimum": 2, "exclusiveMinimum": false}), json!(2)).is_ok());
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
