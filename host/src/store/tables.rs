//! The table definitions. Keys are ids; values are encoded by [`super::codec`].

use redb::{TableDefinition, TableHandle, WriteTransaction};

use super::{StoreError, db_error};

/// Format marker and other database-wide values.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Run id -> JSON [`super::RunRecord`].
pub const RUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("runs");
/// Exchange id -> JSON [`super::RawMeta`].
pub const RAW_META: TableDefinition<u64, &[u8]> = TableDefinition::new("raw_meta");
/// Exchange id -> zstd-compressed response body.
pub const RAW_BODY: TableDefinition<u64, &[u8]> = TableDefinition::new("raw_body");
/// Dead letter id -> JSON [`super::DeadLetter`].
pub const DEAD_LETTERS: TableDefinition<u64, &[u8]> = TableDefinition::new("dead_letters");

/// Pipeline name -> JSON [`super::SyncState`] of its unfinished sync, if any.
pub const SYNC_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("sync_state");
/// (pipeline, frontier entry id) -> JSON [`super::FrontierEntry`]: requests still to process.
pub const FRONTIER: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("frontier");
/// (pipeline, exchange id) -> frontier entry id: exchanges stored but not yet processed.
pub const UNPROCESSED: TableDefinition<(&str, u64), u64> = TableDefinition::new("unprocessed");
/// (pipeline, stream) -> the stream's checkpoint, as the connector wrote it.
pub const CHECKPOINTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("checkpoints");

/// (connector, api version, endpoint) -> JSON [`super::Deprecation`].
pub const DEPRECATIONS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("deprecations");

/// (run, stream) -> JSON [`super::Counts`]: what a run has committed so far, kept in the same
/// transactions as the work they count, so they stay true across crashes and resumes.
pub const RUN_COUNTS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("run_counts");
/// (pipeline, request key, dead letter id) -> (): the open letters of each request, so a later
/// completion of the same request settles them.
pub const LETTER_INDEX: TableDefinition<(&str, &str, u64), ()> = TableDefinition::new("letter_index");
/// (pipeline, stream) -> JSON [`super::AcceptedSchema`]: the schema a stream keeps to.
pub const ACCEPTED_SCHEMAS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("accepted_schemas");
/// (pipeline, stream, run id) -> JSON [`super::ObservedSchema`]: what a run saw of a stream.
pub const OBSERVED_SCHEMAS: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("observed_schemas");

/// (pipeline, exchange id) -> when it was queued (ms): exchanges not yet in the pipeline's archive.
pub const ARCHIVE_QUEUE: TableDefinition<(&str, u64), u64> = TableDefinition::new("archive_queue");
/// Pipeline -> JSON [`super::ArchiveHealth`]: how its archive is doing.
pub const ARCHIVE_HEALTH: TableDefinition<&str, &[u8]> = TableDefinition::new("archive_health");

/// Create every table, so readers never meet a missing one.
pub fn create_all(write: &WriteTransaction) -> Result<(), StoreError> {
    write.open_table(DEPRECATIONS).map_err(db_error)?;
    write.open_table(SYNC_STATE).map_err(db_error)?;
    write.open_table(FRONTIER).map_err(db_error)?;
    write.open_table(UNPROCESSED).map_err(db_error)?;
    write.open_table(CHECKPOINTS).map_err(db_error)?;
    write.open_table(RUNS).map_err(db_error)?;
    write.open_table(RAW_META).map_err(db_error)?;
    write.open_table(RAW_BODY).map_err(db_error)?;
    write.open_table(DEAD_LETTERS).map_err(db_error)?;
    write.open_table(RUN_COUNTS).map_err(db_error)?;
    write.open_table(LETTER_INDEX).map_err(db_error)?;
    write.open_table(ACCEPTED_SCHEMAS).map_err(db_error)?;
    write.open_table(OBSERVED_SCHEMAS).map_err(db_error)?;
    write.open_table(ARCHIVE_QUEUE).map_err(db_error)?;
    write.open_table(ARCHIVE_HEALTH).map_err(db_error)?;
    Ok(())
}

/// `table` in a read, or `None` in a database made before the table existed (tables added
/// since need no format change: a write creates them).
pub fn open_optional<K: redb::Key + 'static, V: redb::Value + 'static>(
    read: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match read.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(db_error(e)),
    }
}

/// A table of JSON values keyed by id.
pub type JsonTable = TableDefinition<'static, u64, &'static [u8]>;

/// The id after the largest one in `table` (ids start at 1).
pub fn next_id(table: &redb::Table<u64, &[u8]>) -> Result<u64, StoreError> {
    use redb::ReadableTable;
    Ok(table.last().map_err(db_error)?.map_or(1, |(k, _)| k.value() + 1))
}

/// Write `value` as JSON under `id`.
pub fn put_json<T: serde::Serialize>(
    write: &WriteTransaction,
    table: JsonTable,
    id: u64,
    value: &T,
) -> Result<(), StoreError> {
    let mut t = write.open_table(table).map_err(db_error)?;
    t.insert(id, super::codec::to_json(value).as_slice()).map_err(db_error)?;
    Ok(())
}

/// Read the JSON value under `id`, if any.
pub fn get_json<T: serde::de::DeserializeOwned>(
    read: &impl redb::ReadableTable<u64, &'static [u8]>,
    table: JsonTable,
    id: u64,
) -> Result<Option<T>, StoreError> {
    match read.get(id).map_err(db_error)? {
        Some(v) => super::codec::from_json(table.name(), v.value()).map(Some),
        None => Ok(None),
    }
}

/// Every value of a JSON table, in id order, that `keep` accepts.
pub fn list_json<T: serde::de::DeserializeOwned>(
    read: &redb::ReadTransaction,
    table: JsonTable,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, StoreError> {
    use redb::ReadableTable;
    let t = read.open_table(table).map_err(db_error)?;
    let mut out = Vec::new();
    for entry in t.iter().map_err(db_error)? {
        let (_, v) = entry.map_err(db_error)?;
        let value: T = super::codec::from_json(table.name(), v.value())?;
        if keep(&value) {
            out.push(value);
        }
    }
    Ok(out)
}
