//! The command line: argument definitions and one function per command. Each command calls the
//! library and prints; nothing here decides anything about syncing.

mod archive;
mod connector;
mod dlq;
mod print;
mod progress;
mod schema;
mod serve;
mod time_arg;
mod versions;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use std::io::Write;

use apiary_host::config::{Pipeline, SinkConfig, SinkKind};
use apiary_host::home::Home;
use apiary_host::policy::ConnectorLimits;
use apiary_host::runtime::{CompileCache, LoadedConnector, Runtime};
use apiary_host::store::{RunOutcome, Store};
use apiary_host::sync::{self, SyncReport, SyncSettings};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

/// apiary: reliable syncs from HTTP APIs, through connectors compiled to WebAssembly.
#[derive(Debug, Parser)]
#[command(name = "apiary", version, about)]
pub struct Args {
    /// The folder holding apiary.redb, out/ and cache/.
    #[arg(long, global = true, env = "APIARY_HOME", default_value = ".apiary")]
    home: PathBuf,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a sync of the pipeline file.
    Run {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
        /// Send requests here instead of the pipeline's or manifest's base URL (a mock, a proxy).
        #[arg(long)]
        base_url: Option<String>,
        /// Abandon an interrupted run of this pipeline (cutting its output) and start over.
        #[arg(long)]
        restart: bool,
        /// Exit with status 2 when the run added dead letters (for schedulers).
        #[arg(long)]
        fail_on_dead_letters: bool,
        /// Send records here instead of the pipeline's `[sink]`: `singer` writes Singer messages
        /// to stdout (the summary and logs go to stderr) for `| target-...`.
        #[arg(long, value_enum)]
        output: Option<Output>,
    },
    /// Print a connector's manifest.
    Inspect {
        /// The connector component (.wasm).
        connector: PathBuf,
    },
    /// List past runs.
    Runs,
    /// The dead-letter queue: everything that could not succeed.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// Re-parse stored raw exchanges with a (possibly newer) connector: zero API calls.
    Reparse(versions::ReparseArgs),
    /// Stored raw exchanges.
    #[command(subcommand)]
    Raw(versions::RawCommand),
    /// The raw archive on object storage: what waits for it, and pushing it now.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
    /// Stream schemas: what the records look like, how they drifted, which one a stream keeps to.
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// Which pipelines, exchanges and dead letters use an API version, and how the data changed
    /// at the next one.
    Impact {
        /// The upstream API version, e.g. 2022-11-28.
        #[arg(long)]
        api_version: String,
        /// Only this connector.
        #[arg(long)]
        connector: Option<String>,
    },
    /// Deprecation and Sunset notices the APIs have sent.
    Deprecations,
    /// Run every pipeline of a folder on its schedule, with metrics, a JSON API and a dashboard.
    Serve(serve::ServeArgs),
    /// Scaffold a new connector crate (manifest, parser, fixture, test).
    New {
        /// The connector's name (lowercase letters, digits, `-`, `_`).
        name: String,
        /// The folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// A local apiary-sdk crate to depend on by path (default: the published apiary-sdk of
        /// this apiary's version).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Run recorded exchanges through a connector's wasm, offline.
    Test {
        /// The connector component (.wasm).
        connector: PathBuf,
        /// A folder of fixtures: octokit recordings or `apiary raw show ID --json` exports.
        #[arg(long)]
        fixtures: PathBuf,
        /// The endpoint the recorded requests belong to.
        #[arg(long)]
        endpoint: String,
    },
}

/// Run the command the arguments name.
pub async fn dispatch(args: Args) -> anyhow::Result<ExitCode> {
    let home = Home::new(&args.home);
    match args.command {
        Command::Run { pipeline, base_url, restart, fail_on_dead_letters, output } => {
            let options = RunOptions { base_url, restart, fail_on_dead_letters, json: args.json, output };
            run(&home, &pipeline, options).await
        }
        Command::Inspect { connector } => inspect(&home, &connector, args.json),
        Command::Runs => runs(&home, args.json),
        Command::Dlq(command) => dlq::dlq(&home, command, args.json).await,
        Command::Reparse(reparse) => versions::reparse(&home, reparse, args.json).await,
        Command::Archive(command) => archive::archive(&home, command, args.json).await,
        Command::Raw(command) => versions::raw(&home, command, args.json),
        Command::Schema(command) => schema::schema(&home, command, args.json),
        Command::Impact { api_version, connector } => {
            versions::impact(&home, &api_version, connector.as_deref(), args.json)
        }
        Command::Deprecations => versions::deprecations(&home, args.json),
        Command::Serve(serve_args) => serve::serve(&home, serve_args).await,
        Command::New { name, dir, sdk } => connector::new(&name, &dir, sdk),
        Command::Test { connector, fixtures, endpoint } => {
            connector::test(&home, &connector, &fixtures, &endpoint, args.json)
        }
    }
}

/// The flags of `apiary run`.
struct RunOptions {
    base_url: Option<String>,
    restart: bool,
    fail_on_dead_letters: bool,
    json: bool,
    output: Option<Output>,
}

/// Where `apiary run --output` sends records.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Output {
    /// The pipeline's JSONL files.
    Jsonl,
    /// Singer messages on stdout.
    Singer,
}

/// Exit status of a run that added dead letters under `--fail-on-dead-letters`.
const DEAD_LETTERS_EXIT: u8 = 2;
/// Exit status of a run stopped by SIGTERM or SIGINT (128 + SIGINT, as shells report it).
const INTERRUPTED_EXIT: u8 = 130;

async fn run(home: &Home, pipeline_path: &std::path::Path, options: RunOptions) -> anyhow::Result<ExitCode> {
    let mut pipeline = load_pipeline(pipeline_path, options.base_url)?;
    if let Some(output) = options.output {
        let kind = match output {
            Output::Jsonl => SinkKind::Jsonl,
            Output::Singer => SinkKind::Singer,
        };
        pipeline.sink = SinkConfig { kind, ..SinkConfig::default() };
    }
    let runtime = runtime(home)?;
    let store =
        Arc::new(Store::open(&home.database()).with_context(|| format!("pipeline {}", pipeline_path.display()))?);
    let archiver = archive::start(&store, &pipeline)?;
    let progress = Arc::new(progress::SyncProgress::new(&pipeline.name));
    let settings = SyncSettings {
        restart: options.restart,
        cancel: stop_on_signals(),
        store: Some(store),
        ..SyncSettings::default()
    };
    let report = sync::run_leased(&pipeline, home, &runtime, settings, progress.clone()).await;
    progress.finish();
    archive::finish(archiver, &pipeline, pipeline_path).await;
    let report = report.with_context(|| format!("pipeline {}", pipeline_path.display()))?;
    let mut to = report_output(&pipeline);
    if options.json {
        writeln!(to, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print::sync_report(&report, &mut to);
    }
    Ok(exit_code(&report, options.fail_on_dead_letters))
}

/// Where a sync's summary goes: stdout, or stderr when stdout carries Singer messages.
fn report_output(pipeline: &Pipeline) -> Box<dyn Write> {
    match pipeline.sink.kind {
        SinkKind::Singer => Box::new(std::io::stderr()),
        SinkKind::Jsonl | SinkKind::Postgres => Box::new(std::io::stdout()),
    }
}

/// The exit status for a finished run: 130 when it was stopped (it resumes), 2 when it added
/// dead letters and `fail_on_dead_letters` asks for that, else success.
fn exit_code(report: &SyncReport, fail_on_dead_letters: bool) -> ExitCode {
    let dead_letters = report.streams.values().map(|s| s.dead_letters).sum::<u64>();
    if matches!(report.run.outcome, RunOutcome::Interrupted(_)) {
        eprintln!("stopped: run {} committed its pages in flight; `apiary run` resumes it", report.run.id);
        ExitCode::from(INTERRUPTED_EXIT)
    } else if fail_on_dead_letters && dead_letters > 0 {
        ExitCode::from(DEAD_LETTERS_EXIT)
    } else {
        ExitCode::SUCCESS
    }
}

/// A token cancelled by the first SIGTERM or SIGINT: the run stops taking requests, commits
/// what is being parsed, and exits resumable. A second signal kills the process as usual.
fn stop_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        eprintln!("stopping: finishing the pages in flight (signal again to kill)");
        cancel.cancel();
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        std::process::exit(i32::from(INTERRUPTED_EXIT));
    });
    token
}

/// The engine, with the user's compile cache.
fn runtime(home: &Home) -> anyhow::Result<Runtime> {
    let cache = CompileCache::for_user(home.root())?;
    Ok(Runtime::new()?.with_cache(cache))
}

/// Read a pipeline file, pointed at `base_url` when given.
fn load_pipeline(path: &std::path::Path, base_url: Option<String>) -> anyhow::Result<Pipeline> {
    let mut pipeline = Pipeline::load(path)?;
    if let Some(url) = base_url {
        pipeline.set_base_url(&url).map_err(|e| anyhow::anyhow!("--base-url {e}"))?;
    }
    Ok(pipeline)
}

fn inspect(home: &Home, path: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = runtime(home)?;
    let connector = LoadedConnector::load(&runtime, path, ConnectorLimits::default())?;
    if json {
        let contract = connector.contract().range();
        let out = serde_json::json!({ "identity": connector.identity(), "contract": contract, "manifest": connector.manifest() });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print::manifest(connector.identity(), connector.manifest());
    }
    Ok(ExitCode::SUCCESS)
}

fn runs(home: &Home, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&home.database())?;
    let runs = store.runs()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        print::runs(&runs);
    }
    Ok(ExitCode::SUCCESS)
}
