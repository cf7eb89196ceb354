//! Writing a connector: `apiary new` scaffolds a crate whose test passes and which builds to
//! wasm; `apiary test` replays recorded traffic through the real host, including traffic the
//! host recorded itself and exported with `raw show --json`.

use std::path::Path;
use std::process::Command;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, github_fixtures, profile_dir};
use apiary_e2e::spawn::MockProcess;

fn cargo(dir: &Path, args: &[&str]) {
    let target = profile_dir().parent().unwrap().join("scaffold");
    // Output captured: the scaffold's own `test result:` lines must not mix with this run's.
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("running cargo");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "cargo {args:?} failed in {}:\n{log}", dir.display());
}

#[test]
fn a_scaffolded_connector_passes_its_test_builds_to_wasm_and_replays_through_the_host() {
    let scratch = Scratch::new();
    // Outside the repository, with the SDK from a local checkout (`--sdk`), as before it is
    // published; without `--sdk` the crate depends on `apiary-sdk` by version.
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    let created =
        scratch.apiary(&["new", "shop", "--dir", scratch.path().to_str().unwrap(), "--sdk", sdk.to_str().unwrap()]);
    assert!(created.success, "{created:?}");
    let crate_dir = scratch.path().join("shop");
    cargo(&crate_dir, &["test", "--quiet"]);
    cargo(&crate_dir, &["build", "--quiet", "--release", "--target", "wasm32-wasip2"]);
    let wasm = profile_dir().parent().unwrap().join("scaffold/wasm32-wasip2/release/shop_connector.wasm");
    let inspected = scratch.apiary(&["inspect", wasm.to_str().unwrap()]);
    assert!(inspected.stdout.contains("shop 0.1.0"), "{}", inspected.stdout);
    let fixtures = crate_dir.join("fixtures");
    let tested = scratch.apiary(&[
        "test",
        wasm.to_str().unwrap(),
        "--fixtures",
        fixtures.to_str().unwrap(),
        "--endpoint",
        "items",
    ]);
    assert!(tested.success && tested.stdout.contains("2 passed, 0 failed, 0 skipped"), "{tested:?}");
    let again = scratch.apiary(&["new", "shop", "--dir", scratch.path().to_str().unwrap()]);
    assert!(!again.success && again.stderr.contains("already exists"));
}

#[test]
fn apiary_test_replays_octokit_recordings_and_the_hosts_own_exports() {
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let fixtures = github_fixtures();
    let ran = scratch.apiary(&[
        "test",
        wasm.to_str().unwrap(),
        "--fixtures",
        fixtures.to_str().unwrap(),
        "--endpoint",
        "issues",
    ]);
    // The recordings hold other endpoints' exchanges too (a POST with a 422, labels, a single
    // repository): they are skipped, not fed to `issues`; the 5 issue pages pass.
    assert!(ran.success, "{ran:?}");
    assert!(ran.stdout.contains("5 passed, 0 failed, 7 skipped"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("skip  POST https://api.github.com/repos/octokit-fixture-org/errors/labels"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains(
            "ok    https://api.github.com/repos/octokit-fixture-org/paginate-issues/issues?per_page=3  3 records"
        ),
        "{}",
        ran.stdout
    );

    // Record real traffic once, export one page, and test against it offline.
    let mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "2"]).unwrap();
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "4")];
    let spec = PipelineSpec {
        name: "rec",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["issues"],
        config: &config,
        extra: "",
    };
    assert!(scratch.apiary(&["run", scratch.write("rec.toml", spec.toml()).to_str().unwrap()]).success);
    let exported = scratch.apiary(&["raw", "show", "1", "--json"]);
    let dir = scratch.path().join("exported");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("page1.json"), &exported.stdout).unwrap();
    let offline = scratch.apiary(&[
        "test",
        wasm.to_str().unwrap(),
        "--fixtures",
        dir.to_str().unwrap(),
        "--endpoint",
        "issues",
        "--json",
    ]);
    assert!(offline.success, "{offline:?}");
    let report: serde_json::Value = serde_json::from_str(&offline.stdout).unwrap();
    let outcomes = &report["outcomes"];
    assert_eq!(outcomes[0]["result"]["Ok"]["records"], 4);
    assert!(outcomes[0]["result"]["Ok"]["next"][0].as_str().unwrap().contains("page=2"));

    // A page of the endpoint that the connector cannot parse fails the command.
    let bad = scratch.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let recording = r#"[{"scope":"https://api.github.com:443","method":"get","path":"/repos/o/r/issues","status":200,"response":{"message":"not a list"}}]"#;
    std::fs::write(bad.join("object.json"), recording).unwrap();
    let failed =
        scratch.apiary(&["test", wasm.to_str().unwrap(), "--fixtures", bad.to_str().unwrap(), "--endpoint", "issues"]);
    assert!(!failed.success && failed.stdout.contains("0 passed, 1 failed"), "{failed:?}");
    assert!(failed.stdout.contains("FAIL") && failed.stdout.contains("not a JSON array"), "{}", failed.stdout);
}

#[test]
fn the_github_issues_stream_resumes_from_its_checkpoint_with_since() {
    let mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "3"]).unwrap();
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "10")];
    let extra = "[buckets.core]\nrequests = 1000\nper-ms = 1000\nallow-raise = true\n";
    let spec = PipelineSpec {
        name: "inc",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["issues"],
        config: &config,
        extra,
    };
    let pipeline = scratch.write("inc.toml", spec.toml());
    assert!(scratch.apiary(&["run", pipeline.to_str().unwrap()]).success);
    assert!(scratch.apiary(&["run", pipeline.to_str().unwrap()]).success);
    let raw: serde_json::Value =
        serde_json::from_str(&scratch.apiary(&["raw", "list", "--run", "2", "--json"]).stdout).unwrap();
    let first_url = raw[0]["request"]["url"].as_str().unwrap();
    // The newest updated_at of the first run's 30 generated issues is 2024-02-28T12:30:00Z.
    assert!(first_url.ends_with("&since=2024-02-28T12%3A30%3A00Z"), "{first_url}");
}
