//! The `runs` table: one row per `apiary run`, with its versions, counts and outcome.

use serde::{Deserialize, Serialize};

use super::tables::{self, RUNS};
use super::{RunId, Store, StoreError, db_error, now_ms};
use crate::runtime::ConnectorIdentity;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "error")]
pub enum RunOutcome {
    /// Still going, or the process died (a later run tells the two apart).
    Running,
    /// Every stream finished (dead letters may have been added).
    Succeeded,
    /// The run stopped on an error.
    Failed(String),
}

/// What kind of work a run was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// `apiary run`: fetching from the API.
    #[default]
    Sync,
    /// `apiary dlq replay`.
    Replay,
    /// `apiary reparse`: stored exchanges through a connector, no API calls.
    Reparse,
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunKind::Sync => "sync",
            RunKind::Replay => "replay",
            RunKind::Reparse => "reparse",
        })
    }
}

/// What a run did, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries of an earlier attempt.
    pub retries: u64,
    /// Exchanges stored in the raw table.
    pub exchanges: u64,
    /// Records written to the sink.
    pub records: u64,
    /// Response body bytes received.
    pub raw_bytes: u64,
    /// Response body bytes stored, after compression.
    pub stored_bytes: u64,
    /// Dead letters added.
    pub dead_letters: u64,
}

impl RunCounts {
    /// Add another run's (or another process's) numbers to these.
    pub fn add(&mut self, other: &RunCounts) {
        self.requests += other.requests;
        self.retries += other.retries;
        self.exchanges += other.exchanges;
        self.records += other.records;
        self.raw_bytes += other.raw_bytes;
        self.stored_bytes += other.stored_bytes;
        self.dead_letters += other.dead_letters;
    }
}

/// One run of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id.
    pub id: RunId,
    /// What kind of run.
    #[serde(default)]
    pub kind: RunKind,
    /// The pipeline's name.
    pub pipeline: String,
    /// The connector that ran.
    pub connector: ConnectorIdentity,
    /// The streams it synced.
    pub streams: Vec<String>,
    /// When it started (ms since the epoch).
    pub started_at_ms: u64,
    /// When it ended, if it did.
    pub finished_at_ms: Option<u64>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// What it did.
    pub counts: RunCounts,
}

impl Store {
    /// Record the start of a run and return it.
    pub fn begin_run(
        &self,
        kind: RunKind,
        pipeline: &str,
        connector: &ConnectorIdentity,
        streams: &[String],
    ) -> Result<RunRecord, StoreError> {
        let write = self.db().begin_write().map_err(db_error)?;
        let id = tables::next_id(&write.open_table(RUNS).map_err(db_error)?)?;
        let run = RunRecord {
            id: RunId(id),
            kind,
            pipeline: pipeline.to_string(),
            connector: connector.clone(),
            streams: streams.to_vec(),
            started_at_ms: now_ms(),
            finished_at_ms: None,
            outcome: RunOutcome::Running,
            counts: RunCounts::default(),
        };
        tables::put_json(&write, RUNS, id, &run)?;
        write.commit().map_err(db_error)?;
        Ok(run)
    }

    /// Record how a run ended.
    pub fn finish_run(&self, id: RunId, outcome: RunOutcome, counts: &RunCounts) -> Result<RunRecord, StoreError> {
        let write = self.db().begin_write().map_err(db_error)?;
        let mut run: RunRecord = {
            let table = write.open_table(RUNS).map_err(db_error)?;
            tables::get_json(&table, RUNS, id.0)?.ok_or(StoreError::NotFound { what: "run", id: id.0 })?
        };
        run.finished_at_ms = Some(now_ms());
        run.outcome = outcome;
        run.counts = counts.clone();
        tables::put_json(&write, RUNS, id.0, &run)?;
        write.commit().map_err(db_error)?;
        Ok(run)
    }

    /// The run `id`.
    pub fn run(&self, id: RunId) -> Result<RunRecord, StoreError> {
        let read = self.db().begin_read().map_err(db_error)?;
        let table = read.open_table(RUNS).map_err(db_error)?;
        tables::get_json(&table, RUNS, id.0)?.ok_or(StoreError::NotFound { what: "run", id: id.0 })
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        tables::list_json(self.db(), RUNS, |_: &RunRecord| true)
    }
}
