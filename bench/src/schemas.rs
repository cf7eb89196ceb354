//! Figure 8, what stream schemas cost: a whole sync with schema inference on vs off (the host's
//! internal setting; users have no switch), and the acceptance path alone on the stored pages
//! with inference off, on, and on with a declared JSON Schema validated on every record.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use apiary_host::accept::{self, PageOrigin, SchemaCheck, Verdict};
use apiary_host::config::Pipeline;
use apiary_host::home::Home;
use apiary_host::model::Page;
use apiary_host::policy::ConnectorLimits;
use apiary_host::progress::Quiet;
use apiary_host::runtime::{LoadedConnector, Runtime};
use apiary_host::schema::{Contract, DeclaredSchema, SchemaObserver, StreamSchema};
use apiary_host::store::{ExchangeId, Store};
use apiary_host::sync::{self, Inference, SyncSettings};

use crate::Paths;
use crate::children::{UNLIMITED, mock, pipeline_file};
use crate::figures::{Table, per_second};

/// Pages of 100 records each sync reads, and how many syncs of each kind (the best counts).
const PAGES: u64 = 300;
const ROUNDS: usize = 3;

/// 9a. Records/s of a whole sync in this process, inference on vs off, best of [`ROUNDS`] each
///     (alternating, so the machine's load falls on both alike).
pub async fn sync_cost(paths: &Paths, table: &mut Table) -> Result<()> {
    let mock = mock(paths, &["--pages", &PAGES.to_string()])?;
    let runtime = Runtime::new()?;
    let (mut on, mut off) = (0f64, 0f64);
    for _ in 0..ROUNDS {
        for inference in [Inference::On, Inference::Off] {
            let rate = one_sync(paths, &runtime, mock.base_url(), inference).await?;
            let best = if inference == Inference::On { &mut on } else { &mut off };
            *best = best.max(rate);
        }
    }
    table.add(
        "9a. records/s of a sync (300 pages x 100, loopback), schema inference on vs off",
        format!("{on:.0}/s"),
        format!("{off:.0}/s"),
        on / off,
        ">= 0.95",
    );
    Ok(())
}

/// One sync of the generated issues into a fresh home; its records/s.
async fn one_sync(paths: &Paths, runtime: &Runtime, base_url: &str, inference: Inference) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let mut pipeline = Pipeline::load(&pipeline_file(dir.path(), &paths.github_wasm, 100, UNLIMITED)?)?;
    pipeline.set_base_url(base_url).map_err(anyhow::Error::msg)?;
    let settings = SyncSettings { inference, ..SyncSettings::default() };
    let report = sync::run(&pipeline, &Home::new(dir.path().join("home")), runtime, settings, Arc::new(Quiet)).await?;
    anyhow::ensure!(report.run.counts.records == PAGES * 100, "every record written");
    Ok(per_second(report.run.counts.records as f64, report.elapsed.as_secs_f64()))
}

/// 9b. The acceptance path alone over the host-overhead run's stored pages (parsed once by the
///     github connector in wasm): records/s with inference off, on, and on plus a declared
///     schema (the pages' own inferred schema as JSON Schema) validated on every record.
pub async fn judge_cost(paths: &Paths, table: &mut Table) -> Result<()> {
    let store =
        Store::open(&crate::in_process::home_dir(crate::in_process::Collection::Generated)?.join("home/apiary.redb"))?;
    let metas = store.raw_list(|_| true)?.into_iter().take(200).collect::<Vec<_>>();
    let connector = LoadedConnector::load(&Runtime::new()?, &paths.github_wasm, ConnectorLimits::default())?;
    let mut pages = Vec::new();
    for meta in &metas {
        let page = connector.parse(&store.raw(meta.id)?.to_exchange())?.map_err(|e| anyhow::anyhow!("{e}"))?;
        pages.push((meta.request.clone(), page));
    }
    let records: usize = pages.iter().map(|(_, p)| p.records.len()).sum();
    let schema = StreamSchema::infer(pages.iter().flat_map(|(_, p)| p.records.iter().map(|r| r.json.as_str())))?;
    let declared = DeclaredSchema::compile("issues", &schema.to_json_schema().to_string())?;
    let rate = |inference: Inference, declared: Option<&DeclaredSchema>| -> Result<f64> {
        let mut best = 0f64;
        for _ in 0..ROUNDS {
            let copies: Vec<(apiary_host::model::Request, Page)> = pages.clone();
            let mut observer = SchemaObserver::new(Some(&schema));
            let observer = (inference == Inference::On).then_some(&mut observer);
            let mut check = SchemaCheck { observer, contract: Contract::Evolve, declared };
            let started = Instant::now();
            for (request, page) in copies {
                let origin = PageOrigin { stream: "issues", request: &request, exchange: ExchangeId(0) };
                let Verdict::Accept(accepted) = accept::judge(origin, Ok(Ok(page)), connector.limits(), &mut check)
                else {
                    anyhow::bail!("a stored page was not accepted");
                };
                anyhow::ensure!(accepted.letters.is_empty(), "every record passes: {:?}", accepted.letters.first());
            }
            best = best.max(per_second(records as f64, started.elapsed().as_secs_f64()));
        }
        Ok(best)
    };
    let off = rate(Inference::Off, None)?;
    let on = rate(Inference::On, None)?;
    let validated = rate(Inference::On, Some(&declared))?;
    table.add(
        "9b. records/s through the acceptance path, inference on / on + declared schema vs off",
        format!("{on:.0}/s / {validated:.0}/s"),
        format!("{off:.0}/s"),
        on / off,
        "inference >= 0.95 of a sync (9a); validation shown",
    );
    Ok(())
}
