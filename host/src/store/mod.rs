//! The redb database under the apiary home: runs, raw exchanges, dead letters, sync state and
//! stream schemas.
//!
//! Every table has a typed API here; nothing outside this module touches redb. Values are
//! stored as JSON (metadata) or zstd (response bodies), behind [`codec`], so a damaged value is
//! an error, never a panic. One process writes at a time; any number may read alongside it
//! ([`Store::open_read_only`]), so looking at a running sync never disturbs it.
//!
//! This module is a leaf: it stores the host's own types ([`crate::model`]) and imports nothing
//! from the fetcher, the runtime or the sync engine.

mod archive_queue;
mod batch;
mod codec;
mod counts;
mod dead_letters;
mod deprecations;
mod ids;
mod letter_index;
mod migrate;
mod open;
mod raw;
mod runs;
mod schemas;
mod sync_state;
mod tables;

use std::path::{Path, PathBuf};

use redb::{Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, WriteTransaction};

pub use archive_queue::{ArchiveBacklog, ArchiveHealth, Archiving};
pub use batch::{Added, Write};
pub use counts::Counts;
pub use dead_letters::{DeadLetter, LetterOrigin, NewDeadLetter, Stage};
pub use deprecations::Deprecation;
pub use ids::{DeadLetterId, ExchangeId, FrontierId, Reservations, RunId};
pub use letter_index::RequestKey;
pub use raw::{ExchangeWrite, RawExchange, RawMeta};
pub use runs::{RunKind, RunOutcome, RunRecord};
pub use schemas::{AcceptedSchema, ObservedSchema, SchemaPoint, SchemaSource};
pub use sync_state::{Completion, FrontierEntry, RawRequest, SyncState, Unprocessed};
use tables::META;

use crate::model::ConnectorIdentity;

/// The database format this build writes. Opening a newer one is refused; format 1 (redb 2)
/// is upgraded in place, its file kept as a backup.
pub const FORMAT_VERSION: u64 = 2;

/// Something went wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a redb database, or it is damaged.
    #[error(
        "{path} is not an apiary database or is damaged ({reason}); move it aside to start afresh, nothing was changed"
    )]
    Corrupt { path: PathBuf, reason: String },
    /// The file was written by a newer apiary.
    #[error(
        "{path} has database format {found}, newer than this apiary's {FORMAT_VERSION}; upgrade apiary, nothing was changed"
    )]
    NewerFormat { path: PathBuf, found: u64 },
    /// The file is a redb file of a version this build does not read.
    #[error("{path} was written by an unknown redb version; nothing was changed")]
    OldRedb { path: PathBuf },
    /// Another process is writing to the database.
    #[error(
        "{path} is in use by another apiary process (a running `apiary run`, `dlq replay` or `serve`); wait for it to finish"
    )]
    Locked { path: PathBuf },
    /// The file (or its folder) could not be read or written: nothing is damaged.
    #[error("cannot open {path}: {source} (the database itself is not damaged)")]
    Io { path: PathBuf, source: std::io::Error },
    /// The last writer was killed; only a writer repairs the file.
    #[error("{path} was not closed cleanly (a sync was killed); the next `apiary run` repairs it, then it can be read")]
    NeedsRecovery { path: PathBuf },
    /// A read command found no database.
    #[error("no apiary database at {path}: nothing has run with this --home yet (check --home or APIARY_HOME)")]
    Missing { path: PathBuf },
    /// A write was attempted through a read-only handle (a bug).
    #[error("the database was opened read-only")]
    ReadOnly,
    /// A read or write failed.
    #[error("database error: {0}")]
    Db(String),
    /// A stored value could not be decoded.
    #[error("stored value in table `{table}` could not be decoded: {reason}")]
    Decode { table: String, reason: String },
    /// No such item.
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: u64 },
    /// No run recorded a schema of the stream at that point.
    #[error(
        "no schema of stream {stream} of pipeline {pipeline} recorded at {at}; pick a run or API version that synced it"
    )]
    NoSchema { pipeline: String, stream: String, at: String },
}

/// Wrap any redb error.
pub(crate) fn db_error(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db(e.into().to_string())
}

/// The open database.
pub struct Store {
    db: Handle,
    path: PathBuf,
    reservations: Reservations,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.db {
            Handle::Writer(_) => "writer",
            Handle::Reader(_) => "reader",
        };
        f.debug_struct("Store").field("path", &self.path).field("mode", &mode).finish()
    }
}

/// How the file is open.
enum Handle {
    Writer(Database),
    Reader(ReadOnlyDatabase),
}

impl Store {
    /// Open the database at `path` for writing, creating it if there is no file. A file that is
    /// not an apiary database, or is from a newer apiary, is refused without being changed.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if path.exists() {
            // Check the format through a read-only handle first: opening for writing marks the
            // file, and a newer or foreign file must be left exactly as it is. A file left by a
            // killed writer cannot be read before a writer repairs it: that is this open.
            match Store::open_read_only(path) {
                Ok(_) | Err(StoreError::NeedsRecovery { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let db = match open::open_writer(path, initialise) {
            Err(StoreError::OldRedb { .. }) if migrate::is_format_1(path) => {
                upgrade_format_1(path)?;
                open::open_writer(path, initialise)?
            }
            opened => opened?,
        };
        let mut store =
            Store { db: Handle::Writer(db), path: path.to_path_buf(), reservations: Reservations::starting_at(1, 1) };
        store.check_format()?;
        store.reservations = store.next_ids()?;
        Ok(store)
    }

    /// Open the database at `path` to read it, alongside a process that may be writing to it.
    /// A missing file is an error: reading never creates a database.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let db = match open::open_reader(path) {
            Err(StoreError::OldRedb { .. }) if migrate::is_format_1(path) => {
                upgrade_format_1(path)?;
                open::open_reader(path)?
            }
            opened => opened?,
        };
        let store =
            Store { db: Handle::Reader(db), path: path.to_path_buf(), reservations: Reservations::starting_at(1, 1) };
        store.check_format()?;
        Ok(store)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuse a newer format, or a redb file that is not an apiary database.
    fn check_format(&self) -> Result<(), StoreError> {
        let read = self.read()?;
        let found = match read.open_table(META) {
            Ok(meta) => meta.get("format").map_err(db_error)?.map(|v| v.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(db_error(e)),
        };
        match found {
            Some(v) if v > FORMAT_VERSION => Err(StoreError::NewerFormat { path: self.path.clone(), found: v }),
            Some(_) => Ok(()),
            None => {
                Err(StoreError::Corrupt { path: self.path.clone(), reason: "it has no apiary format marker".into() })
            }
        }
    }

    /// Ids handed out before their rows are written (the writer's).
    pub fn reservations(&self) -> &Reservations {
        &self.reservations
    }

    /// Reservations continuing after the ids already stored.
    fn next_ids(&self) -> Result<Reservations, StoreError> {
        use redb::ReadableTable;
        let read = self.read()?;
        let raw = read.open_table(tables::RAW_META).map_err(db_error)?;
        let next_exchange = raw.last().map_err(db_error)?.map_or(1, |(k, _)| k.value() + 1);
        let meta = read.open_table(META).map_err(db_error)?;
        let next_frontier = meta.get("next_frontier_id").map_err(db_error)?.map_or(1, |v| v.value());
        Ok(Reservations::starting_at(next_exchange, next_frontier))
    }

    /// A read transaction.
    pub(crate) fn read(&self) -> Result<ReadTransaction, StoreError> {
        match &self.db {
            Handle::Writer(db) => db.begin_read(),
            Handle::Reader(db) => db.begin_read(),
        }
        .map_err(db_error)
    }

    /// A write transaction (an error through a read-only handle).
    pub(crate) fn write(&self) -> Result<WriteTransaction, StoreError> {
        match &self.db {
            Handle::Writer(db) => db.begin_write().map_err(db_error),
            Handle::Reader(_) => Err(StoreError::ReadOnly),
        }
    }
}

/// Fill a new database: the format marker and every table, so readers never meet a missing one.
fn initialise(db: &Database) -> Result<(), StoreError> {
    let write = db.begin_write().map_err(db_error)?;
    {
        let mut meta = write.open_table(META).map_err(db_error)?;
        meta.insert("format", FORMAT_VERSION).map_err(db_error)?;
        tables::create_all(&write)?;
    }
    write.commit().map_err(db_error)
}

/// Upgrade the format-1 file at `path` in place, then index its open dead letters. Only called
/// once redb 4 has said the file is older than it reads: redb 2 must never open a newer file.
fn upgrade_format_1(path: &Path) -> Result<(), StoreError> {
    migrate::upgrade(path, initialise)?;
    let db = Handle::Writer(open::open_writer(path, initialise)?);
    let store = Store { db, path: path.to_path_buf(), reservations: Reservations::starting_at(1, 1) };
    store.rebuild_letter_index()
}

/// Who is writing: the run, its pipeline and its connector. Stored things carry all three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    /// The run.
    pub run: RunId,
    /// The pipeline's name.
    pub pipeline: String,
    /// The connector in use.
    pub connector: ConnectorIdentity,
}

#[cfg(test)]
mod tests;
