//! The dead-letter queue from the command line: list, show, replay with a fixed connector
//! (pagination continues past the bad page), purge.

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;

fn versioned_pipeline(scratch: &Scratch, base_url: &str, release: &str) -> String {
    let wasm = connector_wasm(&format!("versioned_{release}"));
    let spec =
        PipelineSpec { name: "versioned", connector: &wasm, base_url, streams: &["issues"], config: &[], extra: "" };
    scratch.write("versioned.toml", spec.toml()).to_str().unwrap().to_string()
}

#[test]
fn replay_with_a_fixed_connector_resolves_the_letter_and_finishes_the_stream() {
    let mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "6"]).unwrap();
    let scratch = Scratch::new();

    let broken = versioned_pipeline(&scratch, mock.base_url(), "v1");
    let ran = scratch.apiary(&["run", &broken, "--fail-on-dead-letters"]);
    assert_eq!(ran.code, Some(2), "dead letters fail the run for schedulers when asked: {ran:?}");
    assert!(ran.stdout.contains("1 dead letter(s) added"), "{}", ran.stdout);
    assert_eq!(read_jsonl(&scratch.output("versioned", "issues")).len(), 10, "pages 1-2; page 3 broke pagination");

    let listed = scratch.apiary(&["dlq", "list"]);
    assert!(
        listed.stdout.contains("parse") && listed.stdout.contains("cannot parse the dates on page 3"),
        "{}",
        listed.stdout
    );
    let letters: serde_json::Value = serde_json::from_str(&scratch.apiary(&["dlq", "list", "--json"]).stdout).unwrap();
    let id = letters[0]["id"].to_string();
    let shown = scratch.apiary(&["dlq", "show", &id]);
    assert!(shown.stdout.contains("stage parse") && shown.stdout.contains("page=3"), "{}", shown.stdout);
    let page3_fetches = |m: &MockProcess| {
        m.stats().unwrap().by_request.iter().filter(|(k, _)| k.contains("page=3")).map(|(_, n)| *n).sum::<u64>()
    };
    assert_eq!(page3_fetches(&mock), 1);

    let fixed = versioned_pipeline(&scratch, mock.base_url(), "v2");
    let replayed = scratch.apiary(&["dlq", "replay", &fixed]);
    assert!(replayed.success, "{replayed:?}");
    assert!(replayed.stdout.contains("replayed 1 dead letter(s): 1 resolved, 0 still open"), "{}", replayed.stdout);
    assert_eq!(page3_fetches(&mock), 1, "page 3 was parsed again from storage, not fetched");
    let records = read_jsonl(&scratch.output("versioned", "issues"));
    assert_eq!(records.len(), 30, "pages 3-6 arrived after the replay");
    assert!(records[10..].iter().all(|r| r["title"].is_string()), "the fixed parser keeps titles");

    assert!(scratch.apiary(&["dlq", "list"]).stdout.contains("no dead letters"));
    let all: serde_json::Value =
        serde_json::from_str(&scratch.apiary(&["dlq", "list", "--all", "--json"]).stdout).unwrap();
    assert!(all[0]["resolved_by"].is_u64(), "kept, marked resolved: {all}");
    let purged = scratch.apiary(&["dlq", "purge"]);
    assert!(purged.stdout.contains("purged 1"), "{}", purged.stdout);
    assert_eq!(scratch.apiary(&["dlq", "list", "--all", "--json"]).stdout.trim(), "[]");
}

#[test]
fn replay_of_record_letters_writes_only_the_records_now_accepted() {
    let mock =
        MockProcess::start(&binary("apiary-mock"), &["--pages", "3", "--fault-missing-id", "0.2", "--seed", "5"])
            .unwrap();
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let extra = "[buckets.core]\nrequests = 1000\nper-ms = 1000\nallow-raise = true\n";
    let spec = PipelineSpec {
        name: "gh",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["issues"],
        config: &[("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "10")],
        extra,
    };
    let pipeline = scratch.write("gh.toml", spec.toml());
    assert!(scratch.apiary(&["run", pipeline.to_str().unwrap()]).success);
    let open: serde_json::Value =
        serde_json::from_str(&scratch.apiary(&["dlq", "list", "--json", "--stage", "record"]).stdout).unwrap();
    let rejected = open.as_array().unwrap().len();
    assert!(rejected > 0);
    let before = read_jsonl(&scratch.output("gh", "issues")).len();
    assert_eq!(before + rejected, 30);

    // The same connector still rejects them: nothing is written twice, nothing resolved.
    let replayed = scratch.apiary(&["dlq", "replay", pipeline.to_str().unwrap()]);
    assert!(replayed.stdout.contains(&format!("0 resolved, {rejected} still open")), "{replayed:?}");
    assert_eq!(read_jsonl(&scratch.output("gh", "issues")).len(), before);
}
