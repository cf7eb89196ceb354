//! Figure 8: apiary against the loop a user would write instead, `bench/python/reference_loop.py`
//! (Python's standard library), and `apiary run` of the bench connector, both syncing the
//! mock's large collection (1.5 KB records: a `Link` chain and a body-cursor chain) from the
//! same mock, apiary with a fresh `--home` and every guarantee on.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::Paths;
use crate::children::{Run, UNLIMITED, mock, run_apiary, run_measured};
use crate::figures::{Table, per_second};
use crate::in_process::{Collection, remember_home};
use crate::measure::process_cpu_secs;

/// Pages of the `Link` chain (`issues`) and of the cursor chain (`events`), 100 records each.
const LINK_PAGES: u64 = 500;
const EVENT_PAGES: u64 = 50;

/// Records per page of both chains (and of figure 1c's).
pub const PER_PAGE: u64 = 100;

/// The reference loop, run from the source tree.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/reference_loop.py");

/// 8. records/s of `apiary run` over the Python loop's, on the same pages.
pub fn python_peer(paths: &Paths, table: &mut Table) -> Result<()> {
    let pages = |n: u64| n.to_string();
    let mock = mock(paths, &["--large-pages", &pages(LINK_PAGES), "--event-pages", &pages(EVENT_PAGES)])?;
    let records = (LINK_PAGES + EVENT_PAGES) * PER_PAGE;
    let dir = tempfile::tempdir()?;
    let python = run_python(mock.base_url(), &dir.path().join("python"), records)?;
    let pipeline = pipeline_file(dir.path(), &paths.bench_wasm, &["issues", "events"])?;
    let mock_cpu_before = process_cpu_secs(mock.pid())?;
    let run = run_apiary(paths, &dir.path().join("home"), &pipeline, mock.base_url())?;
    let mock_cpu = process_cpu_secs(mock.pid())? - mock_cpu_before;
    for stream in ["issues", "events"] {
        let written = count_lines(&dir.path().join(format!("home/out/large/{stream}.jsonl")))?;
        let expected = if stream == "issues" { LINK_PAGES } else { EVENT_PAGES } * PER_PAGE;
        ensure!(written == expected, "apiary wrote {written} {stream} records, expected {expected}");
    }
    let rate = |secs: f64| per_second(records as f64, secs);
    table.add(
        "8. records/s, 1.5 KB records (500 Link + 50 cursor pages), `apiary run` (bench connector, fresh home) vs Python stdlib loop",
        format!("{}; {}", describe(&run, rate(run.secs), rate(run.usage.cpu_secs)), cores_left(&run, mock_cpu)),
        describe(&python, rate(python.secs), rate(python.usage.cpu_secs)),
        rate(run.secs) / rate(python.secs),
        ">= 3 (not done below 2)",
    );
    remember_home(Collection::Large, dir);
    Ok(())
}

/// Records/s by wall clock and per CPU second (the latter barely moves when other work shares
/// the machine), peak RSS, and CPU time over wall time (how many cores it kept busy).
fn describe(run: &Run, per_wall_second: f64, per_cpu_second: f64) -> String {
    format!(
        "{per_wall_second:.0}/s ({:.1} s; {per_cpu_second:.0}/CPU-s, CPU/wall {:.2}, peak {:.1} MiB, {:.1} MiB anonymous)",
        run.secs,
        run.usage.cpu_secs / run.secs,
        run.usage.peak_rss_kib as f64 / 1024.0,
        run.usage.peak_anon_kib as f64 / 1024.0
    )
}

/// The most CPU/wall apiary could reach on this machine's cores while the mock, on the same
/// cores, used `mock_cpu` seconds serving it: the wall time is at least both CPU times over the
/// cores. The goal of 1.6 assumes the API's work is elsewhere, as a real API's is.
fn cores_left(run: &Run, mock_cpu: f64) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let most = cores * run.usage.cpu_secs / (run.usage.cpu_secs + mock_cpu);
    format!("the mock used {mock_cpu:.2} CPU-s of the same cores, so CPU/wall is at most {most:.2}")
}

/// Run the Python loop into `out` (it needs `python3` on `PATH`) and check its record count.
fn run_python(base_url: &str, out: &Path, records: u64) -> Result<Run> {
    let mut command = Command::new("python3");
    command.arg(SCRIPT).args(["--base-url", base_url, "--out"]).arg(out);
    let run = run_measured(&mut command, "the Python reference loop (python3)")?;
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).context("the Python loop's summary")?;
    ensure!(summary["records"] == records, "the Python loop synced {} records, expected {records}", summary["records"]);
    Ok(run)
}

/// `streams` of the bench connector on the large collection, [`PER_PAGE`] records a page,
/// buckets that do not hold it back; its output goes to `home/out/large/`.
pub fn pipeline_file(dir: &Path, wasm: &Path, streams: &[&str]) -> Result<std::path::PathBuf> {
    let text = format!(
        "name = \"large\"\nconnector = {:?}\nstreams = {streams:?}\n\n[config]\nowner = \"apiary-mock\"\nper_page = {PER_PAGE}\n\n{UNLIMITED}",
        wasm.display().to_string()
    );
    let path = dir.join("large.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The lines of the file at `path`: a JSONL output's records.
pub fn count_lines(path: &Path) -> Result<u64> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.iter().filter(|b| **b == b'\n').count() as u64)
}
