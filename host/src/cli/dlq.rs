//! `apiary dlq list | show | replay | purge`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use apiary_host::home::Home;
use apiary_host::store::{DeadLetter, DeadLetterId, Stage, Store};
use apiary_host::sync::{self, ReplayFilter, SyncSettings};
use clap::Subcommand;

use super::{load_pipeline, print, progress};

/// The dead-letter queue commands.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters (open ones unless --all).
    List {
        /// Only this pipeline.
        #[arg(long)]
        pipeline: Option<String>,
        /// Only this stage: fetch, parse, record or policy.
        #[arg(long)]
        stage: Option<Stage>,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
        /// Include resolved letters.
        #[arg(long)]
        all: bool,
    },
    /// Show one dead letter in full.
    Show {
        /// The letter's id.
        id: u64,
    },
    /// Replay open dead letters of a pipeline with its current connector.
    Replay {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
        /// Only this stage (policy letters are replayed only when named here).
        #[arg(long)]
        stage: Option<Stage>,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
        /// Send requests here instead of the pipeline's base URL.
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Delete resolved dead letters (every selected one with --all).
    Purge {
        /// Only this pipeline.
        #[arg(long)]
        pipeline: Option<String>,
        /// Delete open letters too.
        #[arg(long)]
        all: bool,
    },
}

/// Run a `dlq` command.
pub async fn dlq(home: &Home, command: DlqCommand, json: bool) -> anyhow::Result<ExitCode> {
    let store = || Store::open_read_only(&home.database());
    match command {
        DlqCommand::List { pipeline, stage, stream, all } => {
            let letters = store()?.dead_letters(|l| {
                (all || l.resolved_by.is_none())
                    && pipeline.as_ref().is_none_or(|p| *p == l.pipeline)
                    && stage.is_none_or(|s| s == l.stage)
                    && stream.as_ref().is_none_or(|s| *s == l.stream)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&letters)?);
            } else {
                print::dead_letters(&letters);
            }
        }
        DlqCommand::Show { id } => {
            let letter: DeadLetter = store()?.dead_letter(DeadLetterId(id))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&letter)?);
            } else {
                print::dead_letter(&letter);
            }
        }
        DlqCommand::Replay { pipeline: path, stage, stream, base_url } => {
            let pipeline = load_pipeline(&path, base_url)?;
            let runtime = super::runtime(home)?;
            let progress = Arc::new(progress::SyncProgress::new(&pipeline.name));
            let filter = ReplayFilter { stage, stream };
            let store = Arc::new(Store::open(&home.database())?);
            let archiver = super::archive::start(&store, &pipeline)?;
            let settings =
                SyncSettings { cancel: super::stop_on_signals(), store: Some(store), ..SyncSettings::default() };
            let report = sync::replay(&pipeline, home, &runtime, settings, &filter, progress.clone()).await;
            progress.finish();
            super::archive::finish(archiver, &pipeline, &path).await;
            let report = report.with_context(|| format!("pipeline {}", path.display()))?;
            let mut to = super::report_output(&pipeline);
            if json {
                writeln!(to, "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                print::replay_report(&report, &mut to);
            }
            return Ok(super::exit_code(&report.sync, false));
        }
        DlqCommand::Purge { pipeline, all } => {
            let purged = Store::open(&home.database())?
                .purge_dead_letters(all, |l| pipeline.as_ref().is_none_or(|p| *p == l.pipeline))?;
            if json {
                println!("{}", serde_json::json!({ "purged": purged }));
            } else {
                println!(
                    "purged {purged} dead letter(s){}",
                    if all { "" } else { " (resolved ones; --all for every one)" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
