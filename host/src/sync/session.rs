//! Setting up what a sync needs: the connector loaded, the streams chosen, secrets read, the
//! fetcher planned, the store and the sink opened. Shared by `run` and `dlq replay`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::shared::Shared;
use super::{Observer, SyncError, SyncSettings, plan};
use crate::config::Pipeline;
use crate::fetch::{Fetcher, Secrets};
use crate::home::Home;
use crate::runtime::{CallLimits, LoadedConnector, Runtime};
use crate::sink::JsonlSink;
use crate::store::{RunContext, RunId, Store};

/// Everything a sync of one pipeline needs, before a run is chosen.
pub struct Session {
    pub connector: LoadedConnector,
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub sink: JsonlSink,
    pub streams: Vec<String>,
    pub warnings: Vec<String>,
    max_retry_after: std::time::Duration,
}

impl Session {
    /// Load and check everything; nothing is written yet.
    pub async fn open(
        pipeline: &Pipeline,
        home: &Home,
        runtime: &Runtime,
        settings: SyncSettings,
    ) -> Result<Session, SyncError> {
        let limits = pipeline.limits.apply(settings.limits);
        let connector = load_connector(runtime, pipeline, limits).await?;
        let manifest = connector.manifest().clone();
        let streams = select_streams(pipeline, &connector)?;
        let secrets = Secrets::resolve(&pipeline.secrets)?;
        let (plan, fetch_settings, warnings) = plan::fetch_plan(pipeline, &manifest, secrets, settings.fetch)?;
        let max_retry_after = fetch_settings.max_retry_after;
        let fetcher = Fetcher::new(plan, fetch_settings);
        let store = Arc::new(Store::open(&home.database())?);
        let sink = JsonlSink::open(&home.output(&pipeline.name))?;
        Ok(Session { connector, fetcher, store, sink, streams, warnings, max_retry_after })
    }

    /// The shared state of run `run`, its streams and the warnings so far.
    pub fn into_shared(
        self,
        pipeline: &Pipeline,
        run: RunId,
        observer: Arc<dyn Observer>,
    ) -> (Arc<Shared>, Vec<String>, Vec<String>) {
        let context = RunContext { run, pipeline: pipeline.name.clone(), connector: self.connector.identity().clone() };
        let shared = Arc::new(Shared {
            pipeline: pipeline.clone(),
            connector: self.connector,
            fetcher: self.fetcher,
            store: self.store,
            sink: Arc::new(Mutex::new(self.sink)),
            context,
            stats: Mutex::new(BTreeMap::new()),
            observer,
            max_retry_after: self.max_retry_after,
            failures: Mutex::default(),
            deprecations: Mutex::default(),
        });
        (shared, self.streams, self.warnings)
    }
}

async fn load_connector(
    runtime: &Runtime,
    pipeline: &Pipeline,
    limits: CallLimits,
) -> Result<LoadedConnector, SyncError> {
    let runtime = runtime.clone();
    let path = pipeline.connector.clone();
    let loaded = tokio::task::spawn_blocking(move || LoadedConnector::load(&runtime, &path, limits))
        .await
        .map_err(|e| SyncError::Internal(e.to_string()))?;
    Ok(loaded?)
}

/// The pipeline's streams, checked against the manifest; every endpoint when it names none.
fn select_streams(pipeline: &Pipeline, connector: &LoadedConnector) -> Result<Vec<String>, SyncError> {
    let endpoints: Vec<String> = connector.manifest().endpoints.iter().map(|e| e.name.clone()).collect();
    let Some(wanted) = &pipeline.streams else { return Ok(endpoints) };
    for stream in wanted {
        if !endpoints.contains(stream) {
            return Err(SyncError::UnknownStream {
                stream: stream.clone(),
                connector: connector.manifest().name.clone(),
                available: endpoints.join(", "),
            });
        }
    }
    Ok(wanted.clone())
}
