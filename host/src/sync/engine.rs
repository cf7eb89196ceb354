//! Running the streams of a run and ending it: shared by `apiary run` and `dlq replay`.

use std::sync::Arc;
use std::time::Instant;

use super::shared::Shared;
use super::stream::{StreamResume, sync_stream};
use super::{SyncError, SyncReport};
use crate::store::{RunKind, RunOutcome};

/// Run every stream concurrently; the first hard error (database, disk) stops the run.
pub async fn run_streams(shared: &Arc<Shared>, streams: &[String]) -> Result<(), SyncError> {
    let pipeline = &shared.context.pipeline;
    let state = shared.store.sync_state(pipeline)?.unwrap_or_default();
    let frontier = shared.store.frontier(pipeline)?;
    let unprocessed = shared.store.unprocessed(pipeline)?;
    let mut tasks = tokio::task::JoinSet::new();
    for stream in streams {
        let resume = StreamResume {
            started: state.started_streams.contains(stream),
            entries: frontier.iter().filter(|e| &e.stream == stream).cloned().collect(),
            unprocessed: unprocessed.answering.iter().filter(|(_, e)| &e.stream == stream).cloned().collect(),
            orphaned: unprocessed
                .orphaned
                .iter()
                .filter(|(_, r)| &r.stream == stream)
                .map(|(id, r)| (*id, r.request.clone()))
                .collect(),
        };
        tasks.spawn(sync_stream(shared.clone(), stream.clone(), resume));
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.map_err(|e| SyncError::Internal(e.to_string())).and_then(|r| r);
        if let Err(e) = result {
            first_error.get_or_insert(e);
            tasks.abort_all();
        }
    }
    if first_error.is_some() {
        shared.send_ahead.abandon();
    }
    first_error.map_or(Ok(()), Err)
}

/// Wait for the committer to write everything queued; the outcome of the run's work. The
/// committer's own error explains a stream's "committer has stopped": it wins.
pub async fn drain(shared: &Shared, outcome: Result<(), SyncError>) -> Result<(), SyncError> {
    match shared.committer.finish().await {
        Err(e) => Err(e),
        Ok(()) => outcome,
    }
}

/// End a run: forget its sync state when it finished (keep it for resuming when it failed or
/// was stopped), record its outcome, and report its counts as committed.
pub fn conclude(
    shared: &Shared,
    streams: &[String],
    outcome: Result<(), SyncError>,
    started: Instant,
    mut warnings: Vec<String>,
) -> Result<SyncReport, SyncError> {
    let (store, pipeline, run) = (&shared.store, &shared.context.pipeline, shared.context.run);
    let finished = match &outcome {
        Ok(()) if shared.cancel.is_cancelled() => {
            let why = "stopped by a signal after committing its pages in flight; `apiary run` resumes it".to_string();
            store.finish_run(run, RunOutcome::Interrupted(why))
        }
        Ok(()) => store.end_sync(pipeline).and_then(|_| store.finish_run(run, RunOutcome::Succeeded)),
        // The sync state stays: the next `apiary run` resumes where this one stopped.
        Err(e) => store.finish_run(run, RunOutcome::Failed(e.to_string())),
    };
    let run = match finished {
        Ok(run) => run,
        // The run's own error is what the user must see, even when recording it fails too
        // (a full disk).
        Err(recording) => {
            return Err(match outcome {
                Err(e) => {
                    // The run stays open in the store; the next `apiary run` resumes it all the same.
                    tracing::debug!("could not record the failed run: {recording}");
                    e
                }
                Ok(()) => recording.into(),
            });
        }
    };
    // A replay judges a few held records again: it says nothing about the streams' shape.
    let schema_drift = match run.kind {
        RunKind::Sync => shared.schemas.record(store, (&shared.context, &run.outcome), &shared.connector, streams),
        _ => Ok(Default::default()),
    };
    outcome?;
    let schema_drift = schema_drift?;
    let counts = store.run_counts(run.id)?;
    let added: u64 = counts.values().map(|c| c.dead_letters).sum();
    if added > 0 {
        warnings.push(format!("{added} dead letter(s) added; see `apiary dlq list --pipeline {pipeline}`"));
    }
    let resources = shared.fetcher.resources();
    if !resources.is_empty() {
        let learned: Vec<String> = resources.iter().map(|(e, r)| format!("{e} -> {r}")).collect();
        tracing::info!("the API named its rate limits: {}", learned.join(", "));
    }
    let sink = shared.sink.lock().expect("sink lock");
    Ok(SyncReport {
        run,
        streams: counts,
        outputs: streams.iter().map(|s| (s.clone(), sink.describe(s))).collect(),
        database: store.path().to_path_buf(),
        elapsed: started.elapsed(),
        warnings,
        deprecations: shared.deprecations.lock().expect("deprecations lock").clone(),
        rate_limit_resources: resources,
        schema_drift,
    })
}
