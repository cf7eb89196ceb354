//! Figure 1c: a `Link` chain behind 30 ms of API latency, on an endpoint that declares the API
//! takes four requests at once (the bench connector's `issues_in_flight_4`). `apiary run`
//! sends the chain's pages ahead, counting the `page` parameter on, up to four at once
//! (`sync/send_ahead`); a bare loop, like any client that follows `Link` one page at a time,
//! waits out the latency of every page in turn.

use anyhow::{Result, ensure};

use crate::Paths;
use crate::children::{bare_loop, mock, run_apiary};
use crate::figures::{Table, per_second};
use crate::peer::{PER_PAGE, count_lines, pipeline_file};

/// Pages of the chain.
const PAGES: u64 = 100;

/// The bench connector's stream on the endpoint allowing four requests in flight.
const STREAM: &str = "issues_in_flight_4";

/// 1c. records/s of `apiary run` over the bare loop's, both behind 30 ms of latency.
pub async fn counted_chain_ahead(paths: &Paths, table: &mut Table) -> Result<()> {
    let mock = mock(paths, &["--large-pages", &PAGES.to_string(), "--event-pages", "1", "--latency-ms", "30"])?;
    let bare_secs =
        bare_loop(&format!("{}/repos/apiary-mock/large/issues?per_page={PER_PAGE}", mock.base_url())).await?;
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_file(dir.path(), &paths.bench_wasm, &[STREAM])?;
    let secs = run_apiary(paths, &dir.path().join("home"), &pipeline, mock.base_url())?.secs;
    let (records, written) =
        (PAGES * PER_PAGE, count_lines(&dir.path().join(format!("home/out/large/{STREAM}.jsonl")))?);
    ensure!(written == records, "apiary wrote {written} records, expected {records}");
    let (apiary, bare) = (per_second(records as f64, secs), per_second(records as f64, bare_secs));
    table.add(
        "1c. records/s with 30 ms API latency, `Link` chain on an endpoint allowing 4 in flight, `apiary run` vs bare loop (100 pages x 100, 1.5 KB)",
        format!("{apiary:.0}/s ({secs:.1} s)"),
        format!("{bare:.0}/s ({bare_secs:.1} s)"),
        apiary / bare,
        ">= 2",
    );
    Ok(())
}
