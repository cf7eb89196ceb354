//! `apiary dlq replay`: give dead letters another chance with the current connector, exactly
//! once, like a sync.
//!
//! `fetch` letters are fetched again; `parse` letters are parsed again from their stored raw
//! exchange (no API call); either way the page's `next` requests are followed, so a stream whose
//! pagination stopped at a bad page continues to its end. `record` letters are looked up in a
//! fresh parse of their exchange and written if the connector now accepts them. `policy`
//! letters (undeclared hosts, pagination loops) are replayed only when asked for by stage.
//! Letters are settled in the same commit as their request's new outcome, so a replay killed
//! halfway leaves no letter open whose page was written, and resumes with `apiary run`. Letters
//! of a re-parse belong to its own output and are never replayed into the live one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::session::Session;
use super::shared::Shared;
use super::{SyncError, SyncReport, SyncSettings, engine};
use crate::accept::{PageOrigin, Verdict};
use crate::config::Pipeline;
use crate::home::Home;
use crate::model::Record;
use crate::progress::Observer;
use crate::runtime::Runtime;
use crate::store::{
    Completion, Counts, DeadLetter, DeadLetterId, ExchangeId, LetterOrigin, RequestKey, RunKind, Stage, SyncState,
};

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
    /// Letters that failed again (still open, seen again).
    pub unresolved: Vec<DeadLetterId>,
}

/// Replay the pipeline's open live dead letters that `filter` selects.
pub async fn replay(
    pipeline: &Pipeline,
    home: &Home,
    runtime: &Runtime,
    settings: SyncSettings,
    filter: &ReplayFilter,
    observer: Arc<dyn Observer>,
) -> Result<ReplayReport, SyncError> {
    let started = Instant::now();
    let session = Session::open(pipeline, home, runtime, &settings).await?;
    let store = session.store.clone();
    if let Some(state) = store.sync_state(&pipeline.name)? {
        let run = store.run(state.run)?;
        return Err(SyncError::CannotResume(format!(
            "run {} ({}) of {} was interrupted: `apiary run` finishes it (or --restart abandons it); then replay what is still open",
            run.id, run.kind, pipeline.name
        )));
    }
    let letters = store.dead_letters(|l| {
        l.pipeline == pipeline.name && l.resolved_by.is_none() && l.origin == LetterOrigin::Live && filter.matches(l)
    })?;
    let streams: Vec<String> =
        session.streams.iter().filter(|s| letters.iter().any(|l| &l.stream == *s)).cloned().collect();
    let run = store.begin_run(RunKind::Replay, &pipeline.name, session.connector.identity(), &streams)?;
    let lengths = session.sink.position();
    let state = SyncState {
        run: run.id,
        started_streams: streams.iter().filter(|s| !letters.iter().any(|l| is_failed_start(l, s))).cloned().collect(),
        offsets: lengths.clone(),
        start_offsets: lengths,
    };
    store.begin_sync(&pipeline.name, &state)?;
    let seeds = letters
        .iter()
        .filter(|l| l.stage != Stage::Record && streams.contains(&l.stream))
        .filter_map(|l| Some((l.stream.clone(), l.request.clone()?, l.exchange.filter(|_| l.stage == Stage::Parse))))
        .collect();
    store.seed(&pipeline.name, seeds)?;
    let (shared, warnings) = session.into_shared(pipeline, run.id, observer, settings.cancel);
    let mut outcome = engine::run_streams(&shared, &streams).await;
    if outcome.is_ok() && !shared.cancel.is_cancelled() {
        let records: Vec<&DeadLetter> = letters.iter().filter(|l| l.stage == Stage::Record).collect();
        outcome = replay_records(&shared, &records).await;
    }
    let outcome = engine::drain(&shared, outcome).await;
    let sync = engine::conclude(&shared, &streams, outcome, started, warnings)?;
    let (mut resolved, mut unresolved) = (Vec::new(), Vec::new());
    for letter in &letters {
        match store.dead_letter(letter.id)?.resolved_by {
            Some(_) => resolved.push(letter.id),
            None => unresolved.push(letter.id),
        }
    }
    Ok(ReplayReport { sync, replayed: letters.len(), resolved, unresolved })
}

/// A letter of `stream` whose `start` failed: no request, no exchange.
fn is_failed_start(letter: &DeadLetter, stream: &str) -> bool {
    letter.stream == stream && letter.stage == Stage::Parse && letter.request.is_none() && letter.exchange.is_none()
}

/// Parse the exchanges of record letters again; write each record the connector now accepts,
/// in the commit that settles the page's letters.
async fn replay_records(shared: &Arc<Shared>, letters: &[&DeadLetter]) -> Result<(), SyncError> {
    let mut by_exchange: BTreeMap<ExchangeId, Vec<&DeadLetter>> = BTreeMap::new();
    for letter in letters {
        if let (Some(exchange), Some(_)) = (letter.exchange, &letter.request) {
            by_exchange.entry(exchange).or_default().push(letter);
        }
    }
    for (exchange, group) in by_exchange {
        let (store, connector) = (shared.store.clone(), shared.connector.clone());
        let (parsed, fetched_at_ms) = shared
            .blocking(move || {
                store.raw(exchange).map(|raw| (connector.parse(&raw.to_exchange()), raw.meta.fetched_at_ms))
            })
            .await??;
        let (stream, request) = (&group[0].stream, group[0].request.as_ref().expect("filtered"));
        let origin = PageOrigin { stream, request, exchange };
        let Verdict::Accept(page) = shared.schemas.judge(origin, parsed, &shared.connector) else { continue };
        let key_fields = shared.connector.manifest().primary_key(stream).to_vec();
        let fixed: Vec<Record> =
            page.records.into_iter().filter(|r| group.iter().any(|l| l.matches_record(&r.json, &key_fields))).collect();
        let done = Completion {
            stream: stream.clone(),
            settles: Some(RequestKey::of(request)),
            dead_letters: page.letters,
            counts: Counts::default(),
            ..Completion::default()
        };
        shared.commit(fixed, done, fetched_at_ms).await?;
    }
    Ok(())
}
