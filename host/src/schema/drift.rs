//! Drift: how one schema differs from another, field by field.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::change::{Change, FieldChange};
use super::json_type::{JsonType, TypeSet};
use super::path::FieldPath;
use super::shape::{FieldShape, StreamSchema};

/// The changes between a baseline and what came later, sorted by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// One entry per field and kind of change.
    pub changes: Vec<FieldChange>,
}

impl Drift {
    /// How `to` differs from `from`: fields added, gone (absent while their parent object was
    /// there), with types `from` does not admit, or newly null. Counts come from `to`; there are
    /// no example records (comparing two stored schemas, e.g. for `schema diff`).
    pub fn between(from: &StreamSchema, to: &StreamSchema) -> Drift {
        Drift::with_examples(from, to, &BTreeMap::new())
    }

    /// [`Drift::between`], with an example record key per object path for its gone fields.
    pub(super) fn with_examples(from: &StreamSchema, to: &StreamSchema, examples: &Examples) -> Drift {
        let mut drift = Drift::default();
        compare(&from.root, &to.root, &FieldPath::root(), examples, &mut drift.changes);
        drift.sort();
        drift
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Add `other`'s changes (a later part of the same run): the same change of the same field
    /// adds its records; the first example is kept.
    pub fn absorb(&mut self, other: &Drift) {
        for theirs in &other.changes {
            let same = |c: &&mut FieldChange| c.path == theirs.path && c.change.same_kind(&theirs.change);
            match self.changes.iter_mut().find(same) {
                Some(mine) => {
                    mine.change = mine.change.union(theirs.change);
                    mine.records += theirs.records;
                    mine.example = mine.example.take().or_else(|| theirs.example.clone());
                }
                None => self.changes.push(theirs.clone()),
            }
        }
        self.sort();
    }

    fn sort(&mut self) {
        self.changes.sort_by(|a, b| (&a.path, a.change.rank()).cmp(&(&b.path, b.change.rank())));
    }
}

/// One change per line.
impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, change) in self.changes.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{change}")?;
        }
        Ok(())
    }
}

/// Object path -> key of a record in which that object was present.
pub(super) type Examples = BTreeMap<FieldPath, String>;

fn compare(from: &FieldShape, to: &FieldShape, path: &FieldPath, examples: &Examples, out: &mut Vec<FieldChange>) {
    let change = |change, records, example: Option<&String>| FieldChange {
        path: path.clone(),
        change,
        records,
        example: example.cloned(),
    };
    let known = from.types.types();
    let seen = to.types.types();
    let new: TypeSet = seen.iter().filter(|t| *t != JsonType::Null && !known.admits(*t)).collect();
    if !new.is_empty() {
        let records = new.iter().map(|t| to.types.count(t)).sum();
        out.push(change(Change::TypeChanged { from: known, to: new }, records, None));
    }
    if seen.contains(JsonType::Null) && !known.contains(JsonType::Null) {
        out.push(change(Change::NowNull, to.nulls(), None));
    }
    for (key, theirs) in &to.fields {
        let child = path.child(key);
        match from.fields.get(key) {
            Some(mine) => compare(mine, theirs, &child, examples, out),
            None => out.push(added(child, theirs)),
        }
    }
    let objects = to.types.count(JsonType::Object);
    if objects > 0 {
        for key in from.fields.keys().filter(|k| !to.fields.contains_key(*k)) {
            let gone = FieldChange { path: path.child(key), ..change(Change::Gone, objects, examples.get(path)) };
            out.push(gone);
        }
    }
    match (&from.items, &to.items) {
        (Some(mine), Some(theirs)) => compare(mine, theirs, &path.items(), examples, out),
        (None, Some(theirs)) => out.push(added(path.items(), theirs)),
        _ => {}
    }
}

fn added(path: FieldPath, shape: &FieldShape) -> FieldChange {
    FieldChange { path, change: Change::Added { types: shape.types.types() }, records: shape.present(), example: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(records: &[&str]) -> StreamSchema {
        StreamSchema::infer(records.iter().copied()).unwrap()
    }

    #[test]
    fn between_two_schemas_lists_added_gone_changed_and_null_fields_with_counts() {
        let from = infer(&[r#"{"id":1,"name":"a","user":{"login":"x","email":"e"},"tags":[1]}"#]);
        let to = infer(&[
            r#"{"id":"1","user":{"login":"x"},"tags":[1.5,2],"new":{"deep":true}}"#,
            r#"{"id":2,"name":null,"user":{"login":"y"},"tags":[]}"#,
        ]);
        let lines: Vec<String> = Drift::between(&from, &to).changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "field id changed type from integer to string in 1 record",
                "field name null in 1 record, never null before",
                "field new added (object) in 1 record",
                "field tags[] changed type from integer to number in 1 record",
                "field user.email gone: missing from 2 records",
            ]
        );
        assert!(Drift::between(&to, &to).is_empty(), "a schema does not drift from itself");
    }

    #[test]
    fn a_number_baseline_admits_integers_and_a_missing_parent_hides_its_gone_fields() {
        let from = infer(&[r#"{"n":1.5,"user":{"login":"x"}}"#]);
        let to = infer(&[r#"{"n":2,"user":null}"#]);
        let lines: Vec<String> = Drift::between(&from, &to).changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(lines, ["field user null in 1 record, never null before"]);
    }
}
