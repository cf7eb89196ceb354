//! Bringing a pipeline's archived exchanges into a home's store, so `apiary reparse` runs on a
//! machine that never fetched them (`reparse --from-archive`). Only into a home that holds none
//! of the pipeline's exchanges yet: importing twice would parse every page twice.

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;

use super::{ArchiveError, ArchiveTarget, object};
use crate::store::{RawMeta, Store};

/// Objects fetched at once.
const CONCURRENCY: usize = 8;
/// Exchanges stored per transaction.
const CHUNK: usize = 256;

/// What an import brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Exchanges stored.
    pub exchanges: u64,
    /// The archive they came from.
    pub url: String,
}

/// Store every archived exchange of `pipeline` from `target` into `store`, in the order they
/// were fetched; `progress` hears (imported so far, total).
pub async fn import(
    store: &Store,
    target: &ArchiveTarget,
    pipeline: &str,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<Imported, ArchiveError> {
    if !store.raw_list(|m| m.pipeline == pipeline)?.is_empty() {
        return Err(ArchiveError::NotFresh { database: store.path().to_path_buf(), pipeline: pipeline.to_string() });
    }
    let prefix = object::pipeline_prefix(target.prefix(), pipeline);
    let mut keys: Vec<ObjectPath> = target
        .objects()
        .list(Some(&prefix))
        .map_ok(|o| o.location)
        .try_collect()
        .await
        .map_err(|e| target.unreachable(&e))?;
    if keys.is_empty() {
        return Err(ArchiveError::Empty { url: target.url().to_string(), pipeline: pipeline.to_string() });
    }
    keys.sort();
    let total = keys.len() as u64;
    progress(0, total);
    let reads = futures::stream::iter(keys).map(|key| read(target, key)).buffered(CONCURRENCY);
    let mut exchanges: Vec<(RawMeta, Vec<u8>)> = Vec::with_capacity(total as usize);
    let mut reads = std::pin::pin!(reads);
    while let Some(exchange) = reads.next().await {
        exchanges.push(exchange?);
        progress(exchanges.len() as u64, total);
    }
    // Keys sort by fetch time; exchanges fetched in the same millisecond keep their old order.
    exchanges.sort_by_key(|(meta, _)| (meta.fetched_at_ms, meta.id));
    let mut rest = exchanges.into_iter().peekable();
    while rest.peek().is_some() {
        store.import_exchanges(rest.by_ref().take(CHUNK).collect())?;
    }
    Ok(Imported { exchanges: total, url: target.url().to_string() })
}

/// The exchange archived at `key`, checked.
async fn read(target: &ArchiveTarget, key: ObjectPath) -> Result<(RawMeta, Vec<u8>), ArchiveError> {
    let unreachable = |e: object_store::Error| target.unreachable(&e);
    let bytes = target.objects().get(&key).await.map_err(unreachable)?.bytes().await.map_err(unreachable)?;
    object::decode(&key, &bytes).map_err(|e| ArchiveError::Damaged {
        url: target.url().to_string(),
        key: key.to_string(),
        reason: e.to_string(),
    })
}
