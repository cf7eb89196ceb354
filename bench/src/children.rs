//! Figures measured on the real `apiary` binary as a child process: host overhead against a
//! bare download loop, peak memory, and rate-limit accuracy.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use apiary_e2e::spawn::MockProcess;

use crate::Paths;
use crate::figures::{Table, per_second};
use crate::measure;

/// Pages and records per page of the host-overhead run (GitHub issue-like records, ~1.2 KB).
const PAGES: u64 = 2_000;
const PER_PAGE: u64 = 100;

/// A pipeline on the mock's generated issues, with buckets that do not hold it back.
pub fn pipeline_file(dir: &Path, wasm: &Path, per_page: u64, buckets: &str) -> Result<std::path::PathBuf> {
    let text = format!(
        "name = \"bench\"\nconnector = {:?}\nstreams = [\"issues\"]\n\n[config]\nowner = \"apiary-mock\"\nrepo = \"generated\"\nper_page = {per_page}\n\n{buckets}",
        wasm.display().to_string()
    );
    let path = dir.join("bench.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// One full `apiary run` of the github connector over `base_url` in a fresh home, `per_page`
/// records a page, `extra` appended to the pipeline (after [`UNLIMITED`]), with `env`; its wall
/// time in seconds.
pub fn timed_sync(paths: &Paths, base_url: &str, per_page: u64, extra: &str, env: &[(&str, &str)]) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_file(dir.path(), &paths.github_wasm, per_page, &format!("{UNLIMITED}{extra}"))?;
    let mut command = std::process::Command::new(paths.release.join("apiary"));
    command.arg("--home").arg(dir.path().join("home")).args([
        "run",
        pipeline.to_str().unwrap(),
        "--base-url",
        base_url,
    ]);
    command.envs(env.iter().copied());
    Ok(run_measured(&mut command, "apiary run")?.secs)
}

/// Buckets raised far above the demo's GitHub limit: the benchmark measures the host.
pub const UNLIMITED: &str = "[buckets.core]\nrequests = 1000000\nper-ms = 1000\nburst = 1000\nallow-raise = true\n";

/// What one child process cost.
pub struct Run {
    /// Wall-clock seconds.
    pub secs: f64,
    /// Its peak memory and CPU time, as the measuring wrapper saw them.
    pub usage: measure::Usage,
    /// What it printed on stdout.
    pub stdout: String,
}

/// Run `apiary run` and measure it.
pub fn run_apiary(paths: &Paths, home: &Path, pipeline: &Path, base_url: &str) -> Result<Run> {
    let mut command = Command::new(paths.release.join("apiary"));
    command.arg("--home").arg(home).args(["run", pipeline.to_str().unwrap(), "--base-url", base_url]);
    run_measured(&mut command, "apiary run")
}

/// Load `wasm` with `apiary inspect`, which compiles it into the user's compile cache (shared by
/// every home) unless it is there already.
pub fn warm_compile_cache(paths: &Paths, wasm: &Path) -> Result<()> {
    let inspected = Command::new(paths.release.join("apiary")).arg("inspect").arg(wasm).output()?;
    if !inspected.status.success() {
        bail!("apiary inspect {} failed: {}", wasm.display(), String::from_utf8_lossy(&inspected.stderr).trim());
    }
    Ok(())
}

/// Run `command` to its end and measure it (through [`measure::wrapped`], so its peak RSS is
/// its own); `what` names it in errors.
pub fn run_measured(command: &mut Command, what: &str) -> Result<Run> {
    use std::io::Read;
    let usage_file = tempfile::NamedTempFile::new()?;
    let mut wrapper = measure::wrapped(command, usage_file.path())?;
    let started = Instant::now();
    let mut child = wrapper.stdout(std::process::Stdio::piped()).spawn().with_context(|| format!("starting {what}"))?;
    let mut stdout = String::new();
    child.stdout.take().expect("piped").read_to_string(&mut stdout)?;
    if !child.wait()?.success() {
        bail!("{what} failed");
    }
    let secs = started.elapsed().as_secs_f64();
    let usage = measure::read(usage_file.path())?;
    Ok(Run { secs, usage, stdout })
}

/// Mock API for the generated collection of `pages` pages.
pub fn mock(paths: &Paths, args: &[&str]) -> Result<MockProcess> {
    MockProcess::start(&paths.release.join("apiary-mock"), args)
}

/// 1. A full `apiary run` vs a bare reqwest loop over the same pages, one request at a time
///    (Link pagination is sequential for both): on raw loopback, and behind 30 ms of API
///    latency, closer to what a real API answers in.
pub async fn host_overhead(paths: &Paths, table: &mut Table) -> Result<()> {
    let slow = mock(paths, &["--pages", "200", "--latency-ms", "30"])?;
    let bare_secs = bare_loop(&generated_issues(slow.base_url())).await?;
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_file(dir.path(), &paths.github_wasm, PER_PAGE, UNLIMITED)?;
    let secs = run_apiary(paths, &dir.path().join("home"), &pipeline, slow.base_url())?.secs;
    let records = (200 * PER_PAGE) as f64;
    let (apiary, bare) = (per_second(records, secs), per_second(records, bare_secs));
    table.add(
        "1b. records/s with 30 ms API latency, `apiary run` vs bare loop (200 pages x 100)",
        format!("{apiary:.0}/s ({secs:.1} s)"),
        format!("{bare:.0}/s ({bare_secs:.1} s)"),
        apiary / bare,
        ">= 0.8",
    );
    let mock = mock(paths, &["--pages", &PAGES.to_string()])?;
    let bare_secs = bare_loop(&generated_issues(mock.base_url())).await?;
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_file(dir.path(), &paths.github_wasm, PER_PAGE, UNLIMITED)?;
    let secs = run_apiary(paths, &dir.path().join("home"), &pipeline, mock.base_url())?.secs;
    let records = (PAGES * PER_PAGE) as f64;
    let (apiary, bare) = (per_second(records, secs), per_second(records, bare_secs));
    table.add(
        "1. records/s, full `apiary run` vs bare reqwest loop (2,000 pages x 100)",
        format!("{apiary:.0}/s ({secs:.1} s)"),
        format!("{bare:.0}/s ({bare_secs:.1} s)"),
        apiary / bare,
        ">= 0.8",
    );
    let raw: u64 = walk_size(&dir.path().join("home/apiary.redb"));
    let json_bytes = std::fs::metadata(dir.path().join("home/out/bench/issues.jsonl"))?.len();
    table.add(
        "6a. bytes on disk per byte of raw response (redb, zstd)",
        format!("{:.1} MB", raw as f64 / 1e6),
        format!("{:.1} MB of JSON", json_bytes as f64 / 1e6),
        raw as f64 / json_bytes as f64,
        "< 0.2",
    );
    crate::in_process::remember_home(crate::in_process::Collection::Generated, dir);
    Ok(())
}

fn walk_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The first page of the mock's generated issues, [`PER_PAGE`] a page.
fn generated_issues(base_url: &str) -> String {
    format!("{base_url}/repos/apiary-mock/generated/issues?per_page={PER_PAGE}")
}

/// Download every page from `first` on, following `Link: rel="next"`, one request at a time,
/// doing nothing else. Returns seconds.
pub async fn bare_loop(first: &str) -> Result<f64> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut url = first.to_string();
    loop {
        let response = client.get(&url).send().await?;
        let next = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| apiary_sdk::link_relation(l, "next"))
            .map(str::to_string);
        let body = response.bytes().await?;
        std::hint::black_box(&body);
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// 4. Peak RSS of a 1,000-page and a 10,000-page sync: memory must not grow with the total.
pub fn memory(paths: &Paths, table: &mut Table) -> Result<()> {
    let mut runs = Vec::new();
    for pages in [1_000u64, 10_000] {
        let mock = mock(paths, &["--pages", &pages.to_string()])?;
        let dir = tempfile::tempdir()?;
        let pipeline = pipeline_file(dir.path(), &paths.github_wasm, 10, UNLIMITED)?;
        runs.push(run_apiary(paths, &dir.path().join("home"), &pipeline, mock.base_url())?);
    }
    let mib = |kib: u64| kib as f64 / 1024.0;
    let peak =
        |u: &measure::Usage| format!("{:.0} MiB ({:.0} MiB anonymous)", mib(u.peak_rss_kib), mib(u.peak_anon_kib));
    table.add(
        "4. peak RSS, 10,000-page vs 1,000-page sync",
        peak(&runs[1].usage),
        peak(&runs[0].usage),
        mib(runs[1].usage.peak_rss_kib) / mib(runs[0].usage.peak_rss_kib),
        "<= 1.1",
    );
    Ok(())
}

/// 7. A declared bucket of R requests/s (burst 2): the rate achieved, measured by the mock,
///    over R, and the 429s the mock had to send. The mock enforces the same rate with a burst
///    of 3: one request of slack for the jitter between send and arrival times.
pub fn rate_accuracy(paths: &Paths, table: &mut Table) -> Result<()> {
    const RATE: u32 = 50;
    let mock = mock(paths, &["--pages", "150", "--limit", &format!("generated/issues={RATE}/1000/3")])?;
    let dir = tempfile::tempdir()?;
    let buckets = format!("[buckets.core]\nrequests = {RATE}\nper-ms = 1000\nburst = 2\nallow-raise = true\n");
    let pipeline = pipeline_file(dir.path(), &paths.github_wasm, 10, &buckets)?;
    run_apiary(paths, &dir.path().join("home"), &pipeline, mock.base_url())?;
    let stats = mock.stats()?;
    let limit = &stats.limits["generated/issues"];
    table.add(
        "7. rate achieved / declared bucket (50 req/s), 429s received",
        format!("{:.1} req/s, {} x 429", limit.rate(), limit.violations),
        format!("{RATE} req/s"),
        limit.rate() / f64::from(RATE),
        "0.97-1.00, 0 x 429",
    );
    Ok(())
}
