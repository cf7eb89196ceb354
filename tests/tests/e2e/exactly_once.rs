//! Replay never writes a page twice (issue 11, points 4, 5, 6): letters of a re-parse belong to
//! the re-parse's output, a replay killed halfway and finished by `apiary run` leaves nothing
//! open, and a plain run that completes a failed request settles its letter. Also: a re-parse
//! names the connector it expects, unless forced.

use std::collections::HashSet;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;

use crate::bad_input::assert_one_line_error;

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

/// The versioned connector (`v1` breaks on page 3, `v2` is fixed), 5 records a page.
fn versioned(scratch: &Scratch, release: &str, base_url: &str, extra: &str) -> String {
    let wasm = connector_wasm(&format!("versioned_{release}"));
    let spec = PipelineSpec { name: "versioned", connector: &wasm, base_url, streams: &["issues"], config: &[], extra };
    scratch.write("versioned.toml", spec.toml()).to_str().unwrap().to_string()
}

/// The output's record ids, checked to hold no record twice.
fn unique_ids(scratch: &Scratch) -> HashSet<u64> {
    let records = read_jsonl(&scratch.output("versioned", "issues"));
    let ids: HashSet<u64> = records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), records.len(), "a record was written twice");
    ids
}

/// `dlq replay` of the pipeline replays nothing and writes nothing.
fn assert_nothing_to_replay(scratch: &Scratch, pipeline: &str) {
    let before = std::fs::read(scratch.output("versioned", "issues")).unwrap();
    let replayed = scratch.apiary(&["dlq", "replay", pipeline, "--json"]);
    assert!(replayed.success, "{replayed:?}");
    let report: serde_json::Value = serde_json::from_str(&replayed.stdout).unwrap();
    assert_eq!(report["replayed"], 0, "no letter is left open: {report}");
    assert!(std::fs::read(scratch.output("versioned", "issues")).unwrap() == before, "the replay wrote records");
}

#[test]
fn a_reparse_with_a_failing_connector_leaves_nothing_for_replay_to_duplicate() {
    let api = mock(&["--pages", "6"]);
    let scratch = Scratch::new();
    let fixed = versioned(&scratch, "v2", api.base_url(), "");
    assert!(scratch.apiary(&["run", &fixed]).success);
    assert_eq!(unique_ids(&scratch).len(), 30);

    let broken = connector_wasm("versioned_v1");
    let reparsed = scratch.apiary(&["reparse", &fixed, "--connector", broken.to_str().unwrap(), "--json"]);
    assert!(reparsed.success, "{reparsed:?}");
    let report: serde_json::Value = serde_json::from_str(&reparsed.stdout).unwrap();
    assert_eq!((report["failed_pages"].as_u64(), report["created"].as_u64()), (Some(1), Some(1)), "{report}");
    let letters: serde_json::Value = serde_json::from_str(&scratch.apiary(&["dlq", "list", "--json"]).stdout).unwrap();
    assert_eq!(letters[0]["origin"], "reparse", "the page-3 letter belongs to the re-parse: {letters}");

    let served = api.stats().unwrap().total;
    assert_nothing_to_replay(&scratch, &fixed);
    assert_eq!(api.stats().unwrap().total, served, "nothing fetched again");
    assert_eq!(unique_ids(&scratch).len(), 30);
}

#[test]
fn a_reparse_with_another_connectors_name_is_refused_unless_forced() {
    let api = mock(&["--pages", "2"]);
    let scratch = Scratch::new();
    let fixed = versioned(&scratch, "v2", api.base_url(), "");
    assert!(scratch.apiary(&["run", &fixed]).success);
    let github = connector_wasm("github_connector");
    assert_one_line_error(
        &scratch.apiary(&["reparse", &fixed, "--connector", github.to_str().unwrap()]),
        &["fetched by connector `versioned`", "is connector `github`", "--force"],
    );
    assert!(!scratch.home().join("out/versioned/reparse-1").exists(), "a refused re-parse writes nothing");
    let forced = scratch.apiary(&["reparse", &fixed, "--connector", github.to_str().unwrap(), "--force", "--json"]);
    assert!(forced.success, "{forced:?}");
    let report: serde_json::Value = serde_json::from_str(&forced.stdout).unwrap();
    assert_eq!(report["records"], 10, "the generated issues parse as GitHub issues: {report}");
}

#[test]
fn a_replay_killed_halfway_is_finished_by_run_and_never_replayed_twice() {
    let api = mock(&["--pages", "200", "--latency-ms", "2"]);
    let scratch = Scratch::new();
    let broken = versioned(&scratch, "v1", api.base_url(), "");
    assert!(scratch.apiary(&["run", &broken]).success, "pages 1-2 written, page 3 a parse letter");
    let fixed = versioned(&scratch, "v2", api.base_url(), "");

    // The replay parses page 3 from storage, then follows pages 4 to 200: kill it on the way.
    let output = scratch.output("versioned", "issues");
    let mut replay = scratch.spawn_until_lines(&["dlq", "replay", &fixed], &output, 200);
    replay.kill().unwrap(); // SIGKILL, mid-replay
    replay.wait().unwrap();

    let finished = scratch.apiary(&["run", &fixed]);
    assert!(finished.success && finished.stdout.contains("was interrupted; resumed it"), "{finished:?}");
    assert_eq!(unique_ids(&scratch).len(), 1000, "every record once after the resume");
    assert_nothing_to_replay(&scratch, &fixed);
    assert_eq!(unique_ids(&scratch).len(), 1000);
}

#[test]
fn a_plain_run_that_completes_a_failed_request_settles_its_letter() {
    // Every distinct request fails once (500 or 503), then succeeds.
    let api = mock(&["--pages", "4", "--fault-5xx", "1.0"]);
    let scratch = Scratch::new();
    let one_try = versioned(&scratch, "v2", api.base_url(), "[retry]\nmax-attempts = 1\n");
    let failed = scratch.apiary(&["run", &one_try]);
    assert!(failed.success && failed.stdout.contains("1 dead letter(s) added"), "{failed:?}");
    assert!(!scratch.output("versioned", "issues").exists(), "nothing written");

    let two_tries = versioned(&scratch, "v2", api.base_url(), "[retry]\nmax-attempts = 2\nbase-ms = 1\nmax-ms = 1\n");
    assert!(scratch.apiary(&["run", &two_tries]).success);
    assert_eq!(unique_ids(&scratch).len(), 20, "the second run fetched every page");
    let all: serde_json::Value =
        serde_json::from_str(&scratch.apiary(&["dlq", "list", "--all", "--json"]).stdout).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all[0]["resolved_by"], 2, "the run that completed the request resolved its letter: {all}");

    let served = api.stats().unwrap().total;
    assert_nothing_to_replay(&scratch, &two_tries);
    assert_eq!(api.stats().unwrap().total, served, "nothing fetched again");
    assert_eq!(unique_ids(&scratch).len(), 20);
}
