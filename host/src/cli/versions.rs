//! The commands about what is stored and which versions it came from: `reparse`, `raw`,
//! `impact`, `deprecations`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use apiary_host::config::ArchiveUrl;
use apiary_host::home::Home;
use apiary_host::impact::{self, Impact};
use apiary_host::progress::{Observer, Progress};
use apiary_host::reparse::{self, Destination, ReparseOptions, ReparseReport};
use apiary_host::store::{Deprecation, ExchangeId, RawMeta, RunId, Store};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{load_pipeline, print};

/// `apiary raw ...`
#[derive(Debug, Subcommand)]
pub enum RawCommand {
    /// List stored exchanges.
    List {
        /// Only this pipeline.
        #[arg(long)]
        pipeline: Option<String>,
        /// Only this run.
        #[arg(long)]
        run: Option<u64>,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
    },
    /// Show one stored exchange: request (no credentials), status, headers, decoded body.
    Show {
        /// The exchange id.
        id: u64,
    },
}

/// The arguments of `apiary reparse`.
#[derive(Debug, clap::Args)]
pub struct ReparseArgs {
    /// The pipeline file (TOML) whose stored exchanges to re-parse.
    pipeline: PathBuf,
    /// The connector to parse with (e.g. a fixed release).
    #[arg(long)]
    connector: PathBuf,
    /// Only this run's exchanges.
    #[arg(long)]
    run: Option<u64>,
    /// Only this stream.
    #[arg(long)]
    stream: Option<String>,
    /// Only exchanges fetched since: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch ms.
    #[arg(long, value_parser = super::time_arg::parse_time)]
    since: Option<u64>,
    /// Write here (must be empty) instead of out/<pipeline>/reparse-N.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Parse with a connector of another name than the one that fetched the exchanges.
    #[arg(long)]
    force: bool,
    /// Load into the pipeline's database (a new schema `<schema>_reparse_N`, never the live
    /// tables) instead of files.
    #[arg(long, conflicts_with = "out")]
    sink: bool,
    /// First bring the pipeline's exchanges in from this archive (s3://BUCKET/PREFIX or
    /// file:///PATH) into this home, which must hold none of them: re-parse on any machine.
    /// Credentials and endpoint come from the pipeline's `[archive]` table, else `AWS_*`.
    #[arg(long, value_name = "URL")]
    from_archive: Option<ArchiveUrl>,
}

/// `apiary reparse`.
pub async fn reparse(home: &Home, args: ReparseArgs, json: bool) -> anyhow::Result<ExitCode> {
    let pipeline = load_pipeline(&args.pipeline, None)?;
    let runtime = super::runtime(home)?;
    if let Some(url) = args.from_archive {
        let imported = super::archive::import(home, &pipeline, url).await.context("reparse --from-archive")?;
        eprintln!("imported {} exchanges of {} from {}", imported.exchanges, pipeline.name, imported.url);
    }
    let options = ReparseOptions {
        connector: args.connector,
        run: args.run.map(RunId),
        stream: args.stream,
        since_ms: args.since,
        out: args.out,
        threads: args.threads,
        force: args.force,
        destination: if args.sink { Destination::PipelineSink } else { Destination::Files },
    };
    let bar = Bar::new();
    let report = reparse::reparse(&pipeline, home, &runtime, &options, &bar)
        .with_context(|| format!("reparse of {}", args.pipeline.display()))?;
    bar.0.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_reparse(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar of pages, MB and records/s.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} pages {msg} [{elapsed}]").expect("valid template"),
        );
        Bar(bar)
    }
}

impl Observer for Bar {
    fn on_progress(&self, p: &Progress) {
        self.0.set_length(p.total.unwrap_or(p.pages));
        self.0.set_position(p.pages);
        let secs = self.0.elapsed().as_secs_f64().max(1e-3);
        self.0.set_message(format!("{:.1} MB, {:.0} records/s", p.bytes as f64 / 1e6, p.records as f64 / secs));
    }
}

fn print_reparse(r: &ReparseReport) {
    println!(
        "reparse run {} of {} with {} {}: {} pages, {:.1} MB, {} records in {:.2} s on {} threads, zero API calls",
        r.run.id,
        r.run.pipeline,
        r.run.connector.name,
        r.run.connector.version,
        r.pages,
        r.bytes as f64 / 1e6,
        r.records,
        r.elapsed.as_secs_f64(),
        r.threads
    );
    println!("  output: {}", r.out);
    match &r.diff {
        Some(diff) => {
            println!(
                "  {:<16} {:>9} {:>9} {:>8} {:>8} {:>8} {:>10}",
                "stream", "old", "new", "added", "removed", "changed", "unchanged"
            );
            for (stream, d) in diff {
                println!(
                    "  {:<16} {:>9} {:>9} {:>8} {:>8} {:>8} {:>10}",
                    stream, d.old_records, d.new_records, d.added, d.removed, d.changed, d.unchanged
                );
            }
        }
        None => println!("  (no diff: the pipeline's own connector could not be loaded)"),
    }
    for (stream, drift) in r.schema_diff.iter().flatten() {
        drift.changes.iter().for_each(|change| println!("  schema {stream}: {change}"));
    }
    println!("  dead letters: {} new in this output; {} page(s) failed to parse", r.created, r.failed_pages);
    if !r.fixable.is_empty() {
        println!(
            "  this connector handles {} open dead letter(s) of the live output: point the pipeline at it, then `apiary dlq replay`",
            r.fixable.len()
        );
    }
}

/// `apiary raw ...`.
pub fn raw(home: &Home, command: RawCommand, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&home.database())?;
    match command {
        RawCommand::List { pipeline, run, stream } => {
            let metas = store.raw_list(|m| {
                pipeline.as_ref().is_none_or(|p| *p == m.pipeline)
                    && run.is_none_or(|r| r == m.run.0)
                    && stream.as_ref().is_none_or(|s| *s == m.stream)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&metas)?);
            } else {
                print_raw_list(&metas);
            }
        }
        RawCommand::Show { id } => {
            let raw = store.raw(ExchangeId(id))?;
            let body = String::from_utf8_lossy(&raw.body).into_owned();
            if json {
                println!("{}", serde_json::to_string_pretty(&raw.export())?);
            } else {
                let m = &raw.meta;
                println!("exchange {} (run {}, pipeline {}, stream {})", m.id, m.run, m.pipeline, m.stream);
                println!(
                    "connector {} {} (API {}, {})",
                    m.connector.name, m.connector.version, m.connector.api_version, m.connector.digest
                );
                println!("{} {}", m.request.method, m.request.url);
                for h in &m.request.headers {
                    println!("  {}: {}", h.name, h.value);
                }
                println!(
                    "HTTP {}  ({} ms, attempt {}{}, fetched {})",
                    m.status,
                    m.duration_ms,
                    m.attempt,
                    if m.hop > 0 { format!(", redirect hop {}", m.hop) } else { String::new() },
                    print::when(m.fetched_at_ms)
                );
                if m.unasked {
                    println!("sent ahead; no page asked for it, so it was never parsed");
                }
                for h in &m.headers {
                    println!("  {}: {}", h.name, h.value);
                }
                println!();
                println!("{body}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_raw_list(metas: &[RawMeta]) {
    println!(
        "{:>7}  {:>4}  {:<16} {:<14} {:>6} {:>7} {:>10} {:>9}  {}",
        "id", "run", "pipeline", "stream", "status", "attempt", "bytes", "stored", "url"
    );
    for m in metas {
        let attempt = if m.hop > 0 { format!("{}.{}", m.attempt, m.hop) } else { m.attempt.to_string() };
        let unasked = if m.unasked { "  (sent ahead, unasked)" } else { "" };
        println!(
            "{:>7}  {:>4}  {:<16} {:<14} {:>6} {:>7} {:>10} {:>9}  {}{unasked}",
            m.id.0, m.run.0, m.pipeline, m.stream, m.status, attempt, m.body_bytes, m.stored_bytes, m.request.url
        );
    }
}

/// `apiary impact --api-version V [--connector N]`.
pub fn impact(home: &Home, api_version: &str, connector: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&home.database())?;
    let found = impact::impact(&store, api_version, connector)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        print_impact(&found);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_impact(i: &Impact) {
    if i.pipelines.is_empty() {
        println!("nothing stored uses API version {}", i.api_version);
    } else {
        println!("API version {} is used by {} pipeline(s):", i.api_version, i.pipelines.len());
        println!(
            "  {:<20} {:<24} {:>5} {:<18} {:>8} {:>6}  {}",
            "pipeline", "connector", "runs", "last run", "raw", "dead", "first .. last fetched"
        );
        for p in &i.pipelines {
            let last = p
                .last_run
                .as_ref()
                .map_or("-".to_string(), |(id, outcome)| format!("{id} {}", print::outcome(outcome)));
            let connectors: Vec<&str> = p.connectors.iter().map(String::as_str).collect();
            println!(
                "  {:<20} {:<24} {:>5} {:<18} {:>8} {:>6}  {} .. {}",
                p.pipeline,
                connectors.join(", "),
                p.runs,
                last,
                p.raw_exchanges,
                p.open_dead_letters,
                p.first_seen_ms.map_or("-".into(), print::when),
                p.last_seen_ms.map_or("-".into(), print::when)
            );
        }
    }
    for p in &i.pipelines {
        for change in &p.schema_changes {
            println!(
                "  {} stream {}: from API {} to {}:",
                p.pipeline, change.stream, i.api_version, change.next_version
            );
            if change.drift.is_empty() {
                println!("    the same shape");
            }
            change.drift.changes.iter().for_each(|c| println!("    {c}"));
        }
    }
    print_deprecations(&i.deprecations);
}

/// `apiary deprecations`.
pub fn deprecations(home: &Home, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&home.database())?;
    let all = store.deprecations(|_| true)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else if all.is_empty() {
        println!("no deprecation notices received");
    } else {
        print_deprecations(&all);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_deprecations(all: &[Deprecation]) {
    for d in all {
        let pipelines: Vec<&str> = d.pipelines.iter().map(String::as_str).collect();
        println!(
            "deprecation: {} API {} endpoint `{}`: {} (pipelines: {})",
            d.connector,
            d.api_version,
            d.endpoint,
            d.notice.describe(),
            pipelines.join(", ")
        );
    }
}
