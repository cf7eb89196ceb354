//! Opening the database: for writing (one process at a time, waiting briefly for another to
//! finish) or read-only (any number, alongside the writer), created atomically, migrated from an
//! older format, and with errors that tell a damaged file from one that cannot be read or
//! written (permissions, a full disk, a read-only mount).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::{Builder, ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, StorageError};

use super::StoreError;

/// How long opening for writing waits for another apiary process to close the database.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// redb's page cache (its default is 1 GiB, filled by every page written): a sync appends and
/// reads little back, so a small cache keeps memory flat however long the sync. At 8 MiB a
/// 10,000-page sync used 10 MiB more than a 1,000-page one (benchmark figure 4); at 2 MiB, 3 MiB
/// more, with whole syncs as fast (figures 1 and 8) and a commit about 15% slower (figure 5).
const CACHE_BYTES: usize = 2 << 20;

/// Every process opens the file in this mode: one writer and any number of readers at once.
fn builder() -> Builder {
    let mut builder = Database::builder();
    builder.set_concurrency_mode(ConcurrencyMode::SingleWriter).set_cache_size(CACHE_BYTES);
    builder
}

/// Open `path` for writing, creating it (atomically: under a temporary name, then renamed) when
/// there is no file. `initialise` fills a new database before it takes its final name.
pub fn open_writer(
    path: &Path,
    initialise: impl FnOnce(&Database) -> Result<(), StoreError>,
) -> Result<Database, StoreError> {
    if !path.exists() {
        create(path, initialise)?;
    }
    let started = Instant::now();
    loop {
        match builder().open(path) {
            Ok(db) => return Ok(db),
            Err(DatabaseError::DatabaseAlreadyOpen) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(describe(path, e)),
        }
    }
}

/// Open `path` read-only; a missing file is an error (a read never creates a database).
pub fn open_reader(path: &Path) -> Result<ReadOnlyDatabase, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing { path: path.to_path_buf() });
    }
    builder().open_read_only(path).map_err(|e| describe(path, e))
}

/// Create a new database under a temporary name and move it into place once initialised, so a
/// failure (a full disk) never leaves a half-made file that later opens would call damaged.
fn create(path: &Path, initialise: impl FnOnce(&Database) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let io = |source| StoreError::Io { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let partial = partial_path(path);
    let _ = std::fs::remove_file(&partial);
    // Errors name the database, not its temporary name.
    let made = builder().create(&partial).map_err(|e| describe(path, e)).and_then(|db| {
        initialise(&db)?;
        drop(db);
        std::fs::rename(&partial, path).map_err(io)
    });
    if made.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    made
}

/// A new, empty database file at `path`.
pub fn create_at(path: &Path) -> Result<Database, StoreError> {
    builder().create(path).map_err(|e| describe(path, e))
}

/// Where a database is made before it gets its name.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".creating-{}", std::process::id()));
    path.with_file_name(name)
}

/// An open error as the user should read it.
pub fn describe(path: &Path, error: DatabaseError) -> StoreError {
    let path = path.to_path_buf();
    match error {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => StoreError::Locked { path },
        DatabaseError::UpgradeRequired(_) => StoreError::OldRedb { path },
        // redb reports a file that is not a redb database as invalid data.
        DatabaseError::Storage(StorageError::Io(source)) if source.kind() == std::io::ErrorKind::InvalidData => {
            StoreError::Corrupt { path, reason: source.to_string() }
        }
        DatabaseError::Storage(StorageError::Io(source)) => StoreError::Io { path, source },
        DatabaseError::RepairAborted => StoreError::NeedsRecovery { path },
        DatabaseError::Storage(StorageError::Corrupted(reason)) => StoreError::Corrupt { path, reason },
        other => StoreError::Corrupt { path, reason: other.to_string() },
    }
}
