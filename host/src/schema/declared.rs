//! Declared schemas: the JSON Schema an endpoint declares for its records, compiled once with
//! the `jsonschema` crate and checked against every record.
//!
//! The crate is built without its default features, so a `$ref` to another file or a URL is
//! never fetched: such a schema is refused when it is compiled.

use serde_json::Value;

use super::SchemaError;
use super::shape::StreamSchema;

/// The longest validator message kept in a dead letter's one-line error.
const MAX_MESSAGE: usize = 200;

/// One endpoint's declared JSON Schema, compiled.
#[derive(Debug, Clone)]
pub struct DeclaredSchema {
    endpoint: String,
    document: Value,
    validator: jsonschema::Validator,
    shape: StreamSchema,
}

/// A record that does not satisfy its declared schema: the first failing place and the
/// validator's message (values masked, so a large or secret value is not repeated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record does not match the declared schema at {path}: {message}")]
pub struct DeclaredMismatch {
    /// The failing place as a JSON pointer (`/user/id`), or `(record)` for the record itself.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl DeclaredSchema {
    /// Compile `text`, the schema `endpoint` declares. The draft is the one its `$schema` names
    /// (2020-12 when it names none). Text that is not JSON, not a valid schema, or refers to
    /// another document is an error naming the endpoint.
    pub fn compile(endpoint: &str, text: &str) -> Result<DeclaredSchema, SchemaError> {
        let invalid = |reason: String| SchemaError::InvalidDeclared { endpoint: endpoint.to_string(), reason };
        let document: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let validator = jsonschema::validator_for(&document).map_err(|e| invalid(one_line(&e.to_string())))?;
        let shape = StreamSchema::from_json_schema(&document).map_err(invalid)?;
        Ok(DeclaredSchema { endpoint: endpoint.to_string(), document, validator, shape })
    }

    /// Check one record's JSON against the schema.
    pub fn validate(&self, json: &str) -> Result<(), DeclaredMismatch> {
        let value: Value = serde_json::from_str(json).map_err(|e| DeclaredMismatch {
            path: "(record)".into(),
            message: format!("cannot be read for validation: {e}"),
        })?;
        self.validator.validate(&value).map_err(|error| {
            let pointer = error.instance_path().to_string();
            DeclaredMismatch {
                path: if pointer.is_empty() { "(record)".into() } else { pointer },
                message: one_line(&error.masked().to_string()),
            }
        })
    }

    /// The endpoint that declared it.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The schema as declared.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The shape it describes, a baseline for drift and typed columns.
    pub fn shape(&self) -> &StreamSchema {
        &self.shape
    }
}

/// `text` on one line and at most [`MAX_MESSAGE`] characters.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: &str = r#"{
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "integer"},
            "user": {"type": "object", "properties": {"id": {"type": "integer"}}}
        }
    }"#;

    #[test]
    fn a_record_that_breaks_the_schema_gets_one_line_naming_the_path() {
        let declared = DeclaredSchema::compile("issues", ISSUE).unwrap();
        assert!(declared.validate(r#"{"id":1,"user":{"id":2}}"#).is_ok());
        let err = declared.validate(r#"{"id":1,"user":{"id":"secret-ish"}}"#).unwrap_err();
        assert_eq!(err.path, "/user/id");
        assert!(!err.to_string().contains("secret-ish"), "values are masked: {err}");
        assert!(err.to_string().contains("integer") && !err.to_string().contains('\n'), "{err}");
        let missing = declared.validate(r#"{"user":{}}"#).unwrap_err();
        assert_eq!(missing.path, "(record)");
        assert!(missing.message.contains("\"id\""), "{missing}");
        assert_eq!(declared.shape().root.fields["user"].fields["id"].types.types().to_string(), "integer");
    }

    #[test]
    fn an_invalid_schema_is_refused_naming_the_endpoint() {
        for text in [r#"{"type": 12}"#, r#"{"type": "object""#, r#"{"minimum": "five"}"#] {
            let err = DeclaredSchema::compile("charges", text).unwrap_err().to_string();
            assert!(err.starts_with("endpoint charges declares"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn compiled_schemas_and_observers_can_move_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<DeclaredSchema>();
        shareable::<crate::schema::SchemaObserver>();
        let declared = DeclaredSchema::compile("issues", ISSUE).unwrap();
        let checked = std::thread::spawn(move || declared.validate(r#"{"id":1}"#)).join().unwrap();
        assert_eq!(checked, Ok(()));
    }

    #[test]
    fn a_reference_to_another_document_is_refused_not_fetched() {
        // Loopback's discard port: were anything fetched, it would not leave the machine.
        let text = r#"{"$ref": "http://127.0.0.1:9/issue.json"}"#;
        let err = DeclaredSchema::compile("issues", text).unwrap_err().to_string();
        assert!(err.contains("issues") && err.contains("127.0.0.1:9"), "{err}");
    }
}
