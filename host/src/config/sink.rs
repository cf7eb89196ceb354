//! The `[sink]` table: where records go, and for a database, how to reach it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::SecretSource;

/// The `[sink]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// The kind of sink.
    #[serde(default)]
    pub kind: SinkKind,
    /// Where the database is (`postgres` only): it holds a password, so it is read like a secret.
    #[serde(default)]
    pub url: Option<UrlSource>,
    /// The database schema the tables go in (`postgres` only).
    #[serde(default)]
    pub schema: Option<PgSchemaName>,
}

/// The kinds of sink.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// One JSON object per line, one file per stream: `out/<pipeline>/<stream>.jsonl`.
    #[default]
    Jsonl,
    /// One table per stream in a PostgreSQL schema, loaded exactly once.
    Postgres,
    /// Singer messages on stdout, for any Singer target.
    Singer,
}

/// Where a database URL comes from: the name of a `[secrets]` entry, or a source of its own.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum UrlSource {
    /// `url = "pg"`: the secret `pg` of the pipeline's `[secrets]`.
    Secret(String),
    /// `url = { env = "APIARY_PG_URL" }` or `{ file = "..." }`.
    Source(SecretSource),
}

/// A PostgreSQL schema name apiary creates tables in: lowercase letters, digits and `_`, at
/// most 40 bytes (so `<name>_reparse_N` still fits PostgreSQL's 63).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct PgSchemaName(String);

impl PgSchemaName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The schema a re-parse numbered `n` loads into: `<name>_reparse_<n>`.
    pub fn reparse(&self, n: u64) -> PgSchemaName {
        PgSchemaName(format!("{}_reparse_{n}", self.0))
    }
}

impl TryFrom<String> for PgSchemaName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let plain = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !(1..=40).contains(&name.len()) || !plain || name.as_bytes()[0].is_ascii_digit() {
            return Err(format!(
                "schema {name:?} must be 1-40 lowercase letters, digits or `_`, not starting with a digit"
            ));
        }
        Ok(PgSchemaName(name))
    }
}

impl std::fmt::Display for PgSchemaName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SinkConfig {
    /// Check that the keys fit the kind: a database needs its URL and schema, a file or stdout
    /// takes neither; a URL naming a secret needs that secret.
    pub fn check(&self, secrets: &BTreeMap<String, SecretSource>) -> Result<(), String> {
        match self.kind {
            SinkKind::Postgres => {
                let Some(url) = &self.url else {
                    return Err(
                        "[sink] kind = \"postgres\" needs `url = { env = \"VAR\" }` or the name of a [secrets] entry"
                            .into(),
                    );
                };
                if self.schema.is_none() {
                    return Err(
                        "[sink] kind = \"postgres\" needs `schema = \"NAME\"`: the database schema its tables go in"
                            .into(),
                    );
                }
                match url {
                    UrlSource::Secret(name) if !secrets.contains_key(name) => Err(format!(
                        "[sink] url names secret `{name}`, which [secrets] does not define: add `{name} = {{ env = \"VAR\" }}` there"
                    )),
                    _ => Ok(()),
                }
            }
            SinkKind::Jsonl | SinkKind::Singer if self.url.is_some() || self.schema.is_some() => {
                Err("[sink] `url` and `schema` are for kind = \"postgres\" only".into())
            }
            SinkKind::Jsonl | SinkKind::Singer => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Pipeline;

    fn with_sink(sink: &str) -> Result<Pipeline, String> {
        Pipeline::parse(&format!(
            "name = \"p\"\nconnector = \"c.wasm\"\n[secrets]\npg = {{ env = \"PG\" }}\n[sink]\n{sink}"
        ))
    }

    #[test]
    fn a_postgres_sink_needs_a_url_and_a_schema() {
        let p = with_sink("kind = \"postgres\"\nurl = \"pg\"\nschema = \"github\"").unwrap();
        assert_eq!(p.sink.schema.unwrap().reparse(2).as_str(), "github_reparse_2");
        with_sink("kind = \"postgres\"\nurl = { env = \"X\" }\nschema = \"g\"").unwrap();
        let errors = [
            ("kind = \"postgres\"\nschema = \"g\"", "needs `url"),
            ("kind = \"postgres\"\nurl = \"pg\"", "needs `schema"),
            ("kind = \"postgres\"\nurl = \"nope\"\nschema = \"g\"", "secret `nope`"),
            ("kind = \"postgres\"\nurl = \"pg\"\nschema = \"Bad-Name\"", "lowercase letters"),
            ("kind = \"jsonl\"\nschema = \"g\"", "postgres\" only"),
        ];
        for (sink, expected) in errors {
            let err = with_sink(sink).unwrap_err();
            assert!(err.contains(expected) && !err.contains('\n'), "{sink}: {err}");
        }
    }
}
