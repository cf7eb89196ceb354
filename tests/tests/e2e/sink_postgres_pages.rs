//! The PostgreSQL sink driven page by page through the `Sink` interface, against the test
//! cluster: a page seen again is skipped, a stream without a key is appended once per page, and
//! among rows of one key the newest fetch wins, inside a batch and across batches.

use apiary_host::config::PgSchemaName;
use apiary_host::model::{ConnectorIdentity, Record};
use apiary_host::sink::{PageRef, PostgresSink, Sink, StreamSpec, StreamSpecs, Target, Writer};
use apiary_host::store::{ExchangeId, FrontierId, RunId};

use crate::pg::Db;

fn page<'a>(entry: u64, stream: &'a str, fetched_at_ms: u64, connector: &'a ConnectorIdentity) -> PageRef<'a> {
    let (entry, exchange) = (Some(FrontierId(entry)), Some(ExchangeId(entry)));
    PageRef { run: RunId(1), entry, exchange, stream, fetched_at_ms, connector }
}

fn records(stream: &str, jsons: &[&str]) -> Vec<Record> {
    jsons.iter().map(|j| Record { stream: stream.into(), key: None, json: j.to_string() }).collect()
}

#[test]
fn pages_load_once_and_the_newest_fetch_wins() {
    let db = Db::create("sink_pages", "raw");
    let specs = StreamSpecs::from([
        ("events".to_string(), StreamSpec::default()),
        ("items".to_string(), StreamSpec { primary_key: vec!["id".into()], ..StreamSpec::default() }),
    ]);
    let schema = PgSchemaName::try_from("raw".to_string()).unwrap();
    let mut sink = PostgresSink::connect(&Target::parse(&db.url, schema).unwrap(), specs, Writer::default()).unwrap();
    let connector = ConnectorIdentity { version: "1.2.0".into(), api_version: "2024-01".into(), ..Default::default() };

    let events = records("events", &[r#"{"kind":"a","n":1}"#, r#"{"kind":"b","n":2}"#]);
    sink.write(&page(1, "events", 1_000, &connector), &events).unwrap();
    sink.write(&page(2, "items", 2_000, &connector), &records("items", &[r#"{"id":1,"v":"new"}"#])).unwrap();
    sink.write(&page(3, "items", 1_000, &connector), &records("items", &[r#"{"id":1,"v":"old"}"#])).unwrap();
    sink.flush().unwrap();
    assert_eq!(db.count("raw.events"), 2);
    assert_eq!(db.value("SELECT v FROM raw.items WHERE id = 1"), "new", "the newest fetch of the batch");

    // A resumed run processes page 1 again (the store had not committed it): skipped.
    sink.write(&page(1, "events", 1_000, &connector), &events).unwrap();
    sink.write(&page(4, "events", 3_000, &connector), &records("events", &[r#"{"kind":"c","n":3}"#])).unwrap();
    sink.write(&page(5, "items", 500, &connector), &records("items", &[r#"{"id":1,"v":"older"}"#])).unwrap();
    sink.flush().unwrap();
    assert_eq!(db.count("raw.events"), 3, "a page already loaded is skipped; a keyless stream appends");
    assert_eq!(db.value("SELECT v FROM raw.items WHERE id = 1"), "new", "an older fetch never overwrites");
    assert_eq!(db.count("raw._apiary_loads"), 5);
    let stamp = &db
        .rows("SELECT _apiary_connector_version, _apiary_api_version, _apiary_exchange FROM raw.events WHERE n = 3")[0];
    assert_eq!(stamp[..], [Some("1.2.0".into()), Some("2024-01".into()), Some("4".into())]);
}

#[test]
fn checkpoints_commit_with_their_rows_and_a_taken_over_writer_is_fenced_off() {
    let db = Db::create("sink_fence", "raw");
    let specs = StreamSpecs::from([("events".to_string(), StreamSpec::default())]);
    let target = Target::parse(&db.url, PgSchemaName::try_from("raw".to_string()).unwrap()).unwrap();
    let connector = ConnectorIdentity::default();
    let writer = |token| Writer { pipeline: "events-pipeline".into(), fence: Some(token) };
    let mut old = PostgresSink::connect(&target, specs.clone(), writer(1)).unwrap();
    let mut new = PostgresSink::connect(&target, specs, writer(2)).unwrap();

    old.write(&page(1, "events", 1_000, &connector), &records("events", &[r#"{"n":1}"#])).unwrap();
    old.checkpoint("events", "cursor-1").unwrap();
    old.flush().unwrap();
    assert_eq!(new.stored_checkpoint("events").unwrap().as_deref(), Some("cursor-1"), "any writer reads it back");

    new.write(&page(2, "events", 2_000, &connector), &records("events", &[r#"{"n":2}"#])).unwrap();
    new.checkpoint("events", "cursor-2").unwrap();
    new.flush().unwrap();

    old.write(&page(3, "events", 3_000, &connector), &records("events", &[r#"{"n":3}"#])).unwrap();
    old.checkpoint("events", "cursor-3").unwrap();
    let refused = old.flush().unwrap_err().to_string();
    assert!(refused.contains("taken over by another worker") && refused.contains("token 1"), "{refused}");
    assert!(!refused.contains("postgres://"), "the URL never reaches a message: {refused}");
    assert_eq!(db.count("raw.events"), 2, "nothing of the fenced-off batch was written");
    assert_eq!(new.stored_checkpoint("events").unwrap().as_deref(), Some("cursor-2"), "nor its checkpoint");
}
