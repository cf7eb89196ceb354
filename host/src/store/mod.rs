//! The redb database under the apiary home: runs, raw exchanges, dead letters and schemas.
//!
//! Every table has a typed API here; nothing outside this module touches redb. Values are
//! stored as JSON (metadata) or zstd (response bodies), behind [`codec`], so a damaged value is
//! an error, never a panic.

mod codec;
mod dead_letters;
mod deprecations;
mod ids;
mod raw;
mod runs;
mod schemas;
mod sync_state;
mod tables;

use std::path::{Path, PathBuf};

use redb::Database;

pub use dead_letters::{DeadLetter, NewDeadLetter, Stage};
pub use deprecations::Deprecation;
pub use ids::{DeadLetterId, ExchangeId, FrontierId, RunId};
pub use raw::{NewExchange, RawExchange, RawMeta};
pub use runs::{RunCounts, RunKind, RunOutcome, RunRecord};
pub use schemas::{AcceptedSchema, ObservedSchema, SchemaPoint, SchemaSource};
pub use sync_state::{Completion, FrontierEntry, SyncState};
use tables::META;

/// The database format this build writes. Opening a newer one is refused.
pub const FORMAT_VERSION: u64 = 1;

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
    /// Another process has the database open.
    #[error("{path} is in use by another apiary process; wait for it to finish")]
    Locked { path: PathBuf },
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
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Open the database at `path`, creating it if there is no file. An existing file that is not
    /// an apiary database, or is from a newer apiary, is refused without being changed.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let existed = path.exists();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Db(format!("{}: {e}", parent.display())))?;
        }
        let opened = if existed { Database::open(path) } else { Database::create(path) };
        let db = opened.map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked { path: path.to_path_buf() },
            other => StoreError::Corrupt { path: path.to_path_buf(), reason: other.to_string() },
        })?;
        let store = Store { db, path: path.to_path_buf() };
        store.check_format(existed)?;
        Ok(store)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuse a newer format; create the tables in a new file.
    fn check_format(&self, existed: bool) -> Result<(), StoreError> {
        let read = self.db.begin_read().map_err(db_error)?;
        let found = match read.open_table(META) {
            Ok(meta) => meta.get("format").map_err(db_error)?.map(|v| v.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(db_error(e)),
        };
        drop(read);
        match found {
            Some(v) if v > FORMAT_VERSION => Err(StoreError::NewerFormat { path: self.path.clone(), found: v }),
            Some(_) => Ok(()),
            None if existed && self.has_any_table()? => {
                Err(StoreError::Corrupt { path: self.path.clone(), reason: "it has no apiary format marker".into() })
            }
            None => self.initialise(),
        }
    }

    fn has_any_table(&self) -> Result<bool, StoreError> {
        let read = self.db.begin_read().map_err(db_error)?;
        Ok(redb::ReadTransaction::list_tables(&read).map_err(db_error)?.next().is_some())
    }

    fn initialise(&self) -> Result<(), StoreError> {
        let write = self.db.begin_write().map_err(db_error)?;
        {
            let mut meta = write.open_table(META).map_err(db_error)?;
            meta.insert("format", FORMAT_VERSION).map_err(db_error)?;
            tables::create_all(&write)?;
        }
        write.commit().map_err(db_error)
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }
}

/// Who is writing: the run, its pipeline and its connector. Stored things carry all three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    /// The run.
    pub run: RunId,
    /// The pipeline's name.
    pub pipeline: String,
    /// The connector in use.
    pub connector: crate::runtime::ConnectorIdentity,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_apiary_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apiary.redb");
        {
            let store = Store::open(&path).unwrap();
            let write = store.db().begin_write().unwrap();
            write.open_table(META).unwrap().insert("format", FORMAT_VERSION + 1).unwrap();
            write.commit().unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path).err().expect("refused");
        assert!(matches!(err, StoreError::NewerFormat { found, .. } if found == FORMAT_VERSION + 1));
        assert!(err.to_string().contains("upgrade apiary"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");
    }

    #[test]
    fn a_new_database_is_created_with_the_current_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/apiary.redb");
        Store::open(&path).unwrap();
        assert!(Store::open(&path).is_ok(), "reopening the same format works");
    }
}
