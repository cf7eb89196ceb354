//! Field paths: `user.login`, `labels[].name`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a field sits in a record: object keys joined by `.`, `[]` for the items of an array.
/// A key that is empty or holds `.`, `[`, `]` or `"` is written as a JSON string, so every
/// path names exactly one place. The empty path is the record itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldPath(String);

impl FieldPath {
    /// The record itself.
    pub fn root() -> FieldPath {
        FieldPath(String::new())
    }

    /// The field `key` of the object at this path.
    pub fn child(&self, key: &str) -> FieldPath {
        let mut path = self.0.clone();
        if !path.is_empty() {
            path.push('.');
        }
        if key.is_empty() || key.contains(['.', '[', ']', '"']) {
            path.push_str(&serde_json::to_string(key).expect("a string always encodes"));
        } else {
            path.push_str(key);
        }
        FieldPath(path)
    }

    /// The items of the array at this path.
    pub fn items(&self) -> FieldPath {
        FieldPath(format!("{}[]", self.0))
    }

    /// Whether this is the record itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The path, or `(record)` for the record itself.
impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() { f.write_str("(record)") } else { f.write_str(&self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_nested_fields_and_array_items_and_quote_awkward_keys() {
        let root = FieldPath::root();
        assert_eq!(root.child("labels").items().child("name").as_str(), "labels[].name");
        assert_eq!(root.child("user").child("login").to_string(), "user.login");
        assert_eq!(root.child("a.b").child("").as_str(), r#""a.b"."""#);
        assert_eq!(root.items().as_str(), "[]");
        assert_eq!(root.to_string(), "(record)");
    }
}
