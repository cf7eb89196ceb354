//! `cargo xtask bench`: apiary measured as users run it (raw storage, limits, checkpoints,
//! schema inference and exactly-once output all on), side by side with references, printed as
//! ratios.
//!
//! Every figure comes from this run on this machine; nothing is remembered between runs.

mod ahead;
mod children;
mod coordination;
mod figures;
mod idle;
mod in_process;
mod measure;
mod peer;
mod schemas;
mod sinks;

use std::path::PathBuf;

use anyhow::{Context, Result};

/// Where the release binaries and connectors are.
pub struct Paths {
    /// The folder of this binary, `apiary` and `apiary-mock` (`target/release`).
    pub release: PathBuf,
    /// The github connector component.
    pub github_wasm: PathBuf,
    /// The bench connector component (the large collection).
    pub bench_wasm: PathBuf,
}

fn main() -> Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == measure::FLAG) {
        // Decided before the runtime starts: the wrapper stays small when it forks.
        return measure::run_wrapper(&args[1..]);
    }
    tokio::runtime::Runtime::new()?.block_on(benchmark())
}

/// Every figure selected on the command line, measured and printed as one table.
async fn benchmark() -> Result<()> {
    let bin = std::env::current_exe()?.parent().context("binary folder")?.to_path_buf();
    let target = bin.parent().context("target folder")?.to_path_buf();
    let wasm = target.join("wasm32-wasip2/release");
    let paths = Paths {
        release: bin,
        github_wasm: wasm.join("github_connector.wasm"),
        bench_wasm: wasm.join("bench_connector.wasm"),
    };
    for component in [&paths.github_wasm, &paths.bench_wasm] {
        anyhow::ensure!(
            component.exists(),
            "{} is missing: build the connectors first (cargo xtask bench does)",
            component.display()
        );
        // The figures are for a warm compile cache (the figure 8 says so): a connector
        // built since the last run is compiled here, not in the first measured sync.
        children::warm_compile_cache(&paths, component)?;
    }
    let only = Selection::from_args()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("apiary benchmark: {cores} cores, release build, mock API on loopback\n");
    let mut table = figures::Table::default();
    // Figures 2, 3, 5 and 9 read the stores of the runs behind figures 1 and 8.
    if only.wants_any(&["1", "2", "3", "5", "9"]) {
        children::host_overhead(&paths, &mut table).await?;
    }
    if only.wants_any(&["1"]) {
        ahead::counted_chain_ahead(&paths, &mut table).await?;
    }
    if only.wants_any(&["8", "2"]) {
        peer::python_peer(&paths, &mut table)?;
    }
    if only.wants_any(&["2"]) {
        in_process::parse_cost(&paths, &mut table).await?;
    }
    if only.wants_any(&["3"]) {
        in_process::reparse_scaling(&paths, &mut table).await?;
    }
    if only.wants_any(&["4"]) {
        children::memory(&paths, &mut table)?;
    }
    if only.wants_any(&["5"]) {
        in_process::fixed_costs(&paths, &mut table).await?;
    }
    if only.wants_any(&["9"]) {
        schemas::sync_cost(&paths, &mut table).await?;
        schemas::judge_cost(&paths, &mut table).await?;
    }
    if only.wants_any(&["11"]) {
        sinks::postgres_vs_jsonl(&paths, &mut table)?;
    }
    if only.wants_any(&["12"]) {
        coordination::coordination_cost(&paths, &mut table).await?;
    }
    if only.wants_any(&["7"]) {
        children::rate_accuracy(&paths, &mut table)?;
    }
    if only.wants_any(&["10"]) {
        idle::serve_idle(&paths, &mut table)?;
    }
    table.print();
    Ok(())
}

/// The figures to measure: all of them, or those named on the command line (`apiary-bench 2 8`).
struct Selection(Vec<String>);

impl Selection {
    const FIGURES: [&str; 11] = ["1", "2", "3", "4", "5", "7", "8", "9", "10", "11", "12"];

    fn from_args() -> Result<Selection> {
        let named: Vec<String> = std::env::args().skip(1).collect();
        if let Some(unknown) = named.iter().find(|n| !Self::FIGURES.contains(&n.as_str())) {
            anyhow::bail!("unknown figure `{unknown}`: name some of {}, or none for all", Self::FIGURES.join(" "));
        }
        Ok(Selection(named))
    }

    fn wants_any(&self, figures: &[&str]) -> bool {
        self.0.is_empty() || self.0.iter().any(|n| figures.contains(&n.as_str()))
    }
}
