//! The PostgreSQL sink against the test cluster (issue 15): every record once with typed
//! columns, exactly once across SIGKILLs, a database going down and coming back, drift adding a
//! column, and bad settings refused on one line with nothing half loaded.

use std::process::Stdio;
use std::time::{Duration, Instant};

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm};
use apiary_e2e::spawn::MockProcess;

use crate::bad_input::assert_one_line_error;
use crate::pg::{Db, URL_VAR, pipeline};

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

fn run(scratch: &Scratch, pipeline: &str, db: &Db) -> apiary_e2e::harness::Ran {
    scratch.apiary_with_env(&["run", pipeline], &[(URL_VAR, &db.url)])
}

#[test]
fn a_sync_lands_every_record_once_in_typed_columns() {
    let db = Db::create("sink_typed", "github");
    let api = mock(&["--pages", "20"]);
    let scratch = Scratch::new();
    let pipeline = pipeline(&scratch, api.base_url(), "github", "");
    let ran = run(&scratch, &pipeline, &db);
    assert!(ran.success, "{ran:?}");
    assert!(ran.stdout.contains("output issues: table github.issues in database sink_typed"), "{}", ran.stdout);
    assert_eq!(db.count("github.issues"), 100);
    assert_eq!(db.value("SELECT count(DISTINCT number) FROM github.issues"), "100");
    assert_eq!(db.count("github._apiary_loads"), 20, "one load per page");
    let types = [
        ("id", "bigint"),
        ("number", "bigint"),
        ("title", "text"),
        ("locked", "boolean"),
        ("user", "jsonb"),
        ("labels", "jsonb"),
        ("_apiary_fetched_at", "timestamp with time zone"),
        ("_apiary_api_version", "text"),
    ];
    for (column, expected) in types {
        assert_eq!(db.column_type("github", "issues", column).as_deref(), Some(expected), "{column}");
    }
    assert_eq!(db.column_type("github", "issues", "closed_at"), None, "a field only ever null waits for a value");
    let row = &db.rows(
        "SELECT title, \"user\"->>'login', _apiary_run, _apiary_connector_version FROM github.issues WHERE number = 7",
    )[0];
    assert_eq!(row[0..3], [Some("Generated issue 7".into()), Some("user107".into()), Some("1".into())]);

    let again = run(&scratch, &pipeline, &db);
    assert!(again.success, "{again:?}");
    assert_eq!(db.count("github.issues"), 100, "a second run upserts by key");
    assert_eq!(db.value("SELECT min(_apiary_run) FROM github.issues"), "2", "the newest fetch wins");
}

#[test]
fn numbers_keep_every_digit_in_numeric_columns() {
    let db = Db::create("sink_precision", "precise");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/precision");
    let api = mock(&["--fixtures", fixtures.to_str().unwrap()]);
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let sink = format!("[sink]\nkind = \"postgres\"\nurl = {{ env = \"{URL_VAR}\" }}\nschema = \"precise\"\n");
    let spec = PipelineSpec {
        name: "precise",
        connector: &wasm,
        base_url: api.base_url(),
        streams: &["issues"],
        config: &[("owner", "\"precise-org\""), ("repo", "\"numbers\"")],
        extra: &sink,
    };
    let ran = run(&scratch, scratch.write("p.toml", spec.toml()).to_str().unwrap(), &db);
    assert!(ran.success, "{ran:?}");
    let row = &db.rows("SELECT amount::text, big::text, tiny::text, huge = 1e400, text FROM precise.issues")[0];
    let expected = ["12345678901234567.891", "18446744073709551616000", "-0.000000000000000000001", "t"];
    assert_eq!(row[..4], expected.map(|s| Some(s.to_string())));
    assert_eq!(row[4].as_deref(), Some("caf\u{e9} \u{1f600} \"quoted\""));
    for column in ["amount", "big", "tiny", "huge"] {
        assert_eq!(db.column_type("precise", "issues", column).as_deref(), Some("numeric"), "{column}");
    }
}

#[test]
fn killed_five_times_and_resumed_the_table_equals_a_clean_runs() {
    let clean_db = Db::create("sink_kill_clean", "github");
    let clean_api = mock(&["--pages", "400"]);
    let clean = Scratch::new();
    assert!(run(&clean, &pipeline(&clean, clean_api.base_url(), "github", ""), &clean_db).success);
    let expected = clean_db.dump("github.issues");
    assert_eq!(expected.len(), 2000);

    let db = Db::create("sink_kill", "github");
    // 20 ms a page: a chain of 400 pages takes at least 8 s, more than the five runs below
    // together, so every run that gets going is killed mid-run, however fast the machine.
    let api = mock(&["--pages", "400", "--latency-ms", "20"]);
    let scratch = Scratch::new();
    let pipeline = pipeline(&scratch, api.base_url(), "github", "");
    let mut kills = 0;
    for delay_ms in [700, 300, 1100, 500, 1500] {
        let mut command = scratch.command(&["run", &pipeline]);
        let mut child = command.env(URL_VAR, &db.url).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 3, "killed mid-run at least three times ({kills})");
    let ran = run(&scratch, &pipeline, &db);
    assert!(ran.success && ran.stdout.contains("was interrupted; resumed it"), "{ran:?}");
    let dump = db.dump("github.issues");
    assert_eq!(dump.len(), expected.len());
    assert!(dump == expected, "the table after kills differs from a clean run's");
    assert_eq!(db.count("github._apiary_loads"), 400, "every page loaded once");
}

/// Take database `name` down (no new connections, every session ended) or bring it back.
fn database_up(name: &str, up: bool) {
    let admin = Db::admin();
    admin.execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {up}"));
    if !up {
        admin.execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ));
    }
}

#[test]
fn a_database_going_down_fails_the_run_on_one_line_and_it_resumes_once_back() {
    let db = Db::create("sink_down", "github");
    let api = mock(&["--pages", "300", "--latency-ms", "5"]);
    let scratch = Scratch::new();
    let pipeline = pipeline(&scratch, api.base_url(), "github", "");
    let mut command = scratch.command(&["run", &pipeline]);
    let child = command.env(URL_VAR, &db.url).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while db.column_type("github", "issues", "id").is_none() || db.count("github.issues") < 200 {
        assert!(started.elapsed() < Duration::from_secs(60), "the sync did not load 200 rows");
        std::thread::sleep(Duration::from_millis(20));
    }
    database_up("sink_down", false);
    let failed: apiary_e2e::harness::Ran = child.wait_with_output().unwrap().into();
    assert_one_line_error(&failed, &["PostgreSQL database sink_down on 127.0.0.1", "resumes"]);
    assert!(!failed.stderr.contains("apiary-test-password"), "the password is never shown");
    let served = api.stats().unwrap().total;
    let raw: serde_json::Value =
        serde_json::from_str(&scratch.apiary(&["--json", "raw", "list", "--pipeline", "generated"]).stdout).unwrap();
    let stored = raw.as_array().unwrap().len() as u64;
    assert!(stored + 8 >= served && stored < 300, "{stored} raw exchanges kept of {served} served");

    database_up("sink_down", true);
    let db = db.reconnect();
    let ran = run(&scratch, &pipeline, &db);
    assert!(ran.success && ran.stdout.contains("resumed it"), "{ran:?}");
    assert_eq!(db.count("github.issues"), 1500);
    assert_eq!(db.count("github._apiary_loads"), 300);
    let fetched_again = api.stats().unwrap().total - served;
    assert!(fetched_again <= 300 - stored + 8, "stored pages are parsed, not fetched again ({fetched_again})");
}
