//! Starting a run: fresh, resuming an interrupted one, or abandoning it (`--restart`). A
//! resume continues exactly what was interrupted: the same connector (checked by digest) and
//! the same streams, whatever the pipeline file says now.

use super::SyncError;
use super::session::Session;
use crate::config::Pipeline;
use crate::store::{RunKind, RunOutcome, RunRecord, SyncState};

/// The run to use and the streams it syncs. Cuts the output back to what is committed.
pub fn prepare(
    session: &mut Session,
    pipeline: &Pipeline,
    restart: bool,
) -> Result<(RunRecord, Vec<String>), SyncError> {
    let (store, identity) = (&session.store, session.connector.identity());
    if let Some(state) = store.sync_state(&pipeline.name)? {
        let interrupted = store.run(state.run)?;
        if !restart {
            if interrupted.connector.digest != identity.digest {
                return Err(SyncError::CannotResume(format!(
                    "run {} of {} was interrupted with connector {} {} ({}), but the pipeline now loads {} {} ({}): restore the connector to resume it, or pass --restart to abandon it",
                    interrupted.id,
                    pipeline.name,
                    interrupted.connector.name,
                    interrupted.connector.version,
                    interrupted.connector.digest,
                    identity.name,
                    identity.version,
                    identity.digest
                )));
            }
            if interrupted.streams != session.streams {
                session.warnings.push(format!(
                    "resuming run {}'s streams [{}]; the pipeline file now lists [{}]: run again afterwards for those",
                    interrupted.id,
                    interrupted.streams.join(", "),
                    session.streams.join(", ")
                ));
            }
            session.sink.recover(&state.offsets)?;
            session.warnings.push(format!(
                "run {} of {} was interrupted; resumed it from its last commit (use --restart to start over)",
                interrupted.id, pipeline.name
            ));
            store.reopen_run(interrupted.id)?;
            return Ok((interrupted.clone(), interrupted.streams));
        }
        session.sink.recover(&state.start_offsets)?;
        store.end_sync(&pipeline.name)?;
        let reason = "abandoned: the next run was started with --restart".to_string();
        store.finish_run(interrupted.id, RunOutcome::Failed(reason))?;
        session
            .warnings
            .push(format!("run {} was interrupted; --restart abandoned it and cut its output", interrupted.id));
    }
    let run = store.begin_run(RunKind::Sync, &pipeline.name, identity, &session.streams)?;
    let lengths = session.sink.position();
    let state = SyncState { run: run.id, offsets: lengths.clone(), start_offsets: lengths, ..SyncState::default() };
    store.begin_sync(&pipeline.name, &state)?;
    Ok((run, session.streams.clone()))
}
