//! Where records go, behind one interface the sync engine, replays and re-parses write through:
//! JSONL files (`jsonl`), PostgreSQL tables (`postgres`), Singer messages on stdout (`singer`).
//!
//! # The commit protocol
//!
//! The sync's committer hands a sink the pages of a batch and then commits the batch to the
//! store, in this order:
//!
//! 1. [`Sink::write`] for every page of the batch, in order: the page's records with its
//!    identity ([`PageRef`]: run, frontier entry, exchange). Nothing need be durable yet.
//! 2. [`Sink::flush`]: everything written is made durable (an fsync, a database `COMMIT`). It
//!    returns the sink's [`Position`], which the store records with the batch.
//! 3. The store commits the batch (frontier, checkpoints, dead letters, the position).
//!
//! A crash between 2 and 3 leaves pages durable in the sink that the store does not know were
//! processed: a resumed run processes them again (from stored raw exchanges, never refetching
//! a page whose raw exchange was committed). So a sink must not apply a page twice, in one of
//! two ways: [`Sink::recover`] cuts the output back to the last position the store recorded
//! (files), or the sink recognises a page it already loaded by its identity (a loads table in
//! the same transaction as the rows). A page refetched after a crash keeps its run and its
//! frontier entry, so `(run, entry)` names it across attempts.
//!
//! Between a page's records and the next flush, [`Sink::checkpoint`] passes on the stream's
//! checkpoint after those records: Singer writes it out as `STATE`; PostgreSQL stores it in the
//! same transaction as the records, and gives it back through [`Sink::stored_checkpoint`], so a
//! worker on another machine starts from the database's checkpoint rather than its own store's.
//! The store keeps checkpoints itself too, so other sinks ignore it.

mod jsonl;
mod postgres;
mod singer;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use jsonl::JsonlSink;
pub use postgres::{PostgresSink, Target, Writer};
pub use singer::SingerSink;

use crate::model::{ConnectorIdentity, Manifest, Record};
use crate::schema::{Contract, SchemaPolicy, StreamSchema};
use crate::secrets::Secrets;
use crate::store::{ExchangeId, FrontierId, RunId};

/// How far a sink's output is committed, as the store records it with each batch: per-stream
/// byte lengths for files; empty for a sink that recognises pages by their identity.
pub type Position = BTreeMap<String, u64>;

/// Writing to a sink failed: one line naming the destination and what to do.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    /// Another destination refused or failed (a database, a pipe).
    #[error("{0}")]
    Destination(String),
}

/// Which page records come from: what makes loading them again recognisable.
#[derive(Debug, Clone, Copy)]
pub struct PageRef<'a> {
    /// The run that processes it.
    pub run: RunId,
    /// The frontier entry it answers (none for records written outside a request, e.g. a
    /// replayed record letter).
    pub entry: Option<FrontierId>,
    /// The stored exchange the records were parsed from.
    pub exchange: Option<ExchangeId>,
    /// The stream the page was fetched for.
    pub stream: &'a str,
    /// When the exchange was fetched (ms since the epoch).
    pub fetched_at_ms: u64,
    /// The connector that parsed it.
    pub connector: &'a ConnectorIdentity,
}

/// What a sink knows of a stream before its first record: its key, its cursor, how strictly it
/// keeps to its schema, and the schema it starts from.
#[derive(Debug, Clone, Default)]
pub struct StreamSpec {
    /// The primary-key fields (empty: records have no key).
    pub primary_key: Vec<String>,
    /// The field incremental syncs advance on, if any.
    pub cursor_field: Option<String>,
    /// The stream's `[schema]` contract: a frozen stream's table is never altered.
    pub contract: Contract,
    /// The accepted (or declared) schema, when the stream has one.
    pub baseline: Option<StreamSchema>,
}

/// The specs of a connector's streams, by name.
pub type StreamSpecs = BTreeMap<String, StreamSpec>;

/// The specs of every endpoint of `manifest`, with the contracts of `policy` and the baselines
/// `baseline` gives (the run's schema state).
pub fn stream_specs<'a>(
    manifest: &Manifest,
    policy: &SchemaPolicy,
    baseline: impl Fn(&str) -> Option<&'a StreamSchema>,
) -> StreamSpecs {
    let spec = |e: &crate::model::Endpoint| StreamSpec {
        primary_key: e.primary_key.clone(),
        cursor_field: e.cursor_field.clone(),
        contract: policy.contract_for(&e.name),
        baseline: baseline(&e.name).cloned(),
    };
    manifest.endpoints.iter().map(|e| (e.name.clone(), spec(e))).collect()
}

/// The sink a pipeline's `[sink]` table names, for its live output under `home`; `secrets`
/// holds the pipeline's secrets (a database URL may name one); `fence` is the run's lease's
/// fencing token, for a destination that checks it.
pub fn open(
    pipeline: &crate::config::Pipeline,
    home: &crate::home::Home,
    secrets: &Secrets,
    streams: StreamSpecs,
    fence: Option<crate::coord::Fence>,
) -> Result<Box<dyn Sink>, SinkError> {
    use crate::config::SinkKind;
    match pipeline.sink.kind {
        SinkKind::Jsonl => Ok(Box::new(JsonlSink::open(&home.output(&pipeline.name))?)),
        SinkKind::Singer => Ok(Box::new(SingerSink::stdout(streams))),
        SinkKind::Postgres => {
            let target = postgres::Target::of(&pipeline.sink, secrets)?;
            let writer = Writer { pipeline: pipeline.name.clone(), fence: fence.map(|f| f.token) };
            Ok(Box::new(PostgresSink::connect(&target, streams, writer)?))
        }
    }
}

/// Where a re-parse of `pipeline` loads with `--sink`: for a PostgreSQL sink, a new schema
/// `<schema>_reparse_N` of the same database (never the live tables). Other kinds have no
/// separate place to load into: the re-parse writes files instead. Returns the sink and the
/// place, for people.
pub fn open_reparse(
    pipeline: &crate::config::Pipeline,
    secrets: &Secrets,
    streams: StreamSpecs,
) -> Result<(Box<dyn Sink>, String), SinkError> {
    match pipeline.sink.kind {
        crate::config::SinkKind::Postgres => {
            let target = postgres::Target::of(&pipeline.sink, secrets)?;
            let writer = Writer { pipeline: pipeline.name.clone(), fence: None };
            let sink = PostgresSink::connect_new_schema(&target, streams, writer)?;
            let place = format!("schema {} of {}", sink.schema(), target.name());
            Ok((Box::new(sink), place))
        }
        kind => Err(SinkError::Destination(format!(
            "reparse --sink loads into the pipeline's database, but its [sink] kind is {}: leave out --sink to write files",
            format!("{kind:?}").to_lowercase()
        ))),
    }
}

/// A destination for records; see the module docs for the protocol.
pub trait Sink: Send {
    /// Write one page's records, not yet durably.
    fn write(&mut self, page: &PageRef<'_>, records: &[Record]) -> Result<(), SinkError>;

    /// Make everything written durable; the position to record with the batch.
    fn flush(&mut self) -> Result<Position, SinkError>;

    /// The position now (before a run writes anything: where `--restart` cuts back to). Sinks
    /// that deduplicate at the destination (a loads table, a target's upsert) keep none.
    fn position(&self) -> Position {
        Position::new()
    }

    /// Go back to `committed` after a crash (files are cut to their committed lengths).
    fn recover(&mut self, committed: &Position) -> Result<(), SinkError>;

    /// Where `stream`'s records go, for people: a path, a table.
    fn describe(&self, stream: &str) -> String;

    /// `stream`'s checkpoint after the records written so far (JSON text); written out with
    /// them by the next flush. Only sinks that carry state (Singer) use it.
    fn checkpoint(&mut self, _stream: &str, _value: &str) -> Result<(), SinkError> {
        Ok(())
    }

    /// The checkpoint the destination holds for `stream`, when it keeps checkpoints with its
    /// data (then it wins over the store's: it is what the loaded records cover).
    fn stored_checkpoint(&mut self, _stream: &str) -> Result<Option<String>, SinkError> {
        Ok(None)
    }
}
