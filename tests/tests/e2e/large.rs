//! The benchmark's input end to end: the bench connector (one scan per page, in wasm through the
//! real host) syncs both chains of the mock's large collection, keeping each record byte for
//! byte and dead-lettering the records served without their `id`.

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm};
use apiary_e2e::spawn::MockProcess;
use apiary_e2e::{Faults, link_page};
use serde_json::value::RawValue;

/// The records as the mock serves them (pages of 25; the cursor chain serves the same records),
/// split into (text, has an id).
fn served(records: u64, drop_id: &dyn Fn(u64) -> bool) -> Vec<(String, bool)> {
    let body = link_page(1, records, 1, drop_id);
    let elements: Vec<&RawValue> = serde_json::from_str(&body).unwrap();
    let has_id = |r: &RawValue| serde_json::from_str::<serde_json::Value>(r.get()).unwrap().get("id").is_some();
    elements.iter().map(|r| (r.get().to_string(), has_id(r))).collect()
}

#[test]
fn the_bench_connector_syncs_both_chains_byte_for_byte_and_dead_letters_records_without_id() {
    let args = ["--large-pages", "4", "--event-pages", "3", "--fault-missing-id", "0.06", "--seed", "3"];
    let mock = MockProcess::start(&binary("apiary-mock"), &args).unwrap();
    let faults = Faults { missing_id: 0.06, seed: 3, ..Faults::default() };
    let scratch = Scratch::new();
    let wasm = connector_wasm("bench_connector");
    let spec = PipelineSpec {
        name: "large",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["issues", "events"],
        config: &[("per_page", "25")],
        extra: "[buckets.core]\nrequests = 1000\nper-ms = 1000\nallow-raise = true\n",
    };
    let ran = scratch.apiary(&["run", scratch.write("large.toml", spec.toml()).to_str().unwrap()]);
    assert!(ran.success, "{ran:?}");

    let mut without_id = 0;
    for (stream, records) in [("issues", 100), ("events", 75)] {
        let served = served(records, &|n| faults.drops_id(n));
        let expected: Vec<&str> = served.iter().filter(|(_, id)| *id).map(|(text, _)| text.as_str()).collect();
        let written = std::fs::read_to_string(scratch.output("large", stream)).unwrap();
        assert_eq!(written.lines().collect::<Vec<_>>(), expected, "{stream}: every kept record, exactly as served");
        without_id += served.len() - expected.len();
    }
    assert!(without_id > 0, "the seed drops some ids");
    let dead: serde_json::Value =
        serde_json::from_str(&scratch.apiary(&["dlq", "list", "--json", "--stage", "record"]).stdout).unwrap();
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), without_id, "{dead:?}");
    assert!(dead.iter().all(|d| d.to_string().contains("record has no primary key (id)")), "{dead:?}");
    let stats = mock.stats().unwrap();
    assert_eq!(stats.total, 4 + 3, "4 Link pages and 3 cursor pages, each once: {stats:?}");
}
