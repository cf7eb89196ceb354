//! Singer output into real Singer targets from PyPI (issue 15): `apiary run --output singer`
//! piped into `target-jsonl` and `target-postgres`; stdout carries Singer messages only, and a
//! second run leaves no duplicates in the upserting target.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use apiary_e2e::harness::{Ran, Scratch, binary};
use apiary_e2e::services::{postgres, venv};
use apiary_e2e::spawn::MockProcess;
use serde_json::{Value, json};

use crate::pg::Db;
use crate::resume::generated_pipeline;

fn mock() -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), &["--pages", "20"]).expect("mock starts")
}

/// `apiary run pipeline --output singer | target --config config`: apiary's run and the target's.
fn pipe_into(scratch: &Scratch, pipeline: &str, target: &str, config: &Path) -> (Ran, Output) {
    let mut apiary = scratch.command(&["run", pipeline, "--output", "singer"]);
    let mut apiary = apiary.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting apiary");
    let target = Command::new(venv().bin(target))
        .arg("--config")
        .arg(config)
        .stdin(apiary.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the target");
    let ran = apiary.wait_with_output().unwrap().into();
    (ran, target.wait_with_output().unwrap())
}

#[test]
fn singer_messages_on_stdout_load_into_target_jsonl() {
    let api = mock();
    let scratch = Scratch::new();
    let pipeline = generated_pipeline(&scratch, api.base_url(), "5");
    let ran = scratch.apiary(&["run", &pipeline, "--output", "singer"]);
    assert!(ran.success, "{ran:?}");
    assert!(ran.stderr.contains("run 1 of generated: succeeded"), "the summary goes to stderr: {}", ran.stderr);
    let messages: Vec<Value> =
        ran.stdout.lines().map(|l| serde_json::from_str(l).expect("only JSON on stdout")).collect();
    let kinds: Vec<&str> = messages.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "SCHEMA", "a SCHEMA before the first RECORD");
    assert_eq!(kinds.iter().filter(|k| **k == "RECORD").count(), 100);
    assert!(kinds.iter().all(|k| ["SCHEMA", "RECORD", "STATE"].contains(k)), "{kinds:?}");
    assert_eq!(messages[0]["key_properties"], json!(["id"]));
    assert_eq!(messages[0]["bookmark_properties"], json!(["updated_at"]));
    let record = messages.iter().find(|m| m["type"] == "RECORD").unwrap();
    assert!(record["time_extracted"].as_str().unwrap().ends_with('Z'), "{record}");
    let last_record = kinds.iter().rposition(|k| *k == "RECORD").unwrap();
    let state = kinds.iter().rposition(|k| *k == "STATE").expect("a STATE");
    assert!(state > last_record, "the last STATE follows the records it covers");
    assert!(messages[state]["value"]["bookmarks"]["issues"].is_object(), "{}", messages[state]);

    let out = tempfile::tempdir().unwrap();
    let config = scratch
        .write("target-jsonl.json", json!({ "destination_path": out.path(), "do_timestamp_file": false }).to_string());
    let mut target = Command::new(venv().bin("target-jsonl"))
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    target.stdin.take().unwrap().write_all(ran.stdout.as_bytes()).unwrap();
    let done = target.wait_with_output().unwrap();
    assert!(done.status.success(), "target-jsonl: {}", String::from_utf8_lossy(&done.stderr));
    let written = std::fs::read_to_string(out.path().join("issues.jsonl")).unwrap();
    let numbers: std::collections::BTreeSet<u64> =
        written.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=100).collect(), "every record, once");
}

#[test]
fn piped_into_target_postgres_twice_leaves_no_duplicates() {
    let db = Db::create("singer_target", "singer");
    let config = json!({
        "host": "127.0.0.1",
        "port": postgres().port(),
        "user": "apiary",
        "password": "apiary-test-password",
        "database": "singer_target",
        "default_target_schema": "singer",
        "load_method": "upsert",
    });
    let api = mock();
    let scratch = Scratch::new();
    let config = scratch.write("target-postgres.json", config.to_string());
    let pipeline = generated_pipeline(&scratch, api.base_url(), "5");
    for _ in 0..2 {
        let (ran, target) = pipe_into(&scratch, &pipeline, "target-postgres", &config);
        assert!(ran.success && ran.stdout.is_empty(), "{ran:?}");
        assert!(target.status.success(), "target-postgres: {}", String::from_utf8_lossy(&target.stderr));
    }
    assert_eq!(db.count("singer.issues"), 100, "upserted by key_properties: no duplicates");
    assert_eq!(db.value("SELECT title FROM singer.issues WHERE number = 7"), "Generated issue 7");
}
