//! Figure 11: the same sync into PostgreSQL (the test harness's PostgreSQL 15 cluster on loopback,
//! exactly-once loading: loads table, binary `COPY` into staging, one upsert per stream per
//! batch) and into JSONL files, as records per second of the whole `apiary run`.

use anyhow::{Context, Result};
use apiary_e2e::services::postgres;

use crate::Paths;
use crate::children::{mock, timed_sync};
use crate::figures::{Table, per_second};

/// Pages and records per page (GitHub issue-like records, ~1.2 KB).
const PAGES: u64 = 500;
const PER_PAGE: u64 = 100;

/// The environment variable the pipeline reads the database URL from.
const URL_VAR: &str = "APIARY_BENCH_PG_URL";

/// Figure 11: records/s of `apiary run` into PostgreSQL next to JSONL.
pub fn postgres_vs_jsonl(paths: &Paths, table: &mut Table) -> Result<()> {
    let api = mock(paths, &["--pages", &PAGES.to_string()])?;
    let url = postgres().create_database(&format!("bench_sink_{}", std::process::id()));
    create_schema(&url)?;
    let env = [(URL_VAR, url.as_str())];
    let jsonl_secs = timed_sync(paths, api.base_url(), PER_PAGE, "", &env)?;
    let sink = format!("\n[sink]\nkind = \"postgres\"\nurl = {{ env = \"{URL_VAR}\" }}\nschema = \"bench\"\n");
    let pg_secs = timed_sync(paths, api.base_url(), PER_PAGE, &sink, &env)?;
    let records = (PAGES * PER_PAGE) as f64;
    let (pg, jsonl) = (per_second(records, pg_secs), per_second(records, jsonl_secs));
    table.add(
        "11. records/s of `apiary run` into PostgreSQL vs into JSONL (500 pages x 100)",
        format!("{pg:.0}/s ({pg_secs:.1} s)"),
        format!("{jsonl:.0}/s ({jsonl_secs:.1} s)"),
        pg / jsonl,
        ">= 0.5",
    );
    Ok(())
}

/// Create schema `bench` in the database at `url`.
fn create_schema(url: &str) -> Result<()> {
    // On a thread of its own, with a runtime of its own: the benchmark's main is async.
    std::thread::scope(|scope| {
        let created = scope.spawn(|| -> Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client.batch_execute("CREATE SCHEMA bench").await
            })?;
            Ok(())
        });
        created.join().expect("the schema thread")
    })
    .context("creating the benchmark's schema")
}
