//! What `/api/pipelines` answers: each pipeline with its schedule, status, last and next run,
//! and the files that cannot be used. Built from the book, the catalog and the store's runs;
//! nothing of a pipeline's `[secrets]` or `[config]` is shown.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::catalog::FileError;
use super::schedule::{JobKind, Slot};
use super::state::ServeState;
use crate::store::{RunKind, RunOutcome, RunRecord, StoreError};

/// Where a pipeline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A job runs now.
    Running,
    /// A job was asked for (or an interrupted run waits) and starts when a slot is free.
    Queued,
    /// The latest run succeeded.
    Succeeded,
    /// The latest job failed.
    Failed,
    /// The latest run was stopped and resumes at the next job.
    Interrupted,
    /// Nothing ran yet.
    NeverRun,
}

/// One pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineView {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// What starts it: "cron */15 * * * * (UTC)", "every 15m" or "on demand".
    pub schedule: String,
    /// Where it stands.
    pub status: Status,
    /// The job running now.
    pub running: Option<JobKind>,
    /// Its latest run (a sync or a replay), with its counts.
    pub last_run: Option<RunRecord>,
    /// When its latest sync succeeded (ms since the epoch).
    pub last_success_ms: Option<u64>,
    /// When its schedule starts it next (ms since the epoch); now when queued.
    pub next_run_ms: Option<u64>,
    /// Why its latest job failed.
    pub error: Option<String>,
    /// Why its file cannot be used as it is now (its last valid version runs).
    pub file_error: Option<String>,
}

/// Every pipeline and every unusable file.
#[derive(Debug, Clone, Serialize)]
pub struct PipelinesView {
    /// The pipelines with a valid file, by name.
    pub pipelines: Vec<PipelineView>,
    /// Files that cannot be used as they are now.
    pub file_errors: Vec<FileError>,
    /// Jobs allowed at once.
    pub max_concurrent: usize,
    /// The server's clock (ms since the epoch), to show times relative to.
    pub now_ms: u64,
}

/// The view of every pipeline now.
pub fn pipelines(state: &ServeState) -> Result<PipelinesView, StoreError> {
    let runs = state.store.runs()?;
    let (files, file_errors) = {
        let catalog = state.catalog.lock().expect("catalog lock");
        (catalog.pipelines(), catalog.errors())
    };
    let failures = state.failures.lock().expect("failures lock").clone();
    let now_ms = state.clock.now_ms();
    let book = state.book.lock().expect("book lock");
    let mut pipelines = Vec::new();
    for (name, slot) in &book.slots {
        let Some((file, _)) = files.get(name) else { continue };
        let own: Vec<&RunRecord> = runs.iter().filter(|r| &r.pipeline == name && r.kind != RunKind::Reparse).collect();
        let last_run = own.last().map(|r| (*r).clone());
        let last_success_ms = own
            .iter()
            .filter(|r| r.kind == RunKind::Sync && r.outcome == RunOutcome::Succeeded)
            .filter_map(|r| r.finished_at_ms)
            .max();
        let error = failures.get(name).cloned();
        let queued = slot.requested.is_some() || slot.resume_pending;
        pipelines.push(PipelineView {
            name: name.clone(),
            file: file.clone(),
            schedule: slot.trigger.to_string(),
            status: status(slot, last_run.as_ref(), error.is_some()),
            running: slot.running,
            last_run,
            last_success_ms,
            next_run_ms: if queued { Some(now_ms) } else { slot.next_due_ms(book.watching_since_ms) },
            error,
            file_error: file_errors.iter().find(|e| &e.file == file).map(|e| e.error.clone()),
        });
    }
    Ok(PipelinesView { pipelines, file_errors, max_concurrent: state.max_concurrent, now_ms })
}

fn status(slot: &Slot, last_run: Option<&RunRecord>, failed: bool) -> Status {
    if slot.running.is_some() {
        return Status::Running;
    }
    if slot.requested.is_some() || slot.resume_pending {
        return Status::Queued;
    }
    if failed {
        return Status::Failed;
    }
    match last_run.map(|r| &r.outcome) {
        None => Status::NeverRun,
        Some(RunOutcome::Succeeded) => Status::Succeeded,
        Some(RunOutcome::Interrupted(_) | RunOutcome::Running) => Status::Interrupted,
        Some(RunOutcome::Failed(_)) => Status::Failed,
    }
}

/// The latest runs, newest first: of `pipeline` when given, at most `limit`.
pub fn runs(state: &ServeState, pipeline: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
    let mut runs = state.store.runs()?;
    runs.retain(|r| pipeline.is_none_or(|p| p == r.pipeline));
    runs.reverse();
    runs.truncate(limit);
    Ok(runs)
}

/// Pipelines by name with their bucket levels, for `/api/rate-limits`.
pub fn rate_limits(state: &ServeState) -> BTreeMap<String, Vec<crate::fetch::BucketLevel>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for (pipeline, level) in state.metrics.bucket_levels() {
        out.entry(pipeline).or_default().push(level);
    }
    out
}
