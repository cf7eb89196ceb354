//! The scheduler loop: start due jobs within the concurrency cap, each pipeline at most once
//! at a time, then sleep until the next due time, a finished job, a request or a reload.
//! Which jobs are due is decided by [`super::schedule`]; what a job does, by a [`Launcher`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::clock::WallClock;
use super::schedule::{Cause, JobKind, Slot, due_jobs, next_wake_ms};

/// The longest the loop sleeps without looking at the wall clock again (it may be set back or
/// forward while the process sleeps).
const MAX_NAP: Duration = Duration::from_secs(60);

/// What the scheduler knows of every pipeline, shared with the API.
#[derive(Debug, Default)]
pub struct Book {
    /// Every pipeline with a valid file, by name.
    pub slots: BTreeMap<String, Slot>,
    /// When this process began watching (stands in for the last start of a pipeline that
    /// never ran).
    pub watching_since_ms: u64,
}

/// Runs one job of one pipeline to its end.
pub trait Launcher: Send + Sync + 'static {
    /// Run `kind` for `pipeline`, started for `cause`; errors are the launcher's to report.
    fn launch(&self, pipeline: String, kind: JobKind, cause: Cause) -> impl Future<Output = ()> + Send;
}

/// The loop, with what it shares with the rest of `serve`.
pub struct Scheduler<L> {
    /// The pipelines and their state.
    pub book: Arc<Mutex<Book>>,
    /// What runs jobs.
    pub launcher: Arc<L>,
    /// The wall clock schedules are read against.
    pub clock: Arc<dyn WallClock>,
    /// One permit per job allowed at once (`--max-concurrent`).
    pub permits: Arc<Semaphore>,
    /// Wakes the loop: a job finished, a job was requested, the files changed.
    pub wake: Arc<Notify>,
}

impl<L: Launcher> Scheduler<L> {
    /// Start due jobs until `stop` is cancelled; returns the jobs still running, for the caller
    /// to wait on (after cancelling them as it sees fit).
    pub async fn run(&self, stop: CancellationToken) -> JoinSet<()> {
        let mut jobs = JoinSet::new();
        loop {
            while jobs.try_join_next().is_some() {}
            let now = self.clock.now_ms();
            let wake_at = self.start_due(&mut jobs, now);
            let nap = wake_at.map_or(MAX_NAP, |at| Duration::from_millis(at.saturating_sub(now)).min(MAX_NAP));
            tokio::select! {
                _ = stop.cancelled() => return jobs,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Start every job due at `now` that a permit allows; returns when to look again.
    fn start_due(&self, jobs: &mut JoinSet<()>, now: u64) -> Option<u64> {
        let mut book = self.book.lock().expect("book lock");
        let since = book.watching_since_ms;
        for (name, kind) in due_jobs(&book.slots, now, since, self.permits.available_permits()) {
            let Ok(permit) = self.permits.clone().try_acquire_owned() else { break };
            let mut cause = Cause::Schedule;
            if let Some(slot) = book.slots.get_mut(&name) {
                cause = slot.cause();
                slot.start(kind, now);
            }
            let (launcher, book, wake) = (self.launcher.clone(), self.book.clone(), self.wake.clone());
            jobs.spawn(async move {
                launcher.launch(name.clone(), kind, cause).await;
                drop(permit);
                if let Some(slot) = book.lock().expect("book lock").slots.get_mut(&name) {
                    slot.running = None;
                }
                wake.notify_one();
            });
        }
        next_wake_ms(&book.slots, now, since)
    }
}

#[cfg(test)]
mod tests;
