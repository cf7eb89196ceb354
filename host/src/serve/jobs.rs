//! Running one job: a sync (which resumes an interrupted run, as `apiary run` does) or a
//! replay of open dead letters, through the process's one store, reporting its commits to the
//! metrics. A job's failure is logged and shown by the API; it never stops `serve`.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::claim::{self, Claim};
use super::metrics::RunObserver;
use super::schedule::{Cause, JobKind};
use super::scheduler::Launcher;
use super::state::ServeState;
use crate::archive::Archiver;
use crate::config::Pipeline;
use crate::coord::Fence;
use crate::store::{RunOutcome, RunRecord};
use crate::sync::{self, ReplayFilter, SyncError, SyncSettings};

/// Runs jobs for the scheduler.
pub struct Jobs {
    /// What jobs share.
    pub state: Arc<ServeState>,
    /// Cancelled at shutdown: every run stops taking requests, commits and stays resumable.
    pub cancel: CancellationToken,
}

impl Launcher for Jobs {
    async fn launch(&self, name: String, kind: JobKind, cause: Cause) {
        let pipeline = self.state.catalog.lock().expect("catalog lock").get(&name);
        let Some(pipeline) = pipeline else { return };
        let claim = match claim::claim(&self.state, &pipeline, kind, cause).await {
            Ok(Claim::Skip(why)) => {
                self.state.metrics.job_skipped(&name);
                return tracing::info!(pipeline = %name, ?kind, "job skipped: {why}");
            }
            Ok(claim) => claim,
            Err(e) => return self.note(&name, Err(SyncError::Coordination(e))),
        };
        let metrics = &self.state.metrics;
        metrics.running.inc();
        tracing::info!(pipeline = %name, ?kind, "job started");
        let started = Instant::now();
        let cancel = self.cancel.child_token();
        claim.stop_on_loss(&cancel);
        let ended = self.run(&pipeline, kind, cancel.clone(), claim.fence()).await;
        cancel.cancel();
        claim.release().await;
        let outcome = match &ended {
            Ok(run) => outcome_label(&run.outcome),
            Err(_) => "failed",
        };
        metrics.job_ended(&name, kind, outcome, started.elapsed());
        self.note(&name, ended);
        self.refresh_gauges().await;
        metrics.running.dec();
    }
}

impl Jobs {
    /// Run the job to its end (or until `cancel`: shutdown, or the lease lost), writing with
    /// `fence` when the run holds a lease.
    async fn run(
        &self,
        pipeline: &Pipeline,
        kind: JobKind,
        cancel: CancellationToken,
        fence: Option<Fence>,
    ) -> Result<RunRecord, SyncError> {
        let state = &self.state;
        let archiver =
            Archiver::for_pipeline(state.store.clone(), pipeline).map_err(|e| SyncError::Plan(e.to_string()))?;
        let settings =
            SyncSettings { restart: false, cancel, store: Some(state.store.clone()), fence, ..SyncSettings::default() };
        let observer = Arc::new(RunObserver::new(state.metrics.clone(), &pipeline.name));
        let ran = match kind {
            JobKind::Sync => sync::run(pipeline, &state.home, &state.runtime, settings, observer).await.map(|r| r.run),
            JobKind::Replay => {
                let filter = ReplayFilter::default();
                let replayed = sync::replay(pipeline, &state.home, &state.runtime, settings, &filter, observer).await;
                replayed.map(|report| report.sync.run)
            }
        };
        if let Some(archiver) = archiver {
            archive_after(archiver, pipeline).await;
        }
        ran
    }

    /// Log the job's end and keep its error for the API.
    fn note(&self, name: &str, ended: Result<RunRecord, SyncError>) {
        let mut failures = self.state.failures.lock().expect("failures lock");
        match ended {
            Ok(run) => {
                tracing::info!(pipeline = name, run = %run.id, records = run.counts.records, "job ended: {}", outcome_label(&run.outcome));
                failures.remove(name);
            }
            Err(e) => {
                tracing::warn!(pipeline = name, "job failed: {e}");
                failures.insert(name.to_string(), e.to_string());
            }
        }
    }

    /// Read the store's gauges again (off the async threads).
    async fn refresh_gauges(&self) {
        let (store, metrics, names) =
            (self.state.store.clone(), self.state.metrics.clone(), self.state.pipeline_names());
        let refreshed = tokio::task::spawn_blocking(move || metrics.refresh_from_store(&store, &names)).await;
        match refreshed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cannot read the store for metrics: {e}"),
            Err(e) => tracing::warn!("cannot read the store for metrics: {e}"),
        }
    }
}

/// Give the archive its flush after a job (`[archive] flush-s`), and log what is left: the
/// queue is durable, the pipeline's next job (or `apiary archive push`) sends it.
async fn archive_after(archiver: Archiver, pipeline: &Pipeline) {
    let flush = pipeline.archive.as_ref().map(|a| a.flush()).unwrap_or_default();
    let url = archiver.url().to_string();
    match archiver.finish(flush).await {
        Ok(left) if left.waiting == 0 => {}
        Ok(left) => {
            tracing::warn!(pipeline = %pipeline.name, "archive: {} exchanges waiting for {url}; they go with the next job", left.waiting)
        }
        Err(e) => tracing::warn!(pipeline = %pipeline.name, "archive: {e}; the exchanges stay queued for the next job"),
    }
}

/// A run's outcome as a metric label.
pub fn outcome_label(outcome: &RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Running => "running",
        RunOutcome::Succeeded => "succeeded",
        RunOutcome::Failed(_) => "failed",
        RunOutcome::Interrupted(_) => "interrupted",
    }
}
