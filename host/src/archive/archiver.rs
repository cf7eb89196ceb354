//! The archive's background drain, for a process that commits exchanges while it runs
//! (`apiary run`, `apiary serve`), and `apiary archive push`'s drain to the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::drain::{DrainPlan, Idle, drain};
use super::{ArchiveError, ArchiveTarget};
use crate::config::Pipeline;
use crate::store::{ArchiveBacklog, Store};

/// How often an idle background drain looks at the queue again.
const POLL: Duration = Duration::from_millis(200);
/// Failed passes in a row after which `apiary archive push` gives up (about 8 s of backoff).
const PUSH_ATTEMPTS: u32 = 6;

/// A pipeline's archive drained in the background: started with the process, finished (with a
/// bounded flush) or stopped at its end.
#[derive(Debug)]
pub struct Archiver {
    store: Arc<Store>,
    pipeline: String,
    url: String,
    finishing: watch::Sender<bool>,
    stop: CancellationToken,
    task: JoinHandle<Result<(), ArchiveError>>,
}

impl Archiver {
    /// The background drain of `pipeline`'s archive, when it has one: its `[archive]` opened
    /// with its secrets, drained from `store`, the database every sync of the process commits to.
    pub fn for_pipeline(store: Arc<Store>, pipeline: &Pipeline) -> Result<Option<Archiver>, ArchiveError> {
        let Some(config) = &pipeline.archive else { return Ok(None) };
        let target = ArchiveTarget::open(config, &pipeline.secrets)?;
        Ok(Some(Archiver::spawn(store, target, &pipeline.name)))
    }

    /// Drain the queue of `pipeline` into `target` in the background (on the current Tokio
    /// runtime), retrying with backoff while the archive fails, until finished or stopped.
    pub fn spawn(store: Arc<Store>, target: ArchiveTarget, pipeline: &str) -> Archiver {
        let (finishing, watching) = watch::channel(false);
        let stop = CancellationToken::new();
        let plan = DrainPlan { idle: Idle::Poll { every: POLL, finishing: watching }, give_up_after: None };
        let task = tokio::spawn({
            let (store, pipeline, stop, target) = (store.clone(), pipeline.to_string(), stop.clone(), target.clone());
            async move { drain(&store, &target, &pipeline, plan, &stop, &|_| {}).await }
        });
        Archiver { store, pipeline: pipeline.to_string(), url: target.url().to_string(), finishing, stop, task }
    }

    /// The archive's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Give the archive up to `within` to take everything queued, then stop; the backlog left.
    pub async fn finish(self, within: Duration) -> Result<ArchiveBacklog, ArchiveError> {
        let _ = self.finishing.send(true);
        let mut task = self.task;
        let drained = match tokio::time::timeout(within, &mut task).await {
            Ok(joined) => joined,
            Err(_) => {
                self.stop.cancel();
                task.await
            }
        };
        drained.map_err(|e| ArchiveError::Internal(e.to_string()))??;
        backlog(&self.store, &self.pipeline)
    }

    /// Stop draining now (what is queued stays queued); the backlog left.
    pub async fn stop(self) -> Result<ArchiveBacklog, ArchiveError> {
        self.stop.cancel();
        self.task.await.map_err(|e| ArchiveError::Internal(e.to_string()))??;
        backlog(&self.store, &self.pipeline)
    }
}

/// Drain the queue of `pipeline` into its archive to the end (`apiary archive push`), giving
/// up after a few failed passes in a row; `progress` hears (archived so far, backlog at the start).
pub async fn push(
    store: Arc<Store>,
    pipeline: &Pipeline,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<ArchiveBacklog, ArchiveError> {
    let config =
        pipeline.archive.as_ref().ok_or_else(|| ArchiveError::NoArchive { pipeline: pipeline.name.clone() })?;
    let target = ArchiveTarget::open(config, &pipeline.secrets)?;
    let total = backlog(&store, &pipeline.name)?.waiting;
    let done = AtomicU64::new(0);
    progress(0, total);
    let counted = |n: usize| progress(done.fetch_add(n as u64, Ordering::Relaxed) + n as u64, total);
    let plan = DrainPlan { idle: Idle::Return, give_up_after: Some(PUSH_ATTEMPTS) };
    drain(&store, &target, &pipeline.name, plan, &CancellationToken::new(), &counted).await?;
    backlog(&store, &pipeline.name)
}

/// The backlog of `pipeline` in `store`.
pub fn backlog(store: &Store, pipeline: &str) -> Result<ArchiveBacklog, ArchiveError> {
    let mut found = store.archive_backlogs(Some(pipeline))?;
    Ok(found.pop().unwrap_or_default())
}
