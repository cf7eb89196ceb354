//! Re-parsing stored raw exchanges with a (possibly newer) connector: zero API calls.
//!
//! The exchanges of a pipeline (optionally one run, one stream, or fetched since a time) go
//! through the new connector on every core, in batches whose results are written in exchange
//! order, so the same connector over the same raw gives byte-identical output. The output goes
//! to a new folder; a previous output is never overwritten. The old connector (the pipeline's)
//! parses the same exchanges for the diff: since parsing is pure, that is exactly what it wrote.
//! Dead letters the new connector handles are marked resolved; its new failures become dead
//! letters of the reparse run.

mod diff;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use diff::{Fingerprints, StreamDiff};

use crate::config::Pipeline;
use crate::home::Home;
use crate::runtime::{CallError, CallLimits, LoadError, LoadedConnector, Page, ParseError, Runtime};
use crate::sink::{JsonlSink, SinkError, validate_record};
use crate::store::{
    DeadLetter, DeadLetterId, ExchangeId, NewDeadLetter, RawMeta, RunContext, RunCounts, RunKind, RunOutcome,
    RunRecord, Stage, Store, StoreError,
};

/// A re-parse could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReparseError {
    /// A connector could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The output could not be written.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The output folder already holds files.
    #[error("{0} already holds output; choose another --out, or remove it")]
    OutputExists(PathBuf),
    /// Nothing matched the selection.
    #[error("no stored exchanges of pipeline {pipeline} match the selection")]
    NothingToReparse { pipeline: String },
}

/// What to re-parse, with what, and where to write.
#[derive(Debug, Clone)]
pub struct ReparseOptions {
    /// The connector to parse with.
    pub connector: PathBuf,
    /// Only this run's exchanges.
    pub run: Option<crate::store::RunId>,
    /// Only this stream.
    pub stream: Option<String>,
    /// Only exchanges fetched at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// The output folder; `out/<pipeline>/reparse-N` when absent.
    pub out: Option<PathBuf>,
    /// Worker threads; all cores when 0.
    pub threads: usize,
}

/// Progress callbacks for a progress bar.
pub trait ReparseObserver: Sync {
    /// `pages` of `total` done, `bytes` of raw JSON read, `records` written so far.
    fn on_progress(&self, _pages: u64, _total: u64, _bytes: u64, _records: u64) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl ReparseObserver for Quiet {}

/// What a re-parse did.
#[derive(Debug, Clone, Serialize)]
pub struct ReparseReport {
    /// The reparse's run.
    pub run: RunRecord,
    /// Where the output went.
    pub out: PathBuf,
    /// Exchanges parsed.
    pub pages: u64,
    /// Raw body bytes parsed.
    pub bytes: u64,
    /// Records written.
    pub records: u64,
    /// Pages the new connector could not parse.
    pub failed_pages: u64,
    /// Old output vs new, per stream (absent when the old connector could not be loaded).
    pub diff: Option<BTreeMap<String, StreamDiff>>,
    /// Dead letters the new connector resolved.
    pub resolved: Vec<DeadLetterId>,
    /// Dead letters it created.
    pub created: u64,
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock time.
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// One exchange's parse by both connectors.
struct Parsed {
    meta: RawMeta,
    new: Result<Result<Page, ParseError>, CallError>,
    old: Option<Page>,
}

/// Re-parse the stored exchanges of `pipeline` with `options.connector`.
pub fn reparse(
    pipeline: &Pipeline,
    home: &Home,
    runtime: &Runtime,
    options: &ReparseOptions,
    observer: &dyn ReparseObserver,
) -> Result<ReparseReport, ReparseError> {
    let started = Instant::now();
    let new = LoadedConnector::load(runtime, &options.connector, CallLimits::default())?;
    let old = LoadedConnector::load(runtime, &pipeline.connector, CallLimits::default()).ok();
    let store = Store::open(&home.database())?;
    let exchanges = select_exchanges(&store, pipeline, options)?;
    let out = output_folder(home, pipeline, options.out.as_deref())?;
    let mut sink = JsonlSink::open(&out)?;
    let streams: Vec<String> =
        exchanges.iter().map(|m| m.stream.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let run = store.begin_run(RunKind::Reparse, &pipeline.name, new.identity(), &streams)?;
    let context = RunContext { run: run.id, pipeline: pipeline.name.clone(), connector: new.identity().clone() };
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.threads
    };

    let open: Vec<DeadLetter> = store.dead_letters(|l| {
        l.pipeline == pipeline.name && l.resolved_by.is_none() && matches!(l.stage, Stage::Parse | Stage::Record)
    })?;
    let keys = primary_keys(&new);
    let mut tally = Tally::default();
    for batch in exchanges.chunks(64 * threads) {
        let parsed = parse_batch(&store, batch, &new, old.as_ref(), threads)?;
        for p in parsed {
            tally.absorb(p, &mut sink, &open, &keys)?;
            observer.on_progress(tally.pages, exchanges.len() as u64, tally.bytes, tally.records);
        }
    }
    sink.sync()?;
    store.add_dead_letters(&context, std::mem::take(&mut tally.new_letters))?;
    store.resolve_dead_letters(&tally.resolved, run.id)?;
    let counts = RunCounts {
        exchanges: tally.pages,
        records: tally.records,
        raw_bytes: tally.bytes,
        dead_letters: tally.created,
        ..RunCounts::default()
    };
    let run = store.finish_run(run.id, RunOutcome::Succeeded, &counts)?;
    Ok(ReparseReport {
        run,
        out,
        pages: tally.pages,
        bytes: tally.bytes,
        records: tally.records,
        failed_pages: tally.failed_pages,
        diff: old.map(|_| tally.new_prints.diff_from(&tally.old_prints)),
        resolved: tally.resolved,
        created: tally.created,
        threads,
        elapsed: started.elapsed(),
    })
}

/// The exchanges to re-parse, oldest first: successful responses only, and of several attempts
/// at the same request in one run, only the last (the earlier ones were retried).
fn select_exchanges(store: &Store, pipeline: &Pipeline, o: &ReparseOptions) -> Result<Vec<RawMeta>, ReparseError> {
    let metas = store.raw_list(|m| {
        m.pipeline == pipeline.name
            && (200..300).contains(&m.status)
            && o.run.is_none_or(|r| r == m.run)
            && o.stream.as_ref().is_none_or(|s| *s == m.stream)
            && o.since_ms.is_none_or(|t| m.fetched_at_ms >= t)
    })?;
    let mut last_attempt: HashMap<(u64, String, String), ExchangeId> = HashMap::new();
    for m in &metas {
        let body = m.request.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        last_attempt.insert((m.run.0, m.request.url.clone(), body), m.id);
    }
    let keep: HashSet<ExchangeId> = last_attempt.into_values().collect();
    let selected: Vec<RawMeta> = metas.into_iter().filter(|m| keep.contains(&m.id)).collect();
    if selected.is_empty() {
        return Err(ReparseError::NothingToReparse { pipeline: pipeline.name.clone() });
    }
    Ok(selected)
}

/// `--out`, which must be empty, or the first free `out/<pipeline>/reparse-N`.
fn output_folder(home: &Home, pipeline: &Pipeline, out: Option<&Path>) -> Result<PathBuf, ReparseError> {
    let is_used = |p: &Path| p.read_dir().is_ok_and(|mut d| d.next().is_some());
    if let Some(dir) = out {
        return if is_used(dir) { Err(ReparseError::OutputExists(dir.to_path_buf())) } else { Ok(dir.to_path_buf()) };
    }
    let base = home.output(&pipeline.name);
    Ok((1..).map(|n| base.join(format!("reparse-{n}"))).find(|p| !is_used(p)).expect("some number is free"))
}

/// Parse a batch on `threads` threads; results in the batch's order.
fn parse_batch(
    store: &Store,
    batch: &[RawMeta],
    new: &LoadedConnector,
    old: Option<&LoadedConnector>,
    threads: usize,
) -> Result<Vec<Parsed>, ReparseError> {
    let mut slots: Vec<Option<Result<Parsed, StoreError>>> = (0..batch.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let chunks: Vec<_> = slots.chunks_mut(batch.len().div_ceil(threads).max(1)).collect();
        let mut offset = 0;
        for chunk in chunks {
            let start = offset;
            offset += chunk.len();
            scope.spawn(move || {
                for (i, slot) in chunk.iter_mut().enumerate() {
                    let meta = &batch[start + i];
                    *slot = Some(store.raw(meta.id).map(|raw| {
                        let exchange = raw.to_exchange();
                        let old = old.and_then(|c| c.parse(&exchange).ok()?.ok());
                        Parsed { meta: meta.clone(), new: new.parse(&exchange), old }
                    }));
                }
            });
        }
    });
    slots.into_iter().map(|s| s.expect("every slot filled").map_err(ReparseError::from)).collect()
}

fn primary_keys(connector: &LoadedConnector) -> HashMap<String, Vec<String>> {
    connector.manifest().endpoints.iter().map(|e| (e.name.clone(), e.primary_key.clone())).collect()
}

/// Running totals, and the dead-letter bookkeeping.
#[derive(Default)]
struct Tally {
    pages: u64,
    bytes: u64,
    records: u64,
    failed_pages: u64,
    created: u64,
    resolved: Vec<DeadLetterId>,
    new_letters: Vec<NewDeadLetter>,
    old_prints: Fingerprints,
    new_prints: Fingerprints,
}

impl Tally {
    /// Write one parsed exchange's records and settle its dead letters.
    fn absorb(
        &mut self,
        p: Parsed,
        sink: &mut JsonlSink,
        open: &[DeadLetter],
        keys: &HashMap<String, Vec<String>>,
    ) -> Result<(), ReparseError> {
        self.pages += 1;
        self.bytes += p.meta.body_bytes;
        if let Some(old) = &p.old {
            self.old_prints.add(&old.records);
        }
        let letters: Vec<&DeadLetter> = open.iter().filter(|l| l.exchange == Some(p.meta.id)).collect();
        let page = match p.new {
            Ok(Ok(page)) => page,
            failed => {
                self.failed_pages += 1;
                if !letters.iter().any(|l| l.stage == Stage::Parse) {
                    let error = match failed {
                        Ok(Err(e)) => format!("reparse: {e:?}"),
                        Err(call) => format!("reparse: {call}"),
                        Ok(Ok(_)) => unreachable!("handled above"),
                    };
                    self.letter(&p.meta, Stage::Parse, error, None);
                }
                return Ok(());
            }
        };
        self.resolved.extend(letters.iter().filter(|l| l.stage == Stage::Parse).map(|l| l.id));
        let no_keys = Vec::new();
        let key_fields = keys.get(&p.meta.stream).unwrap_or(&no_keys);
        for letter in letters.iter().filter(|l| l.stage == Stage::Record) {
            if page
                .records
                .iter()
                .any(|r| letter.matches_record(&r.json, key_fields) && validate_record(&r.stream, &r.json).is_ok())
            {
                self.resolved.push(letter.id);
            }
        }
        let mut written = Vec::with_capacity(page.records.len());
        for record in page.records {
            match validate_record(&record.stream, &record.json) {
                Ok(()) => {
                    sink.write(&record.stream, &record.json)?;
                    written.push(record);
                }
                Err(invalid) => self.letter(&p.meta, Stage::Record, invalid.to_string(), Some(record.json)),
            }
        }
        for reject in page.rejects {
            if !letters.iter().any(|l| l.stage == Stage::Record && l.payload.as_deref() == Some(&reject.payload)) {
                self.letter(&p.meta, Stage::Record, reject.reason, Some(reject.payload));
            }
        }
        self.records += written.len() as u64;
        self.new_prints.add(&written);
        Ok(())
    }

    fn letter(&mut self, meta: &RawMeta, stage: Stage, error: String, payload: Option<String>) {
        self.created += 1;
        self.new_letters.push(NewDeadLetter {
            stream: meta.stream.clone(),
            stage,
            error,
            attempts: 1,
            request: Some(meta.request.clone()),
            exchange: Some(meta.id),
            payload,
        });
    }
}
