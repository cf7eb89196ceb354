//! The schemas of one run's streams: each stream's baseline (its accepted schema, or the shape its
//! endpoint declares), its contract, and an observer learning what the run's records look like;
//! and, when the run ends, what it saw recorded in the store.
//!
//! Each stream has one observer, locked once per page while that page is judged (never per
//! record), so streams never wait on each other and a stream's pages only when they are judged
//! at the same moment.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::accept::{self, Accepted, PageOrigin, SchemaCheck, Verdict};
use crate::config::Pipeline;
use crate::model::{Page, ParseError};
use crate::runtime::{CallError, LoadedConnector};
use crate::schema::{Contract, Drift, SchemaError, SchemaObserver, StreamSchema};
use crate::store::{AcceptedSchema, RunContext, RunOutcome, SchemaSource, Store, StoreError};

/// Whether a run learns its records' schemas. Always on for users; the benchmark turns it off
/// to measure what it costs (there is no flag for it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Inference {
    /// Learn every record's shape, compare it with the baseline, apply the contract.
    #[default]
    On,
    /// Only check that records are JSON (and satisfy a declared schema).
    Off,
}

/// The schema state of every stream of a run.
pub struct RunSchemas {
    streams: BTreeMap<String, StreamState>,
}

/// One stream's schema state.
struct StreamState {
    contract: Contract,
    /// The accepted schema as the run found it.
    accepted: Option<AcceptedSchema>,
    /// What the records are compared with.
    baseline: Option<StreamSchema>,
    /// `None` when inference is off.
    observer: Option<Mutex<SchemaObserver>>,
}

impl RunSchemas {
    /// The schema state of every endpoint of `connector` for a run of `pipeline`: the pipeline's
    /// `[schema]` table (a stream it names must be one of the connector's), the accepted schemas
    /// in `store`, the connector's declared ones.
    pub fn load(
        store: &Store,
        pipeline: &Pipeline,
        connector: &LoadedConnector,
        inference: Inference,
    ) -> Result<RunSchemas, RunSchemasError> {
        let endpoints = &connector.manifest().endpoints;
        pipeline.schema.check_streams(endpoints.iter().map(|e| e.name.as_str()))?;
        let mut streams = BTreeMap::new();
        for endpoint in endpoints {
            let accepted = store.accepted_schema(&pipeline.name, &endpoint.name)?;
            let declared = connector.declared(&endpoint.name).map(|d| d.shape());
            let baseline = match (&accepted, declared) {
                (Some(a), Some(declared)) if a.source == SchemaSource::Declared => Some(declared.clone()),
                (Some(a), _) => Some(a.schema.clone()),
                (None, declared) => declared.cloned(),
            };
            let observer = (inference == Inference::On).then(|| Mutex::new(SchemaObserver::new(baseline.as_ref())));
            let contract = pipeline.schema.contract_for(&endpoint.name);
            streams.insert(endpoint.name.clone(), StreamState { contract, accepted, baseline, observer });
        }
        Ok(RunSchemas { streams })
    }

    /// [`accept::judge`] for a page of `origin.stream`, its records checked against the
    /// stream's schema state.
    pub fn judge(
        &self,
        origin: PageOrigin<'_>,
        parsed: Result<Result<Page, ParseError>, CallError>,
        connector: &LoadedConnector,
    ) -> Verdict {
        accept::judge_page(parsed, connector.limits()).map_accepted(|page| self.check(origin, page, connector))
    }

    /// [`accept::check_records`] for an accepted page of `origin.stream`, against the stream's
    /// schema state (its observer locked once for the page).
    pub fn check(&self, origin: PageOrigin<'_>, page: Page, connector: &LoadedConnector) -> Accepted {
        let state = self.streams.get(origin.stream);
        let mut guard = state.and_then(|s| s.observer.as_ref()).map(|m| m.lock().expect("schema observer lock"));
        let mut check = SchemaCheck {
            observer: guard.as_deref_mut(),
            contract: state.map_or(Contract::Evolve, |s| s.contract),
            declared: connector.declared(origin.stream),
        };
        accept::check_records(origin, page, &mut check)
    }

    /// The schema `stream`'s records are compared with (accepted or declared), if it has one.
    pub fn baseline(&self, stream: &str) -> Option<&StreamSchema> {
        self.streams.get(stream)?.baseline.as_ref()
    }

    /// What the records of `stream` judged so far look like, if any were learned from.
    pub fn observed(&self, stream: &str) -> Option<StreamSchema> {
        let observer = self.streams.get(stream)?.observer.as_ref()?;
        Some(observer.lock().expect("schema observer lock").schema()).filter(|s| s.records() > 0)
    }

    /// Record what a sync run saw of each of `streams` (its observed schema and drift, under the
    /// run's connector and API version) and give a stream without an accepted schema its
    /// first: the declared shape, else, once the run has `outcome` succeeded, the observed
    /// schema (as inferred; a stopped run's part is not the whole). A stream whose endpoint
    /// declares a schema follows the declaration while its accepted schema is a declared one.
    /// Returns the drift of every stream that drifted; the observers start over.
    pub fn record(
        &self,
        store: &Store,
        (context, outcome): (&RunContext, &RunOutcome),
        connector: &LoadedConnector,
        streams: &[String],
    ) -> Result<BTreeMap<String, Drift>, StoreError> {
        let mut drifted = BTreeMap::new();
        for stream in streams {
            let Some(state) = self.streams.get(stream) else { continue };
            let Some(observer) = &state.observer else { continue };
            let fresh = SchemaObserver::new(state.baseline.as_ref());
            let observation = std::mem::replace(&mut *observer.lock().expect("schema observer lock"), fresh).finish();
            let declared = connector.declared(stream).map(|d| d.shape());
            let follows_declaration = state.accepted.as_ref().is_none_or(|a| a.source == SchemaSource::Declared);
            match declared {
                Some(shape) if follows_declaration && state.accepted.as_ref().is_none_or(|a| a.schema != *shape) => {
                    store.set_accepted_schema(&context.pipeline, stream, SchemaSource::Declared, shape, None)?;
                }
                _ => {}
            }
            if observation.schema.records() == 0 {
                continue;
            }
            let observed = store.record_observed_schema(context, stream, &observation)?;
            if state.accepted.is_none() && declared.is_none() && *outcome == RunOutcome::Succeeded {
                let (schema, run) = (&observed.schema, Some(context.run));
                store.set_accepted_schema(&context.pipeline, stream, SchemaSource::Inferred, schema, run)?;
            }
            if !observed.drift.is_empty() {
                drifted.insert(stream.clone(), observed.drift);
            }
        }
        Ok(drifted)
    }
}

/// The schema state could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RunSchemasError {
    /// The `[schema]` table does not fit the connector.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
