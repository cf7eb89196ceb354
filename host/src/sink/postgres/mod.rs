//! PostgreSQL: one table per stream in the pipeline's schema, loaded exactly once.
//!
//! | file | concern |
//! | --- | --- |
//! | `target` | the database URL (a secret), its name for messages, errors on one line |
//! | [`columns`] | the column mapping from a stream's schema |
//! | `ddl` | tables from the catalog, created and evolved; the loads table |
//! | `load` | one batch in one transaction: claim pages, stage with `COPY`, upsert |
//! | `state` | beside the rows: stream checkpoints and the pipeline's fencing token |
//!
//! Pages are kept in memory until [`Sink::flush`], which loads them all in one transaction with
//! their identities in the loads table; a page whose identity is already there was loaded by an
//! attempt the store did not commit, and is skipped. So the sink's [`Position`] is empty and
//! recovering is nothing to do.
//!
//! The same transaction stores the streams' checkpoints (so a worker on another machine
//! carries the pipeline on from the database alone) and, when the run holds a lease, raises the
//! pipeline's fencing token: a batch with an older token than the database's is refused.
//!
//! The client is `tokio-postgres` on a small runtime of the sink's own, so the sink's
//! synchronous calls work from any thread (the sync calls it from a blocking thread, `open`
//! runs inside the async session): each call runs its future to completion on a scoped thread.

mod columns;
mod ddl;
mod load;
mod state;
mod target;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use tokio_postgres::Client;

use self::ddl::Columns;
use self::load::{Batch, Pending, Versions};
pub use self::target::Target;
use super::{PageRef, Position, Sink, SinkError, StreamSpecs};
use crate::model::Record;

/// Tables of one schema of one PostgreSQL database.
pub struct PostgresSink {
    runtime: OwnRuntime,
    client: Client,
    target: Target,
    streams: StreamSpecs,
    tables: BTreeMap<String, Columns>,
    pending: Vec<Pending>,
    versions: (String, String),
    writer: Writer,
    checkpoints: BTreeMap<String, String>,
}

/// Who writes: the pipeline (its checkpoints and fence are kept under its name) and the
/// fencing token of the lease the run holds, if any.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    /// The pipeline's name.
    pub pipeline: String,
    /// The lease's fencing token (`apiary serve` with coordination).
    pub fence: Option<u64>,
}

impl PostgresSink {
    /// Connect to `target`, check its schema exists, and make the loads table if needed.
    pub fn connect(target: &Target, streams: StreamSpecs, writer: Writer) -> Result<PostgresSink, SinkError> {
        let (runtime, client) = open_client(target)?;
        PostgresSink::ready(runtime, client, target.clone(), streams, writer)
    }

    /// Connect to `target`'s database and create a new schema `<schema>_reparse_N` in it (the
    /// first N not taken) to load into: a re-parse never touches the live tables.
    pub fn connect_new_schema(
        target: &Target,
        streams: StreamSpecs,
        writer: Writer,
    ) -> Result<PostgresSink, SinkError> {
        let (runtime, client) = open_client(target)?;
        let created = off_runtime(&runtime, async {
            for n in 1.. {
                let schema = target.schema().reparse(n);
                if !ddl::schema_exists(&client, schema.as_str()).await? {
                    client.batch_execute(&format!("CREATE SCHEMA {}", columns::ident(schema.as_str()))).await?;
                    return Ok(schema);
                }
            }
            unreachable!("some number is free")
        });
        let schema = created.map_err(|e| target.error(&e))?;
        PostgresSink::ready(runtime, client, target.with_schema(schema), streams, writer)
    }

    /// The sink on a connected client, once `target`'s schema is checked and its loads table
    /// and the session's staging table exist.
    fn ready(
        runtime: OwnRuntime,
        client: Client,
        target: Target,
        streams: StreamSpecs,
        writer: Writer,
    ) -> Result<PostgresSink, SinkError> {
        let schema = target.schema().as_str();
        let exists = off_runtime(&runtime, ddl::schema_exists(&client, schema)).map_err(|e| target.error(&e))?;
        if !exists {
            return Err(target.missing_schema());
        }
        off_runtime(&runtime, async {
            ddl::ensure_loads(&client, schema).await?;
            state::ensure(&client, schema).await?;
            client.batch_execute(load::STAGE_SQL).await
        })
        .map_err(|e| target.error(&e))?;
        let (tables, pending, versions) = (BTreeMap::new(), Vec::new(), (String::new(), String::new()));
        let checkpoints = BTreeMap::new();
        Ok(PostgresSink { runtime, client, target, streams, tables, pending, versions, writer, checkpoints })
    }

    /// The schema the sink loads into.
    pub fn schema(&self) -> &crate::config::PgSchemaName {
        self.target.schema()
    }

    /// Run `future` on the sink's runtime, from whatever thread calls.
    fn block_on<F: Future + Send>(&self, future: F) -> F::Output
    where
        F::Output: Send,
    {
        off_runtime(&self.runtime, future)
    }
}

/// A runtime of the sink's own and a client connected to `target` on it.
fn open_client(target: &Target) -> Result<(OwnRuntime, Client), SinkError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SinkError::Destination(format!("cannot start the PostgreSQL client: {e}")))?;
    let runtime = OwnRuntime(Some(runtime));
    let client = off_runtime(&runtime, async {
        let (client, connection) = target.config().connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok::<_, tokio_postgres::Error>(client)
    })
    .map_err(|e| target.error(&e))?;
    Ok((runtime, client))
}

/// The sink's runtime; dropping it never blocks (async code may drop the sink).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl std::ops::Deref for OwnRuntime {
    type Target = tokio::runtime::Runtime;

    fn deref(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("taken only when dropped")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Run `future` to completion on `runtime` from a scoped thread of its own: a runtime cannot be
/// entered from a thread already running async code.
fn off_runtime<F: Future + Send>(runtime: &tokio::runtime::Runtime, future: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| runtime.block_on(future));
        handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

impl Sink for PostgresSink {
    fn write(&mut self, page: &PageRef<'_>, records: &[Record]) -> Result<(), SinkError> {
        let id = match (page.entry, page.exchange) {
            (Some(entry), _) => Some(format!("run {} entry {entry}", page.run)),
            (None, Some(exchange)) => Some(format!("run {} exchange {exchange}", page.run)),
            (None, None) => None,
        };
        self.versions = (page.connector.version.clone(), page.connector.api_version.clone());
        self.pending.push(Pending {
            id,
            stream: page.stream.to_string(),
            run: page.run.0 as i64,
            exchange: page.exchange.map(|e| e.0 as i64),
            fetched_at: SystemTime::UNIX_EPOCH + Duration::from_millis(page.fetched_at_ms),
            records: records.iter().map(|r| r.json.clone()).collect(),
        });
        Ok(())
    }

    fn flush(&mut self) -> Result<Position, SinkError> {
        if self.pending.is_empty() && self.checkpoints.is_empty() {
            return Ok(Position::new());
        }
        let pending = std::mem::take(&mut self.pending);
        let checkpoints: Vec<(String, String)> = std::mem::take(&mut self.checkpoints).into_iter().collect();
        let mut tables = std::mem::take(&mut self.tables);
        let batch = Batch {
            schema: self.target.schema().as_str(),
            specs: &self.streams,
            pending: &pending,
            versions: Versions { connector: &self.versions.0, api: &self.versions.1 },
            pipeline: &self.writer.pipeline,
            checkpoints: &checkpoints,
            fence: self.writer.fence.map(|t| t as i64),
        };
        let loaded = self.block_on(load::batch(&self.client, &batch, &mut tables));
        self.tables = tables;
        loaded.map_err(|e| self.target.load_error(&e))?;
        Ok(Position::new())
    }

    fn recover(&mut self, _committed: &Position) -> Result<(), SinkError> {
        self.pending.clear();
        self.checkpoints.clear();
        Ok(())
    }

    fn checkpoint(&mut self, stream: &str, value: &str) -> Result<(), SinkError> {
        self.checkpoints.insert(stream.to_string(), value.to_string());
        Ok(())
    }

    fn stored_checkpoint(&mut self, stream: &str) -> Result<Option<String>, SinkError> {
        let (schema, pipeline) = (self.target.schema().as_str(), self.writer.pipeline.as_str());
        self.block_on(state::checkpoint(&self.client, schema, pipeline, stream)).map_err(|e| self.target.error(&e))
    }

    fn describe(&self, stream: &str) -> String {
        format!("table {}.{stream} in {}", self.target.schema(), self.target.name())
    }
}
