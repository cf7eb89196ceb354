//! The archive's durable queue: exchanges committed but not yet written to the pipeline's
//! archive. An exchange enters the queue in the very transaction that stores it (so a crash
//! never loses an entry) and leaves it only once the archive has it; the archive's health (last
//! success, last error) is kept beside it for `apiary archive status`.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::tables::{ARCHIVE_HEALTH, ARCHIVE_QUEUE, RAW_BODY, RAW_META};
use super::{ExchangeId, RawMeta, Store, StoreError, codec, db_error, tables};

/// Whether a stored exchange also goes to the pipeline's archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Archiving {
    /// The pipeline has no archive (or the exchange came from one).
    #[default]
    Off,
    /// Queue it for the archive in the same transaction.
    Queue,
}

/// How the archive of a pipeline is doing, as recorded by whoever drains its queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveHealth {
    /// Exchanges archived so far.
    pub archived: u64,
    /// When the last exchange was archived (ms since the epoch).
    pub last_archived_ms: Option<u64>,
    /// The last failure, on one line, without secrets.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_ms: Option<u64>,
}

/// A pipeline's backlog: what waits for the archive, and how the archive is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveBacklog {
    /// The pipeline.
    pub pipeline: String,
    /// Exchanges waiting.
    pub waiting: u64,
    /// When the oldest waiting exchange was queued (ms since the epoch).
    pub oldest_ms: Option<u64>,
    /// The drain's record.
    pub health: ArchiveHealth,
}

/// Queue exchange `id` of `pipeline` for the archive, inside the write that stores it.
pub(super) fn enqueue(write: &WriteTransaction, pipeline: &str, id: u64, now_ms: u64) -> Result<(), StoreError> {
    write.open_table(ARCHIVE_QUEUE).map_err(db_error)?.insert((pipeline, id), now_ms).map_err(db_error)?;
    Ok(())
}

impl Store {
    /// Up to `limit` exchanges of `pipeline` waiting for the archive, oldest first.
    pub fn archive_waiting(&self, pipeline: &str, limit: usize) -> Result<Vec<ExchangeId>, StoreError> {
        let read = self.read()?;
        let Some(queue) = tables::open_optional(&read, ARCHIVE_QUEUE)? else { return Ok(Vec::new()) };
        let mut ids = Vec::new();
        for row in queue.range((pipeline, 0)..=(pipeline, u64::MAX)).map_err(db_error)?.take(limit) {
            ids.push(ExchangeId(row.map_err(db_error)?.0.value().1));
        }
        Ok(ids)
    }

    /// The exchange `id` as stored: its metadata and its body still compressed (what the
    /// archive keeps).
    pub fn raw_stored(&self, id: ExchangeId) -> Result<(RawMeta, Vec<u8>), StoreError> {
        let read = self.read()?;
        let metas = read.open_table(RAW_META).map_err(db_error)?;
        let meta: RawMeta =
            tables::get_json(&metas, RAW_META, id.0)?.ok_or(StoreError::NotFound { what: "raw exchange", id: id.0 })?;
        let bodies = read.open_table(RAW_BODY).map_err(db_error)?;
        let body = bodies.get(id.0).map_err(db_error)?.ok_or(StoreError::NotFound { what: "raw body", id: id.0 })?;
        Ok((meta, body.value().to_vec()))
    }

    /// `archived` exchanges of `pipeline` are in the archive: they leave the queue, in one
    /// transaction that also records the success.
    pub fn archive_done(&self, pipeline: &str, archived: &[ExchangeId], now_ms: u64) -> Result<(), StoreError> {
        let write = self.write()?;
        {
            let mut queue = write.open_table(ARCHIVE_QUEUE).map_err(db_error)?;
            for id in archived {
                queue.remove((pipeline, id.0)).map_err(db_error)?;
            }
        }
        update_health(&write, pipeline, |h| {
            h.archived += archived.len() as u64;
            h.last_archived_ms = Some(now_ms);
        })?;
        write.commit().map_err(db_error)
    }

    /// Record that writing to the archive of `pipeline` failed with `error` (one line, no secret).
    pub fn archive_failed(&self, pipeline: &str, error: &str, now_ms: u64) -> Result<(), StoreError> {
        let write = self.write()?;
        update_health(&write, pipeline, |h| {
            h.last_error = Some(error.to_string());
            h.last_error_ms = Some(now_ms);
        })?;
        write.commit().map_err(db_error)
    }

    /// The backlog of every pipeline that has ever queued for an archive (or only `pipeline`).
    pub fn archive_backlogs(&self, pipeline: Option<&str>) -> Result<Vec<ArchiveBacklog>, StoreError> {
        let read = self.read()?;
        let mut found: std::collections::BTreeMap<String, ArchiveBacklog> = Default::default();
        let wanted = |name: &str| pipeline.is_none_or(|p| p == name);
        if let Some(health) = tables::open_optional(&read, ARCHIVE_HEALTH)? {
            for row in health.iter().map_err(db_error)? {
                let (name, value) = row.map_err(db_error)?;
                if wanted(name.value()) {
                    let health = codec::from_json("archive_health", value.value())?;
                    found.insert(name.value().to_string(), ArchiveBacklog { health, ..ArchiveBacklog::default() });
                }
            }
        }
        if let Some(queue) = tables::open_optional(&read, ARCHIVE_QUEUE)? {
            for row in queue.iter().map_err(db_error)? {
                let (key, queued) = row.map_err(db_error)?;
                let name = key.value().0;
                if wanted(name) {
                    let backlog = found.entry(name.to_string()).or_default();
                    backlog.waiting += 1;
                    backlog.oldest_ms = Some(backlog.oldest_ms.map_or(queued.value(), |t| t.min(queued.value())));
                }
            }
        }
        if let Some(name) = pipeline {
            found.entry(name.to_string()).or_default();
        }
        Ok(found.into_iter().map(|(name, b)| ArchiveBacklog { pipeline: name, ..b }).collect())
    }

    /// Store exchanges read from an archive, in order, under new ids; they are not queued for
    /// the archive again. Returns the ids given.
    pub fn import_exchanges(&self, exchanges: Vec<(RawMeta, Vec<u8>)>) -> Result<Vec<ExchangeId>, StoreError> {
        let write = self.write()?;
        let mut ids = Vec::with_capacity(exchanges.len());
        {
            let mut bodies = write.open_table(RAW_BODY).map_err(db_error)?;
            for (mut meta, body) in exchanges {
                meta.id = self.reservations.exchange();
                tables::put_json(&write, RAW_META, meta.id.0, &meta)?;
                bodies.insert(meta.id.0, body.as_slice()).map_err(db_error)?;
                ids.push(meta.id);
            }
        }
        write.commit().map_err(db_error)?;
        Ok(ids)
    }
}

/// Change the recorded health of `pipeline`'s archive.
fn update_health(
    write: &WriteTransaction,
    pipeline: &str,
    change: impl FnOnce(&mut ArchiveHealth),
) -> Result<(), StoreError> {
    let mut table = write.open_table(ARCHIVE_HEALTH).map_err(db_error)?;
    let mut health: ArchiveHealth = match table.get(pipeline).map_err(db_error)? {
        Some(v) => codec::from_json("archive_health", v.value())?,
        None => ArchiveHealth::default(),
    };
    change(&mut health);
    table.insert(pipeline, codec::to_json(&health).as_slice()).map_err(db_error)?;
    Ok(())
}
