//! What makes a sync resumable: the frontier of requests still to process, the exchanges stored
//! but not yet processed, the committed length of every output file, and stream checkpoints.
//!
//! A request moves through two transactions. Fetched: its exchange is committed, marked
//! unprocessed ([`Store::put_exchange`]). Processed: one transaction removes it from the frontier,
//! adds its `next` requests, its dead letters, the stream's checkpoint and the new output offsets
//! ([`Store::complete`]). A crash between the two leaves an exchange that resume parses from
//! storage, never fetching it again; output past the committed offsets is cut off.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::counts::add_counts;
use super::letter_index::{RequestKey, add_indexed, settle};
use super::tables::{CHECKPOINTS, FRONTIER, META, RAW_META, SYNC_STATE, UNPROCESSED};
use super::{Counts, ExchangeId, FrontierId, NewDeadLetter, RunContext, RunId, Store, StoreError, codec, db_error};
use crate::model::Request;

/// Exchanges stored to be parsed and not processed yet ([`Store::unprocessed`]).
#[derive(Debug, Clone, Default)]
pub struct Unprocessed {
    /// Those whose frontier entry is in the frontier, with the entry.
    pub answering: Vec<(ExchangeId, FrontierEntry)>,
    /// Those whose entry was lost with the completion of the page that found it.
    pub orphaned: Vec<(ExchangeId, RawRequest)>,
}

/// A stored page's request and the stream it was fetched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    /// The stream.
    pub stream: String,
    /// The request, as stored.
    pub request: Request,
}

/// A request waiting to be processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrontierEntry {
    /// Its id.
    pub id: FrontierId,
    /// The stream it belongs to.
    pub stream: String,
    /// The request.
    pub request: Request,
}

/// The unfinished sync of a pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// The run doing it.
    pub run: RunId,
    /// Streams whose `start` requests are in the frontier.
    pub started_streams: BTreeSet<String>,
    /// Committed length of each output file, by stream.
    pub offsets: BTreeMap<String, u64>,
    /// Length of each output file when the run began (where `--restart` cuts back to).
    pub start_offsets: BTreeMap<String, u64>,
}

/// Everything processing one frontier entry changes, committed at once.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// The stream the work belongs to (its counts).
    pub stream: String,
    /// The request whose outcome this is: its earlier open dead letters are settled against
    /// `dead_letters` (see `letter_index`). `None` for work not tied to a request.
    pub settles: Option<RequestKey>,
    /// Counts to add (pages, records, retries, waits ...).
    pub counts: Counts,
    /// This is the outcome of the stream's `start`: mark the stream started, so a resumed run
    /// never calls `start` again (its requests are in `next`).
    pub starts_stream: bool,
    /// The entry processed.
    pub entry: Option<FrontierId>,
    /// Whether the entry leaves the frontier (false when it will be fetched again).
    pub entry_done: bool,
    /// The exchange that was processed, no longer unprocessed.
    pub exchange: Option<ExchangeId>,
    /// Follow-up requests, their ids reserved ([`Store::new_entries`]).
    pub next: Vec<FrontierEntry>,
    /// The stream's new checkpoint.
    pub checkpoint: Option<(String, String)>,
    /// The output files' lengths after this entry's records, when it wrote any.
    pub offsets: Option<BTreeMap<String, u64>>,
    /// Dead letters to add.
    pub dead_letters: Vec<NewDeadLetter>,
}

impl Completion {
    /// What committing this adds to its stream's counts: its counts and one dead letter per
    /// letter (a new one, or one seen again).
    pub fn added_counts(&self) -> Counts {
        Counts { dead_letters: self.counts.dead_letters + self.dead_letters.len() as u64, ..self.counts }
    }
}

impl Store {
    /// The pipeline's unfinished sync, if a run was interrupted.
    pub fn sync_state(&self, pipeline: &str) -> Result<Option<SyncState>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(SYNC_STATE).map_err(db_error)?;
        match table.get(pipeline).map_err(db_error)? {
            Some(v) => codec::from_json("sync_state", v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Record the beginning of a sync.
    pub fn begin_sync(&self, pipeline: &str, state: &SyncState) -> Result<(), StoreError> {
        let write = self.write()?;
        put_state(&write, pipeline, state)?;
        write.commit().map_err(db_error)
    }

    /// The pipeline's frontier, in order.
    pub fn frontier(&self, pipeline: &str) -> Result<Vec<FrontierEntry>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(FRONTIER).map_err(db_error)?;
        let mut entries = Vec::new();
        for row in table.range((pipeline, 0)..=(pipeline, u64::MAX)).map_err(db_error)? {
            let (_, v) = row.map_err(db_error)?;
            entries.push(codec::from_json("frontier", v.value())?);
        }
        Ok(entries)
    }

    /// Exchanges of the pipeline stored to be parsed but not processed, in one scan of their
    /// marks: those whose frontier entry is there, and those whose entry never reached the
    /// frontier (a crash between a page's raw commit and the completion of the page that found
    /// it), with their stored request. A resumed stream parses the first from storage at once,
    /// the second when the same request comes up again, instead of fetching either again.
    pub fn unprocessed(&self, pipeline: &str) -> Result<Unprocessed, StoreError> {
        let read = self.read()?;
        let marks = read.open_table(UNPROCESSED).map_err(db_error)?;
        let frontier = read.open_table(FRONTIER).map_err(db_error)?;
        let metas = read.open_table(RAW_META).map_err(db_error)?;
        let mut found = Unprocessed::default();
        for row in marks.range((pipeline, 0)..=(pipeline, u64::MAX)).map_err(db_error)? {
            let (exchange, entry) = row.map_err(db_error)?;
            let id = ExchangeId(exchange.value().1);
            if let Some(v) = frontier.get((pipeline, entry.value())).map_err(db_error)? {
                found.answering.push((id, codec::from_json("frontier", v.value())?));
            } else if let Some(meta) = super::tables::get_json::<super::RawMeta>(&metas, RAW_META, id.0)? {
                found.orphaned.push((id, RawRequest { stream: meta.stream, request: meta.request }));
            }
        }
        Ok(found)
    }

    /// Frontier entries for `requests` of `stream`, their ids reserved now and written by the
    /// commit that carries them.
    pub fn new_entries(&self, stream: &str, requests: Vec<Request>) -> Vec<FrontierEntry> {
        let first = self.reservations.frontier(requests.len() as u64);
        let stream = stream.to_string();
        (first..)
            .zip(requests)
            .map(|(id, request)| FrontierEntry { id: FrontierId(id), stream: stream.clone(), request })
            .collect()
    }

    /// Put requests into the frontier, each with the stored exchange it already has, if any
    /// (to be parsed from storage, not fetched): how `dlq replay` starts.
    pub fn seed(
        &self,
        pipeline: &str,
        seeds: Vec<(String, Request, Option<ExchangeId>)>,
    ) -> Result<Vec<FrontierEntry>, StoreError> {
        let write = self.write()?;
        let mut entries = Vec::with_capacity(seeds.len());
        for (stream, request, exchange) in seeds {
            let entry = self.new_entries(&stream, vec![request]).remove(0);
            if let Some(exchange) = exchange {
                mark_unprocessed(&write, pipeline, exchange.0, entry.id)?;
            }
            entries.push(entry);
        }
        add_entries(&write, pipeline, &entries)?;
        write.commit().map_err(db_error)?;
        Ok(entries)
    }

    /// Commit everything processing one entry changed, in a transaction of its own.
    pub fn complete(&self, context: &RunContext, done: Completion) -> Result<(), StoreError> {
        let write = self.write()?;
        apply_completion(&write, context, done)?;
        write.commit().map_err(db_error)
    }
    /// The sync of `pipeline` is over (or abandoned): forget its state, frontier and
    /// unprocessed marks. Returns the state it had.
    pub fn end_sync(&self, pipeline: &str) -> Result<Option<SyncState>, StoreError> {
        let state = self.sync_state(pipeline)?;
        let write = self.write()?;
        {
            let mut marks = write.open_table(UNPROCESSED).map_err(db_error)?;
            marks.retain_in((pipeline, 0)..=(pipeline, u64::MAX), |_, _| false).map_err(db_error)?;
            let mut frontier = write.open_table(FRONTIER).map_err(db_error)?;
            frontier.retain_in((pipeline, 0)..=(pipeline, u64::MAX), |_, _| false).map_err(db_error)?;
            write.open_table(SYNC_STATE).map_err(db_error)?.remove(pipeline).map_err(db_error)?;
        }
        write.commit().map_err(db_error)?;
        Ok(state)
    }

    /// The last checkpoint the connector gave for `stream` of `pipeline`.
    pub fn checkpoint(&self, pipeline: &str, stream: &str) -> Result<Option<String>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(CHECKPOINTS).map_err(db_error)?;
        Ok(table.get((pipeline, stream)).map_err(db_error)?.map(|v| v.value().to_string()))
    }
}

/// Everything processing one entry changed, inside an open write transaction.
pub(super) fn apply_completion(
    write: &WriteTransaction,
    context: &RunContext,
    done: Completion,
) -> Result<(), StoreError> {
    let pipeline = context.pipeline.as_str();
    let counts = done.added_counts();
    if let (Some(entry), true) = (done.entry, done.entry_done) {
        write.open_table(FRONTIER).map_err(db_error)?.remove((pipeline, entry.0)).map_err(db_error)?;
    }
    if let Some(exchange) = done.exchange {
        write.open_table(UNPROCESSED).map_err(db_error)?.remove((pipeline, exchange.0)).map_err(db_error)?;
    }
    if let Some((stream, checkpoint)) = &done.checkpoint {
        let mut table = write.open_table(CHECKPOINTS).map_err(db_error)?;
        table.insert((pipeline, stream.as_str()), checkpoint.as_str()).map_err(db_error)?;
    }
    if done.offsets.is_some() || done.starts_stream {
        let mut state = get_state(write, pipeline)?;
        if let Some(offsets) = done.offsets {
            state.offsets = offsets;
        }
        if done.starts_stream {
            state.started_streams.insert(done.stream.clone());
        }
        put_state(write, pipeline, &state)?;
    }
    match &done.settles {
        Some(key) => settle(write, context, key, done.dead_letters)?,
        None => add_indexed(write, context, done.dead_letters)?,
    };
    add_counts(write, context.run, &done.stream, &counts)?;
    add_entries(write, pipeline, &done.next)
}

/// Mark an exchange as stored but not yet processed, answering frontier entry `entry`.
pub(super) fn mark_unprocessed(
    write: &WriteTransaction,
    pipeline: &str,
    exchange: u64,
    entry: FrontierId,
) -> Result<(), StoreError> {
    write.open_table(UNPROCESSED).map_err(db_error)?.insert((pipeline, exchange), entry.0).map_err(db_error)?;
    Ok(())
}

fn get_state(write: &WriteTransaction, pipeline: &str) -> Result<SyncState, StoreError> {
    let table = write.open_table(SYNC_STATE).map_err(db_error)?;
    let value = table.get(pipeline).map_err(db_error)?;
    match value {
        Some(v) => codec::from_json("sync_state", v.value()),
        None => Ok(SyncState::default()),
    }
}

fn put_state(write: &WriteTransaction, pipeline: &str, state: &SyncState) -> Result<(), StoreError> {
    let mut table = write.open_table(SYNC_STATE).map_err(db_error)?;
    table.insert(pipeline, codec::to_json(state).as_slice()).map_err(db_error)?;
    Ok(())
}

/// Write `entries` (ids reserved) into the frontier and record the highest id used.
fn add_entries(write: &WriteTransaction, pipeline: &str, entries: &[FrontierEntry]) -> Result<(), StoreError> {
    let Some(highest) = entries.iter().map(|e| e.id.0).max() else { return Ok(()) };
    let mut frontier = write.open_table(FRONTIER).map_err(db_error)?;
    for entry in entries {
        frontier.insert((pipeline, entry.id.0), codec::to_json(entry).as_slice()).map_err(db_error)?;
    }
    let mut meta = write.open_table(META).map_err(db_error)?;
    let next = meta.get("next_frontier_id").map_err(db_error)?.map_or(1, |v| v.value());
    meta.insert("next_frontier_id", next.max(highest + 1)).map_err(db_error)?;
    Ok(())
}
