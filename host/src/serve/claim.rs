//! Taking a pipeline before a job runs. Without `[coordination]` a pipeline is this worker's
//! alone. With it, the job first takes the pipeline's lease in Redis (at most one worker runs a
//! pipeline at a time), and a scheduled sync is skipped when another worker has already run
//! the slot: every worker watching the same folder sees the same slots, each runs once.

use tokio_util::sync::CancellationToken;

use super::schedule::{Cause, JobKind, Slot};
use super::state::ServeState;
use crate::clock::now_ms;
use crate::config::Pipeline;
use crate::coord::{CoordError, Coordinator, Fence, Lease, Leases};
use crate::secrets::Secrets;

/// Whether and how a job may run.
pub enum Claim {
    /// No coordination: run.
    Alone,
    /// The lease is this worker's: run with its fence, give it back at the end.
    Leased(Lease),
    /// Do not run, for this reason (for the log).
    Skip(String),
}

impl Claim {
    /// The fencing token the run writes with.
    pub fn fence(&self) -> Option<Fence> {
        match self {
            Claim::Leased(lease) => Some(lease.fence().clone()),
            _ => None,
        }
    }

    /// `cancel` is cancelled as well when the lease is lost; returns what stops watching.
    pub fn stop_on_loss(&self, cancel: &CancellationToken) {
        if let Claim::Leased(lease) = self {
            let (lost, cancel) = (lease.lost(), cancel.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = lost.cancelled() => cancel.cancel(),
                    _ = cancel.cancelled() => {}
                }
            });
        }
    }

    /// Give the lease back, if there is one.
    pub async fn release(self) {
        if let Claim::Leased(lease) = self {
            lease.release().await;
        }
    }
}

/// Take `pipeline` for a job of `kind` started for `cause`.
pub async fn claim(state: &ServeState, pipeline: &Pipeline, kind: JobKind, cause: Cause) -> Result<Claim, CoordError> {
    let Some(config) = &pipeline.coordination else { return Ok(Claim::Alone) };
    let secrets = Secrets::resolve(&pipeline.secrets).map_err(|e| CoordError::Config(e.to_string()))?;
    let leases = Leases::new(&Coordinator::new(config, &secrets)?, state.worker.clone());
    let Some(lease) = leases.acquire(&pipeline.name).await? else {
        return Ok(Claim::Skip("another worker holds the pipeline's lease".into()));
    };
    if kind == JobKind::Sync {
        let now = now_ms();
        if cause == Cause::Schedule
            && let Some(started) = covering_start(state, &leases, &pipeline.name, now).await?
        {
            lease.release().await;
            adopt_start(state, &pipeline.name, started);
            return Ok(Claim::Skip(format!("another worker ran this slot (started at {started} ms)")));
        }
        leases.record_start(&pipeline.name, now).await?;
    }
    Ok(Claim::Leased(lease))
}

/// The start of a sync on any worker that already covers the slot due now, if there is one.
async fn covering_start(state: &ServeState, leases: &Leases, name: &str, now: u64) -> Result<Option<u64>, CoordError> {
    let Some(started) = leases.last_start(name).await? else { return Ok(None) };
    let book = state.book.lock().expect("book lock");
    let covered = book.slots.get(name).is_some_and(|slot: &Slot| slot.covered_by(started, now));
    Ok(covered.then_some(started))
}

/// Count this pipeline's schedule from `started`, the start another worker made.
fn adopt_start(state: &ServeState, name: &str, started: u64) {
    if let Some(slot) = state.book.lock().expect("book lock").slots.get_mut(name) {
        slot.last_started_ms = Some(started);
    }
}
