//! What a sync did, per stream and in total.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::store::{RunCounts, RunRecord};

/// Numbers for one stream of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Retries among them.
    pub retries: u64,
    /// Responses with status 429.
    pub throttled: u64,
    /// Time spent waiting to retry, in ms.
    pub waited_ms: u64,
    /// Time spent waiting for rate-limit tokens, in ms.
    pub rate_waited_ms: u64,
    /// Exchanges stored.
    pub exchanges: u64,
    /// Records written.
    pub records: u64,
    /// Dead letters added.
    pub dead_letters: u64,
    /// Response bytes received.
    pub raw_bytes: u64,
    /// Response bytes stored (compressed).
    pub stored_bytes: u64,
}

impl StreamStats {
    /// Add another stream's numbers to these.
    pub fn add(&mut self, other: &StreamStats) {
        self.requests += other.requests;
        self.retries += other.retries;
        self.throttled += other.throttled;
        self.waited_ms += other.waited_ms;
        self.rate_waited_ms += other.rate_waited_ms;
        self.exchanges += other.exchanges;
        self.records += other.records;
        self.dead_letters += other.dead_letters;
        self.raw_bytes += other.raw_bytes;
        self.stored_bytes += other.stored_bytes;
    }
}

/// Sum per-stream numbers into a run's counts.
pub fn run_counts(streams: &BTreeMap<String, StreamStats>) -> RunCounts {
    let mut total = StreamStats::default();
    streams.values().for_each(|s| total.add(s));
    RunCounts {
        requests: total.requests,
        retries: total.retries,
        exchanges: total.exchanges,
        records: total.records,
        raw_bytes: total.raw_bytes,
        stored_bytes: total.stored_bytes,
        dead_letters: total.dead_letters,
    }
}

/// The outcome of `apiary run`.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// The stored run, with its final counts and outcome.
    pub run: RunRecord,
    /// Numbers per stream.
    pub streams: BTreeMap<String, StreamStats>,
    /// The output file of each stream written to.
    pub outputs: Vec<(String, PathBuf)>,
    /// The database the run was stored in.
    pub database: PathBuf,
    /// Wall-clock time of the run.
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
    /// Warnings to show the user (missing secrets, stream failures).
    pub warnings: Vec<String>,
    /// Deprecation notices the API sent, by endpoint.
    pub deprecations: BTreeMap<String, crate::fetch::DeprecationNotice>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
