//! Setting up what a sync needs: the connector loaded, the streams chosen, secrets read, the
//! run's policy resolved and the fetcher built, the store and the sink opened. Shared by `run`
//! and `dlq replay`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::SyncError;
use super::committer::{Committer, Report, queue_for};
use super::loop_guard::LoopGuard;
use super::parsers::Parsers;
use super::schemas::RunSchemas;
use super::send_ahead::SendAhead;
use super::shared::Shared;
use super::turns::Turns;
use crate::config::Pipeline;
use crate::coord::{Coordinator, CredentialId, SharedBudget};
use crate::fetch::{AuthInjector, FetchPlan, Fetcher, Target};
use crate::home::Home;
use crate::policy::{ConnectorLimits, RunPolicy};
use crate::progress::{Observer, Progress};
use crate::runtime::{LoadedConnector, Runtime};
use crate::secrets::Secrets;
use crate::sink::Sink;
use crate::store::{Archiving, RunContext, RunId, Store};

/// Everything a sync of one pipeline needs, before a run is chosen.
pub struct Session {
    pub connector: LoadedConnector,
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub sink: Box<dyn Sink>,
    pub streams: Vec<String>,
    pub schemas: RunSchemas,
    pub warnings: Vec<String>,
}

impl Session {
    /// Load and check everything; nothing is written yet. The database is `settings.store`
    /// when the caller holds it open, else it is opened here.
    pub async fn open(
        pipeline: &Pipeline,
        home: &Home,
        runtime: &Runtime,
        settings: &super::SyncSettings,
    ) -> Result<Session, SyncError> {
        let limits = ConnectorLimits::with_overrides(&pipeline.limits);
        let connector = load_connector(runtime, pipeline, limits).await?;
        let manifest = connector.manifest();
        let streams = select_streams(pipeline, &connector)?;
        let secrets = Secrets::resolve(&pipeline.secrets)?;
        let mut warnings = Vec::new();
        let missing = secrets.missing_for(&manifest.auth);
        if !missing.is_empty() {
            warnings.push(format!(
                "the connector authenticates with secret(s) {}, which the pipeline's [secrets] does not define: requests are sent without credentials",
                missing.join(", ")
            ));
        }
        let (policy, raised) = RunPolicy::resolve(manifest, pipeline)?;
        warnings.extend(raised);
        let base_url = pipeline.base_url.as_deref().unwrap_or(&manifest.base_url);
        let target = Target::new(base_url, &manifest.base_url, &manifest.allowed_hosts).map_err(SyncError::Plan)?;
        let fetcher = Fetcher::new(FetchPlan {
            target,
            auth: AuthInjector::new(manifest.auth.clone(), secrets.clone()),
            policy,
            endpoints: manifest.endpoints.clone(),
            rate_limit_headers: manifest.rate_limit_headers.clone(),
            shared: shared_budget(pipeline, manifest, &secrets)?,
        })?;
        let store = match settings.store.clone() {
            Some(store) => store,
            None => Arc::new(Store::open(&home.database())?),
        };
        let schemas = RunSchemas::load(&store, pipeline, &connector, settings.inference)?;
        let specs = crate::sink::stream_specs(manifest, &pipeline.schema, |s| schemas.baseline(s));
        let sink = crate::sink::open(pipeline, home, &secrets, specs, settings.fence.clone())?;
        Ok(Session { connector, fetcher, store, sink, streams, schemas, warnings })
    }

    /// The shared state of run `run`, and the warnings so far.
    pub fn into_shared(
        self,
        pipeline: &Pipeline,
        run: RunId,
        observer: Arc<dyn Observer>,
        cancel: CancellationToken,
    ) -> (Arc<Shared>, Vec<String>) {
        let context = RunContext { run, pipeline: pipeline.name.clone(), connector: self.connector.identity().clone() };
        let sink = Arc::new(Mutex::new(self.sink));
        let report = Report { observer: observer.clone(), buckets: self.fetcher.buckets().clone() };
        let archiving = if pipeline.archive.is_some() { Archiving::Queue } else { Archiving::Off };
        let manifest = self.connector.manifest();
        let slots = self.streams.iter().map(|s| manifest.endpoint(s).map_or(1, |e| e.max_in_flight.max(1) as usize));
        let committer = Arc::new(Committer::start(
            (self.store.clone(), sink.clone()),
            (context.clone(), archiving),
            queue_for(slots.sum()),
            cancel.clone(),
            report,
        ));
        let turns = self.connector.manifest().endpoints.iter().map(|e| (e.name.clone(), Turns::default())).collect();
        let shared = Arc::new(Shared {
            pipeline: pipeline.clone(),
            connector: self.connector,
            fetcher: self.fetcher,
            store: self.store,
            sink,
            schemas: self.schemas,
            context,
            observer,
            cancel,
            deprecations: Mutex::new(BTreeMap::new()),
            progress: Mutex::new(Progress::default()),
            committer,
            turns,
            send_ahead: SendAhead::default(),
            loop_guard: LoopGuard::default(),
            parsers: Parsers::for_this_machine(),
        });
        (shared, self.warnings)
    }
}

/// The budgets shared through the pipeline's `[coordination]` Redis, if it has one: keyed by
/// the connector's name and the credential its auth sends.
fn shared_budget(
    pipeline: &Pipeline,
    manifest: &crate::model::Manifest,
    secrets: &Secrets,
) -> Result<Option<SharedBudget>, SyncError> {
    let Some(config) = &pipeline.coordination else { return Ok(None) };
    let coordinator = Coordinator::new(config, secrets)?;
    let credential = CredentialId::of(&manifest.auth, secrets);
    Ok(Some(SharedBudget::new(&coordinator, &manifest.name, &credential)))
}

async fn load_connector(
    runtime: &Runtime,
    pipeline: &Pipeline,
    limits: ConnectorLimits,
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
