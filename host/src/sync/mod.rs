//! The sync engine: for each stream, `start` gives the first requests; each request is fetched
//! ([`request`]), every response committed to the raw store, the page parsed in a fresh
//! instance and judged on the one acceptance path; records go to the sink, rejects and failures
//! to the dead-letter queue, `next` requests back into the frontier. Everything a request
//! changes is committed at once, so a killed run resumes exactly where it stopped.

mod committer;
mod engine;
mod loop_guard;
mod parsers;
mod replay;
mod report;
mod request;
mod resume;
mod schemas;
mod send_ahead;
mod session;
mod shared;
mod stream;
mod turns;

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

pub use replay::{ReplayFilter, ReplayReport, replay};
pub use report::SyncReport;
pub use schemas::{Inference, RunSchemas, RunSchemasError};

use crate::config::Pipeline;
use crate::fetch::ClientError;
use crate::home::Home;
use crate::policy::PolicyError;
use crate::progress::Observer;
use crate::runtime::{LoadError, Runtime};
use crate::secrets::SecretError;
use crate::sink::SinkError;
use crate::store::{Store, StoreError};

/// A sync could not run (as opposed to single requests failing, which become dead letters).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The connector could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A secret could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Output could not be written.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The pipeline's overrides do not fit the connector.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The HTTP client could not be set up.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The pipeline's `[schema]` table does not fit the connector, or schemas could not be read.
    #[error(transparent)]
    Schemas(#[from] RunSchemasError),
    /// The pipeline names a stream the connector does not have.
    #[error("pipeline names stream `{stream}`, but connector `{connector}` has only: {available}")]
    UnknownStream { stream: String, connector: String, available: String },
    /// The pipeline's base URL or another setting cannot work.
    #[error("{0}")]
    Plan(String),
    /// An interrupted run cannot be resumed with the pipeline as it is now.
    #[error("{0}")]
    CannotResume(String),
    /// Coordination through Redis could not be set up.
    #[error(transparent)]
    Coordination(#[from] crate::coord::CoordError),
    /// Another worker holds the pipeline's lease.
    #[error(
        "pipeline {pipeline} is being run by another worker (its lease is held in Redis at {redis}): try again when that run ends"
    )]
    Leased { pipeline: String, redis: String },
    /// A worker thread died.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Settings of one sync that are not in the pipeline file.
#[derive(Debug, Clone, Default)]
pub struct SyncSettings {
    /// Abandon an interrupted run and start over instead of resuming it.
    pub restart: bool,
    /// Cancelled to stop the run cleanly: no new request is taken, pages being parsed are
    /// committed, and the run is left to resume.
    pub cancel: CancellationToken,
    /// Whether records' schemas are learned: on, except in the benchmark's comparison.
    pub inference: Inference,
    /// The home's database, already open for writing: a process running several syncs at once
    /// (`apiary serve`) shares its one writer. `None` opens the database for this run.
    pub store: Option<Arc<Store>>,
    /// The fencing token of the lease this run holds (`apiary serve` with coordination): a
    /// destination that has seen a newer one refuses this run's writes.
    pub fence: Option<crate::coord::Fence>,
}

/// [`run`], holding the pipeline's lease when it has `[coordination]` (so no other worker
/// runs it meanwhile): refused when another worker holds it; stopped if the lease is lost.
pub async fn run_leased(
    pipeline: &Pipeline,
    home: &Home,
    runtime: &Runtime,
    mut settings: SyncSettings,
    observer: Arc<dyn Observer>,
) -> Result<SyncReport, SyncError> {
    let Some(config) = &pipeline.coordination else { return run(pipeline, home, runtime, settings, observer).await };
    let coordinator = crate::coord::Coordinator::new(config, &crate::secrets::Secrets::resolve(&pipeline.secrets)?)?;
    let leases = crate::coord::Leases::new(&coordinator, crate::coord::WorkerId::generate());
    let lease = leases.acquire_waiting(&pipeline.name).await.ok_or_else(|| SyncError::Leased {
        pipeline: pipeline.name.clone(),
        redis: coordinator.link().place().to_string(),
    })?;
    lease.cancel_on_loss(&settings.cancel);
    settings.fence = Some(lease.fence().clone());
    let ran = run(pipeline, home, runtime, settings, observer).await;
    lease.release().await;
    ran
}

/// Run one sync of `pipeline`, storing under `home`. If the pipeline's last run was
/// interrupted, it is resumed (or abandoned and started over with `settings.restart`).
pub async fn run(
    pipeline: &Pipeline,
    home: &Home,
    runtime: &Runtime,
    settings: SyncSettings,
    observer: Arc<dyn Observer>,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let mut session = session::Session::open(pipeline, home, runtime, &settings).await?;
    let (run, streams) = resume::prepare(&mut session, pipeline, settings.restart)?;
    let (shared, warnings) = session.into_shared(pipeline, run.id, observer, settings.cancel);
    let outcome = engine::run_streams(&shared, &streams).await;
    let outcome = engine::drain(&shared, outcome).await;
    engine::conclude(&shared, &streams, outcome, started, warnings)
}
