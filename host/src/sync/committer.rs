//! The run's committer: every durable write of a sync (raw exchanges, page completions) goes
//! through it, in the order the stream tasks send them, and whatever is queued within 2 ms of a
//! batch's first job goes into one transaction, behind one fsync of the output and one of the
//! database (a group commit, [`GATHER`]). It runs on
//! its own thread, so compressing, writing and syncing page N overlap fetching and parsing page
//! N+1: a `Link` chain keeps both cores busy.
//!
//! A page's raw exchange is sent as soon as it arrives (before it is parsed) and its
//! completion only once the raw exchange is queued: jobs are written in the order they are
//! queued, so the raw exchange is committed in the same transaction as anything derived from
//! it, or an earlier one, and a kill loses at most the pages whose raw commit had not finished:
//! they are fetched again.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::SyncError;
use crate::fetch::Buckets;
use crate::model::Record;
use crate::progress::{Committed, Observer};
use crate::sink::{PageRef, Sink};
use crate::store::{Added, Archiving, Completion, ExchangeWrite, RunContext, Store, Write};

/// Jobs written in one batch at most.
const BATCH: usize = 32;

/// How long a batch waits for more jobs after its first before it is written: a group commit,
/// like PostgreSQL's `commit_delay`. A batch costs two fsyncs and a transaction whatever its
/// size, and on a fast chain a page settles about every millisecond, so waiting 2 ms turns
/// about 500 batches of one or two jobs into about 170 larger ones (figure 8: 12% less CPU,
/// 8% less wall time; README). Nothing waits for a batch to be durable except the run's end,
/// so a page is committed up to 2 ms later and nothing else slows down. A batch gathers at
/// most [`batch_limit`] jobs.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// How many jobs may wait for the committer before senders are held back, for a run whose
/// streams have `slots` in-flight slots in all: two per slot (a page's raw exchange and its
/// commit), at least four, at most a batch. A queued page holds its records until it is
/// written, and a page's commit waits only for its raw exchange to be queued, not committed,
/// so this queue and the batch being written bound what a run holds beyond its settling pages;
/// a wide run still gathers many pages into one batch. For figure 8 (two streams, one slot
/// each) that is four jobs, which synced as fast as 32 did (by hand, four interleaved runs).
pub fn queue_for(slots: usize) -> usize {
    (2 * slots).clamp(4, BATCH)
}

/// One durable write to make.
pub enum Job {
    /// A raw exchange, already compressed.
    Exchange(Box<ExchangeWrite>),
    /// A page's records and what processing its request changed; `fetched_at_ms` is when its
    /// exchange was fetched.
    Page { records: Vec<Record>, done: Completion, fetched_at_ms: u64 },
}

/// The sending side, shared by the run's stream tasks.
pub struct Committer {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    task: Mutex<Option<JoinHandle<Result<(), SyncError>>>>,
}

impl Committer {
    /// Start the committer of a run writing to `store` and `sink` (each raw exchange queued for
    /// the pipeline's archive when `archiving` says so), holding at most `queue` jobs that wait
    /// (see [`queue_for`]); on a failed commit it cancels the run.
    pub fn start(
        (store, sink): (Arc<Store>, Arc<Mutex<Box<dyn Sink>>>),
        (context, archiving): (RunContext, Archiving),
        queue: usize,
        cancel: CancellationToken,
        report: Report,
    ) -> Committer {
        let (sender, receiver) = mpsc::channel(queue.max(1));
        let limit = batch_limit(queue);
        let task = tokio::spawn(run((receiver, limit), store, sink, (context, archiving), cancel, report));
        Committer { sender: Mutex::new(Some(sender)), task: Mutex::new(Some(task)) }
    }

    /// Queue a job. Fails only when the committer has stopped (its error is reported by
    /// [`Committer::finish`]).
    pub async fn send(&self, job: Job) -> Result<(), SyncError> {
        let sender = self.sender.lock().expect("committer lock").clone();
        let stopped = || SyncError::Internal("the committer has stopped".into());
        sender.ok_or_else(stopped)?.send(job).await.map_err(|_| stopped())
    }

    /// Commit everything queued, then stop; the first commit error, if any.
    pub async fn finish(&self) -> Result<(), SyncError> {
        drop(self.sender.lock().expect("committer lock").take());
        let task = self.task.lock().expect("committer lock").take();
        match task {
            Some(task) => task.await.map_err(|e| SyncError::Internal(e.to_string()))?,
            None => Ok(()),
        }
    }
}

/// Who hears what each batch committed: the run's observer, with the levels of its buckets.
pub struct Report {
    /// Told each write's counts once its batch is durable.
    pub observer: Arc<dyn Observer>,
    /// The run's rate-limit buckets.
    pub buckets: Buckets,
}

impl Report {
    /// Tell the observer what a durable batch added.
    fn committed(&self, added: &[Added]) {
        let buckets = self.buckets.levels();
        for a in added {
            let c = Committed { stream: &a.stream, counts: &a.counts, letters: &a.letters, buckets: &buckets };
            self.observer.on_commit(&c);
        }
    }
}

/// Take every job that is ready, write it as one batch, repeat until the senders are gone.
async fn run(
    (mut receiver, limit): (mpsc::Receiver<Job>, usize),
    store: Arc<Store>,
    sink: Arc<Mutex<Box<dyn Sink>>>,
    (context, archiving): (RunContext, Archiving),
    cancel: CancellationToken,
    report: Report,
) -> Result<(), SyncError> {
    while let Some(first) = receiver.recv().await {
        let batch = gather(first, &mut receiver, limit).await;
        let (store, sink, context) = (store.clone(), sink.clone(), context.clone());
        let written = tokio::task::spawn_blocking(move || write_batch(&store, &sink, (&context, archiving), batch))
            .await
            .map_err(|e| SyncError::Internal(e.to_string()))
            .and_then(|r| r);
        match written {
            Ok(added) => report.committed(&added),
            Err(e) => {
                cancel.cancel();
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Jobs a batch gathers at most, for a run whose committer queue holds `queue`: four times the
/// queue, at most [`BATCH`]. A kill loses the pages whose raw exchange was not committed, which
/// includes the batch being gathered and the one being written: this bounds how many pages a
/// resumed run fetches again (`tests/e2e/resume.rs`). Twice the queue held figure 8 back (4-5%
/// slower, two sets of eight pairs by hand); four times did not.
fn batch_limit(queue: usize) -> usize {
    (4 * queue).min(BATCH)
}

/// The batch that starts with `first`: it takes every job queued within [`GATHER`] of it, up to
/// `limit` jobs, and ends at once when the senders are gone.
async fn gather(first: Job, receiver: &mut mpsc::Receiver<Job>, limit: usize) -> Vec<Job> {
    let mut batch = vec![first];
    let until = tokio::time::Instant::now() + GATHER;
    while batch.len() < limit {
        // A job already queued is taken even once the window has passed: `timeout_at` polls
        // the receiver before the deadline.
        match tokio::time::timeout_at(until, receiver.recv()).await {
            Ok(Some(job)) => batch.push(job),
            Ok(None) | Err(_) => break,
        }
    }
    batch
}

/// Write a batch: records to the output, made durable, then one database transaction holding
/// the raw exchanges, the completions and the output's new lengths. Returns what each write
/// added to the counts. When the output fails, the raw exchanges are still committed (a resumed
/// run parses them from storage instead of fetching them again) and the output's error is
/// returned.
fn write_batch(
    store: &Store,
    sink: &Mutex<Box<dyn Sink>>,
    (context, archiving): (&RunContext, Archiving),
    batch: Vec<Job>,
) -> Result<Vec<Added>, SyncError> {
    let mut sink = sink.lock().expect("sink lock");
    let mut writes = Vec::with_capacity(batch.len());
    let (mut wrote, mut failed) = (false, None);
    for job in batch {
        match job {
            Job::Exchange(mut write) => {
                write.archiving = archiving;
                writes.push(Write::Exchange(write));
            }
            Job::Page { records, done, fetched_at_ms } => {
                if failed.is_none() {
                    match write_page(sink.as_mut(), context, &done, &records, fetched_at_ms) {
                        Ok(w) => wrote |= w,
                        Err(e) => failed = Some(e),
                    }
                }
                writes.push(Write::Completion(done));
            }
        }
    }
    if wrote && failed.is_none() {
        match sink.flush() {
            Ok(position) => {
                let last =
                    writes.iter_mut().rev().find_map(|w| if let Write::Completion(c) = w { Some(c) } else { None });
                if let Some(last) = last {
                    last.offsets = Some(position);
                }
            }
            Err(e) => failed = Some(e),
        }
    }
    if failed.is_some() {
        writes.retain(|w| matches!(w, Write::Exchange(_)));
    }
    for w in &writes {
        if let Write::Completion(done) = w {
            for letter in &done.dead_letters {
                tracing::info!(stream = %letter.stream, stage = %letter.stage, error = %letter.error, "dead letter");
            }
        }
    }
    let added = writes.iter().map(Write::added).collect();
    store.commit_batch(context, writes)?;
    failed.map_or(Ok(added), |e| Err(e.into()))
}

/// Hand one page's records and then its stream's checkpoint to the sink; whether it wrote
/// anything to flush.
fn write_page(
    sink: &mut dyn Sink,
    context: &RunContext,
    done: &Completion,
    records: &[Record],
    fetched_at_ms: u64,
) -> Result<bool, crate::sink::SinkError> {
    if !records.is_empty() {
        let page = PageRef {
            run: context.run,
            entry: done.entry,
            exchange: done.exchange,
            stream: &done.stream,
            fetched_at_ms,
            connector: &context.connector,
        };
        sink.write(&page, records)?;
    }
    if let Some((stream, value)) = &done.checkpoint {
        sink.checkpoint(stream, value)?;
    }
    Ok(!records.is_empty() || done.checkpoint.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job::Page { records: Vec::new(), done: Completion::default(), fetched_at_ms: 0 }
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_takes_the_jobs_queued_within_its_window_and_no_more_than_a_batch() {
        let (sender, mut receiver) = mpsc::channel(2 * BATCH);
        sender.send(job()).await.unwrap();
        let later = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GATHER / 2).await;
            later.send(job()).await.unwrap();
            tokio::time::sleep(GATHER).await;
            later.send(job()).await.unwrap();
        });
        let first = receiver.recv().await.unwrap();
        assert_eq!(gather(first, &mut receiver, BATCH).await.len(), 2, "the job sent within the window joins");
        for _ in 0..BATCH {
            sender.send(job()).await.unwrap();
        }
        let started = tokio::time::Instant::now();
        let first = receiver.recv().await.unwrap();
        assert_eq!(gather(first, &mut receiver, BATCH).await.len(), BATCH, "a batch at most");
        assert_eq!(started.elapsed(), std::time::Duration::ZERO, "a full batch does not wait");
        drop(sender);
        let first = receiver.recv().await.unwrap(); // the job sent after the first window

        let started = tokio::time::Instant::now();
        assert_eq!(gather(first, &mut receiver, BATCH).await.len(), 1);
        assert_eq!(started.elapsed(), std::time::Duration::ZERO, "no sender left: nothing to wait for");
    }

    #[test]
    fn a_batch_gathers_four_times_the_queue_at_most() {
        assert_eq!(batch_limit(queue_for(1)), 16, "one chain");
        assert_eq!(batch_limit(queue_for(10)), BATCH);
    }

    #[test]
    fn the_queue_grows_with_the_runs_slots_between_four_and_a_batch() {
        assert_eq!(queue_for(1), 4, "one chain");
        assert_eq!(queue_for(2), 4, "figure 8's two streams");
        assert_eq!(queue_for(10), 20, "two jobs per slot");
        assert_eq!(queue_for(100), BATCH, "never more than a batch");
    }
}
