//! What every stream task of one run shares, and the two writes of the data path: storing an
//! exchange (before anything parses it) and the commit that ends processing a request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::SyncError;
use crate::config::Pipeline;
use crate::fetch::Fetcher;
use crate::model::{DeprecationNotice, Exchange, Header, Record};
use crate::progress::{Committed, Observer, Progress};
use crate::runtime::LoadedConnector;
use crate::sink::JsonlSink;
use crate::store::{Completion, Counts, FrontierEntry, FrontierId, NewExchange, RawMeta, RunContext, Stage, Store};

/// The state of one run, shared by its stream tasks.
pub struct Shared {
    pub pipeline: Pipeline,
    pub connector: LoadedConnector,
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub sink: Arc<Mutex<JsonlSink>>,
    pub context: RunContext,
    pub observer: Arc<dyn Observer>,
    /// Cancelled by SIGTERM/SIGINT: take no new request, finish the pages being parsed.
    pub cancel: CancellationToken,
    /// Deprecation notices seen in this run, by endpoint (recorded once per endpoint).
    pub deprecations: Mutex<BTreeMap<String, DeprecationNotice>>,
    /// Progress so far, for the observer.
    pub progress: Mutex<Progress>,
}

/// An exchange to store: which attempt and hop it answers, and whether it is the page to parse.
pub struct ToStore<'a> {
    pub stream: &'a str,
    pub exchange: &'a Exchange,
    pub attempt: u32,
    pub hop: u32,
    pub duration_ms: u64,
    pub to_parse: Option<FrontierId>,
    pub counts: Counts,
}

impl Shared {
    /// Run blocking work (guest calls, database commits) off the async threads.
    pub async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, SyncError> {
        tokio::task::spawn_blocking(f).await.map_err(|e| SyncError::Internal(e.to_string()))
    }

    /// How many requests of `stream` may be in flight at once (its endpoint's declaration).
    pub fn in_flight_of(&self, stream: &str) -> usize {
        self.connector.manifest().endpoint(stream).map_or(1, |e| e.max_in_flight.max(1) as usize)
    }

    /// Commit an exchange to the raw store, before anything parses it (rule 2).
    pub async fn store_exchange(&self, s: ToStore<'_>) -> Result<RawMeta, SyncError> {
        let (store, context, exchange) = (self.store.clone(), self.context.clone(), s.exchange.clone());
        let (attempt, hop, duration_ms, to_parse, counts) = (s.attempt, s.hop, s.duration_ms, s.to_parse, s.counts);
        let mut added = counts;
        let meta = self
            .blocking(move || {
                store.put_exchange(NewExchange {
                    context: &context,
                    exchange: &exchange,
                    attempt,
                    hop,
                    duration_ms,
                    to_parse,
                    counts,
                })
            })
            .await??;
        added.add(&meta.counts());
        self.report_commit(&meta.stream, &added, &[]);
        self.note_deprecation(s.stream, &s.exchange.response.headers).await?;
        Ok(meta)
    }

    /// Record a deprecation notice the first time this run sees one for `endpoint`.
    async fn note_deprecation(&self, endpoint: &str, headers: &[Header]) -> Result<(), SyncError> {
        let Some(notice) = DeprecationNotice::from_headers(headers) else { return Ok(()) };
        if self.deprecations.lock().expect("deprecations lock").insert(endpoint.to_string(), notice.clone()).is_some() {
            return Ok(());
        }
        tracing::info!(endpoint, "the API deprecates this endpoint: {}", notice.describe());
        let (store, context, endpoint) = (self.store.clone(), self.context.clone(), endpoint.to_string());
        self.blocking(move || store.record_deprecation(&context, &endpoint, &notice)).await??;
        Ok(())
    }

    /// Write `records` (already validated) and commit `done` with the output's new lengths, as
    /// one step: the sink lock is held from the first write to the commit, so the committed
    /// lengths never include another request's uncommitted records. Returns the new frontier
    /// entries.
    pub async fn commit(&self, records: Vec<Record>, mut done: Completion) -> Result<Vec<FrontierEntry>, SyncError> {
        for letter in &done.dead_letters {
            tracing::info!(stream = %letter.stream, stage = %letter.stage, error = %letter.error, "dead letter");
        }
        done.counts.records += records.len() as u64;
        let (stream, written, is_page) = (done.stream.clone(), records.len() as u64, done.entry.is_some());
        // What `Store::complete` adds: the counts, and one dead letter per letter.
        let mut added = done.counts;
        added.dead_letters += done.dead_letters.len() as u64;
        let stages: Vec<Stage> = done.dead_letters.iter().map(|l| l.stage).collect();
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
        self.report_commit(&stream, &added, &stages);
        if is_page {
            self.report_progress(&stream, written);
        }
        Ok(entries)
    }

    /// Tell the observer what a commit added to `stream`'s counts.
    fn report_commit(&self, stream: &str, counts: &Counts, letters: &[Stage]) {
        let buckets = self.fetcher.bucket_levels();
        self.observer.on_commit(&Committed { stream, counts, letters, buckets: &buckets });
    }

    /// Tell the observer that a page of `stream` was done.
    fn report_progress(&self, stream: &str, records: u64) {
        let snapshot = {
            let mut progress = self.progress.lock().expect("progress lock");
            progress.pages += 1;
            progress.records += records;
            progress.stream = stream.to_string();
            progress.clone()
        };
        self.observer.on_progress(&snapshot);
    }
}
