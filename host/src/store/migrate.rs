//! Upgrading a format-1 database (written by redb 2) to format 2 (redb 4): every table is
//! copied row by row into a new file, the derived tables are built, and the old file is kept
//! beside the new one as `apiary.redb.format-1`. The values (JSON, zstd) are copied as they
//! are; only redb's own encoding changes.

use std::path::{Path, PathBuf};

use redb::Database;
use redb2::{ReadableTable as _, TableDefinition as Def2};

use super::{FORMAT_VERSION, StoreError, tables};

/// Format 1's tables, in redb 2's types.
const META: Def2<&str, u64> = Def2::new("meta");
const RUNS: Def2<u64, &[u8]> = Def2::new("runs");
const RAW_META: Def2<u64, &[u8]> = Def2::new("raw_meta");
const RAW_BODY: Def2<u64, &[u8]> = Def2::new("raw_body");
const DEAD_LETTERS: Def2<u64, &[u8]> = Def2::new("dead_letters");
const SYNC_STATE: Def2<&str, &[u8]> = Def2::new("sync_state");
const FRONTIER: Def2<(&str, u64), &[u8]> = Def2::new("frontier");
const UNPROCESSED: Def2<u64, u64> = Def2::new("unprocessed");
const CHECKPOINTS: Def2<(&str, &str), &str> = Def2::new("checkpoints");
const DEPRECATIONS: Def2<(&str, &str, &str), &[u8]> = Def2::new("deprecations");

/// Where the format-1 file is kept after the upgrade.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".format-1");
    path.with_file_name(name)
}

/// Whether `path` is a format-1 apiary database (redb 2 with an apiary format marker).
pub fn is_format_1(path: &Path) -> bool {
    let Ok(old) = redb2::Database::open(path) else { return false };
    let Ok(read) = old.begin_read() else { return false };
    let found = read.open_table(META).ok().and_then(|meta| meta.get("format").ok().flatten().map(|v| v.value()));
    found == Some(1)
}

/// Upgrade the format-1 database at `path` in place (keeping the old file as a backup).
/// `initialise` creates the current format's tables in the new file before rows are copied.
pub fn upgrade(path: &Path, initialise: impl FnOnce(&Database) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let io = |source| StoreError::Io { path: path.to_path_buf(), source };
    let old = redb2::Database::open(path).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("cannot read it to upgrade it from format 1: {e}"),
    })?;
    let backup = backup_path(path);
    let partial = backup.with_extension("upgrading");
    let _ = std::fs::remove_file(&partial);
    let new = super::open::create_at(&partial)?;
    initialise(&new)?;
    copy_all(&old, &new).map_err(|reason| StoreError::Corrupt { path: path.to_path_buf(), reason })?;
    drop((old, new));
    std::fs::rename(path, &backup).map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)?;
    tracing::warn!(
        "upgraded {} from database format 1 to {FORMAT_VERSION}; the old file is kept as {}",
        path.display(),
        backup.display()
    );
    Ok(())
}

/// Copy every row of `$from` (redb 2) into `$to` (redb 4): the same key and value types, so
/// the values read are the values written.
macro_rules! copy_table {
    ($read:expr, $write:expr, $from:expr, $to:expr) => {{
        let source = $read.open_table($from).map_err(|e| e.to_string())?;
        let mut target = $write.open_table($to).map_err(|e| e.to_string())?;
        for row in source.iter().map_err(|e| e.to_string())? {
            let (k, v) = row.map_err(|e| e.to_string())?;
            target.insert(k.value(), v.value()).map_err(|e| e.to_string())?;
        }
    }};
}

/// Copy every row of every format-1 table into `new`.
fn copy_all(old: &redb2::Database, new: &Database) -> Result<(), String> {
    let read = old.begin_read().map_err(|e| e.to_string())?;
    let write = new.begin_write().map_err(|e| e.to_string())?;
    {
        let old_meta = read.open_table(META).map_err(|e| e.to_string())?;
        if let Some(next) = old_meta.get("next_frontier_id").map_err(|e| e.to_string())? {
            let mut meta = write.open_table(tables::META).map_err(|e| e.to_string())?;
            meta.insert("next_frontier_id", next.value()).map_err(|e| e.to_string())?;
        }
        copy_table!(read, write, RUNS, tables::RUNS);
        copy_table!(read, write, RAW_META, tables::RAW_META);
        copy_table!(read, write, RAW_BODY, tables::RAW_BODY);
        copy_table!(read, write, DEAD_LETTERS, tables::DEAD_LETTERS);
        copy_table!(read, write, SYNC_STATE, tables::SYNC_STATE);
        copy_table!(read, write, FRONTIER, tables::FRONTIER);
        copy_unprocessed(&read, &write)?;
        copy_table!(read, write, CHECKPOINTS, tables::CHECKPOINTS);
        copy_table!(read, write, DEPRECATIONS, tables::DEPRECATIONS);
    }
    write.commit().map_err(|e| e.to_string())
}

/// Format 1 keyed unprocessed marks by exchange alone; format 2 by (pipeline, exchange): the
/// pipeline comes from the exchange's stored metadata.
fn copy_unprocessed(read: &redb2::ReadTransaction, write: &redb::WriteTransaction) -> Result<(), String> {
    let marks = read.open_table(UNPROCESSED).map_err(|e| e.to_string())?;
    let metas = read.open_table(RAW_META).map_err(|e| e.to_string())?;
    let mut target = write.open_table(tables::UNPROCESSED).map_err(|e| e.to_string())?;
    for row in marks.iter().map_err(|e| e.to_string())? {
        let (exchange, entry) = row.map_err(|e| e.to_string())?;
        let Some(meta) = metas.get(exchange.value()).map_err(|e| e.to_string())? else { continue };
        let meta: serde_json::Value = serde_json::from_slice(meta.value()).map_err(|e| e.to_string())?;
        let pipeline = meta["pipeline"].as_str().unwrap_or_default();
        target.insert((pipeline, exchange.value()), entry.value()).map_err(|e| e.to_string())?;
    }
    Ok(())
}
