//! The PostgreSQL sink and the stream's schema: drift adds a column (and widens one whose type
//! changed) under `evolve`, never alters the table under `freeze`; and settings the database
//! refuses (password, address, schema, a table whose columns conflict) fail on one line with
//! nothing half loaded.

use apiary_e2e::harness::{Scratch, binary};
use apiary_e2e::spawn::MockProcess;

use crate::bad_input::assert_one_line_error;
use crate::pg::{Db, URL_VAR, pipeline};

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

fn run(scratch: &Scratch, pipeline: &str, url: &str) -> apiary_e2e::harness::Ran {
    scratch.apiary_with_env(&["run", pipeline], &[(URL_VAR, url)])
}

#[test]
fn drift_adds_a_column_under_evolve_and_never_alters_a_frozen_table() {
    let usual = mock(&["--pages", "4"]);
    let drifted = mock(&["--pages", "4", "--drift-after", "0"]);
    for (database, extra) in [("sink_drift_evolve", ""), ("sink_drift_freeze", "[schema]\ncontract = \"freeze\"\n")] {
        let db = Db::create(database, "github");
        let scratch = Scratch::new();
        assert!(run(&scratch, &pipeline(&scratch, usual.base_url(), "github", ""), &db.url).success);
        assert_eq!(db.column_type("github", "issues", "comments").as_deref(), Some("bigint"));
        let ran = run(&scratch, &pipeline(&scratch, drifted.base_url(), "github", extra), &db.url);
        assert!(ran.success, "{ran:?}");
        let (importance, comments) =
            (db.column_type("github", "issues", "importance"), db.column_type("github", "issues", "comments"));
        if extra.is_empty() {
            assert_eq!(importance.as_deref(), Some("bigint"), "the new field got a column");
            assert_eq!(comments.as_deref(), Some("jsonb"), "a field that changed type widened to jsonb");
            let row = &db.rows("SELECT comments::text, importance, locked FROM github.issues WHERE number = 3")[0];
            assert_eq!(row[..], [Some("\"3\"".into()), Some("3".into()), None], "the newest fetch, whole");
        } else {
            assert_eq!((importance, comments.as_deref()), (None, Some("bigint")), "a frozen table is never altered");
            assert_eq!(db.value("SELECT count(*) FROM github.issues WHERE _apiary_run = 2"), "0", "refused records");
        }
        assert_eq!(db.count("github.issues"), 20);
    }
}

#[test]
fn settings_the_database_refuses_fail_on_one_line_with_nothing_loaded() {
    let db = Db::create("sink_refused", "github");
    let api = mock(&["--pages", "4"]);
    let scratch = Scratch::new();
    let wrong_password = db.url.replace("apiary-test-password", "wrong-secret");
    let cases = [
        (wrong_password.as_str(), "github", vec!["database sink_refused on 127.0.0.1", "password", "[sink] url"]),
        (
            "postgres://apiary:x@127.0.0.1:1/sink_refused",
            "github",
            vec!["database sink_refused on 127.0.0.1:1", "is the server running"],
        ),
        ("postgres://apiary:x@127.0.0.1:notaport/db", "github", vec!["[sink] url is not a PostgreSQL URL"]),
        (db.url.as_str(), "nope", vec!["schema nope does not exist", "CREATE SCHEMA nope"]),
    ];
    for (url, schema, needles) in cases {
        let ran = run(&scratch, &pipeline(&scratch, api.base_url(), schema, ""), url);
        assert_one_line_error(&ran, &needles);
        assert!(!ran.stderr.contains("wrong-secret") && !ran.stderr.contains("apiary-test-password"), "{ran:?}");
    }

    db.execute("CREATE TABLE github.issues (id bigint PRIMARY KEY, title boolean)");
    let ran = run(&scratch, &pipeline(&scratch, api.base_url(), "github", ""), &db.url);
    assert_one_line_error(&ran, &["column title of table github.issues is boolean", "needs text", "alter or drop"]);
    assert_eq!(db.count("github.issues"), 0, "no page half loaded");
    assert_eq!(db.count("github._apiary_loads"), 0);
    let raw = scratch.apiary(&["--json", "raw", "list", "--pipeline", "generated"]);
    let raw: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    assert!(!raw.as_array().unwrap().is_empty(), "the raw exchanges are kept");
}

#[test]
fn reparse_with_sink_loads_into_a_new_schema_never_the_live_tables() {
    let db = Db::create("sink_reparse", "github");
    let api = mock(&["--pages", "4"]);
    let scratch = Scratch::new();
    let pipeline = pipeline(&scratch, api.base_url(), "github", "");
    assert!(run(&scratch, &pipeline, &db.url).success);
    let live = db.dump("github.issues");
    let fetched = api.stats().unwrap().total;
    let wasm = apiary_e2e::harness::connector_wasm("github_connector");
    for n in 1..=2 {
        let args = ["reparse", pipeline.as_str(), "--connector", wasm.to_str().unwrap(), "--sink", "--json"];
        let ran = scratch.apiary_with_env(&args, &[(URL_VAR, &db.url)]);
        assert!(ran.success, "{ran:?}");
        let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
        let schema = format!("github_reparse_{n}");
        assert!(report["out"].as_str().unwrap().starts_with(&format!("schema {schema} of database sink_reparse")));
        assert_eq!(db.count(&format!("{schema}.issues")), 20);
        assert_eq!(
            db.value(&format!("SELECT count(*) FROM {schema}.issues WHERE _apiary_run = 1")),
            "0",
            "its own run"
        );
    }
    assert!(db.dump("github.issues") == live, "the live table is untouched");
    assert_eq!(api.stats().unwrap().total, fetched, "a re-parse calls no API");
}
