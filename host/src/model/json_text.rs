//! JSON text kept as a `String` but serialised as the JSON it holds: `"schema": {"type": ..}`
//! rather than an escaped string. Text that is not JSON is written as a string, and a string is
//! read back as itself, so nothing is lost either way.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Write `text` as the JSON it holds (as a string when it holds none).
pub fn serialize<S: Serializer>(text: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match text.as_deref().map(serde_json::from_str::<&RawValue>) {
        Some(Ok(raw)) => raw.serialize(serializer),
        Some(Err(_)) => text.serialize(serializer),
        None => serializer.serialize_none(),
    }
}

/// Read a JSON value back as its text (a string as the string itself).
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(deserializer)?.map(|value| match value {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Holder {
        #[serde(default, skip_serializing_if = "Option::is_none", with = "super")]
        schema: Option<String>,
    }

    #[test]
    fn json_text_is_written_as_json_and_read_back_as_text() {
        let holder = Holder { schema: Some(r#"{"type":"object"}"#.into()) };
        let text = serde_json::to_string(&holder).unwrap();
        assert_eq!(text, r#"{"schema":{"type":"object"}}"#);
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), holder);
        let broken = Holder { schema: Some("{not json".into()) };
        let text = serde_json::to_string(&broken).unwrap();
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), broken, "kept as a string");
        assert_eq!(serde_json::from_str::<Holder>("{}").unwrap(), Holder { schema: None });
    }
}
