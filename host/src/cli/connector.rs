//! The commands for connector authors: `new` and `test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use apiary_host::fixtures::run_fixtures;
use apiary_host::home::Home;
use apiary_host::policy::ConnectorLimits;
use apiary_host::runtime::LoadedConnector;
use apiary_host::scaffold::{SdkSource, scaffold};

/// `apiary new NAME [--dir D] [--sdk PATH]`.
pub fn new(name: &str, dir: &Path, sdk: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let sdk = sdk.map_or(SdkSource::Registry, SdkSource::Path);
    let root = scaffold(name, dir, &sdk)?;
    println!("created connector `{name}` in {}", root.display());
    println!("next:  cd {}", root.display());
    println!("       cargo test                                    # replays fixtures/items.json");
    println!("       cargo build --release --target wasm32-wasip2  # the component");
    Ok(ExitCode::SUCCESS)
}

/// `apiary test CONNECTOR.wasm --fixtures DIR [--endpoint E]`: exit 1 when a fixture fails.
pub fn test(home: &Home, wasm: &Path, fixtures: &Path, endpoint: &str, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime(home)?;
    let connector = LoadedConnector::load(&runtime, wasm, ConnectorLimits::default())?;
    let report = run_fixtures(&connector, fixtures, endpoint)?;
    let outcomes = &report.outcomes;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for skipped in &report.skipped {
            println!("skip  {}  (another endpoint's exchange, in {})", skipped.request, skipped.file.display());
        }
        for o in outcomes {
            match &o.result {
                Ok(p) => println!(
                    "ok    {}  {} records, {} rejects, next: [{}]{}",
                    o.url,
                    p.records,
                    p.rejects,
                    p.next.join(", "),
                    p.checkpoint.as_ref().map(|c| format!(", checkpoint {c}")).unwrap_or_default()
                ),
                Err(e) => println!("FAIL  {}  {e}", o.url),
            }
        }
        println!("{} passed, {} failed, {} skipped", outcomes.len() - failed, failed, report.skipped.len());
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
