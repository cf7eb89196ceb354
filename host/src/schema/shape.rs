//! The shape of a stream's records: a tree of fields with the JSON types seen at each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::json_type::{JsonType, TypeCounts};
use super::path::FieldPath;

/// The values seen (or declared) at one place in the records.
///
/// Counts are of values: for a field of the record, how many records had it; for a field
/// inside array items (`labels[].name`), how many items had it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldShape {
    /// How many values had each JSON type.
    pub types: TypeCounts,
    /// The fields of the values that were objects, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldShape>,
    /// The items of the values that were arrays, all together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<FieldShape>>,
}

impl FieldShape {
    /// How many values were seen here: how often the field was present.
    pub fn present(&self) -> u64 {
        self.types.total()
    }

    /// How many of them were `null`.
    pub fn nulls(&self) -> u64 {
        self.types.count(JsonType::Null)
    }

    /// Add what `other` saw to this shape.
    pub fn merge(&mut self, other: &FieldShape) {
        self.types.merge(&other.types);
        for (key, theirs) in &other.fields {
            self.fields.entry(key.clone()).or_default().merge(theirs);
        }
        if let Some(theirs) = &other.items {
            self.items.get_or_insert_with(Default::default).merge(theirs);
        }
    }

    /// Call `visit` on this shape and every shape below it, parents first, fields in key order
    /// before items.
    pub fn walk<'s>(&'s self, path: &FieldPath, visit: &mut impl FnMut(&FieldPath, &'s FieldShape)) {
        visit(path, self);
        for (key, field) in &self.fields {
            field.walk(&path.child(key), visit);
        }
        if let Some(items) = &self.items {
            items.walk(&path.items(), visit);
        }
    }
}

/// The shape of one stream's records, inferred from them or declared by the connector.
///
/// Serialised as JSON with a stable field order (keys sorted, types in [`JsonType::ALL`]
/// order), so equal schemas are equal text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSchema {
    /// The records themselves: their types (normally all `object`) and their fields.
    pub root: FieldShape,
}

impl StreamSchema {
    /// How many records the schema was inferred from (0 for a declared one).
    pub fn records(&self) -> u64 {
        self.root.present()
    }

    /// Add what `other` saw, e.g. the runs of one API version together.
    pub fn merge(&mut self, other: &StreamSchema) {
        self.root.merge(&other.root);
    }

    /// Every field below the record, parents first, with its path: what `schema show` lists.
    pub fn fields(&self) -> Vec<(FieldPath, &FieldShape)> {
        let mut out = Vec::new();
        self.root.walk(&FieldPath::root(), &mut |path, shape| {
            if !path.is_root() {
                out.push((path.clone(), shape));
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(records: &[&str]) -> StreamSchema {
        StreamSchema::infer(records.iter().copied()).unwrap()
    }

    #[test]
    fn merging_adds_counts_and_unions_fields_and_types() {
        let mut a = infer(&[r#"{"id":1,"tags":["x"]}"#]);
        let b = infer(&[r#"{"id":"2","user":{"login":"o"}}"#, r#"{"id":null}"#]);
        a.merge(&b);
        assert_eq!(a.records(), 3);
        let id = &a.root.fields["id"];
        assert_eq!((id.present(), id.nulls()), (3, 1));
        assert_eq!(id.types.types().to_string(), "null|integer|string");
        let paths: Vec<String> = a.fields().iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(paths, ["id", "tags", "tags[]", "user", "user.login"]);
    }

    #[test]
    fn serialises_with_a_stable_order_and_reads_back() {
        let one = infer(&[r#"{"b":1,"a":{"z":true,"y":null}}"#]);
        let other = infer(&[r#"{"a":{"y":null,"z":false},"b":2}"#]);
        let text = serde_json::to_string(&one).unwrap();
        assert_eq!(text, serde_json::to_string(&other).unwrap(), "key order in records does not matter");
        assert_eq!(
            text,
            r#"{"root":{"types":{"object":1},"fields":{"a":{"types":{"object":1},"fields":{"y":{"types":{"null":1}},"z":{"types":{"boolean":1}}}},"b":{"types":{"integer":1}}}}}"#
        );
        assert_eq!(serde_json::from_str::<StreamSchema>(&text).unwrap(), one);
    }
}
