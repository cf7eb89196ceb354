//! The tables: what a stream's table has (read from the catalog), what it needs for a batch
//! (created, columns added, `bigint` widened to `numeric`), and the loads table that makes
//! loading exactly-once.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::columns::{ColumnType, ident};

/// A table's columns and their SQL types, as `format_type` spells them.
pub type Columns = BTreeMap<String, String>;

/// apiary's metadata columns, after the record's own.
pub const META: [(&str, &str); 5] = [
    ("_apiary_run", "bigint"),
    ("_apiary_exchange", "bigint"),
    ("_apiary_fetched_at", "timestamp with time zone"),
    ("_apiary_connector_version", "text"),
    ("_apiary_api_version", "text"),
];

/// The table recording every page loaded, by its identity.
pub const LOADS: &str = "_apiary_loads";

/// One change a batch needs before its rows go in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ddl {
    /// Create the table with these columns (the key ones first).
    Create(BTreeMap<String, ColumnType>),
    /// Add a column for a new field.
    Add(String, ColumnType),
    /// Widen a column of apiary's to hold the field's values now: `bigint` to `numeric` (a
    /// field that was integers is now any number), anything else to `jsonb` (a field whose
    /// type changed; the values already there become JSON values).
    Widen(String, ColumnType),
}

/// An existing column cannot hold what the stream has in that field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The column.
    pub column: String,
    /// Its SQL type.
    pub existing: String,
    /// What the field needs.
    pub needed: ColumnType,
}

/// What the table must become to take fields `needed`: created when `existing` is `None`,
/// else new fields added and apiary's own columns widened, but only when `may_alter` (a frozen
/// stream's table is never altered: fields without a column are left out of it). A column of
/// a table apiary did not make is never changed: one that cannot hold the field conflicts.
pub fn changes(
    existing: Option<&Columns>,
    needed: &BTreeMap<String, ColumnType>,
    may_alter: bool,
) -> Result<Vec<Ddl>, Conflict> {
    let Some(existing) = existing else { return Ok(vec![Ddl::Create(needed.clone())]) };
    let ours = existing.contains_key(META[0].0);
    let mut out = Vec::new();
    for (name, &ty) in needed {
        match existing.get(name) {
            None if may_alter => out.push(Ddl::Add(name.clone(), ty)),
            None => {}
            Some(have) if super::columns::fits(have, ty) => {}
            Some(have) if ours && may_alter => {
                let wider = if have == "bigint" && ty == ColumnType::Numeric { ty } else { ColumnType::Jsonb };
                out.push(Ddl::Widen(name.clone(), wider));
            }
            Some(have) => return Err(Conflict { column: name.clone(), existing: have.clone(), needed: ty }),
        }
    }
    Ok(out)
}

/// The SQL of one change to `table` (schema-qualified and quoted), keyed by `key`.
pub fn sql(table: &str, key: &[String], ddl: &Ddl) -> String {
    match ddl {
        Ddl::Create(columns) => {
            let mut defs: Vec<String> = columns
                .iter()
                .map(|(name, ty)| {
                    let not_null = if key.contains(name) { " NOT NULL" } else { "" };
                    format!("{} {}{not_null}", ident(name), ty.sql())
                })
                .collect();
            defs.extend(META.iter().map(|(name, ty)| format!("{name} {ty}")));
            if !key.is_empty() {
                let key: Vec<String> = key.iter().map(|k| ident(k)).collect();
                defs.push(format!("PRIMARY KEY ({})", key.join(", ")));
            }
            format!("CREATE TABLE {table} ({})", defs.join(", "))
        }
        Ddl::Add(name, ty) => format!("ALTER TABLE {table} ADD COLUMN {} {}", ident(name), ty.sql()),
        Ddl::Widen(name, ColumnType::Jsonb) => {
            format!("ALTER TABLE {table} ALTER COLUMN {0} TYPE jsonb USING to_jsonb({0})", ident(name))
        }
        Ddl::Widen(name, ty) => format!("ALTER TABLE {table} ALTER COLUMN {} TYPE {}", ident(name), ty.sql()),
    }
}

/// What the changes do to the known columns.
pub fn apply(existing: Option<Columns>, ddl: &[Ddl]) -> Columns {
    let mut columns = existing.unwrap_or_default();
    for change in ddl {
        match change {
            Ddl::Create(all) => {
                columns.extend(all.iter().map(|(n, t)| (n.clone(), t.sql().to_string())));
                columns.extend(META.iter().map(|(n, t)| (n.to_string(), t.to_string())));
            }
            Ddl::Add(name, ty) => drop(columns.insert(name.clone(), ty.sql().to_string())),
            Ddl::Widen(name, ty) => drop(columns.insert(name.clone(), ty.sql().to_string())),
        }
    }
    columns
}

/// Whether schema `schema` exists.
pub async fn schema_exists(client: &Client, schema: &str) -> Result<bool, tokio_postgres::Error> {
    let row = client.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema]).await?;
    Ok(row.is_some())
}

/// The columns of `schema.table`, `None` when there is no such table.
pub async fn columns(client: &Client, schema: &str, table: &str) -> Result<Option<Columns>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
            &[&schema, &table],
        )
        .await?;
    Ok((!rows.is_empty()).then(|| rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
}

/// Create the loads table of `schema` when missing: one row per page loaded, keyed by the
/// page's identity (see `PageId`).
pub async fn ensure_loads(client: &Client, schema: &str) -> Result<(), tokio_postgres::Error> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {}.{LOADS} (page text PRIMARY KEY, run bigint NOT NULL, stream text NOT NULL, \
         exchange bigint, records bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())",
        ident(schema)
    );
    client.batch_execute(&sql).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_created_then_evolved_unless_frozen() {
        let needed = BTreeMap::from([("id".to_string(), ColumnType::Bigint), ("n".to_string(), ColumnType::Numeric)]);
        let create = changes(None, &needed, false).unwrap();
        let key = ["id".to_string()];
        assert_eq!(
            sql("s.t", &key, &create[0]),
            "CREATE TABLE s.t (\"id\" bigint NOT NULL, \"n\" numeric, _apiary_run bigint, _apiary_exchange bigint, \
             _apiary_fetched_at timestamp with time zone, _apiary_connector_version text, _apiary_api_version text, \
             PRIMARY KEY (\"id\"))"
        );
        let ours = apply(None, &create);
        let mut more = needed.clone();
        more.insert("new".into(), ColumnType::Text);
        more.insert("id".into(), ColumnType::Text);
        let mut existing = ours.clone();
        existing.insert("n".into(), "bigint".into());
        let evolved = changes(Some(&existing), &more, true).unwrap();
        let expected = [Ddl::Widen("id".into(), ColumnType::Jsonb), Ddl::Widen("n".into(), ColumnType::Numeric)];
        assert_eq!(evolved[..2], expected);
        assert_eq!(evolved[2], Ddl::Add("new".into(), ColumnType::Text));
        assert_eq!(sql("t", &key, &evolved[0]), "ALTER TABLE t ALTER COLUMN \"id\" TYPE jsonb USING to_jsonb(\"id\")");
        assert_eq!(apply(Some(existing.clone()), &evolved)["n"], "numeric");
        let frozen = changes(Some(&existing), &BTreeMap::from([("new".to_string(), ColumnType::Text)]), false);
        assert_eq!(frozen.unwrap(), vec![], "a frozen table is never altered");
        let theirs = Columns::from([("id".to_string(), "boolean".to_string())]);
        let conflict = changes(Some(&theirs), &BTreeMap::from([("id".to_string(), ColumnType::Text)]), true);
        assert_eq!(conflict.unwrap_err().column, "id", "a table apiary did not make is never changed");
    }
}
