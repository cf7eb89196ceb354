//! What the scheduler, the jobs and the HTTP API share: the home and its one open store, the
//! engine, the metrics, the pipeline files and the scheduler's book.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::catalog::Catalog;
use super::clock::WallClock;
use super::metrics::Metrics;
use super::schedule::Slot;
use super::scheduler::Book;
use crate::home::Home;
use crate::runtime::Runtime;
use crate::store::{RunKind, Store, StoreError};

/// The state of one `apiary serve` process.
pub struct ServeState {
    /// The home every job stores under.
    pub home: Home,
    /// The home's database, open once for writing and shared by every job.
    pub store: Arc<Store>,
    /// The engine every job loads its connector with.
    pub runtime: Runtime,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The pipeline folder.
    pub catalog: Mutex<Catalog>,
    /// The scheduler's view of every pipeline.
    pub book: Arc<Mutex<Book>>,
    /// Wakes the scheduler.
    pub wake: Arc<Notify>,
    /// The wall clock.
    pub clock: Arc<dyn WallClock>,
    /// The error of each pipeline's latest job, when it failed (cleared by a success).
    pub failures: Mutex<BTreeMap<String, String>>,
    /// Jobs allowed at once.
    pub max_concurrent: usize,
    /// This process's name in pipeline leases (`[coordination]`).
    pub worker: crate::coord::WorkerId,
}

impl ServeState {
    /// Read the pipeline folder again (changed files only); bring the book in line with it (a
    /// new pipeline starts with its history from the store, a removed one goes once its job
    /// ends) and wake the scheduler if anything changed.
    pub fn reload(&self) -> Result<(), StoreError> {
        let (changed, pipelines, errors) = {
            let mut catalog = self.catalog.lock().expect("catalog lock");
            (catalog.rescan(), catalog.pipelines(), catalog.errors())
        };
        self.metrics.set_file_errors(errors.len());
        let known: BTreeSet<String> = self.book.lock().expect("book lock").slots.keys().cloned().collect();
        let new: Vec<&String> = pipelines.keys().filter(|n| !known.contains(*n)).collect();
        let history = if new.is_empty() { BTreeMap::new() } else { self.history()? };
        let mut pending = BTreeSet::new();
        for name in &new {
            if self.store.sync_state(name)?.is_some() {
                pending.insert(name.to_string());
            }
        }
        let mut book = self.book.lock().expect("book lock");
        book.slots.retain(|name, slot| pipelines.contains_key(name) || slot.running.is_some());
        for (name, (_, pipeline)) in &pipelines {
            match book.slots.get_mut(name) {
                Some(slot) => slot.trigger = pipeline.trigger(),
                None => {
                    let slot = Slot::new(pipeline.trigger(), history.get(name).copied(), pending.contains(name));
                    book.slots.insert(name.clone(), slot);
                }
            }
        }
        drop(book);
        if changed {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// When each pipeline's latest sync started, from the store.
    fn history(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut last = BTreeMap::new();
        for run in self.store.runs()?.into_iter().filter(|r| r.kind == RunKind::Sync) {
            let at = last.entry(run.pipeline).or_insert(run.started_at_ms);
            *at = (*at).max(run.started_at_ms);
        }
        Ok(last)
    }

    /// The names of every pipeline with a valid file.
    pub fn pipeline_names(&self) -> Vec<String> {
        self.book.lock().expect("book lock").slots.keys().cloned().collect()
    }
}
