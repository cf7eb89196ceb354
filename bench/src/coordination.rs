//! Figure 12: what coordination through Redis costs (the test harness's `redis-server` on
//! loopback). 12a: one draw from a shared bucket (a Lua script in Redis) next to one draw from
//! the process's own bucket, as p50/p99 latencies. 12b: records/s of a whole `apiary run` with
//! `[coordination]` next to the same run without.

use std::time::{Duration, Instant};

use anyhow::Result;
use apiary_e2e::services::redis;
use apiary_host::config::{CoordinationConfig, LeaseTtl, UrlSource};
use apiary_host::coord::{Coordinator, CredentialId, Draw, SharedBudget};
use apiary_host::fetch::{Buckets, quota};
use apiary_host::model::{Auth, Bucket, Endpoint, Method};
use apiary_host::secrets::Secrets;

use crate::Paths;
use crate::children::{UNLIMITED, mock, pipeline_file, run_measured};
use crate::figures::{Table, per_second};

/// Draws timed for 12a.
const DRAWS: usize = 5_000;
/// The sync of 12b: pages of 100 records.
const PAGES: u64 = 200;
const PER_PAGE: u64 = 100;

/// Figures 12a and 12b.
pub async fn coordination_cost(paths: &Paths, table: &mut Table) -> Result<()> {
    let bucket = Bucket { name: "core".into(), requests: 1_000_000_000, per_ms: 1_000, burst: 1_000_000 };
    let (shared_p50, shared_p99) = percentiles(shared_draws(&bucket).await?);
    let (local_p50, local_p99) = percentiles(local_draws(&bucket).await);
    table.add(
        "12a. one rate-limit draw: shared bucket in Redis (p50 / p99) vs own bucket",
        format!("{} / {}", micros(shared_p50), micros(shared_p99)),
        format!("{} / {}", micros(local_p50), micros(local_p99)),
        shared_p50.as_secs_f64() / local_p50.as_secs_f64().max(1e-9),
        "p99 < 1 ms",
    );
    let api = mock(paths, &["--pages", &PAGES.to_string()])?;
    let plain = one_sync(paths, api.base_url(), "")?;
    let coordination = "\n[coordination]\nredis = { env = \"APIARY_BENCH_REDIS\" }\n";
    let coordinated = one_sync(paths, api.base_url(), coordination)?;
    let records = (PAGES * PER_PAGE) as f64;
    let (with, without) = (per_second(records, coordinated), per_second(records, plain));
    table.add(
        "12b. records/s of `apiary run` with coordination through Redis vs without (200 pages x 100)",
        format!("{with:.0}/s"),
        format!("{without:.0}/s"),
        with / without,
        ">= 0.9",
    );
    Ok(())
}

/// The time of each of [`DRAWS`] draws from `bucket` shared through the harness's Redis.
async fn shared_draws(bucket: &Bucket) -> Result<Vec<Duration>> {
    let config = CoordinationConfig { redis: UrlSource::Secret("redis".into()), lease_ttl: LeaseTtl::default() };
    let secrets = Secrets::from_values([("redis".to_string(), redis().url())]);
    let credential = CredentialId::of(&Auth::None, &Secrets::default());
    let budget = SharedBudget::new(&Coordinator::new(&config, &secrets)?, "bench", &credential);
    let quota = quota(bucket);
    let mut times = Vec::with_capacity(DRAWS);
    for _ in 0..DRAWS {
        let started = Instant::now();
        anyhow::ensure!(budget.try_draw("core", &quota).await? == Draw::Granted, "the bench bucket ran dry");
        times.push(started.elapsed());
    }
    Ok(times)
}

/// The time of each of [`DRAWS`] draws from `bucket` held by this process.
async fn local_draws(bucket: &Bucket) -> Vec<Duration> {
    let endpoint = Endpoint {
        name: "issues".into(),
        method: Method::Get,
        path: "/".into(),
        buckets: vec!["core".into()],
        max_in_flight: 1,
        primary_key: vec![],
        cursor_field: None,
        idempotency_key: None,
        schema: None,
    };
    let buckets = Buckets::new(std::slice::from_ref(bucket), &[endpoint]);
    let mut times = Vec::with_capacity(DRAWS);
    for _ in 0..DRAWS {
        let started = Instant::now();
        drop(buckets.acquire("issues").await);
        times.push(started.elapsed());
    }
    times
}

/// The median and the 99th percentile.
fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// One full sync in a fresh home with `extra` appended to the pipeline; its wall time.
fn one_sync(paths: &Paths, base_url: &str, extra: &str) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_file(dir.path(), &paths.github_wasm, PER_PAGE, &format!("{UNLIMITED}{extra}"))?;
    let mut command = std::process::Command::new(paths.release.join("apiary"));
    command.arg("--home").arg(dir.path().join("home")).args([
        "run",
        pipeline.to_str().unwrap(),
        "--base-url",
        base_url,
    ]);
    Ok(run_measured(command.env("APIARY_BENCH_REDIS", redis().url()), "apiary run")?.secs)
}
