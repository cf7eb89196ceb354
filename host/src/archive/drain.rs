//! Draining a pipeline's archive queue: the oldest waiting exchanges are put into the archive a
//! few at a time (create-only: one already there is archived), and leave the queue only once
//! the archive has them. A failed pass is recorded and retried after a backoff; nothing here
//! ever touches the sync, so a slow or dead archive only grows the queue.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::{PutMode, PutOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{ArchiveError, ArchiveTarget, object};
use crate::clock::now_ms;
use crate::fetch::Backoff;
use crate::model::Jitter;
use crate::store::{ExchangeId, Store};

/// Exchanges read from the queue per pass.
const BATCH: usize = 64;
/// Puts in flight at once.
const CONCURRENCY: usize = 8;

/// The wait after a failed pass: 250 ms doubling to 30 s, so a server that is down is asked
/// rarely, and one that is back is found soon.
pub const BACKOFF: Backoff =
    Backoff { base: Duration::from_millis(250), max: Duration::from_secs(30), jitter: Jitter::None };

/// What a drain does when the queue is empty.
#[derive(Debug)]
pub enum Idle {
    /// Return: the queue is drained (`apiary archive push`).
    Return,
    /// Look again after `every`, until `finishing` turns true; then return once it is empty.
    Poll { every: Duration, finishing: watch::Receiver<bool> },
}

/// How one drain behaves.
#[derive(Debug)]
pub struct DrainPlan {
    /// On an empty queue.
    pub idle: Idle,
    /// Fail after this many failed passes in a row (`None`: retry until stopped).
    pub give_up_after: Option<u32>,
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pass {
    /// Nothing was waiting.
    Empty,
    /// This many exchanges were archived.
    Archived(usize),
    /// The archive failed (some may have been archived before): the error, on one line.
    Failed(String),
}

/// Drain the queue of `pipeline` into `target` as `plan` says, until it returns or `stop` is
/// cancelled; `archived` hears how many exchanges each pass archived.
pub async fn drain(
    store: &Arc<Store>,
    target: &ArchiveTarget,
    pipeline: &str,
    mut plan: DrainPlan,
    stop: &CancellationToken,
    archived: &(dyn Fn(usize) + Send + Sync),
) -> Result<(), ArchiveError> {
    let mut failures = 0u32;
    while !stop.is_cancelled() {
        let wait = match pass(store, target, pipeline).await? {
            Pass::Archived(n) => {
                failures = 0;
                archived(n);
                continue;
            }
            Pass::Empty => match &mut plan.idle {
                Idle::Return => return Ok(()),
                Idle::Poll { finishing, .. } if *finishing.borrow() => return Ok(()),
                Idle::Poll { every, .. } => *every,
            },
            Pass::Failed(reason) => {
                failures += 1;
                if plan.give_up_after.is_some_and(|limit| failures >= limit) {
                    return Err(ArchiveError::GaveUp { url: target.url().to_string(), attempts: failures, reason });
                }
                BACKOFF.step(failures - 1)
            }
        };
        let finishing = async {
            match &mut plan.idle {
                Idle::Poll { finishing, .. } => finishing.changed().await.is_err(),
                Idle::Return => std::future::pending().await,
            }
        };
        // The owner dropped without finishing: stop, as it would have.
        let owner_gone = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            gone = finishing => gone,
            _ = stop.cancelled() => false,
        };
        if owner_gone {
            return Ok(());
        }
    }
    Ok(())
}

/// One pass: put the oldest waiting exchanges, then take the ones the archive has off the queue.
async fn pass(store: &Arc<Store>, target: &ArchiveTarget, pipeline: &str) -> Result<Pass, ArchiveError> {
    let waiting = blocking(store, {
        let pipeline = pipeline.to_string();
        move |s| s.archive_waiting(&pipeline, BATCH)
    })
    .await?;
    if waiting.is_empty() {
        return Ok(Pass::Empty);
    }
    let puts = futures::stream::iter(waiting).map(|id| put(store, target, id)).buffer_unordered(CONCURRENCY);
    let results: Vec<Result<Result<ExchangeId, String>, ArchiveError>> = puts.collect().await;
    let (mut done, mut failed) = (Vec::new(), None);
    for result in results {
        match result? {
            Ok(id) => done.push(id),
            Err(reason) => failed = failed.or(Some(reason)),
        }
    }
    let (pipeline, count) = (pipeline.to_string(), done.len());
    let failure = failed.clone();
    blocking(store, move |s| {
        if !done.is_empty() {
            s.archive_done(&pipeline, &done, now_ms())?;
        }
        match failure {
            Some(reason) => s.archive_failed(&pipeline, &reason, now_ms()),
            None => Ok(()),
        }
    })
    .await?;
    Ok(failed.map_or(Pass::Archived(count), Pass::Failed))
}

/// Put exchange `id` into the archive: its id once the archive has it (now or before), else why
/// not. Only the store failing is an error.
async fn put(
    store: &Arc<Store>,
    target: &ArchiveTarget,
    id: ExchangeId,
) -> Result<Result<ExchangeId, String>, ArchiveError> {
    let (meta, body) = blocking(store, move |s| s.raw_stored(id)).await?;
    let object = object::encode(target.prefix(), &meta, &body);
    let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
    match target.objects().put_opts(&object.key, object.bytes.into(), options).await {
        Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(Ok(id)),
        Err(e) => Ok(Err(target.describe(&e))),
    }
}

/// Run `work` on the store off the async threads (writes wait for an fsync).
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    work: impl FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ArchiveError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| ArchiveError::Internal(e.to_string()))?
        .map_err(ArchiveError::from)
}
