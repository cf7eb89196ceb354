//! What every stream task of one run shares, and the commit that ends processing a request.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use super::{Observer, StreamStats, SyncError};
use crate::config::Pipeline;
use crate::fetch::{DeprecationNotice, Fetcher};
use crate::runtime::{LoadedConnector, Record};
use crate::sink::JsonlSink;
use crate::store::{Completion, FrontierEntry, FrontierId, RunContext, Stage, Store};

/// The state of one run, shared by its stream tasks.
pub struct Shared {
    pub pipeline: Pipeline,
    pub connector: LoadedConnector,
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub sink: Arc<Mutex<JsonlSink>>,
    pub context: RunContext,
    pub stats: Mutex<BTreeMap<String, StreamStats>>,
    pub observer: Arc<dyn Observer>,
    /// The longest wait a server or connector may ask for before a request is given up.
    pub max_retry_after: std::time::Duration,
    /// What did not succeed, so `dlq replay` can tell which letters it resolved.
    pub failures: Mutex<Failures>,
    /// Deprecation notices seen in this run, by endpoint (recorded once per endpoint).
    pub deprecations: Mutex<BTreeMap<String, DeprecationNotice>>,
}

/// Frontier entries and stream starts that ended in a dead letter (record rejects aside).
#[derive(Debug, Default)]
pub struct Failures {
    /// Entries whose processing added a fetch, parse or policy letter.
    pub entries: HashSet<FrontierId>,
    /// Streams whose `start` failed.
    pub starts: HashSet<String>,
}

impl Shared {
    /// Run blocking work (guest calls, database commits) off the async threads.
    pub async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, SyncError> {
        tokio::task::spawn_blocking(f).await.map_err(|e| SyncError::Internal(e.to_string()))
    }

    /// How many requests of `stream` may be in flight at once (its endpoint's declaration).
    pub fn in_flight_of(&self, stream: &str) -> usize {
        let endpoints = &self.connector.manifest().endpoints;
        endpoints.iter().find(|e| e.name == stream).map_or(1, |e| e.max_in_flight.max(1) as usize)
    }

    /// Record a deprecation notice the first time this run sees one for `endpoint`.
    pub async fn note_deprecation(&self, endpoint: &str, headers: &[crate::runtime::Header]) -> Result<(), SyncError> {
        let Some(notice) = DeprecationNotice::from_headers(headers) else { return Ok(()) };
        if self.deprecations.lock().expect("deprecations lock").insert(endpoint.to_string(), notice.clone()).is_some() {
            return Ok(());
        }
        tracing::info!(endpoint, "the API deprecates this endpoint: {}", notice.describe());
        let (store, context, endpoint) = (self.store.clone(), self.context.clone(), endpoint.to_string());
        self.blocking(move || store.record_deprecation(&context, &endpoint, &notice)).await??;
        Ok(())
    }

    /// Update the numbers of `stream`.
    pub fn count(&self, stream: &str, update: impl FnOnce(&mut StreamStats)) {
        let mut stats = self.stats.lock().expect("stats lock");
        update(stats.entry(stream.to_string()).or_default());
    }

    /// Write `records` (already validated) and commit `done` with the output's new lengths, as
    /// one step: the sink lock is held from the first write to the commit, so the committed
    /// lengths never include another request's uncommitted records. Returns the new frontier
    /// entries.
    pub async fn commit(
        &self,
        stream: &str,
        records: Vec<Record>,
        mut done: Completion,
    ) -> Result<Vec<FrontierEntry>, SyncError> {
        for letter in &done.dead_letters {
            tracing::info!(stream, stage = %letter.stage, error = %letter.error, "dead letter");
        }
        if done.dead_letters.iter().any(|l| l.stage != Stage::Record) {
            let mut failures = self.failures.lock().expect("failures lock");
            match done.entry {
                Some(entry) => failures.entries.insert(entry),
                None => failures.starts.insert(stream.to_string()),
            };
        }
        let (written, dead) = (records.len() as u64, done.dead_letters.len() as u64);
        let (sink, store, context) = (self.sink.clone(), self.store.clone(), self.context.clone());
        let entries = self
            .blocking(move || -> Result<Vec<FrontierEntry>, SyncError> {
                let mut sink = sink.lock().expect("sink lock");
                for record in &records {
                    sink.write(&record.stream, &record.json)?;
                }
                if !records.is_empty() {
                    sink.sync()?;
                    done.offsets = Some(sink.lengths());
                }
                Ok(store.complete(&context, done)?)
            })
            .await??;
        self.count(stream, |s| {
            s.records += written;
            s.dead_letters += dead;
        });
        Ok(entries)
    }
}
