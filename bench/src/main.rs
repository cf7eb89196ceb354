//! `cargo xtask bench`: apiary measured as users run it (raw storage, limits, checkpoints and
//! exactly-once output all on), side by side with references, printed as ratios.
//!
//! Every figure comes from this run on this machine; nothing is remembered between runs.

mod children;
mod figures;
mod idle;
mod in_process;

use std::path::PathBuf;

use anyhow::{Context, Result};

/// Where the release binaries and connectors are.
pub struct Paths {
    /// The folder of this binary, `apiary` and `apiary-mock` (`target/release`).
    pub release: PathBuf,
    /// The github connector component.
    pub github_wasm: PathBuf,
}

#[tokio::main]
async fn main() -> Result<()> {
    let bin = std::env::current_exe()?.parent().context("binary folder")?.to_path_buf();
    let target = bin.parent().context("target folder")?.to_path_buf();
    let paths = Paths { release: bin, github_wasm: target.join("wasm32-wasip2/release/github_connector.wasm") };
    anyhow::ensure!(paths.github_wasm.exists(), "build the connectors first: cargo xtask bench does");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("apiary benchmark: {cores} cores, release build, mock API on loopback\n");
    let mut table = figures::Table::default();
    children::host_overhead(&paths, &mut table).await?;
    in_process::parse_cost(&paths, &mut table).await?;
    in_process::reparse_scaling(&paths, &mut table).await?;
    children::memory(&paths, &mut table)?;
    in_process::fixed_costs(&paths, &mut table).await?;
    children::rate_accuracy(&paths, &mut table)?;
    idle::serve_idle(&paths, &mut table)?;
    table.print();
    Ok(())
}
