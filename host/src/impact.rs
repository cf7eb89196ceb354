//! Which pipelines and which stored data an API version touches, and how their records changed
//! shape at the next API version: the questions to answer the day an API announces that a
//! version goes away.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::schema::Drift;
use crate::store::{Deprecation, RunId, RunOutcome, SchemaPoint, Store, StoreError};

/// What one pipeline has to do with the API version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PipelineImpact {
    /// The pipeline.
    pub pipeline: String,
    /// The connector(s) it used with that API version, as `name version`.
    pub connectors: BTreeSet<String>,
    /// Its runs with that API version.
    pub runs: u64,
    /// Its latest such run, and how it ended.
    pub last_run: Option<(RunId, RunOutcome)>,
    /// Raw exchanges stored under that API version.
    pub raw_exchanges: u64,
    /// Dead letters tied to it (open ones).
    pub open_dead_letters: u64,
    /// When the first and last of those exchanges were fetched (ms since the epoch).
    pub first_seen_ms: Option<u64>,
    /// See `first_seen_ms`.
    pub last_seen_ms: Option<u64>,
    /// How each stream's records changed from this API version to the next one its runs saw.
    pub schema_changes: Vec<SchemaChange>,
}

/// How one stream's records changed shape between two API versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaChange {
    /// The stream.
    pub stream: String,
    /// The API version its runs saw next.
    pub next_version: String,
    /// Fields added, gone, changed type (empty: the same shape).
    pub drift: Drift,
}

/// Everything stored that speaks `api_version`.
#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    /// The API version asked about.
    pub api_version: String,
    /// The pipelines, by name.
    pub pipelines: Vec<PipelineImpact>,
    /// Deprecation notices the API sent for that version.
    pub deprecations: Vec<Deprecation>,
}

/// Find the pipelines, exchanges and dead letters of `api_version` (of one connector if named).
pub fn impact(store: &Store, api_version: &str, connector: Option<&str>) -> Result<Impact, StoreError> {
    let matches =
        |c: &crate::model::ConnectorIdentity| c.api_version == api_version && connector.is_none_or(|n| n == c.name);
    let mut by_pipeline: BTreeMap<String, PipelineImpact> = BTreeMap::new();
    for run in store.runs()?.into_iter().filter(|r| matches(&r.connector)) {
        let e = slot(&mut by_pipeline, &run.pipeline);
        e.connectors.insert(format!("{} {}", run.connector.name, run.connector.version));
        e.runs += 1;
        e.last_run = Some((run.id, run.outcome.clone()));
    }
    for meta in store.raw_list(|m| matches(&m.connector))? {
        let e = slot(&mut by_pipeline, &meta.pipeline);
        e.raw_exchanges += 1;
        e.first_seen_ms = Some(e.first_seen_ms.map_or(meta.fetched_at_ms, |t| t.min(meta.fetched_at_ms)));
        e.last_seen_ms = Some(e.last_seen_ms.map_or(meta.fetched_at_ms, |t| t.max(meta.fetched_at_ms)));
    }
    for letter in store.dead_letters(|l| matches(&l.connector) && l.resolved_by.is_none())? {
        slot(&mut by_pipeline, &letter.pipeline).open_dead_letters += 1;
    }
    for entry in by_pipeline.values_mut() {
        entry.schema_changes = schema_changes(store, &entry.pipeline, api_version)?;
    }
    let deprecations =
        store.deprecations(|d| d.api_version == api_version && connector.is_none_or(|n| n == d.connector))?;
    Ok(Impact { api_version: api_version.to_string(), pipelines: by_pipeline.into_values().collect(), deprecations })
}

/// How each stream of `pipeline` changed from `api_version` to the next API version seen.
fn schema_changes(store: &Store, pipeline: &str, api_version: &str) -> Result<Vec<SchemaChange>, StoreError> {
    let mut streams: Vec<String> = store.observed_schemas(pipeline, None)?.into_iter().map(|o| o.stream).collect();
    streams.dedup();
    let mut changes = Vec::new();
    for stream in streams {
        let versions = store.schema_api_versions(pipeline, &stream)?;
        let Some(at) = versions.iter().position(|v| v == api_version) else { continue };
        let Some(next) = versions.get(at + 1) else { continue };
        let (from, to) = (SchemaPoint::ApiVersion(api_version.to_string()), SchemaPoint::ApiVersion(next.clone()));
        let drift = store.schema_diff(pipeline, &stream, &from, &to)?;
        changes.push(SchemaChange { stream, next_version: next.clone(), drift });
    }
    Ok(changes)
}

/// The pipeline's entry, created on first use.
fn slot<'a>(map: &'a mut BTreeMap<String, PipelineImpact>, pipeline: &str) -> &'a mut PipelineImpact {
    map.entry(pipeline.to_string())
        .or_insert_with(|| PipelineImpact { pipeline: pipeline.to_string(), ..PipelineImpact::default() })
}
