//! The column mapping: which PostgreSQL type holds each top-level field of a stream, from its
//! [`StreamSchema`], and whether a column that already exists can hold it.
//!
//! Values are never converted in Rust: a record's JSON text is staged as is and each column is
//! extracted from it in SQL (`(j ->> 'amount')::numeric`), and `jsonb` keeps numbers as
//! `numeric`, so every digit arrives.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::value::RawValue;

use crate::schema::{JsonType, StreamSchema, TypeSet};

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

/// What the top-level values of some records are, read from their text: what a stream schema
/// cannot say (an integer beyond 64 bits), or may not (the schema learns a record only up to a
/// number beyond f64, such as `1e400`).
#[derive(Debug, Default)]
pub struct TopLevel {
    types: BTreeMap<String, TypeSet>,
    wide: BTreeSet<String>,
}

impl TopLevel {
    /// The top-level values of `records` (JSON objects; anything else is skipped).
    pub fn of<'a>(records: impl IntoIterator<Item = &'a str>) -> TopLevel {
        let mut seen = TopLevel::default();
        for json in records {
            let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(json) else { continue };
            for (name, value) in fields {
                let t = JsonType::of_text(value.get());
                if t == JsonType::Integer && value.get().parse::<i64>().is_err() {
                    seen.wide.insert(name.clone());
                }
                let types = seen.types.entry(name).or_default();
                *types = types.with(t);
            }
        }
        seen
    }
}

/// The columns a stream needs, by field name: the top-level fields of its schema and of the
/// records `seen` that have had a value.
pub fn plan(schema: &StreamSchema, seen: &TopLevel) -> BTreeMap<String, ColumnType> {
    let mut types: BTreeMap<&String, TypeSet> = seen.types.iter().map(|(n, t)| (n, *t)).collect();
    for (name, shape) in &schema.root.fields {
        let known = types.entry(name).or_default();
        *known = known.union(shape.types.types());
    }
    let typed = |(name, types): (&String, TypeSet)| {
        Some((name.clone(), ColumnType::for_types(types, seen.wide.contains(name))?))
    };
    types.into_iter().filter(|(name, _)| !name.starts_with(META_PREFIX)).filter_map(typed).collect()
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
        let seen = TopLevel::of(records);
        assert_eq!(seen.wide, BTreeSet::from(["big".to_string()]));
        let planned = plan(&schema, &seen);
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
        let past_1e400 = [r#"{"huge":1e400,"after":"x"}"#];
        let planned = plan(&StreamSchema::infer(past_1e400).unwrap(), &TopLevel::of(past_1e400));
        assert_eq!(planned.get("after"), Some(&ColumnType::Text), "fields after a number beyond f64 get columns");
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
