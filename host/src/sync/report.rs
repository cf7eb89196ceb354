//! What a sync did, per stream and in total.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::model::DeprecationNotice;
use crate::schema::Drift;
use crate::store::{Counts, RunRecord};

/// The outcome of `apiary run` (or `dlq replay`).
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// The stored run, with its final counts and outcome.
    pub run: RunRecord,
    /// Numbers per stream, as committed by every process that worked on the run.
    pub streams: BTreeMap<String, Counts>,
    /// Where each stream's records went (a file, a table).
    pub outputs: Vec<(String, String)>,
    /// The database the run was stored in.
    pub database: PathBuf,
    /// Wall-clock time of this process's part of the run.
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
    /// Warnings to show the user (missing secrets, dead letters, a resumed run).
    pub warnings: Vec<String>,
    /// Deprecation notices the API sent, by endpoint.
    pub deprecations: BTreeMap<String, DeprecationNotice>,
    /// The API's own names for the limits endpoints count against (`X-RateLimit-Resource`),
    /// learned from its responses: endpoint -> limit.
    pub rate_limit_resources: BTreeMap<String, String>,
    /// How each stream that drifted differs from its schema (fields added, gone, changed
    /// type), with record counts and an example: one warning per stream.
    pub schema_drift: BTreeMap<String, Drift>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
