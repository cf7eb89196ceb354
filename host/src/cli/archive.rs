//! `apiary archive status|push`, and the archive's part of `apiary run` (the report of what a
//! run's flush left queued) and of `apiary reparse --from-archive` (the import).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use apiary_host::archive::{self, ArchiveTarget, Archiver, Imported};
use apiary_host::config::{ArchiveConfig, ArchiveUrl, Pipeline};
use apiary_host::home::Home;
use apiary_host::store::{ArchiveBacklog, Store};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{load_pipeline, print};

/// `apiary archive ...`
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// What waits for the archive: backlog, oldest waiting, last error, the archive's URL.
    Status {
        /// Only this pipeline file's pipeline (and show its archive's URL).
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
    /// Put everything the pipeline's archive is waiting for, now.
    Push {
        /// The pipeline file (TOML) with the `[archive]` table.
        pipeline: PathBuf,
    },
}

/// Run an `archive` subcommand.
pub async fn archive(home: &Home, command: ArchiveCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        ArchiveCommand::Status { pipeline } => status(home, pipeline, json),
        ArchiveCommand::Push { pipeline } => push(home, &pipeline, json).await,
    }
}

fn status(home: &Home, pipeline_path: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let pipeline = pipeline_path.as_deref().map(|p| load_pipeline(p, None)).transpose()?;
    let store = Store::open_read_only(&home.database())?;
    let backlogs = store.archive_backlogs(pipeline.as_ref().map(|p| p.name.as_str()))?;
    let url = pipeline.as_ref().and_then(|p| p.archive.as_ref()).map(|a| a.url.to_string());
    if json {
        let out = serde_json::json!({ "url": url, "pipelines": backlogs });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_status(url.as_deref(), &backlogs);
    }
    Ok(ExitCode::SUCCESS)
}

async fn push(home: &Home, pipeline_path: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let pipeline = load_pipeline(pipeline_path, None)?;
    let store = Arc::new(Store::open(&home.database())?);
    let bar = bar("archived")?;
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let left = archive::push(store, &pipeline, &progress)
        .await
        .with_context(|| format!("archive push of {}", pipeline_path.display()))?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&left)?);
    } else {
        println!("archive: {} exchanges archived in all, {} waiting", left.health.archived, left.waiting);
    }
    Ok(ExitCode::SUCCESS)
}

/// The background drain of a run's pipeline, when it has an archive.
pub fn start(store: &Arc<Store>, pipeline: &Pipeline) -> anyhow::Result<Option<Archiver>> {
    Archiver::for_pipeline(store.clone(), pipeline).with_context(|| format!("pipeline {}", pipeline.name))
}

/// Give the archive its flush after a run, and say on stderr what is left. The run's outcome
/// stands whatever happens here.
pub async fn finish(archiver: Option<Archiver>, pipeline: &Pipeline, pipeline_path: &std::path::Path) {
    let (Some(archiver), Some(config)) = (archiver, &pipeline.archive) else { return };
    let url = archiver.url().to_string();
    match archiver.finish(config.flush()).await {
        Ok(ArchiveBacklog { waiting: 0, .. }) => {}
        Ok(left) => eprintln!(
            "archive: {} exchanges waiting for {url}{}; they go with the next run or `apiary archive push {}`",
            left.waiting,
            left.health.last_error.map(|e| format!(" (last error: {e})")).unwrap_or_default(),
            pipeline_path.display()
        ),
        Err(e) => eprintln!("archive: {e}; the exchanges stay queued for the next run or `apiary archive push`"),
    }
}

/// Bring the pipeline's archived exchanges into the home's store, with a progress bar.
pub async fn import(home: &Home, pipeline: &Pipeline, url: ArchiveUrl) -> anyhow::Result<Imported> {
    let config = match &pipeline.archive {
        Some(config) => ArchiveConfig { url, ..config.clone() },
        None => ArchiveConfig::at(url),
    };
    let target = ArchiveTarget::open(&config, &pipeline.secrets)?;
    let store = Store::open(&home.database())?;
    let bar = bar("imported")?;
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let imported = archive::import(&store, &target, &pipeline.name, &progress).await?;
    bar.finish_and_clear();
    Ok(imported)
}

/// A progress bar of exchanges `done` (archived, imported) on stderr.
fn bar(done: &str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template(&format!("{{bar:30}} {{pos}}/{{len}} exchanges {done} [{{elapsed}}]"))?);
    Ok(bar)
}

/// The backlogs as a table, the archive's URL first when known.
fn print_status(url: Option<&str>, backlogs: &[ArchiveBacklog]) {
    if let Some(url) = url {
        println!("archive: {url}");
    }
    if backlogs.is_empty() {
        println!("no pipeline has queued anything for an archive");
        return;
    }
    println!(
        "{:<24} {:>8} {:>9}  {:<20} {:<20} LAST ERROR",
        "PIPELINE", "WAITING", "ARCHIVED", "OLDEST WAITING", "LAST ARCHIVED"
    );
    for b in backlogs {
        let time = |ms: Option<u64>| ms.map_or_else(|| "-".to_string(), print::when);
        let error = match (&b.health.last_error, b.health.last_error_ms) {
            (Some(e), Some(at)) => format!("{} ({e})", print::when(at)),
            _ => "-".to_string(),
        };
        println!(
            "{:<24} {:>8} {:>9}  {:<20} {:<20} {error}",
            b.pipeline,
            b.waiting,
            b.health.archived,
            time(b.oldest_ms),
            time(b.health.last_archived_ms)
        );
    }
}
