//! Stream schemas against the mock API's drift switch (after N pages the generated issues have
//! `comments` as a string, no `locked`, a new `importance`): evolve records the drift, freeze
//! holds exactly the drifted records until `schema accept` and `dlq replay` load them once;
//! declared schemas are enforced, an invalid one is refused at load; a 0.1 connector still syncs.

use std::collections::HashSet;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;
use serde_json::Value;

/// Pages of 5 generated issues: the first run's mock and the drifting one.
const PAGES: &str = "4";

fn mock(drift_after: Option<&str>) -> MockProcess {
    let mut args = vec!["--pages", PAGES];
    if let Some(n) = drift_after {
        args.extend(["--drift-after", n]);
    }
    MockProcess::start(&binary("apiary-mock"), &args).expect("mock starts")
}

/// The github connector on the generated issues, 5 a page.
fn github_pipeline(scratch: &Scratch, base_url: &str, extra: &str) -> String {
    let wasm = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "5")];
    let spec = PipelineSpec { name: "gh", connector: &wasm, base_url, streams: &["issues"], config: &config, extra };
    scratch.write("gh.toml", spec.toml()).to_str().unwrap().to_string()
}

/// A pipeline `name` of every stream of test connector `wasm`; the path of its file.
fn plain_pipeline(scratch: &Scratch, name: &str, wasm: &str, base_url: &str) -> String {
    let wasm = connector_wasm(wasm);
    let spec = PipelineSpec { name, connector: &wasm, base_url, streams: &[], config: &[], extra: "" };
    scratch
        .write(&format!("{name}-{}.toml", wasm.file_stem().unwrap().to_str().unwrap()), spec.toml())
        .to_str()
        .unwrap()
        .to_string()
}

fn json(ran: &apiary_e2e::harness::Ran) -> Value {
    assert!(ran.success, "{ran:?}");
    serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
}

/// (path, change kind, records) of each drift entry.
fn drift_of(changes: &Value) -> Vec<(String, String, u64)> {
    let entries = changes["changes"].as_array().expect("changes");
    entries
        .iter()
        .map(|c| {
            let kind = c["change"]["change"].as_str().unwrap().to_string();
            (c["path"].as_str().unwrap().to_string(), kind, c["records"].as_u64().unwrap())
        })
        .collect()
}

fn the_three_drifts(records: u64) -> Vec<(String, String, u64)> {
    vec![
        ("comments".into(), "type_changed".into(), records),
        ("importance".into(), "added".into(), records),
        ("locked".into(), "gone".into(), records),
    ]
}

#[test]
fn evolve_loads_everything_and_records_the_three_drifts_with_counts() {
    // Every page drifted: a field is only gone when no record has it.
    let (usual, drifting) = (mock(None), mock(Some("0")));
    let scratch = Scratch::new();
    let pipeline = github_pipeline(&scratch, usual.base_url(), "");
    let first = scratch.apiary(&["run", &pipeline]);
    assert!(first.success && !first.stdout.contains("drifted"), "no baseline, no drift: {first:?}");

    let second = scratch.apiary(&["run", &pipeline, "--base-url", drifting.base_url()]);
    assert!(second.success, "{second:?}");
    assert_eq!(
        second.stdout.matches("drifted from its schema").count(),
        1,
        "one warning per stream: {}",
        second.stdout
    );
    for line in [
        "field comments changed type from integer to string in 20 records, e.g. record 1000000001",
        "field importance added (integer) in 20 records",
        "field locked gone: missing from 20 records",
    ] {
        assert!(second.stdout.contains(line), "{line}: {}", second.stdout);
    }
    let report = json(&scratch.apiary(&["run", &pipeline, "--base-url", drifting.base_url(), "--json"]));
    assert_eq!(drift_of(&report["schema_drift"]["issues"]), the_three_drifts(20));
    assert_eq!(report["streams"]["issues"]["records"], 20, "evolve loads every record");
    assert_eq!(report["streams"]["issues"]["dead_letters"], 0);

    let shown = json(&scratch.apiary(&["schema", "show", "gh", "--json"]));
    assert_eq!(shown[0]["accepted"]["source"], "inferred", "the first run's schema is kept: {shown}");
    assert_eq!(shown[0]["accepted"]["from_run"], 1);
    assert_eq!(
        (shown[0]["latest"]["run"].as_u64(), shown[0]["latest"]["api_version"].as_str()),
        (Some(3), Some("2022-11-28"))
    );
    assert_eq!(drift_of(&shown[0]["latest"]["drift"]), the_three_drifts(20));
    let human = scratch.apiary(&["schema", "show", &pipeline, "--stream", "issues"]);
    assert!(
        human.stdout.contains("accepted schema: inferred from run 1") && human.stdout.contains("user.login"),
        "{}",
        human.stdout
    );

    let diff = json(&scratch.apiary(&["schema", "diff", "gh", "--from", "run:1", "--to", "2", "--json"]));
    assert_eq!(drift_of(&diff["streams"]["issues"]), the_three_drifts(20));
    let same = scratch.apiary(&["schema", "diff", "gh", "--from", "2", "--to", "3"]);
    assert!(same.stdout.contains("the same shape"), "{same:?}");
    let nothing = scratch.apiary(&["schema", "diff", "gh", "--from", "run:9", "--to", "run:1", "--stream", "issues"]);
    assert!(!nothing.success && nothing.stderr.contains("no schema of stream issues"), "{nothing:?}");
}

#[test]
fn freeze_holds_exactly_the_drifted_records_until_accept_and_replay_load_them_once() {
    let (usual, drifting) = (mock(None), mock(Some("2")));
    let scratch = Scratch::new();
    let pipeline = github_pipeline(&scratch, usual.base_url(), "[schema]\ncontract = \"freeze\"\n");
    assert!(scratch.apiary(&["run", &pipeline]).success);

    let report = json(&scratch.apiary(&["run", &pipeline, "--base-url", drifting.base_url(), "--json"]));
    let counts = &report["streams"]["issues"];
    assert_eq!((counts["records"].as_u64(), counts["dead_letters"].as_u64()), (Some(10), Some(10)));
    assert_eq!(drifting.stats().unwrap().total, 4, "four pages of five records served");
    let served = 4 * 5;
    assert_eq!(counts["records"].as_u64().unwrap() + counts["dead_letters"].as_u64().unwrap(), served);
    let letters = json(&scratch.apiary(&["dlq", "list", "--json"]));
    let letters = letters.as_array().unwrap();
    assert_eq!(letters.len(), 10);
    for letter in letters {
        let error = letter["error"].as_str().unwrap();
        assert_eq!(letter["stage"], "record");
        assert!(
            error.contains("field comments changed type from integer to string")
                && error.contains("field importance is new (integer)"),
            "{error}"
        );
        assert!(letter["payload"].as_str().unwrap().contains("\"importance\""), "the letter holds the record");
    }

    let held = json(&scratch.apiary(&["dlq", "replay", &pipeline, "--json"]));
    assert_eq!((held["resolved"].as_array().unwrap().len(), held["unresolved"].as_array().unwrap().len()), (0, 10));

    let accepted = scratch.apiary(&["schema", "accept", "gh", "--stream", "issues"]);
    assert!(
        accepted.success && accepted.stdout.contains("schema run 2 observed (25 fields, 20 records)"),
        "{accepted:?}"
    );
    let replayed = json(&scratch.apiary(&["dlq", "replay", &pipeline, "--json"]));
    assert_eq!(replayed["resolved"].as_array().unwrap().len(), 10, "{replayed}");
    let again = json(&scratch.apiary(&["dlq", "replay", &pipeline, "--json"]));
    assert_eq!(again["replayed"], 0, "nothing left to replay");

    let output = read_jsonl(&scratch.output("gh", "issues"));
    let drifted: Vec<&Value> = output.iter().filter(|r| r.get("importance").is_some()).collect();
    let ids: HashSet<u64> = drifted.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!((drifted.len(), ids.len()), (10, 10), "each held record loaded exactly once");
    assert_eq!(output.len(), 20 + 10 + 10, "run 1, run 2's unchanged pages, the replayed records");
}

#[test]
fn a_declared_schema_is_enforced_and_an_invalid_one_is_refused_at_load() {
    let drifting = MockProcess::start(&binary("apiary-mock"), &["--pages", "3", "--drift-after", "2"]).unwrap();
    let scratch = Scratch::new();
    let pipeline = plain_pipeline(&scratch, "declared", "declared_connector", drifting.base_url());
    let report = json(&scratch.apiary(&["run", &pipeline, "--json"]));
    let counts = &report["streams"]["issues"];
    assert_eq!((counts["records"].as_u64(), counts["dead_letters"].as_u64()), (Some(10), Some(5)));
    let letters = json(&scratch.apiary(&["dlq", "list", "--json"]));
    for letter in letters.as_array().unwrap() {
        let error = letter["error"].as_str().unwrap();
        assert!(error.starts_with("record does not match the declared schema at /comments:"), "{error}");
        assert!(error.contains("integer"), "the validator's message: {error}");
    }
    let shown = json(&scratch.apiary(&["schema", "show", "declared", "--json"]));
    assert_eq!(shown[0]["accepted"]["source"], "declared");

    let ran = scratch.apiary(&["run", &plain_pipeline(&scratch, "invalid", "declared_invalid", drifting.base_url())]);
    assert!(!ran.success);
    assert!(ran.stderr.contains("endpoint issues declares a schema that is not valid JSON Schema"), "{}", ran.stderr);
    assert_eq!(ran.stderr.trim().lines().count(), 1, "one line: {}", ran.stderr);
    let inspected = scratch.apiary(&["inspect", connector_wasm("declared_invalid").to_str().unwrap()]);
    assert!(!inspected.success && inspected.stderr.contains("endpoint issues declares"), "{inspected:?}");
}

#[test]
fn connectors_of_0_1_0_2_and_0_3_still_sync_and_impact_tells_how_the_data_changed_at_the_next_api_version() {
    let (usual, drifting) = (mock(None), mock(Some("0")));
    let scratch = Scratch::new();
    let mut synced = Vec::new();
    for (wasm, contract) in [("legacy_v0_2", "0.2.x"), ("legacy_v0_3", "0.3.x")] {
        let frozen = (Scratch::new(), connector_wasm(wasm));
        let inspected = json(&frozen.0.apiary(&["inspect", frozen.1.to_str().unwrap(), "--json"]));
        assert_eq!(inspected["contract"], contract, "a connector built against {contract} still loads");
        let pipeline = plain_pipeline(&frozen.0, "frozen", wasm, usual.base_url());
        let report = json(&frozen.0.apiary(&["run", &pipeline, "--json"]));
        assert_eq!(report["streams"]["issues"]["records"], 20, "a {contract} connector syncs");
        synced.push(std::fs::read_to_string(frozen.0.output("frozen", "issues")).unwrap());
    }
    assert_eq!(synced[0], synced[1], "0.3's scan-records (a list of records) finds what serde_json does");

    let legacy = connector_wasm("legacy_connector");
    let inspected = json(&scratch.apiary(&["inspect", legacy.to_str().unwrap(), "--json"]));
    assert_eq!(inspected["contract"], "0.1.x");
    assert!(inspected["manifest"]["endpoints"][0].get("schema").is_none(), "0.1 declares no schema");
    let v1 = plain_pipeline(&scratch, "p", "legacy_connector", usual.base_url());
    let report = json(&scratch.apiary(&["run", &v1, "--json"]));
    assert_eq!(report["streams"]["issues"]["records"], 20, "a 0.1 connector syncs");
    assert_eq!(report["run"]["connector"]["api_version"], "2024-01-01");

    let v2 = plain_pipeline(&scratch, "p", "declared_connector", drifting.base_url());
    assert!(scratch.apiary(&["run", &v2]).success);

    let impact = json(&scratch.apiary(&["impact", "--api-version", "2024-01-01", "--json"]));
    let change = &impact["pipelines"][0]["schema_changes"][0];
    assert_eq!((change["stream"].as_str(), change["next_version"].as_str()), (Some("issues"), Some("2025-01-01")));
    assert_eq!(drift_of(&change["drift"]), the_three_drifts(20));
    let human = scratch.apiary(&["impact", "--api-version", "2024-01-01"]);
    assert!(human.stdout.contains("p stream issues: from API 2024-01-01 to 2025-01-01:"), "{}", human.stdout);
    let diff =
        json(&scratch.apiary(&["schema", "diff", "p", "--from", "api:2024-01-01", "--to", "2025-01-01", "--json"]));
    assert_eq!(drift_of(&diff["streams"]["issues"]), the_three_drifts(20));
}
