//! `apiary serve`: every pipeline of a folder on its schedule, with Prometheus metrics, a JSON
//! API and a dashboard, in one process that is the only writer of its home.
//!
//! | module | owns |
//! | --- | --- |
//! | [`catalog`] | the pipeline folder: files read again on change, errors per file |
//! | [`schedule`] | pure schedule arithmetic: when a pipeline is due, which jobs start |
//! | [`scheduler`] | the loop that starts due jobs within the cap, one per pipeline at a time |
//! | `claim` | with `[coordination]`: the pipeline's lease, a slot another worker ran skipped |
//! | [`jobs`] | one job: a sync or a replay through the shared store |
//! | [`metrics`] | the Prometheus metrics |
//! | [`access`] | loopback by default, bearer token elsewhere |
//! | `api`, `views`, `dashboard`, `http` | the HTTP side |

mod access;
mod api;
pub mod catalog;
mod claim;
pub mod clock;
mod dashboard;
mod http;
pub mod jobs;
pub mod metrics;
pub mod schedule;
pub mod scheduler;
mod state;
mod views;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

pub use access::{Access, AccessError, MIN_TOKEN_CHARS};
pub use state::ServeState;

use crate::home::Home;
use crate::runtime::Runtime;
use crate::store::{Store, StoreError};

/// How long running jobs get to commit their pages in flight after a stop signal; past it the
/// process exits anyway (every run is resumable from its last commit).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// The settings of `apiary serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The folder of pipeline files (`*.toml`).
    pub dir: PathBuf,
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// Jobs allowed at once (at least 1).
    pub max_concurrent: usize,
    /// The bearer token's file (mode 600); needed off loopback.
    pub token_file: Option<PathBuf>,
    /// How often the folder is looked at for changed files.
    pub rescan_every: Duration,
}

/// `serve` could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The pipeline folder is missing.
    #[error("--dir {0}: not a folder; give the folder holding your pipeline files (*.toml)")]
    NoFolder(PathBuf),
    /// The listen address or token cannot be used.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The database could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source} (pick another --listen address or port)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
}

/// How the outside steers a running `serve`: stop it (SIGTERM/SIGINT), or read the folder
/// again now (SIGHUP).
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Cancelled to stop: runs commit and stay resumable, the process ends.
    pub shutdown: CancellationToken,
    /// Notified to read the pipeline folder again at once.
    pub reload: Arc<Notify>,
}

/// Run `serve` until `control.shutdown` is cancelled. `ready` is called with the bound address
/// once the server listens and the folder has been read.
pub async fn serve(
    options: ServeOptions,
    home: &Home,
    runtime: Runtime,
    control: Control,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let access = Arc::new(Access::new(options.listen, options.token_file.as_deref())?);
    if !options.dir.is_dir() {
        return Err(ServeError::NoFolder(options.dir.clone()));
    }
    let state = Arc::new(open_state(&options, home, runtime)?);
    state.reload()?;
    refresh_gauges(&state)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Bind { addr: options.listen, source })?;
    let addr = listener.local_addr().map_err(ServeError::Http)?;
    let http = tokio::spawn(http::serve(listener, http::router(state.clone(), access), control.shutdown.clone()));
    tokio::spawn(watch_folder(state.clone(), options.rescan_every, control.clone()));
    ready(addr);
    let jobs_cancel = CancellationToken::new();
    let scheduler = scheduler::Scheduler {
        book: state.book.clone(),
        launcher: Arc::new(jobs::Jobs { state: state.clone(), cancel: jobs_cancel.clone() }),
        clock: state.clock.clone(),
        permits: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
        wake: state.wake.clone(),
    };
    let mut running = scheduler.run(control.shutdown.clone()).await;
    tracing::info!(jobs = running.len(), "stopping: running jobs commit their pages in flight");
    jobs_cancel.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async { while running.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("jobs still running after {SHUTDOWN_GRACE:?}; exiting: they resume from their last commit");
    }
    match http.await {
        Ok(result) => result.map_err(ServeError::Http),
        Err(e) => Err(ServeError::Http(std::io::Error::other(e))),
    }
}

/// Open the home's store (the one writer) and set up the shared state.
fn open_state(options: &ServeOptions, home: &Home, runtime: Runtime) -> Result<ServeState, ServeError> {
    let store = Arc::new(Store::open(&home.database())?);
    let clock: Arc<dyn clock::WallClock> = Arc::new(clock::SystemClock);
    let book = scheduler::Book { slots: Default::default(), watching_since_ms: clock.now_ms() };
    Ok(ServeState {
        home: home.clone(),
        store,
        runtime,
        metrics: Arc::new(metrics::Metrics::new()),
        catalog: Mutex::new(catalog::Catalog::new(&options.dir)),
        book: Arc::new(Mutex::new(book)),
        wake: Arc::new(Notify::new()),
        clock,
        failures: Mutex::default(),
        max_concurrent: options.max_concurrent.max(1),
        worker: crate::coord::WorkerId::generate(),
    })
}

/// Read the store's gauges once at start.
fn refresh_gauges(state: &ServeState) -> Result<(), ServeError> {
    Ok(state.metrics.refresh_from_store(&state.store, &state.pipeline_names())?)
}

/// Read the folder again every `every`, and at once when `control.reload` is notified.
async fn watch_folder(state: Arc<ServeState>, every: Duration, control: Control) {
    loop {
        tokio::select! {
            _ = control.shutdown.cancelled() => return,
            _ = control.reload.notified() => tracing::info!("reloading the pipeline folder"),
            _ = tokio::time::sleep(every) => {}
        }
        let reloading = state.clone();
        match tokio::task::spawn_blocking(move || reloading.reload()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cannot read the store while reloading pipelines: {e}"),
            Err(e) => tracing::warn!("reloading pipelines failed: {e}"),
        }
    }
}
