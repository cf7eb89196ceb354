//! The column mapping: which PostgreSQL type holds each top-level field of a stream, from its
//! [`StreamSchema`], and whether a column that already exists can hold it.
//!
//! Values are never converted in Rust: a record's JSON text is staged as is and each column is
//! extracted from it in SQL (`(j ->> 'amount')::numeric`), and `jsonb` keeps numbers as
//! `numeric`, so every digit arrives.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::value::RawValue;

use crate::schema::{FieldShape, JsonType, StreamSchema, TypeSet};

/// The prefix of apiary's own columns; record fields with it are not given columns.
pub const META_PREFIX: &str = "_apiary_";

/// The type apiary gives a column it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Integers that fit 64 bits.
    Bigint,
    /// Other numbers, every digit kept.
    Numeric,
    /// `true`/`false`.
    Boolean,
    /// Strings.
    Text,
    /// Objects, arrays, and fields seen with more than one type.
    Jsonb,
}

impl ColumnType {
    /// The type's SQL name, as `format_type` spells it.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Bigint => "bigint",
            ColumnType::Numeric => "numeric",
            ColumnType::Boolean => "boolean",
            ColumnType::Text => "text",
            ColumnType::Jsonb => "jsonb",
        }
    }

    /// The column for a field seen with `types` (`null` aside); `wide` when one of its integers
    /// does not fit 64 bits. `None` when the field has had no value but `null` yet.
    pub fn for_types(types: TypeSet, wide: bool) -> Option<ColumnType> {
        let values: TypeSet = types.iter().filter(|t| *t != JsonType::Null).collect();
        let only = |t| values == TypeSet::of(t);
        Some(match () {
            _ if values.is_empty() => return None,
            _ if only(JsonType::Integer) && !wide => ColumnType::Bigint,
            _ if values.iter().all(|t| matches!(t, JsonType::Integer | JsonType::Number)) => ColumnType::Numeric,
            _ if only(JsonType::Boolean) => ColumnType::Boolean,
            _ if only(JsonType::String) => ColumnType::Text,
            _ => ColumnType::Jsonb,
        })
    }
}

/// The columns a stream's schema needs, by field name: its top-level fields that have had a
/// value; `wide` names the integer fields with a value beyond 64 bits.
pub fn plan(schema: &StreamSchema, wide: &BTreeSet<String>) -> BTreeMap<String, ColumnType> {
    let typed = |(name, shape): (&String, &FieldShape)| {
        Some((name.clone(), ColumnType::for_types(shape.types.types(), wide.contains(name))?))
    };
    schema.root.fields.iter().filter(|(name, _)| !name.starts_with(META_PREFIX)).filter_map(typed).collect()
}

/// The top-level fields of `records` holding an integer that does not fit 64 bits.
pub fn wide_integers<'a>(records: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut wide = BTreeSet::new();
    for json in records {
        let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(json) else { continue };
        for (name, value) in fields {
            let text = value.get();
            let integer = text.bytes().all(|b| b.is_ascii_digit() || b == b'-') && text != "-";
            if integer && text.parse::<i64>().is_err() {
                wide.insert(name);
            }
        }
    }
    wide
}

/// Whether an existing column of SQL type `existing` (as `format_type` gives it) can hold
/// values needing `needed`; `jsonb`/`json` hold anything.
pub fn fits(existing: &str, needed: ColumnType) -> bool {
    let base = existing.split('(').next().unwrap_or(existing).trim();
    match base {
        "jsonb" | "json" => true,
        "bigint" | "integer" | "smallint" => needed == ColumnType::Bigint,
        "numeric" | "double precision" | "real" => matches!(needed, ColumnType::Bigint | ColumnType::Numeric),
        "boolean" => needed == ColumnType::Boolean,
        "text" | "character varying" | "character" => needed == ColumnType::Text,
        _ => false,
    }
}

/// The SQL expression taking field `name` from the staged record `r.j` into a column of SQL
/// type `existing`.
pub fn extract(name: &str, existing: &str) -> String {
    let key = literal(name);
    match existing {
        "jsonb" => format!("r.j -> {key}"),
        "json" => format!("(r.j -> {key})::json"),
        other => format!("(r.j ->> {key})::{other}"),
    }
}

/// `name` as a quoted SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a quoted SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_fields_map_to_types_that_keep_every_digit() {
        let records = [
            r#"{"id":1,"amount":12.50,"big":18446744073709551616000,"ok":true,"name":"a","user":{"x":1},"tags":[],"mixed":1,"none":null}"#,
            r#"{"id":2,"amount":3,"big":1,"ok":null,"name":"b","user":null,"tags":["t"],"mixed":"one","none":null}"#,
        ];
        let schema = StreamSchema::infer(records).unwrap();
        let wide = wide_integers(records);
        assert_eq!(wide, BTreeSet::from(["big".to_string()]));
        let planned = plan(&schema, &wide);
        let expected = [
            ("amount", ColumnType::Numeric),
            ("big", ColumnType::Numeric),
            ("id", ColumnType::Bigint),
            ("mixed", ColumnType::Jsonb),
            ("name", ColumnType::Text),
            ("ok", ColumnType::Boolean),
            ("tags", ColumnType::Jsonb),
            ("user", ColumnType::Jsonb),
        ];
        assert_eq!(planned, expected.iter().map(|(n, t)| (n.to_string(), *t)).collect(), "`none` waits for a value");
    }

    #[test]
    fn existing_columns_fit_narrower_values_only() {
        assert!(fits("numeric(30,10)", ColumnType::Bigint));
        assert!(fits("jsonb", ColumnType::Text));
        assert!(!fits("bigint", ColumnType::Numeric));
        assert!(!fits("boolean", ColumnType::Text));
        assert!(!fits("timestamp with time zone", ColumnType::Bigint));
        assert_eq!(extract("it's", "numeric"), "(r.j ->> 'it''s')::numeric");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
