//! What every stream task of one run shares.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Observer, StreamStats, SyncError};
use crate::config::Pipeline;
use crate::fetch::Fetcher;
use crate::runtime::LoadedConnector;
use crate::sink::JsonlSink;
use crate::store::{NewDeadLetter, RunId, Store};

/// The state of one run, shared by its stream tasks.
pub struct Shared {
    pub pipeline: Pipeline,
    pub connector: LoadedConnector,
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub sink: Mutex<JsonlSink>,
    pub run: RunId,
    pub stats: Mutex<BTreeMap<String, StreamStats>>,
    pub warnings: Mutex<Vec<String>>,
    pub observer: Arc<dyn Observer>,
    /// The longest wait a server or connector may ask for before a request is given up.
    pub max_retry_after: std::time::Duration,
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

    /// Update the numbers of `stream`.
    pub fn count(&self, stream: &str, update: impl FnOnce(&mut StreamStats)) {
        let mut stats = self.stats.lock().expect("stats lock");
        update(stats.entry(stream.to_string()).or_default());
    }

    /// Add dead letters for this run, counted against `stream`.
    pub async fn dead_letters(&self, stream: &str, letters: Vec<NewDeadLetter>) -> Result<(), SyncError> {
        if letters.is_empty() {
            return Ok(());
        }
        for letter in &letters {
            tracing::warn!(stream, stage = %letter.stage, error = %letter.error, "dead letter");
        }
        let added = letters.len() as u64;
        let store = self.store.clone();
        let (run, pipeline, identity) = (self.run, self.pipeline.name.clone(), self.connector.identity().clone());
        self.blocking(move || store.add_dead_letters(run, &pipeline, &identity, letters)).await??;
        self.count(stream, |s| s.dead_letters += added);
        Ok(())
    }
}
