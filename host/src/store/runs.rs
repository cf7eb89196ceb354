//! The `runs` table: one row per `apiary run`, with its versions, counts and outcome.

use serde::{Deserialize, Serialize};

use super::tables::{self, RUNS};
use super::{Counts, RunId, Store, StoreError, db_error};
use crate::clock::now_ms;
use crate::model::ConnectorIdentity;

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
    /// The run was stopped (SIGTERM, SIGINT) after committing its pages in flight; the next
    /// `apiary run` resumes it.
    Interrupted(String),
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
    pub counts: Counts,
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
        let write = self.write()?;
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
            counts: Counts::default(),
        };
        tables::put_json(&write, RUNS, id, &run)?;
        write.commit().map_err(db_error)?;
        Ok(run)
    }

    /// Record how a run ended, with the counts it committed (across every process that worked
    /// on it).
    pub fn finish_run(&self, id: RunId, outcome: RunOutcome) -> Result<RunRecord, StoreError> {
        let counts = Counts::sum(self.run_counts(id)?.values());
        let write = self.write()?;
        let mut run: RunRecord = {
            let table = write.open_table(RUNS).map_err(db_error)?;
            tables::get_json(&table, RUNS, id.0)?.ok_or(StoreError::NotFound { what: "run", id: id.0 })?
        };
        run.finished_at_ms = Some(now_ms());
        run.outcome = outcome;
        run.counts = counts;
        tables::put_json(&write, RUNS, id.0, &run)?;
        write.commit().map_err(db_error)?;
        Ok(run)
    }

    /// Mark an interrupted run as running again (it is being resumed).
    pub fn reopen_run(&self, id: RunId) -> Result<(), StoreError> {
        let write = self.write()?;
        let mut run: RunRecord = {
            let table = write.open_table(RUNS).map_err(db_error)?;
            tables::get_json(&table, RUNS, id.0)?.ok_or(StoreError::NotFound { what: "run", id: id.0 })?
        };
        run.finished_at_ms = None;
        run.outcome = RunOutcome::Running;
        tables::put_json(&write, RUNS, id.0, &run)?;
        write.commit().map_err(db_error)
    }

    /// The run `id`; a run still going (or interrupted) shows the counts committed so far.
    pub fn run(&self, id: RunId) -> Result<RunRecord, StoreError> {
        let read = self.read()?;
        let table = read.open_table(RUNS).map_err(db_error)?;
        let run = tables::get_json(&table, RUNS, id.0)?.ok_or(StoreError::NotFound { what: "run", id: id.0 })?;
        self.with_live_counts(run)
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let runs = tables::list_json(&self.read()?, RUNS, |_: &RunRecord| true)?;
        runs.into_iter().map(|r| self.with_live_counts(r)).collect()
    }

    /// `run` with its committed counts when it has not finished.
    fn with_live_counts(&self, mut run: RunRecord) -> Result<RunRecord, StoreError> {
        if run.finished_at_ms.is_none() || run.outcome == RunOutcome::Running {
            run.counts = Counts::sum(self.run_counts(run.id)?.values());
        }
        Ok(run)
    }
}
