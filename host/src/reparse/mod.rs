//! Re-parsing stored raw exchanges with a (possibly newer) connector: zero API calls.
//!
//! The exchanges of a pipeline (optionally one run, one stream, or fetched since a time) go
//! through the new connector on every core, in batches whose results are written in exchange
//! order, so the same connector over the same raw gives byte-identical output. Every page is
//! judged on the same acceptance path as a sync (limits, validation, rejects, the stream's
//! accepted schema and contract, the connector's declared schema). The output goes to a new
//! folder; a previous output is never overwritten. The old connector (the pipeline's) parses the
//! same exchanges for the diff: since parsing is pure, that is exactly what it wrote. The diff
//! is of records (by key) and of their schemas (fields added, gone, changed type).
//!
//! A re-parse's failures are dead letters of its own output (never replayed into the live
//! one), and it never resolves the live output's letters: it reports the ones the new connector
//! handles, to fix with `dlq replay` once the pipeline uses it.

mod diff;
mod select;
mod tally;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use diff::{Fingerprints, StreamDiff};
use tally::Judge;

use crate::config::Pipeline;
use crate::home::Home;
use crate::model::{Exchange, Page, ParseError};
use crate::policy::ConnectorLimits;
use crate::progress::{Observer, Progress};
use crate::runtime::{CallError, LoadError, LoadedConnector, Runtime};
use crate::schema::Drift;
use crate::secrets::Secrets;
use crate::sink::{JsonlSink, Sink, SinkError};
use crate::store::{
    DeadLetterId, LetterOrigin, RawMeta, RunContext, RunId, RunKind, RunOutcome, RunRecord, Stage, Store, StoreError,
};
use crate::sync::{Inference, RunSchemas, RunSchemasError};

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
    /// The pipeline's `[schema]` table does not fit the connector.
    #[error(transparent)]
    Schemas(#[from] RunSchemasError),
    /// The output folder already holds files.
    #[error("{0} already holds output; choose another --out, or remove it")]
    OutputExists(PathBuf),
    /// Nothing matched the selection.
    #[error("no stored exchanges of pipeline {pipeline} match the selection")]
    NothingToReparse { pipeline: String },
    /// The new connector is not the one that fetched the exchanges.
    #[error(
        "the exchanges of {pipeline} were fetched by connector `{stored}`, but {path} is connector `{given}`; pass --force if you really mean to parse them with it"
    )]
    OtherConnector { pipeline: String, stored: String, given: String, path: PathBuf },
}

/// What to re-parse, with what, and where to write.
#[derive(Debug, Clone)]
pub struct ReparseOptions {
    /// The connector to parse with.
    pub connector: PathBuf,
    /// Only this run's exchanges.
    pub run: Option<RunId>,
    /// Only this stream.
    pub stream: Option<String>,
    /// Only exchanges fetched at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// The output folder; `out/<pipeline>/reparse-N` when absent.
    pub out: Option<PathBuf>,
    /// Files, or the pipeline's database.
    pub destination: Destination,
    /// Worker threads; all cores when 0.
    pub threads: usize,
    /// Parse with a connector of another name than the one that fetched the exchanges.
    pub force: bool,
}

/// Where a re-parse writes its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Destination {
    /// JSONL files in a new folder (`out`).
    #[default]
    Files,
    /// The pipeline's `[sink]` database, in a new schema `<schema>_reparse_N`.
    PipelineSink,
}

/// What a re-parse did.
#[derive(Debug, Clone, Serialize)]
pub struct ReparseReport {
    /// The reparse's run.
    pub run: RunRecord,
    /// Where the output went: a folder, or a database schema.
    pub out: String,
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
    /// How each stream's record schema changed from the old output to the new one (fields
    /// added, gone, changed type), for the streams that changed; absent like `diff`.
    pub schema_diff: Option<BTreeMap<String, Drift>>,
    /// Open letters of the live output that the new connector handles: fixed by `dlq replay`
    /// once the pipeline uses it.
    pub fixable: Vec<DeadLetterId>,
    /// Dead letters it created (in its own output).
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
    old: Option<Result<Result<Page, ParseError>, CallError>>,
}

/// The sink a re-parse writes to and where that is: a new folder of files, or a new schema of
/// the pipeline's database.
fn open_output(
    pipeline: &Pipeline,
    home: &Home,
    options: &ReparseOptions,
    judge: &Judge,
) -> Result<(Box<dyn Sink>, String), ReparseError> {
    match options.destination {
        Destination::Files => {
            let out = select::output_folder(home, pipeline, options.out.as_deref())?;
            Ok((Box::new(JsonlSink::open(&out)?), out.display().to_string()))
        }
        Destination::PipelineSink => {
            let secrets = Secrets::resolve(&pipeline.secrets).map_err(|e| SinkError::Destination(e.to_string()))?;
            let manifest = judge.connector.manifest();
            let specs = crate::sink::stream_specs(manifest, &pipeline.schema, |s| judge.schemas.baseline(s));
            Ok(crate::sink::open_reparse(pipeline, &secrets, specs)?)
        }
    }
}

/// Re-parse the stored exchanges of `pipeline` with `options.connector`.
pub fn reparse(
    pipeline: &Pipeline,
    home: &Home,
    runtime: &Runtime,
    options: &ReparseOptions,
    observer: &dyn Observer,
) -> Result<ReparseReport, ReparseError> {
    let started = Instant::now();
    let limits = ConnectorLimits::with_overrides(&pipeline.limits);
    let new = LoadedConnector::load(runtime, &options.connector, limits.clone())?;
    let old = LoadedConnector::load(runtime, &pipeline.connector, limits).ok();
    let store = Store::open(&home.database())?;
    let judge = |connector: LoadedConnector| -> Result<Judge, RunSchemasError> {
        let schemas = RunSchemas::load(&store, pipeline, &connector, Inference::On)?;
        Ok(Judge { connector, schemas })
    };
    let (new_judge, old_judge) = (judge(new.clone())?, old.clone().map(judge).transpose()?);
    let exchanges = select::exchanges(&store, pipeline, options)?;
    select::check_connector(pipeline, &exchanges, &new, options)?;
    let (mut sink, out) = open_output(pipeline, home, options, &new_judge)?;
    let streams: Vec<String> =
        exchanges.iter().map(|m| m.stream.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let run = store.begin_run(RunKind::Reparse, &pipeline.name, new.identity(), &streams)?;
    let context = RunContext { run: run.id, pipeline: pipeline.name.clone(), connector: new.identity().clone() };
    let threads = if options.threads == 0 { crate::machine::cores() } else { options.threads };
    let open = store.dead_letters(|l| {
        l.pipeline == pipeline.name
            && l.resolved_by.is_none()
            && l.origin == LetterOrigin::Live
            && matches!(l.stage, Stage::Parse | Stage::Record)
    })?;
    let mut tally = tally::Tally::new(new_judge, old_judge, open);
    let total = exchanges.len() as u64;
    for batch in exchanges.chunks(64 * threads) {
        for p in parse_batch(&store, batch, &new, old.as_ref(), threads)? {
            tally.absorb(p, sink.as_mut(), &context)?;
            observer.on_progress(&Progress {
                pages: tally.pages,
                total: Some(total),
                records: tally.records,
                bytes: tally.bytes,
                ..Progress::default()
            });
        }
        sink.flush()?;
    }
    let created = tally.letters.len() as u64;
    store.add_dead_letters(&context, LetterOrigin::Reparse, std::mem::take(&mut tally.letters))?;
    for (stream, counts) in &tally.by_stream {
        store.add_counts(run.id, stream, counts)?;
    }
    let run = store.finish_run(run.id, RunOutcome::Succeeded)?;
    Ok(ReparseReport {
        run,
        out,
        pages: tally.pages,
        bytes: tally.bytes,
        records: tally.records,
        failed_pages: tally.failed_pages,
        diff: old.map(|_| tally.new_prints.diff_from(&tally.old_prints)),
        schema_diff: tally.schema_diff(),
        fixable: tally.fixable,
        created,
        threads,
        elapsed: started.elapsed(),
    })
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
                        let exchange: Exchange = raw.to_exchange();
                        let old = old.map(|c| c.parse(&exchange));
                        Parsed { meta: meta.clone(), new: new.parse(&exchange), old }
                    }));
                }
            });
        }
    });
    slots.into_iter().map(|s| s.expect("every slot filled").map_err(ReparseError::from)).collect()
}
