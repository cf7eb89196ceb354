//! Figures measured inside this process with the host library: parse cost in wasm vs native,
//! re-parse scaling, and the fixed costs of a page.

use std::time::Instant;

use anyhow::{Context, Result};
use apiary_host::config::Pipeline;
use apiary_host::home::Home;
use apiary_host::model::{Exchange, Header, Response};
use apiary_host::policy::ConnectorLimits;
use apiary_host::progress::Quiet;
use apiary_host::reparse::{self, ReparseOptions};
use apiary_host::runtime::{CompileCache, LoadedConnector, Runtime};
use apiary_host::store::{Completion, ExchangeWrite, RunContext, RunKind, Store, SyncState};
use apiary_sdk::Connector;

use crate::Paths;
use crate::figures::{Table, per_second};

/// The mock collections a run synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// The generated ~1.2 KB issues (host-overhead run, github connector).
    Generated,
    /// The large collection's 1.5 KB records (Python peer run, bench connector).
    Large,
}

/// The folders of the runs, kept for the figures that read their stores.
static HOMES: std::sync::Mutex<Vec<(Collection, tempfile::TempDir)>> = std::sync::Mutex::new(Vec::new());

/// Keep a run's folder (pipeline file and `home/`) for later figures.
pub fn remember_home(collection: Collection, dir: tempfile::TempDir) {
    HOMES.lock().expect("homes lock").push((collection, dir));
}

/// The folder of the run that synced `collection`.
pub fn home_dir(collection: Collection) -> Result<std::path::PathBuf> {
    let homes = HOMES.lock().expect("homes lock");
    let found = homes.iter().find(|(c, _)| *c == collection).map(|(_, d)| d.path().to_path_buf());
    found.with_context(|| format!("the run syncing the {collection:?} collection comes first"))
}

/// The first `n` stored exchanges of the run that synced `collection`.
fn stored_exchanges(collection: Collection, n: usize) -> Result<Vec<Exchange>> {
    let store = Store::open(&home_dir(collection)?.join("home/apiary.redb"))?;
    let metas = store.raw_list(|_| true)?;
    metas.iter().take(n).map(|m| Ok(store.raw(m.id)?.to_exchange())).collect()
}

/// The same exchange in the SDK's types, for the natively compiled parser.
fn sdk_exchange(x: &Exchange) -> apiary_sdk::Exchange {
    let headers = |hs: &[Header]| {
        hs.iter().map(|h| apiary_sdk::Header { name: h.name.clone(), value: h.value.clone() }).collect()
    };
    apiary_sdk::Exchange {
        request: apiary_sdk::Request::get(&x.request.endpoint, x.request.url.clone()),
        response: apiary_sdk::Response {
            status: x.response.status,
            headers: headers(&x.response.headers),
            body: x.response.body.clone(),
        },
        fetched_at_ms: x.fetched_at_ms,
    }
}

/// 2. The github parser in wasm (through the host, limits on, a fresh instance per page) vs the
///    same parser compiled natively, over the same stored pages; 2b. the same for the bench
///    connector on the large collection's 1.5 KB records.
pub async fn parse_cost(paths: &Paths, table: &mut Table) -> Result<()> {
    let (wasm, native) = parse_rates(Collection::Generated, &paths.github_wasm, github_connector::GitHub::parse)?;
    table.add(
        "2. parse MB/s (thread CPU time), github parser in wasm (host, limits on) vs native",
        format!("{wasm:.0} MB/s"),
        format!("{native:.0} MB/s"),
        wasm / native,
        ">= 0.8",
    );
    let (wasm, native) = parse_rates(Collection::Large, &paths.bench_wasm, bench_connector::Bench::parse)?;
    table.add(
        "2b. parse MB/s (thread CPU time), bench connector (1.5 KB records) in wasm (host, limits on) vs native",
        format!("{wasm:.0} MB/s"),
        format!("{native:.0} MB/s"),
        wasm / native,
        ">= 0.8",
    );
    Ok(())
}

/// (wasm, native) MB/s of a parser over the first 300 stored pages of `collection`, by the CPU
/// time of this thread (both run on it), so other work on the machine barely moves the figure.
/// The two are measured in turn, [`PASSES`] times, and each keeps its fastest pass: one pass is
/// a few tenths of a second, short enough for a neighbour's burst to halve it.
fn parse_rates(
    collection: Collection,
    wasm: &std::path::Path,
    native: fn(&apiary_sdk::Exchange) -> Result<apiary_sdk::Page, apiary_sdk::ParseError>,
) -> Result<(f64, f64)> {
    const PASSES: usize = 3;
    let exchanges = stored_exchanges(collection, 300)?;
    let megabytes = exchanges.iter().map(|x| x.response.body.len()).sum::<usize>() as f64 / 1e6;
    let native_input: Vec<apiary_sdk::Exchange> = exchanges.iter().map(sdk_exchange).collect();
    let runtime = Runtime::new()?;
    let connector = LoadedConnector::load(&runtime, wasm, ConnectorLimits::default())?;
    let (mut wasm_best, mut native_best) = (0f64, 0f64);
    for _ in 0..PASSES {
        let started = thread_cpu_secs();
        for x in &native_input {
            std::hint::black_box(native(x).map_err(|e| anyhow::anyhow!("{e:?}"))?);
        }
        native_best = native_best.max(per_second(megabytes, thread_cpu_secs() - started));
        let started = thread_cpu_secs();
        for x in &exchanges {
            std::hint::black_box(connector.parse(x)?.map_err(|e| anyhow::anyhow!("{e:?}"))?);
        }
        wasm_best = wasm_best.max(per_second(megabytes, thread_cpu_secs() - started));
    }
    Ok((wasm_best, native_best))
}

/// CPU seconds this thread has used.
fn thread_cpu_secs() -> f64 {
    // SAFETY: plain libc call writing into a local timespec.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// 3. Re-parse throughput of the stored run on 2 threads vs 1.
pub async fn reparse_scaling(paths: &Paths, table: &mut Table) -> Result<()> {
    let dir = home_dir(Collection::Generated)?;
    let pipeline = Pipeline::load(&dir.join("bench.toml"))?;
    let home = Home::new(dir.join("home"));
    let runtime = Runtime::new()?.with_cache(CompileCache::for_user(home.root())?);
    let mut rates = Vec::new();
    for threads in [1, 2] {
        let options = ReparseOptions {
            connector: paths.github_wasm.clone(),
            run: None,
            stream: None,
            since_ms: None,
            out: Some(dir.join(format!("reparse-{threads}"))),
            threads,
            force: false,
            destination: Default::default(),
        };
        let report = reparse::reparse(&pipeline, &home, &runtime, &options, &Quiet)?;
        rates.push(per_second(report.bytes as f64 / 1e6, report.elapsed.as_secs_f64()));
    }
    table.add(
        "3. re-parse MB/s of stored raw JSON, 2 threads vs 1",
        format!("{:.0} MB/s", rates[1]),
        format!("{:.0} MB/s", rates[0]),
        rates[1] / rates[0],
        "close to 2 on 2 cores",
    );
    Ok(())
}

/// 5. Per-page fixed costs: a fresh instance plus a call on an empty page, and the two
///    commits of a page. 6b. redb write throughput of raw exchanges.
pub async fn fixed_costs(paths: &Paths, table: &mut Table) -> Result<()> {
    let runtime = Runtime::new()?;
    let connector = LoadedConnector::load(&runtime, &paths.github_wasm, ConnectorLimits::default())?;
    let mut empty = stored_exchanges(Collection::Generated, 1)?.remove(0);
    empty.response = Response { status: 200, headers: vec![], body: b"[]".to_vec() };
    const CALLS: u32 = 2_000;
    let started = Instant::now();
    for _ in 0..CALLS {
        std::hint::black_box(connector.parse(&empty)?.map_err(|e| anyhow::anyhow!("{e:?}"))?);
    }
    let call_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS);

    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("apiary.redb"))?;
    let run = store.begin_run(RunKind::Sync, "bench", connector.identity(), &["issues".into()])?;
    let context = RunContext { run: run.id, pipeline: "bench".into(), connector: connector.identity().clone() };
    store.begin_sync("bench", &SyncState { run: run.id, ..SyncState::default() })?;
    let entry = store.seed("bench", vec![("issues".into(), empty.request.clone(), None)])?.remove(0);
    const PAGES: u32 = 300;
    let started = Instant::now();
    for _ in 0..PAGES {
        let mut write = ExchangeWrite::new(&store, &empty);
        write.to_parse = Some(entry.id);
        let meta = store.put_exchange(&context, write)?;
        let done = Completion {
            stream: "issues".into(),
            entry: Some(entry.id),
            exchange: Some(meta.id),
            ..Completion::default()
        };
        store.complete(&context, done)?;
    }
    let commit_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(PAGES);
    table.add(
        "5. per-page fixed cost: fresh instance + call (empty page) / two commits",
        format!("{call_us:.0} us / {commit_us:.0} us"),
        "-".into(),
        call_us / commit_us,
        "small next to the network",
    );

    let big = stored_exchanges(Collection::Generated, 100)?;
    let raw_bytes: usize = big.iter().map(|x| x.response.body.len()).sum();
    let started = Instant::now();
    for x in &big {
        store.put_exchange(&context, ExchangeWrite::new(&store, x))?;
    }
    let mbps = per_second(raw_bytes as f64 / 1e6, started.elapsed().as_secs_f64());
    table.add(
        "6b. redb write MB/s of raw responses (zstd + commit)",
        format!("{mbps:.0} MB/s"),
        "-".into(),
        mbps,
        "well above the network",
    );
    Ok(())
}
