//! The filter's JSON-schema validator (`restrouter::schema`) against the `jsonschema` crate: for
//! generated schemas built from the keywords the validator supports, and generated values,
//! both must agree on valid or invalid, and on refusing a schema at all.
//!
//! Specs are OpenAPI 3.0 schemas; the reference validates their JSON Schema draft 7 reading:
//! boolean `exclusiveMinimum`/`exclusiveMaximum` become numeric bounds, `nullable: true` adds
//! `"null"` to the `type` beside it, annotations are dropped and local `$ref`s inlined.
//! Numbers are small halves and quarters, so float rounding cannot make the two differ.
//!
//! Deterministic: a fixed seed and a bounded count, so it runs in seconds in `cargo test`. A
//! disagreement prints the schema and value (and the seed, for a change of generator).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use restrouter::schema::Schema;
use serde_json::{json, Map, Value};

const SEED: u64 = 0x5EED_2026;
const SCHEMAS: usize = 4000;
const VALUES_PER_SCHEMA: usize = 12;

/// SplitMix64: a few lines, reproducible on every platform; no test-only crate needed for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const TYPES: &[&str] = &["string", "integer", "number", "boolean", "object", "array", "null"];
const NAMES: &[&str] = &["a", "b", "c", "d"];
const STRINGS: &[&str] = &["", "a", "ab", "abc", "2020", "é", "éé", "A1", "abcdef", "x/y", "B"];
const PATTERNS: &[&str] = &["^[a-z]+$", "[0-9]", "^a", "b$", "^[0-9]{4}$", "^.{2}$", "é"];
const BOUNDS: &[f64] = &[-2.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 7.25];
const MULTIPLES: &[f64] = &[0.25, 0.5, 1.0, 2.0, 3.0];

fn number_value(rng: &mut Rng) -> Value {
    match rng.below(4) {
        // Integers, written as integers or as floats (`2` and `2.0` must behave alike).
        0 => json!(rng.below(9) as i64 - 3),
        1 => json!((rng.below(9) as f64) - 3.0),
        _ => json!(rng.pick(BOUNDS)),
    }
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 | 3 => number_value(rng),
        _ => json!(rng.pick(STRINGS)),
    }
}

/// A schema in OpenAPI 3.0 style, as the filter reads it from a spec.
fn schema(rng: &mut Rng, depth: u32, components: &[String]) -> Value {
    if !components.is_empty() && rng.chance(8) {
        return json!({"$ref": format!("#/components/schemas/{}", rng.pick(components))});
    }
    let mut s = Map::new();
    let kind = if rng.chance(15) { None } else { Some(rng.pick(TYPES)) };
    match kind {
        Some(t) if rng.chance(10) => {
            s.insert("type".into(), json!([t, rng.pick(TYPES)]));
        }
        Some(t) => {
            s.insert("type".into(), json!(t));
            if rng.chance(20) {
                s.insert("nullable".into(), json!(rng.chance(70)));
            }
        }
        None => {}
    }
    // Mostly keywords of the type, sometimes any (they then apply to other types only).
    let family = if rng.chance(80) { kind.unwrap_or("any") } else { rng.pick(TYPES) };
    match family {
        "string" => {
            if rng.chance(40) {
                s.insert("minLength".into(), json!(rng.below(4)));
            }
            if rng.chance(40) {
                s.insert("maxLength".into(), json!(rng.below(6)));
            }
            if rng.chance(40) {
                s.insert("pattern".into(), json!(rng.pick(PATTERNS)));
            }
        }
        "integer" | "number" => {
            for (bound, exclusive) in [("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")] {
                match rng.below(6) {
                    0 | 1 => {
                        s.insert(bound.into(), json!(rng.pick(BOUNDS)));
                    }
                    2 => {
                        // OpenAPI 3.0 (draft 4) form.
                        s.insert(bound.into(), json!(rng.pick(BOUNDS)));
                        s.insert(exclusive.into(), json!(rng.chance(50)));
                    }
                    3 => {
                        // Draft 6 form, sometimes with the inclusive bound beside it.
                        s.insert(exclusive.into(), json!(rng.pick(BOUNDS)));
                        if rng.chance(50) {
                            s.insert(bound.into(), json!(rng.pick(BOUNDS)));
                        }
                    }
                    _ => {}
                }
            }
            if rng.chance(30) {
                s.insert("multipleOf".into(), json!(rng.pick(MULTIPLES)));
            }
        }
        "array" => {
            if depth > 0 && rng.chance(60) {
                s.insert("items".into(), schema(rng, depth - 1, components));
            }
            if rng.chance(30) {
                s.insert("minItems".into(), json!(rng.below(3)));
            }
            if rng.chance(30) {
                s.insert("maxItems".into(), json!(rng.below(4)));
            }
            if rng.chance(40) {
                s.insert("uniqueItems".into(), json!(rng.chance(70)));
            }
        }
        "object" => {
            if depth > 0 && rng.chance(70) {
                let mut props = Map::new();
                for name in NAMES.iter().take(rng.below(4)) {
                    props.insert((*name).into(), schema(rng, depth - 1, components));
                }
                s.insert("properties".into(), Value::Object(props));
            }
            if rng.chance(40) {
                let required: Vec<&str> = NAMES.iter().copied().filter(|_| rng.chance(35)).collect();
                s.insert("required".into(), json!(required));
            }
            match rng.below(5) {
                0 => {
                    s.insert("additionalProperties".into(), json!(rng.chance(50)));
                }
                1 if depth > 0 => {
                    s.insert("additionalProperties".into(), schema(rng, depth - 1, components));
                }
                _ => {}
            }
        }
        _ => {}
    }
    if rng.chance(15) {
        let values: Vec<Value> = (0..1 + rng.below(3)).map(|_| scalar(rng)).collect();
        s.insert("enum".into(), json!(values));
    }
    if rng.chance(10) {
        s.insert("description".into(), json!("annotations are ignored"));
        s.insert("format".into(), json!("date"));
        s.insert("x-extension".into(), json!({"any": 1}));
    }
    Value::Object(s)
}

/// A value shaped after `schema` most of the time, so both outcomes are common.
fn value(rng: &mut Rng, schema: &Value, root: &Value, depth: u32) -> Value {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => root.pointer(&r[1..]).unwrap(),
        None => schema,
    };
    let wanted = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts[rng.below(ts.len())].as_str().unwrap(),
        _ => "any",
    };
    if rng.chance(15) {
        if let Some(Value::Array(allowed)) = schema.get("enum") {
            return rng.pick(allowed);
        }
    }
    let kind = if rng.chance(80) && wanted != "any" { wanted } else { rng.pick(&["any", "array", "object"]) };
    match kind {
        "string" => json!(rng.pick(STRINGS)),
        "integer" => json!(rng.below(9) as i64 - 3),
        "number" => number_value(rng),
        "boolean" => json!(rng.chance(50)),
        "null" => Value::Null,
        "array" if depth > 0 => {
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            let mut out: Vec<Value> = (0..rng.below(4)).map(|_| value(rng, &items, root, depth - 1)).collect();
            if !out.is_empty() && rng.chance(30) {
                let dup = rng.pick(&out);
                out.push(dup);
            }
            json!(out)
        }
        "object" if depth > 0 => {
            let mut out = Map::new();
            let props = schema.get("properties").and_then(Value::as_object);
            for name in NAMES {
                if rng.chance(55) {
                    let sub = props.and_then(|p| p.get(*name)).cloned().unwrap_or(json!({}));
                    out.insert((*name).into(), value(rng, &sub, root, depth - 1));
                }
            }
            Value::Object(out)
        }
        _ => scalar(rng),
    }
}

/// The draft 7 reading of an OpenAPI 3.0 schema.
fn draft7(schema: &Value, root: &Value) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        return draft7(root.pointer(&r[1..]).unwrap(), root);
    }
    let mut out = Map::new();
    for (key, v) in obj {
        match key.as_str() {
            "description" | "format" | "nullable" => {}
            k if k.starts_with("x-") => {}
            "exclusiveMinimum" | "exclusiveMaximum" if v.is_boolean() => {}
            "properties" => {
                let props = v.as_object().unwrap().iter().map(|(k, p)| (k.clone(), draft7(p, root))).collect();
                out.insert(key.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" => {
                out.insert(key.clone(), draft7(v, root));
            }
            _ => {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    for (bound, exclusive) in [("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")] {
        if obj.get(exclusive) == Some(&json!(true)) {
            let m = out.remove(bound).unwrap();
            out.insert(exclusive.into(), m);
        }
    }
    if obj.get("nullable") == Some(&json!(true)) {
        if let Some(Value::String(t)) = out.get("type").filter(|t| *t != "null") {
            let t = t.clone();
            out.insert("type".into(), json!([t, "null"]));
        }
    }
    Value::Object(out)
}

#[test]
fn agrees_with_the_jsonschema_crate() {
    let mut rng = Rng(SEED);
    let (mut valid, mut invalid, mut refused) = (0usize, 0usize, 0usize);
    for n in 0..SCHEMAS {
        // A few component schemas for `$ref`s to point at.
        let mut components = Map::new();
        for i in 0..rng.below(3) {
            components.insert(format!("S{i}"), schema(&mut rng, 1, &[]));
        }
        let names: Vec<String> = components.keys().cloned().collect();
        let root = json!({"components": {"schemas": components}});
        let s = schema(&mut rng, 2, &names);

        let reference_schema = draft7(&s, &root);
        let (ours, reference) = match (Schema::compile(&s, &root), jsonschema::draft7::new(&reference_schema)) {
            (Ok(ours), Ok(reference)) => (ours, reference),
            (Err(_), Err(_)) => {
                refused += 1;
                continue;
            }
            (ours, reference) => panic!("schema #{n} {s}\n  as draft 7: {reference_schema}\n  ours: {:?}\n  reference: {:?}", ours.err(), reference.err().map(|e| e.to_string())),
        };
        for _ in 0..VALUES_PER_SCHEMA {
            let v = value(&mut rng, &s, &root, 2);
            let got = ours.validate(&v, "data");
            let want = reference.is_valid(&v);
            assert_eq!(got.is_ok(), want, "schema #{n} (seed {SEED:#x}) {s}\n  as draft 7: {reference_schema}\n  value: {v}\n  ours: {got:?}");
            if want {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
    }
    // Both outcomes are well represented, or the comparison proves little.
    let total = valid + invalid;
    eprintln!("{SCHEMAS} schemas ({refused} refused by both), {valid} values valid, {invalid} invalid");
    assert!(valid * 5 > total && invalid * 5 > total, "{valid} valid, {invalid} invalid");
    assert!(refused * 50 < SCHEMAS, "{refused} of {SCHEMAS} schemas refused by both");
}

#[test]
fn the_translation_keeps_openapi_meaning() {
    let root = json!({"components": {"schemas": {"T": {"type": "integer", "minimum": 1, "exclusiveMinimum": true}}}});
    assert_eq!(
        draft7(&json!({"type": "string", "nullable": true, "items": {"$ref": "#/components/schemas/T"}, "format": "date"}), &root),
        json!({"type": ["string", "null"], "items": {"type": "integer", "exclusiveMinimum": 1}})
    );
}
