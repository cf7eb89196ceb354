//! Runs caught halfway (issue 11, points 7, 10, 12): a resume checks what it resumes, counts
//! stay true across kills, SIGTERM stops cleanly and resumably, readers run beside a sync
//! without disturbing it, and a resume follows a new `--base-url`.

use std::collections::HashSet;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;

use crate::bad_input::assert_one_line_error;
use crate::resume::{UNLIMITED, generated_pipeline};

/// 200 pages of 5 records, each held 2 ms: a sync long enough to catch halfway.
const PAGES: &str = "200";
const RECORDS: usize = 1000;

fn slow_mock() -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), &["--pages", PAGES, "--latency-ms", "2"]).expect("mock starts")
}

/// The issue numbers written, checked to hold no record twice.
fn written(scratch: &Scratch) -> HashSet<u64> {
    let records = read_jsonl(&scratch.output("generated", "issues"));
    let numbers: HashSet<u64> = records.iter().map(|r| r["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers.len(), records.len(), "a record was written twice");
    numbers
}

/// Start a run of `pipeline` and kill it (SIGKILL) once its output holds `lines` lines.
fn kill_at(scratch: &Scratch, pipeline: &str, lines: usize) {
    let mut child = scratch.spawn_until_lines(&["run", pipeline], &scratch.output("generated", "issues"), lines);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Send SIGTERM to a running child.
fn terminate(child: &std::process::Child) {
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_resume_refuses_another_connector_and_keeps_the_interrupted_streams() {
    let api = slow_mock();
    let scratch = Scratch::new();
    let pipeline = generated_pipeline(&scratch, api.base_url(), "5");
    kill_at(&scratch, &pipeline, 200);

    // The same pipeline name with another connector: refused, naming --restart.
    let other = connector_wasm("versioned_v2");
    let spec = |connector, streams| PipelineSpec {
        name: "generated",
        connector,
        base_url: api.base_url(),
        streams,
        config: &[("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "5")],
        extra: UNLIMITED,
    };
    scratch.write("generated.toml", PipelineSpec { extra: "", ..spec(&other, &["issues"]) }.toml());
    assert_one_line_error(
        &scratch.apiary(&["run", &pipeline]),
        &["was interrupted with connector github", "--restart"],
    );

    // The same connector with other streams: the interrupted `issues` is resumed, with a warning.
    let github = connector_wasm("github_connector");
    scratch.write("generated.toml", spec(&github, &["labels"]).toml());
    let resumed = scratch.apiary(&["run", &pipeline]);
    assert!(resumed.success, "{resumed:?}");
    assert!(resumed.stdout.contains("resuming run 1's streams [issues]; the pipeline file now lists [labels]"));
    assert_eq!(written(&scratch).len(), RECORDS, "the interrupted stream was finished");
    assert!(!scratch.output("generated", "labels").exists(), "labels waits for the next run");
    let runs: serde_json::Value = serde_json::from_str(&scratch.apiary(&["runs", "--json"]).stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(
        (runs[0]["connector"]["name"].as_str(), runs[0]["streams"][0].as_str()),
        (Some("github"), Some("issues"))
    );
}

#[test]
fn counts_stay_true_across_kills() {
    let api = slow_mock();
    let scratch = Scratch::new();
    let pipeline = generated_pipeline(&scratch, api.base_url(), "5");
    for lines in [100, 300, 600] {
        kill_at(&scratch, &pipeline, lines);
    }
    let ran = scratch.apiary(&["run", &pipeline, "--json"]);
    assert!(ran.success, "{ran:?}");
    assert_eq!(written(&scratch).len(), RECORDS);

    let runs: serde_json::Value = serde_json::from_str(&scratch.apiary(&["runs", "--json"]).stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "one run, resumed three times");
    let counts = &runs[0]["counts"];
    assert_eq!(counts["records"], RECORDS, "records counted by every process: {counts}");
    assert_eq!(counts["pages"], 200, "{counts}");
    let requests = counts["requests"].as_u64().unwrap();
    let served = api.stats().unwrap().total;
    assert!((200..=served).contains(&requests), "{requests} requests counted, {served} served");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["streams"]["issues"]["records"], RECORDS, "the summary shows the whole run's counts");
}

#[test]
fn sigterm_finishes_the_pages_in_flight_and_the_run_resumes_to_a_clean_output() {
    let clean_api = slow_mock();
    let clean = Scratch::new();
    assert!(clean.apiary(&["run", &generated_pipeline(&clean, clean_api.base_url(), "5")]).success);
    let expected = std::fs::read(clean.output("generated", "issues")).unwrap();

    let api = slow_mock();
    let scratch = Scratch::new();
    let pipeline = generated_pipeline(&scratch, api.base_url(), "5");
    let child = scratch.spawn_until_lines(&["run", &pipeline], &scratch.output("generated", "issues"), 200);
    terminate(&child);
    let stopped: apiary_e2e::harness::Ran = child.wait_with_output().unwrap().into();
    assert_eq!(stopped.code, Some(130), "{stopped:?}");
    let cut = std::fs::read(scratch.output("generated", "issues")).unwrap();
    assert!(cut.len() < expected.len(), "stopped before the end");
    let runs: serde_json::Value = serde_json::from_str(&scratch.apiary(&["runs", "--json"]).stdout).unwrap();
    assert_eq!(runs[0]["outcome"]["state"], "interrupted", "{runs}");
    assert_eq!(runs[0]["counts"]["records"], cut.iter().filter(|c| **c == b'\n').count(), "pages in flight committed");

    let resumed = scratch.apiary(&["run", &pipeline]);
    assert!(resumed.success && resumed.stdout.contains("was interrupted; resumed it"), "{resumed:?}");
    assert!(std::fs::read(scratch.output("generated", "issues")).unwrap() == expected, "output differs from clean");
    let twice = api.stats().unwrap().by_request.values().filter(|n| **n > 1).count();
    assert!(twice <= 1, "at most the request in flight at the signal is fetched again: {twice}");
}

#[test]
fn readers_run_beside_a_sync_without_disturbing_it() {
    let api = slow_mock();
    let scratch = Scratch::new();
    let pipeline = generated_pipeline(&scratch, api.base_url(), "5");
    let mut sync = scratch.spawn_until_lines(&["run", &pipeline], &scratch.output("generated", "issues"), 50);
    let mut reads = 0;
    while sync.try_wait().unwrap().is_none() {
        for args in [&["runs"][..], &["dlq", "list"], &["raw", "list", "--json"]] {
            let read = scratch.apiary(args);
            assert!(read.success, "{args:?} while a sync runs: {read:?}");
        }
        reads += 1;
    }
    assert!(sync.wait().unwrap().success(), "the sync was not disturbed");
    assert!(reads >= 2, "the readers ran while the sync did ({reads} rounds)");
    assert_eq!(written(&scratch).len(), RECORDS);
    assert_eq!(api.stats().unwrap().by_request.values().filter(|n| **n > 1).count(), 0, "no page fetched twice");
}

#[test]
fn a_resume_follows_a_new_base_url() {
    let mut first = slow_mock();
    let scratch = Scratch::new();
    let pipeline = generated_pipeline(&scratch, first.base_url(), "5");
    kill_at(&scratch, &pipeline, 200);
    first.stop(); // the old base URL answers nothing from here on

    let second = slow_mock();
    let resumed = scratch.apiary(&["run", &pipeline, "--base-url", second.base_url()]);
    assert!(resumed.success && resumed.stdout.contains("was interrupted; resumed it"), "{resumed:?}");
    // A page stored but not parsed at the kill links to the old base URL: followed at the new.
    assert!(!resumed.stdout.contains("dead letter(s) added"), "{}", resumed.stdout);
    assert_eq!(written(&scratch).len(), RECORDS, "finished against the new base URL");
    let served = second.stats().unwrap().total;
    assert!((1..200).contains(&served), "the rest of the pages came from the new base URL: {served}");
    let raw: serde_json::Value = serde_json::from_str(&scratch.apiary(&["raw", "list", "--json"]).stdout).unwrap();
    for meta in raw.as_array().unwrap() {
        let url = meta["request"]["url"].as_str().unwrap();
        assert!(url.starts_with("/repos/apiary-mock/generated/issues?"), "stored relative: {url}");
    }
}
