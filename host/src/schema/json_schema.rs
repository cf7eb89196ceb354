//! A [`StreamSchema`] to JSON Schema text (the Draft 4 subset Singer targets validate with) and
//! back from a declared JSON Schema (for typed columns and as a drift baseline).

use serde_json::{Map, Value, json};

use super::infer::MAX_DEPTH;
use super::json_type::{JsonType, TypeCounts, TypeSet};
use super::shape::{FieldShape, StreamSchema};

/// How many `$ref`s one path may follow: recursive definitions stop here.
const MAX_REF_HOPS: usize = 32;

impl StreamSchema {
    /// The schema as JSON Schema using only `type` (lists, with `"null"`), `properties` and
    /// `items`, valid under Draft 4 and every later draft. Every field allows `null`: contracts
    /// treat a null like a missing field, so the exported schema does too. A field seen both as
    /// integer and number is a `number`; one never seen with any type allows anything.
    pub fn to_json_schema(&self) -> Value {
        let mut schema = export(&self.root, false);
        schema.insert("$schema".into(), json!("http://json-schema.org/draft-04/schema#"));
        Value::Object(schema)
    }

    /// The shape a declared JSON Schema describes: `type`, `properties`, `items`, `enum` and
    /// `const` are read, `anyOf`/`oneOf`/`allOf` branches are united, local `$ref`s
    /// (`#/definitions/..`, `#/$defs/..`) are followed; anything else allows every type. No
    /// value is counted. An unresolvable `$ref` is an error.
    pub fn from_json_schema(schema: &Value) -> Result<StreamSchema, String> {
        Ok(StreamSchema { root: import(schema, schema, 0, 0)? })
    }
}

fn export(shape: &FieldShape, nullable: bool) -> Map<String, Value> {
    let mut types = shape.types.types();
    if types.contains(JsonType::Number) {
        types = types.iter().filter(|t| *t != JsonType::Integer).collect();
    }
    let mut out = Map::new();
    if !types.is_empty() {
        let types = if nullable { types.with(JsonType::Null) } else { types };
        out.insert("type".into(), types.iter().map(|t| json!(t.name())).collect());
    }
    if !shape.fields.is_empty() {
        let properties = shape.fields.iter().map(|(k, f)| (k.clone(), Value::Object(export(f, true)))).collect();
        out.insert("properties".into(), Value::Object(properties));
    }
    if let Some(items) = &shape.items {
        out.insert("items".into(), Value::Object(export(items, true)));
    }
    out
}

fn import(schema: &Value, document: &Value, depth: usize, hops: usize) -> Result<FieldShape, String> {
    let map = match schema {
        Value::Object(map) => map,
        Value::Bool(false) => return Ok(FieldShape::default()),
        _ => return Ok(any()),
    };
    if let Some(target) = map.get("$ref").and_then(Value::as_str) {
        if hops >= MAX_REF_HOPS {
            return Ok(any());
        }
        let pointer = target.strip_prefix('#').ok_or_else(|| format!("$ref {target:?} is not local to the schema"))?;
        let resolved = document.pointer(pointer).ok_or_else(|| format!("$ref {target:?} points at nothing"))?;
        return import(resolved, document, depth, hops + 1);
    }
    let branches: Vec<&Value> =
        ["anyOf", "oneOf", "allOf"].iter().filter_map(|k| map.get(*k)).filter_map(Value::as_array).flatten().collect();
    let mut shape = FieldShape { types: TypeCounts::allowing(own_types(map)), ..FieldShape::default() };
    if depth < MAX_DEPTH {
        if let Some(properties) = map.get("properties").and_then(Value::as_object) {
            for (key, field) in properties {
                shape.fields.insert(key.clone(), import(field, document, depth + 1, hops)?);
            }
        }
        if let Some(items) = map.get("items").filter(|i| !i.is_array()) {
            shape.items = Some(Box::new(import(items, document, depth + 1, hops)?));
        }
    }
    if !branches.is_empty() {
        let mut united = FieldShape::default();
        for branch in branches {
            united.merge(&import(branch, document, depth, hops)?);
        }
        if shape.types.types() == TypeSet::ANY {
            shape.types = TypeCounts::default();
        }
        shape.merge(&united);
    }
    Ok(shape)
}

/// The types a schema object allows by its own keywords (ignoring combinators).
fn own_types(map: &Map<String, Value>) -> TypeSet {
    if let Some(declared) = map.get("type") {
        let names: Vec<&str> = match declared {
            Value::String(name) => vec![name],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        return names.into_iter().filter_map(JsonType::from_name).collect();
    }
    let values: Vec<&Value> =
        map.get("enum").and_then(Value::as_array).into_iter().flatten().chain(map.get("const")).collect();
    if !values.is_empty() {
        return values.into_iter().map(type_of).collect();
    }
    match (map.contains_key("properties"), map.contains_key("items")) {
        (true, _) => TypeSet::of(JsonType::Object),
        (false, true) => TypeSet::of(JsonType::Array),
        _ => TypeSet::ANY,
    }
}

fn type_of(value: &Value) -> JsonType {
    match value {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Boolean,
        Value::Number(n) if n.is_f64() => JsonType::Number,
        Value::Number(_) => JsonType::Integer,
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Object,
    }
}

fn any() -> FieldShape {
    FieldShape { types: TypeCounts::allowing(TypeSet::ANY), ..FieldShape::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDS: [&str; 3] = [
        r#"{"id":1,"score":2,"user":{"login":"x"},"labels":[{"name":"bug"}],"closed_at":null}"#,
        r#"{"id":2,"score":2.5,"user":{"login":"y"},"labels":[],"closed_at":"2024-01-01"}"#,
        r#"{"id":3,"score":1,"user":null,"labels":[{"name":"x","color":"fff"}]}"#,
    ];

    fn inferred() -> StreamSchema {
        StreamSchema::infer(RECORDS).unwrap()
    }

    #[test]
    fn the_export_is_valid_draft_4_and_accepts_the_records_it_came_from() {
        let schema = inferred().to_json_schema();
        assert!(jsonschema::draft4::meta::is_valid(&schema), "{schema}");
        let validator = jsonschema::draft4::new(&schema).unwrap();
        for json in RECORDS {
            assert!(validator.is_valid(&serde_json::from_str(json).unwrap()), "{json}");
        }
        assert!(!validator.is_valid(&json!({"id": "one"})), "a string id breaks the schema");
        assert_eq!(schema["properties"]["score"]["type"], json!(["null", "number"]));
        assert_eq!(schema["properties"]["labels"]["items"]["properties"]["color"]["type"], json!(["null", "string"]));
        assert_eq!(schema["type"], json!(["object"]), "the record itself is never null");
    }

    #[test]
    fn a_declared_schema_becomes_a_shape_following_refs_and_nullable_branches() {
        let declared = json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "state": {"enum": ["open", "closed"]},
                "user": {"anyOf": [{"$ref": "#/$defs/User"}, {"type": "null"}]},
                "tags": {"type": "array", "items": {"type": ["string", "null"]}},
                "extra": {}
            },
            "$defs": {"User": {"type": "object", "properties": {"login": {"type": "string"}}}}
        });
        let shape = StreamSchema::from_json_schema(&declared).unwrap();
        let types = |path: &str| {
            let field = shape.fields().into_iter().find(|(p, _)| p.as_str() == path).expect(path).1;
            field.types.types().to_string()
        };
        assert_eq!(types("id"), "integer");
        assert_eq!(types("state"), "string");
        assert_eq!(types("user"), "null|object");
        assert_eq!(types("user.login"), "string");
        assert_eq!(types("tags[]"), "null|string");
        assert_eq!(types("extra"), "null|boolean|integer|number|string|object|array");
        assert_eq!(shape.records(), 0, "nothing counted");
        let err = StreamSchema::from_json_schema(&json!({"$ref": "#/$defs/Nope"})).unwrap_err();
        assert!(err.contains("#/$defs/Nope"), "{err}");
    }
}
