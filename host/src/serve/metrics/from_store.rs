//! The gauges read from the store: open dead letters, the last success of each pipeline,
//! deprecation and sunset notices, schema drift, the raw archive's backlog. `serve` is the home's only writer, so they
//! change only when its jobs end: they are read at start and after every job.

use std::collections::BTreeMap;

use super::{LetterLabels, Metrics, NoticeLabels, PipelineLabels, StreamLabels};
use crate::store::{LetterOrigin, RunKind, RunOutcome, Store, StoreError};

impl Metrics {
    /// Read every store gauge again; `pipelines` are the names whose schemas to look at.
    pub fn refresh_from_store(&self, store: &Store, pipelines: &[String]) -> Result<(), StoreError> {
        self.refresh_letters(store)?;
        self.refresh_last_success(store)?;
        self.refresh_notices(store)?;
        self.refresh_archive(store)?;
        self.refresh_drift(store, pipelines)
    }

    /// Exchanges waiting for the raw archive, per pipeline (0 once a backlog is gone).
    fn refresh_archive(&self, store: &Store) -> Result<(), StoreError> {
        self.archive_waiting.clear();
        for backlog in store.archive_backlogs(None)? {
            let labels = PipelineLabels { pipeline: backlog.pipeline };
            self.archive_waiting.get_or_create(&labels).set(backlog.waiting as i64);
        }
        Ok(())
    }

    fn refresh_letters(&self, store: &Store) -> Result<(), StoreError> {
        let open = store.dead_letters(|l| l.resolved_by.is_none() && l.origin == LetterOrigin::Live)?;
        let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        for l in open {
            *counts.entry((l.pipeline, l.stream, l.stage.to_string())).or_default() += 1;
        }
        self.letters_open.clear();
        for ((pipeline, stream, stage), n) in counts {
            self.letters_open.get_or_create(&LetterLabels { pipeline, stream, stage }).set(n);
        }
        Ok(())
    }

    fn refresh_last_success(&self, store: &Store) -> Result<(), StoreError> {
        for run in store.runs()? {
            let (RunKind::Sync, RunOutcome::Succeeded, Some(end)) = (run.kind, &run.outcome, run.finished_at_ms) else {
                continue;
            };
            let gauge = self.last_success.get_or_create(&PipelineLabels { pipeline: run.pipeline });
            gauge.set(gauge.get().max((end / 1000) as i64));
        }
        Ok(())
    }

    fn refresh_notices(&self, store: &Store) -> Result<(), StoreError> {
        for d in store.deprecations(|_| true)? {
            let labels =
                NoticeLabels { connector: d.connector, api_version: d.api_version, endpoint: d.endpoint.clone() };
            self.deprecations.get_or_create(&labels).set(1);
            let sunset = d.notice.sunset.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok());
            if let Some(at) = sunset {
                self.sunsets.get_or_create(&labels).set(at.as_second());
            }
        }
        Ok(())
    }

    /// Field changes in each stream's latest observed schema (nothing until runs record schemas).
    fn refresh_drift(&self, store: &Store, pipelines: &[String]) -> Result<(), StoreError> {
        for pipeline in pipelines {
            let mut latest = BTreeMap::new();
            for observed in store.observed_schemas(pipeline, None)? {
                latest.insert(observed.stream.clone(), observed.drift.changes.len() as i64);
            }
            for (stream, changes) in latest {
                self.schema_drift.get_or_create(&StreamLabels { pipeline: pipeline.clone(), stream }).set(changes);
            }
        }
        Ok(())
    }
}
