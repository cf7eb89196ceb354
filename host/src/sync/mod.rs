//! The sync engine: for each stream, `start` gives the first requests; each request is fetched,
//! its exchange committed to the raw store, then parsed in a fresh instance; records go to the
//! sink, rejects and failures to the dead-letter queue, `next` requests back into the frontier.

mod plan;
mod replay;
mod report;
mod resume;
mod session;
mod shared;
mod stream;

use std::sync::Arc;
use std::time::Instant;

pub use replay::{ReplayFilter, ReplayReport, replay};
pub use report::{StreamStats, SyncReport};
use session::Session;
use shared::Shared;
use stream::StreamResume;

use crate::config::Pipeline;
use crate::fetch::{FetchSettings, SecretError};
use crate::home::Home;
use crate::runtime::{CallLimits, LoadError, Runtime};
use crate::sink::SinkError;
use crate::store::{RunCounts, RunOutcome, StoreError};

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
    /// The pipeline names a stream the connector does not have.
    #[error("pipeline names stream `{stream}`, but connector `{connector}` has only: {available}")]
    UnknownStream { stream: String, connector: String, available: String },
    /// The pipeline's settings do not fit the connector (base URL, buckets).
    #[error("{0}")]
    Plan(String),
    /// A worker thread died.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Settings of one sync that are not in the pipeline file.
#[derive(Debug, Clone, Default)]
pub struct SyncSettings {
    /// Limits on each call into the connector.
    pub limits: CallLimits,
    /// HTTP settings.
    pub fetch: FetchSettings,
    /// Abandon an interrupted run and start over instead of resuming it.
    pub restart: bool,
}

/// Progress callbacks, for a progress bar. Every method has a no-op default.
pub trait Observer: Send + Sync {
    /// A page of `stream` was processed, writing `records` records.
    fn on_page(&self, _stream: &str, _records: u64) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

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
    let restart = settings.restart;
    let mut session = Session::open(pipeline, home, runtime, settings).await?;
    let (store, connector, streams) = (&session.store, &session.connector, &session.streams);
    let (run, prior) =
        resume::prepare(store, &mut session.sink, pipeline, connector, streams, restart, &mut session.warnings)?;
    let (shared, streams, warnings) = session.into_shared(pipeline, run.id, observer);
    let outcome = run_streams(&shared, &streams).await;
    conclude(&shared, &streams, prior, outcome, started, warnings)
}

/// End a run: forget its sync state when it finished (keep it for resuming when it did not),
/// record its outcome and counts, and report.
fn conclude(
    shared: &Shared,
    streams: &[String],
    prior: RunCounts,
    outcome: Result<(), SyncError>,
    started: Instant,
    warnings: Vec<String>,
) -> Result<SyncReport, SyncError> {
    let (store, pipeline, run) = (&shared.store, &shared.context.pipeline, shared.context.run);
    let stats = shared.stats.lock().expect("stats lock").clone();
    let mut counts = report::run_counts(&stats);
    counts.add(&prior);
    let run = match &outcome {
        Ok(()) => {
            store.end_sync(pipeline)?;
            store.finish_run(run, RunOutcome::Succeeded, &counts)?
        }
        // The sync state stays: the next `apiary run` resumes where this one stopped.
        Err(e) => store.finish_run(run, RunOutcome::Failed(e.to_string()), &counts)?,
    };
    outcome?;
    let sink = shared.sink.lock().expect("sink lock");
    Ok(SyncReport {
        run,
        streams: stats,
        outputs: streams.iter().map(|s| (s.clone(), sink.path_of(s))).collect(),
        database: store.path().to_path_buf(),
        elapsed: started.elapsed(),
        warnings,
        deprecations: shared.deprecations.lock().expect("deprecations lock").clone(),
    })
}

/// Run every stream concurrently; the first hard error (database, disk) stops the run.
async fn run_streams(shared: &Arc<Shared>, streams: &[String]) -> Result<(), SyncError> {
    let pipeline = &shared.context.pipeline;
    let state = shared.store.sync_state(pipeline)?.unwrap_or_default();
    let frontier = shared.store.frontier(pipeline)?;
    let unprocessed = shared.store.unprocessed(pipeline)?;
    let mut tasks = tokio::task::JoinSet::new();
    for stream in streams {
        let resume = StreamResume {
            started: state.started_streams.contains(stream),
            entries: frontier.iter().filter(|e| &e.stream == stream).cloned().collect(),
            unprocessed: unprocessed.iter().filter(|(_, e)| &e.stream == stream).cloned().collect(),
        };
        tasks.spawn(stream::sync_stream(shared.clone(), stream.clone(), resume));
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.map_err(|e| SyncError::Internal(e.to_string())).and_then(|r| r);
        if let Err(e) = result {
            first_error.get_or_insert(e);
            tasks.abort_all();
        }
    }
    first_error.map_or(Ok(()), Err)
}
