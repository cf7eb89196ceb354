//! The walking skeleton: the github connector syncs the recorded paginated issues end to end.

use apiary_e2e::harness::{PipelineSpec, Scratch, connector_wasm, github_fixtures, read_jsonl};
use apiary_host::store::{RunOutcome, Store};

use crate::github_mock;

fn issues_pipeline(scratch: &Scratch, base_url: &str) -> std::path::PathBuf {
    let wasm = connector_wasm("github_connector");
    let spec = PipelineSpec {
        name: "github-issues",
        connector: &wasm,
        base_url,
        streams: &["issues"],
        config: &[("owner", "\"octokit-fixture-org\""), ("repo", "\"paginate-issues\""), ("per_page", "3")],
        extra: "",
    };
    scratch.write("github.toml", spec.toml())
}

/// The 13 issues of the recording, in the order the API served them.
fn recorded_issues() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(github_fixtures().join("paginate-issues.json")).unwrap();
    let pages: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    pages.iter().flat_map(|p| p["response"].as_array().unwrap().clone()).collect()
}

#[test]
fn syncs_every_recorded_issue_exactly_once_and_stores_the_raw_pages() {
    let mock = github_mock();
    let scratch = Scratch::new();
    let pipeline = issues_pipeline(&scratch, mock.base_url());

    let ran = scratch.apiary(&["run", pipeline.to_str().unwrap()]);
    assert!(ran.success, "{ran:?}");
    assert!(ran.stdout.contains("13"), "the summary counts the records: {}", ran.stdout);

    let written = read_jsonl(&scratch.output("github-issues", "issues"));
    let recorded = recorded_issues();
    assert_eq!(written.len(), 13);
    assert_eq!(written, recorded, "every issue once, in order, unchanged");
    assert_eq!(mock.stats().unwrap().total, 5, "five pages, each fetched once");

    let store = Store::open(&scratch.home().join("apiary.redb")).unwrap();
    let raw = store.raw_list(|_| true).unwrap();
    assert_eq!(raw.len(), 5);
    for (i, meta) in raw.iter().enumerate() {
        assert_eq!(meta.status, 200);
        assert_eq!(meta.stream, "issues");
        assert_eq!(meta.connector.api_version, "2022-11-28");
        let has_link = meta.headers.iter().any(|h| h.name == "link");
        assert_eq!(has_link, true, "page {i} keeps its Link header");
        let body: Vec<serde_json::Value> = serde_json::from_slice(&store.raw(meta.id).unwrap().body).unwrap();
        assert_eq!(body.len(), if i < 4 { 3 } else { 1 });
    }
    assert!(
        raw[1].request.url.contains("/repositories/1000/issues?per_page=3&page=2"),
        "the Link was followed as given"
    );
}

#[test]
fn a_second_run_adds_to_the_store_without_touching_the_first() {
    let mock = github_mock();
    let scratch = Scratch::new();
    let pipeline = issues_pipeline(&scratch, mock.base_url());
    assert!(scratch.apiary(&["run", pipeline.to_str().unwrap()]).success);
    let db = scratch.home().join("apiary.redb");
    let first: Vec<_> = {
        let store = Store::open(&db).unwrap();
        store.raw_list(|_| true).unwrap().into_iter().map(|m| store.raw(m.id).unwrap()).collect()
    };

    let ran = scratch.apiary(&["run", pipeline.to_str().unwrap()]);
    assert!(ran.success, "{ran:?}");

    let store = Store::open(&db).unwrap();
    let all = store.raw_list(|_| true).unwrap();
    assert_eq!(all.len(), 10);
    for before in &first {
        assert_eq!(&store.raw(before.meta.id).unwrap(), before, "stored exchange {} unchanged", before.meta.id);
    }
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.outcome == RunOutcome::Succeeded && r.counts.records == 13));
    assert!(all[5..].iter().all(|m| m.run == runs[1].id), "the second run's exchanges are its own");

    let written = read_jsonl(&scratch.output("github-issues", "issues"));
    assert_eq!(written.len(), 26, "each run appends its records");
    assert_eq!(written[..13], written[13..]);
}

#[test]
fn syncs_labels_and_inspects_the_connector() {
    let mock = github_mock();
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let spec = PipelineSpec {
        name: "labels",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["labels"],
        config: &[("owner", "\"octokit-fixture-org\""), ("repo", "\"labels\"")],
        extra: "",
    };
    let pipeline = scratch.write("labels.toml", spec.toml());
    let ran = scratch.apiary(&["run", pipeline.to_str().unwrap()]);
    assert!(ran.success, "{ran:?}");
    let labels = read_jsonl(&scratch.output("labels", "labels"));
    assert_eq!(labels.len(), 9, "every recorded label satisfies the schema labels declare");
    assert!(labels.iter().all(|l| l["id"].is_u64() && l["name"].is_string()));
    assert!(!ran.stdout.contains("dead letter(s) added"), "{}", ran.stdout);

    let inspected = scratch.apiary(&["inspect", wasm.to_str().unwrap(), "--json"]);
    assert!(inspected.success, "{inspected:?}");
    let json: serde_json::Value = serde_json::from_str(&inspected.stdout).unwrap();
    assert_eq!(json["manifest"]["api_version"], "2022-11-28");
    assert_eq!(json["manifest"]["buckets"][0]["requests"], 5000);
    assert_eq!(json["identity"]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(json["contract"], "0.4.x");
    let endpoints = json["manifest"]["endpoints"].as_array().unwrap();
    let labels_schema = &endpoints.iter().find(|e| e["name"] == "labels").unwrap()["schema"];
    assert_eq!(labels_schema["properties"]["id"]["type"], "integer", "shown as JSON, not as a string");
    let human = scratch.apiary(&["inspect", wasm.to_str().unwrap()]);
    assert!(human.stdout.contains("github 0.1.0 (API version 2022-11-28)"), "{}", human.stdout);
    assert!(human.stdout.contains("core: 5000 requests per 3600 s"), "{}", human.stdout);
    assert!(human.stdout.contains("declared schema of labels:"), "{}", human.stdout);
}
