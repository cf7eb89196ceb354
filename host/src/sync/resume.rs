//! Starting a run: fresh, resuming an interrupted one, or abandoning it (`--restart`).

use super::SyncError;
use crate::config::Pipeline;
use crate::runtime::LoadedConnector;
use crate::sink::JsonlSink;
use crate::store::{RunCounts, RunKind, RunOutcome, RunRecord, Store, SyncState};

/// The run to use and the counts it already has. Cuts the output back to what is committed.
pub fn prepare(
    store: &Store,
    sink: &mut JsonlSink,
    pipeline: &Pipeline,
    connector: &LoadedConnector,
    streams: &[String],
    restart: bool,
    warnings: &mut Vec<String>,
) -> Result<(RunRecord, RunCounts), SyncError> {
    if let Some(state) = store.sync_state(&pipeline.name)? {
        let interrupted = store.run(state.run)?;
        if !restart {
            sink.truncate_to(&state.offsets)?;
            warnings.push(format!(
                "run {} of {} was interrupted; resumed it from its last commit (use --restart to start over)",
                interrupted.id, pipeline.name
            ));
            return Ok((interrupted.clone(), interrupted.counts));
        }
        sink.truncate_to(&state.start_offsets)?;
        store.end_sync(&pipeline.name)?;
        let reason = "abandoned: the next run was started with --restart".to_string();
        store.finish_run(interrupted.id, RunOutcome::Failed(reason), &interrupted.counts)?;
        warnings.push(format!("run {} was interrupted; --restart abandoned it and cut its output", interrupted.id));
    }
    let run = store.begin_run(RunKind::Sync, &pipeline.name, connector.identity(), streams)?;
    let lengths = sink.lengths();
    let state = SyncState { run: run.id, offsets: lengths.clone(), start_offsets: lengths, ..SyncState::default() };
    store.begin_sync(&pipeline.name, &state)?;
    Ok((run, RunCounts::default()))
}
