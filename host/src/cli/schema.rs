//! `apiary schema show | diff | accept`: the schemas the store keeps for a pipeline's streams.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use apiary_host::config::Pipeline;
use apiary_host::home::Home;
use apiary_host::schema::{Drift, StreamSchema};
use apiary_host::store::{AcceptedSchema, ObservedSchema, SchemaPoint, SchemaSource, Store, StoreError};
use clap::Subcommand;
use serde::Serialize;

use super::print;

/// `apiary schema ...`
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Each stream's accepted schema, and what its latest run saw and how that drifted.
    Show {
        /// The pipeline: its name, or its file.
        pipeline: String,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
    },
    /// How the streams' records changed between two runs or two API versions.
    Diff {
        /// The pipeline: its name, or its file.
        pipeline: String,
        /// From: a run (`12` or `run:12`) or an API version (`2022-11-28` or `api:v1`).
        #[arg(long)]
        from: SchemaPoint,
        /// To: a run or an API version, like --from.
        #[arg(long)]
        to: SchemaPoint,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
    },
    /// Take the schema the latest run observed as the stream's accepted schema; `apiary dlq
    /// replay` then loads the records its contract held.
    Accept {
        /// The pipeline: its name, or its file.
        pipeline: String,
        /// The stream.
        #[arg(long)]
        stream: String,
    },
}

/// One stream in `schema show`.
#[derive(Debug, Serialize)]
struct StreamView {
    stream: String,
    accepted: Option<AcceptedSchema>,
    latest: Option<ObservedSchema>,
}

/// `apiary schema ...`.
pub fn schema(home: &Home, command: SchemaCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        SchemaCommand::Show { pipeline, stream } => show(home, &pipeline_name(&pipeline)?, stream.as_deref(), json),
        SchemaCommand::Diff { pipeline, from, to, stream } => {
            diff(home, &pipeline_name(&pipeline)?, (&from, &to), stream.as_deref(), json)
        }
        SchemaCommand::Accept { pipeline, stream } => accept(home, &pipeline_name(&pipeline)?, &stream, json),
    }
}

/// A pipeline named on the command line: a pipeline file (its `name` is used), else the name.
fn pipeline_name(arg: &str) -> anyhow::Result<String> {
    let path = Path::new(arg);
    if path.is_file() { Ok(Pipeline::load(path)?.name) } else { Ok(arg.to_string()) }
}

fn show(home: &Home, pipeline: &str, only: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&home.database())?;
    let accepted = store.accepted_schemas(pipeline)?;
    let observed = store.observed_schemas(pipeline, only)?;
    let mut names: Vec<&str> =
        accepted.iter().map(|a| a.stream.as_str()).chain(observed.iter().map(|o| o.stream.as_str())).collect();
    names.sort_unstable();
    names.dedup();
    names.retain(|s| only.is_none_or(|want| want == *s));
    if names.is_empty() {
        let which = only.map_or_else(String::new, |s| format!(" for stream {s}"));
        bail!("no schema recorded for pipeline {pipeline}{which}: run it first (`apiary run PIPELINE.toml`)");
    }
    let views: Vec<StreamView> = names
        .iter()
        .map(|name| StreamView {
            stream: name.to_string(),
            accepted: accepted.iter().find(|a| a.stream == *name).cloned(),
            latest: observed.iter().filter(|o| o.stream == *name).max_by_key(|o| o.run).cloned(),
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
    } else {
        views.iter().for_each(|v| print_view(pipeline, v));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_view(pipeline: &str, view: &StreamView) {
    println!("stream {} of {pipeline}", view.stream);
    match &view.accepted {
        Some(a) => {
            let origin = match (a.source, a.from_run) {
                (SchemaSource::Declared, _) => "declared by the connector".to_string(),
                (SchemaSource::Inferred, Some(run)) => format!("inferred from run {run}"),
                (SchemaSource::Accepted, Some(run)) => format!("accepted from run {run}"),
                (source, _) => format!("{source:?}").to_lowercase(),
            };
            println!("  accepted schema: {origin}, since {}", print::when(a.accepted_at_ms));
            print_fields(&a.schema);
        }
        None => println!("  accepted schema: none yet (the next run's records become it)"),
    }
    let Some(latest) = &view.latest else { return };
    println!(
        "  latest run {} ({} {}, API {}): {} records",
        latest.run,
        latest.connector,
        latest.connector_version,
        latest.api_version,
        latest.schema.records()
    );
    print_drift("    ", &latest.drift);
}

/// The fields of a schema, one a line: path, types, how often seen.
fn print_fields(schema: &StreamSchema) {
    println!("    {:<36} {:<28} {:>9}", "field", "types", "seen");
    for (path, shape) in schema.fields() {
        let seen = if schema.records() == 0 { "-".to_string() } else { shape.present().to_string() };
        println!("    {:<36} {:<28} {:>9}", path.to_string(), shape.types.types().to_string(), seen);
    }
}

/// Drift lines, or that there is none.
fn print_drift(indent: &str, drift: &Drift) {
    if drift.is_empty() {
        println!("{indent}no drift from the accepted schema");
    }
    for change in &drift.changes {
        println!("{indent}{change}");
    }
}

fn diff(
    home: &Home,
    pipeline: &str,
    (from, to): (&SchemaPoint, &SchemaPoint),
    only: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&home.database())?;
    let mut streams: Vec<String> = match only {
        Some(stream) => vec![stream.to_string()],
        None => store.observed_schemas(pipeline, None)?.into_iter().map(|o| o.stream).collect(),
    };
    streams.dedup();
    let mut diffs = std::collections::BTreeMap::new();
    for stream in streams {
        match store.schema_diff(pipeline, &stream, from, to) {
            Ok(drift) => {
                diffs.insert(stream, drift);
            }
            // Across all streams, one that was not synced at both points is left out.
            Err(StoreError::NoSchema { .. }) if only.is_none() => {}
            Err(e) => return Err(e.into()),
        }
    }
    if diffs.is_empty() {
        bail!("no stream of pipeline {pipeline} has a schema recorded at both {from} and {to}; see `apiary runs`");
    }
    if json {
        let out = serde_json::json!({ "pipeline": pipeline, "from": from.to_string(), "to": to.to_string(), "streams": diffs });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (stream, drift) in &diffs {
            println!("stream {stream} of {pipeline}, {from} -> {to}:");
            if drift.is_empty() {
                println!("  the same shape");
            }
            drift.changes.iter().for_each(|c| println!("  {c}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn accept(home: &Home, pipeline: &str, stream: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open(&home.database())?;
    let latest = store.observed_schemas(pipeline, Some(stream))?.into_iter().max_by_key(|o| o.run);
    let latest = latest.with_context(|| {
        format!("no run of pipeline {pipeline} has observed stream {stream}: run it first, or check the names (`apiary schema show {pipeline}`)")
    })?;
    let accepted =
        store.set_accepted_schema(pipeline, stream, SchemaSource::Accepted, &latest.schema, Some(latest.run))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&accepted)?);
    } else {
        println!(
            "stream {stream} of {pipeline} now keeps to the schema run {} observed ({} fields, {} records)",
            latest.run,
            latest.schema.fields().len(),
            latest.schema.records()
        );
        println!("  records its contract held are loaded by `apiary dlq replay PIPELINE.toml --stream {stream}`");
    }
    Ok(ExitCode::SUCCESS)
}
