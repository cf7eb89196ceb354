//! One stream of a sync: its frontier, processed with up to `max-in-flight` requests at once,
//! a guard against pagination loops, and a clean stop when the run is cancelled.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::SyncError;
use super::loop_guard::loop_key;
use super::request::process;
use super::shared::Shared;
use crate::clock::now_ms;
use crate::model::{Request, SyncContext};
use crate::store::{Completion, ExchangeId, FrontierEntry, NewDeadLetter, RequestKey, Stage};

/// Pages per in-flight slot that may settle at once: enough for the committer to gather several
/// pages into one transaction (one fsync of the output and one of the database for all). Three,
/// not two: figure 8 syncs 15% faster (three interleaved pairs of `apiary-bench 8`) at the same
/// peak; four was no faster than three (README).
const SETTLING: usize = 3;

/// Where a stream starts: fresh, or from what an interrupted run left in the store.
#[derive(Debug, Default)]
pub struct StreamResume {
    /// Whether `start` already ran (its requests are in `entries`).
    pub started: bool,
    /// The stream's frontier.
    pub entries: Vec<FrontierEntry>,
    /// Exchanges stored but not processed, to parse from storage first.
    pub unprocessed: Vec<(ExchangeId, FrontierEntry)>,
    /// Pages stored whose entry was lost with its parent's completion, by request: parsed from
    /// storage when a re-parsed parent asks for the same request again.
    pub orphaned: Vec<(ExchangeId, Request)>,
}

/// Sync `stream` until its frontier is empty, or until the run is cancelled (what is left
/// stays in the frontier). Failures of single requests become dead letters; only errors that
/// stop the whole run (database, disk) are returned.
///
/// An accepted page's follow-ups are fetched while the page settles (its records checked, its
/// commit queued), so a `Link` chain fetches and parses page N+1 while page N is checked,
/// written and committed. At most `max-in-flight` requests are fetched and [`SETTLING`] pages
/// per slot settle at once, which bounds what the run holds in memory.
pub async fn sync_stream(shared: Arc<Shared>, stream: String, resume: StreamResume) -> Result<(), SyncError> {
    process_frontier(shared.clone(), stream.clone(), resume).await?;
    shared.send_ahead.give_up(&shared, &stream).await
}

/// [`sync_stream`]'s work, up to what is left of requests sent ahead.
async fn process_frontier(shared: Arc<Shared>, stream: String, resume: StreamResume) -> Result<(), SyncError> {
    let mut frontier = VecDeque::from(resume.entries);
    if !resume.started {
        frontier.extend(start(&shared, &stream).await?);
    }
    let (mut running, mut settling) = (JoinSet::new(), JoinSet::new());
    for (exchange, entry) in resume.unprocessed {
        frontier.retain(|e| e.id != entry.id);
        shared.loop_guard.first_time(&stream, loop_key(&shared, &entry.request));
        running.spawn(process(shared.clone(), stream.clone(), entry, Some(exchange)));
    }
    let mut orphaned: HashMap<_, _> =
        resume.orphaned.into_iter().map(|(exchange, request)| (loop_key(&shared, &request), exchange)).collect();
    let in_flight = shared.in_flight_of(&stream);
    loop {
        while running.len() < in_flight && settling.len() < SETTLING * in_flight && !shared.cancel.is_cancelled() {
            let Some(entry) = frontier.pop_front() else { break };
            let key = loop_key(&shared, &entry.request);
            if shared.loop_guard.first_time(&stream, key) {
                let stored = orphaned.remove(&key);
                running.spawn(process(shared.clone(), stream.clone(), entry, stored));
            } else {
                refuse_loop(&shared, &stream, &entry).await?;
            }
        }
        tokio::select! {
            Some(joined) = running.join_next() => {
                let processed = joined.map_err(|e| SyncError::Internal(e.to_string()))??;
                frontier.extend(processed.next);
                if let Some(settle) = processed.settle {
                    settling.spawn(settle);
                }
            }
            Some(joined) = settling.join_next() => joined.map_err(|e| SyncError::Internal(e.to_string()))??,
            else => {
                if frontier.is_empty() || shared.cancel.is_cancelled() {
                    return Ok(());
                }
            }
        }
    }
}

/// A request already fetched in this run: a `policy` letter, not a loop.
async fn refuse_loop(shared: &Shared, stream: &str, entry: &FrontierEntry) -> Result<(), SyncError> {
    let r = &entry.request;
    let error = format!("pagination loop: {} {} was already fetched in this run", r.method, r.url);
    let done = Completion {
        stream: stream.to_string(),
        entry: Some(entry.id),
        entry_done: true,
        dead_letters: vec![NewDeadLetter::new(stream, Stage::Policy, error, 0).about(Some(r.clone()))],
        ..Completion::default()
    };
    shared.commit_in_turn(shared.turn(stream), Vec::new(), done, 0).await
}

/// The stream's checkpoint: the destination's when it keeps them with its data (a worker on
/// another machine may have loaded the stream last), else the store's.
async fn checkpoint_of(shared: &Arc<Shared>, stream: &str) -> Result<Option<String>, SyncError> {
    let (sink, name) = (shared.sink.clone(), stream.to_string());
    let held = shared.blocking(move || sink.lock().expect("sink lock").stored_checkpoint(&name)).await??;
    match held {
        Some(checkpoint) => Ok(Some(checkpoint)),
        None => Ok(shared.store.checkpoint(&shared.context.pipeline, stream)?),
    }
}

/// The stream's first requests, committed to the frontier; a failing `start` is a dead letter.
/// Either way the outcome settles the letters of earlier failed starts.
async fn start(shared: &Arc<Shared>, stream: &str) -> Result<Vec<FrontierEntry>, SyncError> {
    let checkpoint = checkpoint_of(shared, stream).await?;
    let ctx = SyncContext { config: shared.pipeline.config_pairs(), checkpoint, now_ms: now_ms() };
    let (connector, name) = (shared.connector.clone(), stream.to_string());
    let started = shared.blocking(move || connector.start(&name, &ctx)).await?;
    let (requests, dead_letters) = match started {
        Ok(Ok(requests)) => (requests, Vec::new()),
        Ok(Err(message)) => (Vec::new(), vec![format!("start failed: {message}")]),
        Err(call) => (Vec::new(), vec![format!("start failed: {call}")]),
    };
    let next = shared.new_entries(stream, requests, None);
    let done = Completion {
        stream: stream.to_string(),
        settles: Some(RequestKey::start_of(stream)),
        next: next.clone(),
        dead_letters: dead_letters.into_iter().map(|e| NewDeadLetter::new(stream, Stage::Parse, e, 1)).collect(),
        starts_stream: true,
        ..Completion::default()
    };
    shared.commit(Vec::new(), done, 0).await?;
    Ok(next)
}
