//! Which database and schema a sink loads into: the URL (read like a secret: it holds a
//! password, which never reaches a message), the name messages use for the database, and every
//! failure as one line naming it and what to do.

use std::time::Duration;

use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;

use super::load::LoadError;
use crate::config::{PgSchemaName, SinkConfig};
use crate::secrets::Secrets;
use crate::sink::SinkError;

/// How long connecting may take before the database counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A database and schema to load into.
#[derive(Clone)]
pub struct Target {
    config: tokio_postgres::Config,
    schema: PgSchemaName,
    name: String,
    /// The URL and its password, scrubbed from every message.
    hidden: Secrets,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({}, schema {})", self.name, self.schema)
    }
}

impl Target {
    /// The target a `[sink]` table of kind `postgres` names, its URL read from `secrets` or
    /// its own source.
    pub fn of(sink: &SinkConfig, secrets: &Secrets) -> Result<Target, SinkError> {
        let missing = |key: &str| SinkError::Destination(format!("[sink] kind = \"postgres\" needs `{key}`"));
        let source = sink.url.as_ref().ok_or_else(|| missing("url"))?;
        let url = secrets.url(source, "[sink] url").map_err(SinkError::Destination)?;
        let schema = sink.schema.clone().ok_or_else(|| missing("schema"))?;
        Target::parse(&url, schema)
    }

    /// The target of `url` (`postgres://user:password@host:port/database`) and `schema`.
    pub fn parse(url: &str, schema: PgSchemaName) -> Result<Target, SinkError> {
        let password = url::Url::parse(url).ok().and_then(|u| u.password().map(str::to_string));
        let hidden = Secrets::from_values(
            [("url", Some(url.to_string())), ("password", password)]
                .into_iter()
                .filter_map(|(k, v)| Some((k.into(), v?))),
        );
        let mut config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            SinkError::Destination(hidden.redact(&format!(
                "[sink] url is not a PostgreSQL URL ({e}): write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            )))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let name = format!("database {} on {host}:{port}", config.get_dbname().unwrap_or("(default)"));
        Ok(Target { config, schema, name, hidden })
    }

    /// The same database with another schema (a re-parse's).
    pub fn with_schema(&self, schema: PgSchemaName) -> Target {
        Target { schema, ..self.clone() }
    }

    /// The connection settings.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The schema the tables go in.
    pub fn schema(&self) -> &PgSchemaName {
        &self.schema
    }

    /// "database NAME on HOST:PORT", for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema does not exist: one line saying how to make it.
    pub fn missing_schema(&self) -> SinkError {
        SinkError::Destination(format!(
            "PostgreSQL {}: schema {} does not exist: create it (CREATE SCHEMA {}) or set [sink] schema to one that does",
            self.name, self.schema, self.schema
        ))
    }

    /// A database error as one line naming the database and what to do.
    pub fn error(&self, e: &tokio_postgres::Error) -> SinkError {
        let advice = match e.code() {
            Some(c) if *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                "check the user and password in [sink] url"
            }
            Some(c) if *c == SqlState::INVALID_CATALOG_NAME => "check the database name in [sink] url",
            // Connection exceptions (08) and shutdowns (57P): the database went away.
            Some(c) if !(c.code().starts_with("08") || c.code().starts_with("57P")) => "",
            _ => "is the server running and reachable? `apiary run` resumes from the last commit once it is",
        };
        let what = describe(e);
        let line = if advice.is_empty() { what } else { format!("{what}: {advice}") };
        SinkError::Destination(self.hidden.redact(&format!("PostgreSQL {}: {}", self.name, one_line(&line))))
    }

    /// A failed batch as one line.
    pub fn load_error(&self, e: &LoadError) -> SinkError {
        let line = match e {
            LoadError::Database(e) => return self.error(e),
            LoadError::Conflict { table, conflict } => format!(
                "PostgreSQL {}: column {} of table {table} is {}, but the stream's field needs {}: alter or drop the column, or set [sink] schema to another schema",
                self.name,
                conflict.column,
                conflict.existing,
                conflict.needed.sql()
            ),
            LoadError::UntypedKey { stream, field } => format!(
                "PostgreSQL {}: stream {stream}'s key field {field} has no value to type its column by (missing or null in every record)",
                self.name
            ),
            LoadError::Json { stream } => format!("PostgreSQL {}: a record of stream {stream} is not JSON", self.name),
            LoadError::Fenced { pipeline, token } => format!(
                "PostgreSQL {}: pipeline {pipeline} was taken over by another worker (this worker's fencing token {token} is older than the database's): this worker stops writing",
                self.name
            ),
        };
        SinkError::Destination(self.hidden.redact(&line))
    }
}

/// The error's message with its causes (`db error` alone says nothing).
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
        return format!("{}{detail}", db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> PgSchemaName {
        PgSchemaName::try_from("s".to_string()).unwrap()
    }

    #[test]
    fn names_the_database_and_never_shows_the_password() {
        let target = Target::parse("postgres://u:pa%20ss@127.0.0.1:6543/shop", schema()).unwrap();
        assert_eq!(target.name(), "database shop on 127.0.0.1:6543");
        assert!(!format!("{target:?}").contains("pa"));
        let bad = Target::parse("postgres://u:secretpw@127.0.0.1:notaport/db", schema()).unwrap_err().to_string();
        assert!(bad.contains("not a PostgreSQL URL") && !bad.contains("secretpw"), "{bad}");
    }
}
