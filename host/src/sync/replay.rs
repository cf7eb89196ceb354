//! `apiary dlq replay`: give dead letters another chance with the current connector.
//!
//! `fetch` letters are fetched again; `parse` letters are parsed again from their stored raw
//! exchange (no API call); either way the page's `next` requests are followed, so a stream whose
//! pagination stopped at a bad page continues to its end. `record` letters are looked up in a
//! fresh parse of their exchange and written if the connector now accepts them. `policy`
//! letters (undeclared hosts, pagination loops) are replayed only when asked for by stage. A
//! letter that succeeds is marked resolved by the replay's run, never deleted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::session::Session;
use super::shared::Shared;
use super::{Observer, SyncError, SyncReport, SyncSettings, conclude, run_streams};
use crate::config::Pipeline;
use crate::home::Home;
use crate::runtime::{Record, Runtime};
use crate::sink::validate_record;
use crate::store::{Completion, DeadLetter, DeadLetterId, ExchangeId, RunCounts, RunKind, Stage, SyncState};

/// Which dead letters to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    /// Only this stage; without it every stage but `policy`.
    pub stage: Option<Stage>,
    /// Only this stream.
    pub stream: Option<String>,
}

impl ReplayFilter {
    fn matches(&self, letter: &DeadLetter) -> bool {
        let stage_ok = self.stage.map_or(letter.stage != Stage::Policy, |s| s == letter.stage);
        stage_ok && self.stream.as_ref().is_none_or(|s| *s == letter.stream)
    }
}

/// What a replay did.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The replay's run.
    pub sync: SyncReport,
    /// Letters replayed.
    pub replayed: usize,
    /// Letters now resolved.
    pub resolved: Vec<DeadLetterId>,
    /// Letters that failed again (still open).
    pub unresolved: Vec<DeadLetterId>,
}

/// Replay the pipeline's open dead letters that `filter` selects.
pub async fn replay(
    pipeline: &Pipeline,
    home: &Home,
    runtime: &Runtime,
    settings: SyncSettings,
    filter: &ReplayFilter,
    observer: Arc<dyn Observer>,
) -> Result<ReplayReport, SyncError> {
    let started = Instant::now();
    let mut session = Session::open(pipeline, home, runtime, settings).await?;
    let store = session.store.clone();
    if let Some(state) = store.sync_state(&pipeline.name)? {
        return Err(SyncError::Plan(format!(
            "run {} of {} was interrupted: finish it with `apiary run` (or start over with --restart) before replaying",
            state.run, pipeline.name
        )));
    }
    let letters =
        store.dead_letters(|l| l.pipeline == pipeline.name && l.resolved_by.is_none() && filter.matches(l))?;
    let streams: Vec<String> =
        session.streams.iter().filter(|s| letters.iter().any(|l| &l.stream == *s)).cloned().collect();
    let run = store.begin_run(RunKind::Replay, &pipeline.name, session.connector.identity(), &streams)?;
    let failed_starts: Vec<&DeadLetter> = letters.iter().filter(|l| is_failed_start(l)).collect();
    let lengths = session.sink.lengths();
    let state = SyncState {
        run: run.id,
        started_streams: streams.iter().filter(|s| !failed_starts.iter().any(|l| &&l.stream == s)).cloned().collect(),
        offsets: lengths.clone(),
        start_offsets: lengths,
    };
    store.begin_sync(&pipeline.name, &state)?;
    let replayed: Vec<&DeadLetter> =
        letters.iter().filter(|l| l.stage != Stage::Record && l.request.is_some()).collect();
    let seeds = replayed
        .iter()
        .map(|l| {
            (l.stream.clone(), l.request.clone().expect("filtered"), l.exchange.filter(|_| l.stage == Stage::Parse))
        })
        .collect();
    let entries = store.seed(&pipeline.name, seeds)?;
    session.warnings.clear();
    let (shared, _, warnings) = session.into_shared(pipeline, run.id, observer);
    let outcome = run_streams(&shared, &streams).await;
    let records: Vec<&DeadLetter> = letters.iter().filter(|l| l.stage == Stage::Record).collect();
    let mut resolved = match &outcome {
        Ok(()) => replay_records(&shared, &records).await?,
        Err(_) => Vec::new(),
    };
    let sync = conclude(&shared, &streams, RunCounts::default(), outcome, started, warnings)?;
    {
        let failures = shared.failures.lock().expect("failures lock");
        resolved.extend(
            replayed.iter().zip(&entries).filter(|(_, e)| !failures.entries.contains(&e.id)).map(|(l, _)| l.id),
        );
        resolved.extend(failed_starts.iter().filter(|l| !failures.starts.contains(&l.stream)).map(|l| l.id));
    }
    store.resolve_dead_letters(&resolved, run.id)?;
    let unresolved = letters.iter().map(|l| l.id).filter(|id| !resolved.contains(id)).collect();
    Ok(ReplayReport { sync, replayed: letters.len(), resolved, unresolved })
}

/// A letter from a stream whose `start` failed: no request, no exchange.
fn is_failed_start(letter: &DeadLetter) -> bool {
    letter.stage == Stage::Parse && letter.request.is_none() && letter.exchange.is_none()
}

/// Re-parse the exchanges of record letters; write each record the connector now accepts.
async fn replay_records(shared: &Arc<Shared>, letters: &[&DeadLetter]) -> Result<Vec<DeadLetterId>, SyncError> {
    let mut by_exchange: BTreeMap<ExchangeId, Vec<&DeadLetter>> = BTreeMap::new();
    for letter in letters {
        if let Some(exchange) = letter.exchange {
            by_exchange.entry(exchange).or_default().push(letter);
        }
    }
    let mut resolved = Vec::new();
    for (exchange, group) in by_exchange {
        let (store, connector) = (shared.store.clone(), shared.connector.clone());
        let parsed =
            shared.blocking(move || store.raw(exchange).map(|raw| connector.parse(&raw.to_exchange()))).await??;
        let Ok(Ok(page)) = parsed else { continue };
        let mut accepted: Vec<Record> = Vec::new();
        for letter in group {
            let key_fields = primary_key_of(shared, &letter.stream);
            let found = page.records.iter().find(|r| letter.matches_record(&r.json, &key_fields));
            if let Some(record) = found.filter(|r| validate_record(&r.stream, &r.json).is_ok()) {
                accepted.push(record.clone());
                resolved.push(letter.id);
            }
        }
        if !accepted.is_empty() {
            let stream = accepted[0].stream.clone();
            shared.commit(&stream, accepted, Completion::default()).await?;
        }
    }
    Ok(resolved)
}

fn primary_key_of(shared: &Shared, stream: &str) -> Vec<String> {
    let endpoints = &shared.connector.manifest().endpoints;
    endpoints.iter().find(|e| e.name == stream).map(|e| e.primary_key.clone()).unwrap_or_default()
}
