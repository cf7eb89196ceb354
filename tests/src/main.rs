//! `apiary-mock`: the mock API server, on loopback. Prints `listening on http://127.0.0.1:PORT`
//! on its first line of stdout, then serves until killed.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::bail;
use apiary_e2e::{EndpointLimit, Faults, LargePages, MockConfig, RateResource, RedirectRule, ThrottleOnce, serve};
use clap::Parser;

/// The mock API server for apiary's tests and demo (loopback only).
#[derive(Debug, Parser)]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A loopback address to listen on (127.0.0.2 is another host than 127.0.0.1 to a client).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// A folder of octokit fixture files to replay.
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Pages in the generated collections (`/repos/{owner}/generated/issues`, `/search/issues`).
    #[arg(long, default_value_t = 20)]
    pages: u64,
    /// Pages of the large collection's `Link` chain (`/repos/{owner}/large/issues`); default `--pages`.
    #[arg(long)]
    large_pages: Option<u64>,
    /// Pages of the large collection's cursor chain (`/api/events`); default `--pages`.
    #[arg(long)]
    event_pages: Option<u64>,
    /// Fraction of requests answered 429 once.
    #[arg(long, default_value_t = 0.0)]
    fault_429: f64,
    /// `Retry-After` seconds sent with an injected 429.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Fraction of requests answered 500 or 503 once.
    #[arg(long, default_value_t = 0.0)]
    fault_5xx: f64,
    /// Fraction of requests whose connection is dropped mid-body once.
    #[arg(long, default_value_t = 0.0)]
    fault_reset: f64,
    /// Fraction of requests held for `--slow-ms` once.
    #[arg(long, default_value_t = 0.0)]
    fault_slow: f64,
    /// How long a slow response is held, in ms.
    #[arg(long, default_value_t = 5000)]
    slow_ms: u64,
    /// Fraction of requests answered 200 with a truncated body once.
    #[arg(long, default_value_t = 0.0)]
    fault_malformed: f64,
    /// Fraction of generated records served without their `id`, always the same ones.
    #[arg(long, default_value_t = 0.0)]
    fault_missing_id: f64,
    /// Seed choosing which requests get faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Enforce a rate limit: PATH_PART=REQUESTS/PER_MS/BURST (repeatable).
    #[arg(long = "limit")]
    limits: Vec<EndpointLimit>,
    /// Answer the request after AFTER on a --limit's path 429 with Retry-After SECONDS, and
    /// count requests on it within those seconds as violations: PATH_PART=AFTER/SECONDS.
    #[arg(long = "throttle-once")]
    throttles: Vec<ThrottleOnce>,
    /// Send Deprecation, Sunset and Link rel="deprecation" on paths containing this (repeatable).
    #[arg(long = "deprecate")]
    deprecated: Vec<String>,
    /// Hold every response this many ms: a real API's round trip.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Serve generated pages after the first N drifted: `comments` a string, `locked` gone,
    /// `importance` new (the same records every time).
    #[arg(long)]
    drift_after: Option<u64>,
    /// Answer 302 to TARGET_URL (or a path), query kept: PATH_PART=TARGET_URL (repeatable).
    #[arg(long = "redirect")]
    redirects: Vec<RedirectRule>,
    /// Report the named rate limit NAME on paths containing PATH_PART, used up by the first
    /// response for EXHAUSTED_S seconds when given: PATH_PART=NAME[/EXHAUSTED_S] (repeatable).
    #[arg(long = "rate-resource")]
    rate_resources: Vec<RateResource>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.bind.is_loopback() {
        bail!("--bind {}: the mock listens on loopback only (127.0.0.0/8 or ::1)", args.bind);
    }
    let listener = tokio::net::TcpListener::bind((args.bind, args.port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let faults = Faults {
        throttle: args.fault_429,
        retry_after_s: args.retry_after,
        server_error: args.fault_5xx,
        reset: args.fault_reset,
        slow: args.fault_slow,
        slow_ms: args.slow_ms,
        malformed: args.fault_malformed,
        missing_id: args.fault_missing_id,
        seed: args.seed,
    };
    serve(
        listener,
        MockConfig {
            fixtures: args.fixtures,
            pages: args.pages,
            large: LargePages {
                link: args.large_pages.unwrap_or(args.pages),
                cursor: args.event_pages.unwrap_or(args.pages),
            },
            faults,
            limits: args.limits,
            throttles: args.throttles,
            deprecated: args.deprecated,
            latency: std::time::Duration::from_millis(args.latency_ms),
            drift_after: args.drift_after,
            redirects: args.redirects,
            rate_resources: args.rate_resources,
        },
    )
    .await
}
