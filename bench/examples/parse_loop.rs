//! Parse the large collection's pages in a loop, in wasm through the host or natively, to
//! profile where parse time goes:
//! `APIARY_PERFMAP=1 perf record -g target/release/examples/parse_loop wasm 20` (the variable
//! makes the engine write a perf map, so the connector's functions have names).
//!
//! `parse_loop wasm|native [SECONDS]` prints MB/s by the thread's CPU time: the mean, and the
//! best round (other work on the machine slows rounds down, never up).

use anyhow::{Context, Result, bail};
use apiary_host::model::{Exchange, Method, Request, Response};
use apiary_host::policy::ConnectorLimits;
use apiary_host::runtime::{LoadedConnector, Runtime};
use apiary_sdk::Connector;

/// Distinct pages parsed round-robin (100 records of ~1.5 KB each).
const PAGES: u64 = 50;

fn main() -> Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let seconds: f64 = std::env::args().nth(2).map_or(Ok(5.0), |s| s.parse()).context("SECONDS is a number")?;
    let pages: Vec<Exchange> = (1..=PAGES).map(page).collect();
    let bytes_per_round: usize = pages.iter().map(|x| x.response.body.len()).sum();
    // One round of the chosen parser over every page.
    let mut round: Box<dyn FnMut() -> Result<()>> = match mode.as_str() {
        "native" => {
            let native: Vec<apiary_sdk::Exchange> = pages.iter().map(to_sdk).collect();
            Box::new(move || {
                for x in &native {
                    std::hint::black_box(bench_connector::Bench::parse(x).map_err(|e| anyhow::anyhow!("{e:?}"))?);
                }
                Ok(())
            })
        }
        "wasm" => {
            let exe = std::env::current_exe()?;
            let target = exe.ancestors().nth(3).context("target folder")?;
            let wasm = target.join("wasm32-wasip2/release/bench_connector.wasm");
            let connector = LoadedConnector::load(&Runtime::new()?, &wasm, ConnectorLimits::default())?;
            Box::new(move || {
                for x in &pages {
                    std::hint::black_box(connector.parse(x)?.map_err(|e| anyhow::anyhow!("{e:?}"))?);
                }
                Ok(())
            })
        }
        _ => bail!("usage: parse_loop wasm|native [SECONDS]"),
    };
    let (started, mut rounds, mut best) = (cpu_secs(), 0, f64::MAX);
    while cpu_secs() - started < seconds {
        let round_started = cpu_secs();
        round()?;
        best = best.min(cpu_secs() - round_started);
        rounds += 1;
    }
    let mb = bytes_per_round as f64 / 1e6;
    let mean = mb * f64::from(rounds) / (cpu_secs() - started);
    println!("{mode}: {mean:.0} MB/s mean, {:.0} MB/s best round ({rounds} rounds of {PAGES} pages)", mb / best);
    Ok(())
}

/// Page `n` of the `Link` chain as the host stores it.
fn page(n: u64) -> Exchange {
    Exchange {
        request: Request {
            endpoint: "issues".into(),
            method: Method::Get,
            url: format!("/repos/apiary-mock/large/issues?per_page=100&page={n}"),
            headers: vec![],
            body: None,
        },
        response: Response {
            status: 200,
            headers: vec![],
            body: apiary_e2e::link_page(n, 100, PAGES, &|_| false).into_bytes(),
        },
        fetched_at_ms: 0,
    }
}

fn to_sdk(x: &Exchange) -> apiary_sdk::Exchange {
    apiary_sdk::Exchange {
        request: apiary_sdk::Request::get(&x.request.endpoint, x.request.url.clone()),
        response: apiary_sdk::Response { status: 200, headers: vec![], body: x.response.body.clone() },
        fetched_at_ms: 0,
    }
}

/// CPU seconds this thread has used.
fn cpu_secs() -> f64 {
    // SAFETY: plain libc call writing into a local timespec.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}
