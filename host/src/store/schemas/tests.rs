//! The schema tables on a real redb file.

use super::*;
use crate::model::{ComponentDigest, ConnectorIdentity};
use crate::schema::SchemaObserver;

fn observe(baseline: Option<&StreamSchema>, records: &[&str]) -> Observation {
    let mut observer = SchemaObserver::new(baseline);
    for (i, json) in records.iter().enumerate() {
        observer.observe(json, Some(&i.to_string())).unwrap();
    }
    observer.finish()
}

fn context(run: u64, api_version: &str) -> RunContext {
    RunContext {
        run: RunId(run),
        pipeline: "gh".into(),
        connector: ConnectorIdentity {
            name: "github".into(),
            version: "1.0.0".into(),
            api_version: api_version.into(),
            digest: ComponentDigest("00".into()),
        },
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("apiary.redb")).unwrap();
    (dir, store)
}

#[test]
fn an_accepted_schema_round_trips_and_is_replaced_by_the_next() {
    let (dir, store) = open();
    let first = observe(None, &[r#"{"id":1}"#]).schema;
    store.set_accepted_schema("gh", "issues", SchemaSource::Inferred, &first, Some(RunId(1))).unwrap();
    let second = observe(None, &[r#"{"id":"x"}"#]).schema;
    store.set_accepted_schema("gh", "issues", SchemaSource::Accepted, &second, Some(RunId(2))).unwrap();
    store.set_accepted_schema("gh", "pulls", SchemaSource::Declared, &first, None).unwrap();
    store.set_accepted_schema("other", "issues", SchemaSource::Inferred, &first, None).unwrap();
    drop(store);
    let store = Store::open(&dir.path().join("apiary.redb")).unwrap();
    let got = store.accepted_schema("gh", "issues").unwrap().expect("stored");
    assert_eq!((got.source, got.from_run, &got.schema), (SchemaSource::Accepted, Some(RunId(2)), &second));
    let streams: Vec<String> = store.accepted_schemas("gh").unwrap().into_iter().map(|a| a.stream).collect();
    assert_eq!(streams, ["issues", "pulls"]);
    assert!(store.accepted_schema("gh", "nope").unwrap().is_none());
}

#[test]
fn observed_schemas_are_kept_per_run_and_merged_per_api_version_for_diffs() {
    let (_dir, store) = open();
    let v1 = observe(None, &[r#"{"id":1,"title":"a"}"#]);
    store.record_observed_schema(&context(1, "v1"), "issues", &v1).unwrap();
    store.record_observed_schema(&context(2, "v1"), "issues", &observe(None, &[r#"{"id":2,"body":"b"}"#])).unwrap();
    let v2 = observe(Some(&v1.schema), &[r#"{"id":"3","title":"c"}"#, r#"{"id":"4","title":"d"}"#]);
    let recorded = store.record_observed_schema(&context(3, "v2"), "issues", &v2).unwrap();
    assert_eq!((recorded.connector_version.as_str(), recorded.api_version.as_str()), ("1.0.0", "v2"));
    assert_eq!(
        recorded.drift.changes[0].to_string(),
        "field id changed type from integer to string in 2 records, e.g. record 0"
    );

    let v1_merged = store.schema_at("gh", "issues", &"v1".parse().unwrap()).unwrap().unwrap();
    assert_eq!(v1_merged.records(), 2);
    assert!(v1_merged.root.fields.contains_key("body") && v1_merged.root.fields.contains_key("title"));
    let diff = store.schema_diff("gh", "issues", &"api:v1".parse().unwrap(), &"run:3".parse().unwrap()).unwrap();
    let lines: Vec<String> = diff.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        lines,
        ["field body gone: missing from 2 records", "field id changed type from integer to string in 2 records"]
    );
    assert_eq!(store.schema_api_versions("gh", "issues").unwrap(), ["v1", "v2"]);

    let missing = store.schema_diff("gh", "issues", &SchemaPoint::Run(RunId(9)), &"v2".parse().unwrap()).unwrap_err();
    assert!(missing.to_string().contains("run 9"), "{missing}");
}

#[test]
fn recording_a_run_twice_adds_to_it() {
    let (_dir, store) = open();
    let baseline = observe(None, &[r#"{"id":1}"#]).schema;
    let part = observe(Some(&baseline), &[r#"{"id":1,"new":true}"#]);
    store.record_observed_schema(&context(5, "v1"), "issues", &part).unwrap();
    let both = store.record_observed_schema(&context(5, "v1"), "issues", &part).unwrap();
    assert_eq!(both.schema.records(), 2);
    assert_eq!(both.drift.changes[0].to_string(), "field new added (boolean) in 2 records, e.g. record 0");
    assert_eq!(store.observed_schemas("gh", None).unwrap().len(), 1);
}

#[test]
fn a_schema_point_is_a_run_number_or_an_api_version() {
    assert_eq!("12".parse::<SchemaPoint>().unwrap(), SchemaPoint::Run(RunId(12)));
    assert_eq!("run:7".parse::<SchemaPoint>().unwrap(), SchemaPoint::Run(RunId(7)));
    assert_eq!("2022-11-28".parse::<SchemaPoint>().unwrap(), SchemaPoint::ApiVersion("2022-11-28".into()));
    assert_eq!("api:3".parse::<SchemaPoint>().unwrap(), SchemaPoint::ApiVersion("3".into()));
    assert!("run:x".parse::<SchemaPoint>().unwrap_err().contains("run:NUMBER"));
    assert!("".parse::<SchemaPoint>().is_err());
}

#[test]
fn a_database_written_before_the_schema_tables_reads_as_having_none_and_takes_writes() {
    let (_dir, store) = open();
    let write = store.write().unwrap();
    assert!(write.delete_table(ACCEPTED_SCHEMAS).unwrap() && write.delete_table(OBSERVED_SCHEMAS).unwrap());
    write.commit().unwrap();
    assert!(store.accepted_schema("gh", "issues").unwrap().is_none());
    assert!(store.observed_schemas("gh", None).unwrap().is_empty());
    let schema = observe(None, &[r#"{"id":1}"#]).schema;
    store.set_accepted_schema("gh", "issues", SchemaSource::Inferred, &schema, None).unwrap();
    assert_eq!(store.accepted_schema("gh", "issues").unwrap().unwrap().schema, schema);
}
