//! Which pipelines and which stored data an API version touches: the question to answer the
//! day an API announces that a version goes away.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::store::{Deprecation, RunId, RunOutcome, Store, StoreError};

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
    let deprecations =
        store.deprecations(|d| d.api_version == api_version && connector.is_none_or(|n| n == d.connector))?;
    Ok(Impact { api_version: api_version.to_string(), pipelines: by_pipeline.into_values().collect(), deprecations })
}

/// The pipeline's entry, created on first use.
fn slot<'a>(map: &'a mut BTreeMap<String, PipelineImpact>, pipeline: &str) -> &'a mut PipelineImpact {
    map.entry(pipeline.to_string())
        .or_insert_with(|| PipelineImpact { pipeline: pipeline.to_string(), ..PipelineImpact::default() })
}
