//! What the sink tests need around the test cluster: a database of their own with a schema, a
//! pipeline loading into it, and a client reading rows back as text.

use apiary_e2e::harness::{PipelineSpec, Scratch, connector_wasm};
use apiary_e2e::services::postgres;

use crate::resume::UNLIMITED;

/// The environment variable the test pipelines read the database URL from.
pub const URL_VAR: &str = "APIARY_TEST_PG_URL";

/// A database of the test cluster, with a blocking client on it.
pub struct Db {
    pub url: String,
    pub name: String,
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Db {
    /// Create database `name` with schema `schema` in it.
    pub fn create(name: &str, schema: &str) -> Db {
        let url = postgres().create_database(name);
        let db = Db::connect(&url, name);
        db.execute(&format!("CREATE SCHEMA {schema}"));
        db
    }

    /// A new client of the same database (after its sessions were ended).
    pub fn reconnect(&self) -> Db {
        Db::connect(&self.url, &self.name)
    }

    /// A client of the maintenance database, to take other databases down and up.
    pub fn admin() -> Db {
        Db::connect(&postgres().url(), "postgres")
    }

    fn connect(url: &str, name: &str) -> Db {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(connection);
            client
        });
        Db { url: url.to_string(), name: name.to_string(), runtime, client }
    }

    /// Run statements.
    pub fn execute(&self, sql: &str) {
        self.runtime.block_on(self.client.batch_execute(sql)).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// The rows of `sql`, every value as text (`None` for NULL).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let messages = self.runtime.block_on(self.client.simple_query(sql)).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        let rows = messages.into_iter().filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        });
        rows.map(|row| (0..row.len()).map(|i| row.get(i).map(str::to_string)).collect()).collect()
    }

    /// The single value of `sql`.
    pub fn value(&self, sql: &str) -> String {
        self.rows(sql)[0][0].clone().unwrap_or_default()
    }

    /// The count of rows of `table`.
    pub fn count(&self, table: &str) -> u64 {
        self.value(&format!("SELECT count(*) FROM {table}")).parse().unwrap()
    }

    /// Each row of `table` as JSON text without apiary's run-specific columns, ordered by `id`.
    pub fn dump(&self, table: &str) -> Vec<String> {
        let sql = format!(
            "SELECT (to_jsonb(t) - '_apiary_run' - '_apiary_exchange' - '_apiary_fetched_at')::text FROM {table} t ORDER BY id"
        );
        self.rows(&sql).into_iter().map(|r| r[0].clone().unwrap()).collect()
    }

    /// `table`'s columns and their types.
    pub fn columns(&self, schema: &str, table: &str) -> Vec<(String, String)> {
        let sql = format!(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = '{table}' ORDER BY column_name"
        );
        self.rows(&sql).into_iter().map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap())).collect()
    }

    /// The type of one column, if the table has it.
    pub fn column_type(&self, schema: &str, table: &str, column: &str) -> Option<String> {
        self.columns(schema, table).into_iter().find(|(c, _)| c == column).map(|(_, t)| t)
    }
}

/// Pipeline `generated` (the github connector's `issues` of the mock's generated collection,
/// 5 a page) loading into `schema` of the database in [`URL_VAR`]; `extra` adds TOML.
pub fn pipeline(scratch: &Scratch, base_url: &str, schema: &str, extra: &str) -> String {
    let wasm = connector_wasm("github_connector");
    let sink = format!(
        "{UNLIMITED}\n[sink]\nkind = \"postgres\"\nurl = {{ env = \"{URL_VAR}\" }}\nschema = \"{schema}\"\n{extra}"
    );
    let spec = PipelineSpec {
        name: "generated",
        connector: &wasm,
        base_url,
        streams: &["issues"],
        config: &[("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "5")],
        extra: &sink,
    };
    scratch.write("generated.toml", spec.toml()).to_str().unwrap().to_string()
}
