//! How a field differs from a baseline: in one record ([`Deviation`]) or over a run
//! ([`FieldChange`]), with the one-line text users read.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::json_type::TypeSet;
use super::path::FieldPath;

/// What changed about one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    /// The field is not in the baseline; it had these types.
    Added {
        /// The types the new field had.
        types: TypeSet,
    },
    /// The field is in the baseline but no record had it, though its parent object was there.
    Gone,
    /// The field had types the baseline does not admit (an integer where only strings were).
    TypeChanged {
        /// The baseline's types.
        from: TypeSet,
        /// The types seen that the baseline does not admit (never `null`).
        to: TypeSet,
    },
    /// The field was `null`, which the baseline never saw there. Not a contract violation:
    /// absent and `null` both mean "no value", and a missing field is never one either.
    NowNull,
}

impl Change {
    /// Whether two changes are the same kind of change (they are then counted together).
    pub fn same_kind(&self, other: &Change) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// The change with the types of `other` (the same kind) added to its own.
    pub fn union(self, other: Change) -> Change {
        match (self, other) {
            (Change::Added { types: a }, Change::Added { types: b }) => Change::Added { types: a.union(b) },
            (Change::TypeChanged { from, to: a }, Change::TypeChanged { from: f, to: b }) => {
                Change::TypeChanged { from: from.union(f), to: a.union(b) }
            }
            (mine, _) => mine,
        }
    }

    /// A key that orders changes of one field: added, type changed, now null, gone.
    pub(super) fn rank(&self) -> u8 {
        match self {
            Change::Added { .. } => 0,
            Change::TypeChanged { .. } => 1,
            Change::NowNull => 2,
            Change::Gone => 3,
        }
    }
}

/// One field of one record that differs from the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deviation {
    /// The field.
    pub path: FieldPath,
    /// How it differs.
    pub change: Change,
}

/// E.g. `field user.email is new (string)`, `field id changed type from integer to string`.
impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match self.change {
            Change::Added { types } => write!(f, "field {path} is new ({types})"),
            Change::Gone => write!(f, "field {path} is missing"),
            Change::TypeChanged { from, to } => write!(f, "field {path} changed type from {from} to {to}"),
            Change::NowNull => write!(f, "field {path} is null, never null before"),
        }
    }
}

/// How a field changed over a run (or between two schemas), with how many records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field.
    pub path: FieldPath,
    /// How it changed.
    pub change: Change,
    /// How many records showed the change (for fields in array items, how many items when the
    /// change comes from comparing two stored schemas).
    pub records: u64,
    /// The primary key of one record that showed it, when the records have keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// One line, e.g. `field id changed type from integer to string in 3 records, e.g. record 1042`.
impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        let n = self.records;
        let records = if n == 1 { "record" } else { "records" };
        match self.change {
            Change::Added { types } => write!(f, "field {path} added ({types}) in {n} {records}")?,
            Change::Gone => write!(f, "field {path} gone: missing from {n} {records}")?,
            Change::TypeChanged { from, to } => {
                write!(f, "field {path} changed type from {from} to {to} in {n} {records}")?
            }
            Change::NowNull => write!(f, "field {path} null in {n} {records}, never null before")?,
        }
        match &self.example {
            Some(key) => write!(f, ", e.g. record {key}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::JsonType;

    #[test]
    fn each_change_reads_as_one_line_naming_the_field() {
        let path = FieldPath::root().child("id");
        let changed = Change::TypeChanged { from: TypeSet::of(JsonType::Integer), to: TypeSet::of(JsonType::String) };
        let line = FieldChange { path: path.clone(), change: changed, records: 3, example: Some("1042".into()) };
        assert_eq!(line.to_string(), "field id changed type from integer to string in 3 records, e.g. record 1042");
        let gone = FieldChange { path: path.clone(), change: Change::Gone, records: 1, example: None };
        assert_eq!(gone.to_string(), "field id gone: missing from 1 record");
        let deviation = Deviation { path, change: Change::Added { types: TypeSet::of(JsonType::String) } };
        assert_eq!(deviation.to_string(), "field id is new (string)");
    }

    #[test]
    fn changes_of_one_kind_add_up_their_types() {
        let a = Change::Added { types: TypeSet::of(JsonType::String) };
        let b = Change::Added { types: TypeSet::of(JsonType::Integer) };
        assert!(a.same_kind(&b) && !a.same_kind(&Change::Gone));
        assert_eq!(a.union(b), Change::Added { types: TypeSet::of(JsonType::Integer).with(JsonType::String) });
    }
}
