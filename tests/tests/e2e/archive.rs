//! The raw archive on a real S3-compatible server (moto on loopback): a sync's exchanges reach
//! the bucket, a fresh home re-parses from the bucket alone into byte-identical output, and an
//! archive that dies mid-sync delays the archiving without failing the sync, then catches up.

use std::os::unix::fs::PermissionsExt;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, files_containing};
use apiary_e2e::services::{S3, s3};
use apiary_e2e::spawn::{MockProcess, http_request};

/// Credentials moto accepts (any), distinctive enough to search for in everything apiary wrote.
const KEY_ID: &str = "AKIAAPIARYARCHIVE";
const SECRET: &str = "apiary-archive-secret-3f9c";

/// A github pipeline over the mock's generated issues, archiving to `bucket` on `server`;
/// credentials in mode-600 files named by `[secrets]`.
fn pipeline(scratch: &Scratch, api: &MockProcess, server: &S3, bucket: &str, flush_s: u32) -> String {
    let secret_file = |name: &str, value: &str| {
        let path = scratch.write(name, value);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path.display().to_string()
    };
    let (key, secret) = (secret_file("s3-key", KEY_ID), secret_file("s3-secret", SECRET));
    let extra = format!(
        "[secrets]\ns3-key = {{ file = {key:?} }}\ns3-secret = {{ file = {secret:?} }}\n\n[archive]\n\
         url = \"s3://{bucket}/team/raw\"\naccess-key-id = \"s3-key\"\nsecret-access-key = \"s3-secret\"\n\
         region = \"{}\"\nendpoint = \"{}\"\nallow-http = true\nflush-s = {flush_s}\n",
        S3::REGION,
        server.endpoint()
    );
    let wasm = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "5")];
    let spec = PipelineSpec {
        name: "archived",
        connector: &wasm,
        base_url: api.base_url(),
        streams: &["issues"],
        config: &config,
        extra: &extra,
    };
    scratch.write("archived.toml", spec.toml()).display().to_string()
}

/// The keys under `prefix` in `bucket`, listed by the server itself (S3's ListObjectsV2).
fn keys(server: &S3, bucket: &str, prefix: &str) -> Vec<String> {
    let (status, body) =
        http_request(&server.endpoint(), "GET", &format!("/{bucket}?list-type=2&prefix={prefix}"), &[]).unwrap();
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{body}");
    body.split("<Key>").skip(1).map(|k| k.split("</Key>").next().unwrap().to_string()).collect()
}

/// `apiary archive status --pipeline FILE --json`: the pipeline's backlog.
fn backlog(scratch: &Scratch, pipeline: &str) -> serde_json::Value {
    let ran = scratch.apiary(&["archive", "status", "--pipeline", pipeline, "--json"]);
    assert!(ran.success, "{ran:?}");
    let status: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let url = status["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("s3://archive-") && url.ends_with("/team/raw"), "the URL, no credential: {status}");
    status["pipelines"][0].clone()
}

/// How many exchanges the home stored.
fn stored(scratch: &Scratch) -> usize {
    let ran = scratch.apiary(&["raw", "list", "--json"]);
    assert!(ran.success, "{ran:?}");
    serde_json::from_str::<Vec<serde_json::Value>>(&ran.stdout).unwrap().len()
}

#[test]
fn a_fresh_home_reparses_from_the_archive_alone_into_the_same_output() {
    let mut api = MockProcess::start(&binary("apiary-mock"), &["--pages", "6"]).unwrap();
    let server = s3();
    server.create_bucket("archive-reparse");
    let scratch = Scratch::new();
    let file = pipeline(&scratch, &api, server, "archive-reparse", 60);
    let ran = scratch.apiary(&["run", &file]);
    assert!(ran.success, "{ran:?}");
    assert!(!ran.stderr.contains("waiting for"), "the flush took everything: {}", ran.stderr);
    let synced = std::fs::read(scratch.output("archived", "issues")).unwrap();
    assert_eq!(synced.iter().filter(|b| **b == b'\n').count(), 30, "six pages of five");
    let exchanges = stored(&scratch);
    let status = backlog(&scratch, &file);
    assert_eq!((status["waiting"].as_u64(), status["health"]["archived"].as_u64()), (Some(0), Some(exchanges as u64)));
    let archived = keys(server, "archive-reparse", "team/raw/archived/");
    assert_eq!(archived.len(), exchanges, "one object per exchange: {archived:?}");
    assert!(files_containing(&scratch.home(), SECRET).is_empty(), "no credential in the home");

    api.stop(); // any API call from here on would fail
    std::fs::remove_dir_all(scratch.home()).unwrap();
    let wasm = connector_wasm("github_connector");
    let args = [
        "reparse",
        &file,
        "--connector",
        wasm.to_str().unwrap(),
        "--from-archive",
        "s3://archive-reparse/team/raw",
        "--json",
    ];
    let reparsed = scratch.apiary(&args);
    assert!(reparsed.success, "{reparsed:?}");
    assert!(reparsed.stderr.contains(&format!("imported {exchanges} exchanges of archived")), "{}", reparsed.stderr);
    let report: serde_json::Value = serde_json::from_str(&reparsed.stdout).unwrap();
    let out = std::path::PathBuf::from(report["out"].as_str().unwrap());
    assert_eq!(std::fs::read(out.join("issues.jsonl")).unwrap(), synced, "byte-identical to the sync's output");
    assert!(!format!("{reparsed:?}").contains(SECRET));

    let again = scratch.apiary(&args);
    assert!(!again.success && again.stderr.contains("fresh --home"), "never imported twice: {again:?}");
}

#[test]
fn an_archive_down_mid_sync_delays_archiving_loses_nothing_and_catches_up() {
    let api = MockProcess::start(&binary("apiary-mock"), &["--pages", "40", "--latency-ms", "20"]).unwrap();
    let mut server = S3::start();
    server.create_bucket("archive-outage");
    let scratch = Scratch::new();
    let file = pipeline(&scratch, &api, &server, "archive-outage", 0);
    let output = scratch.output("archived", "issues");
    let mut sync = scratch.spawn_until_lines(&["run", &file], &output, 50);
    server.stop();
    assert!(sync.wait().unwrap().success(), "the sync succeeds without its archive");
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 200, "every record");
    let again = scratch.apiary(&["run", &file]);
    assert!(again.success, "{again:?}");
    assert!(
        again.stderr.contains("exchanges waiting for s3://archive-outage/team/raw")
            && again.stderr.contains(&format!("`apiary archive push {file}`")),
        "the run reports its backlog: {}",
        again.stderr
    );

    let exchanges = stored(&scratch);
    let status = backlog(&scratch, &file);
    let waiting = status["waiting"].as_u64().unwrap();
    assert!(waiting > 0 && status["oldest_ms"].is_u64(), "a backlog: {status}");
    assert!(status["health"]["last_error"].as_str().is_some_and(|e| !e.contains(SECRET)), "{status}");
    let human = scratch.apiary(&["archive", "status"]);
    assert!(human.stdout.contains("archived") && human.stdout.contains(&waiting.to_string()), "{}", human.stdout);

    server.restart();
    let pushed = scratch.apiary(&["archive", "push", &file]);
    assert!(pushed.success, "{pushed:?}");
    let status = backlog(&scratch, &file);
    assert_eq!((status["waiting"].as_u64(), status["health"]["archived"].as_u64()), (Some(0), Some(exchanges as u64)));
    assert_eq!(keys(&server, "archive-outage", "team/raw/archived/").len(), exchanges, "every exchange, once");
}

#[test]
fn apiary_serve_archives_what_its_jobs_store() {
    use apiary_e2e::serve::ServeProcess;

    let api = MockProcess::start(&binary("apiary-mock"), &["--pages", "6"]).expect("mock starts");
    let scratch = Scratch::new();
    let shared = scratch.path().join("shared-mount");
    let wasm = connector_wasm("github_connector");
    let extra = format!("[archive]\nurl = \"file://{}/raw\"\n", shared.display());
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "5")];
    let spec = PipelineSpec {
        name: "served",
        connector: &wasm,
        base_url: api.base_url(),
        streams: &["issues"],
        config: &config,
        extra: &extra,
    };
    let dir = scratch.path().join("pipelines");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("served.toml"), format!("every = \"1h\"\n{}", spec.toml())).unwrap();
    let serve = ServeProcess::start(&scratch.home(), &dir, &[], &[]).unwrap();

    let objects = apiary_e2e::serve::wait_until("the job's six exchanges in the archive", || {
        let found = apiary_e2e::harness::files_under(&shared);
        (found.len() >= 6).then_some(found)
    });
    assert_eq!(objects.len(), 6, "one object per exchange: {objects:?}");
    assert!(objects.iter().all(|o| o.starts_with(shared.join("raw").join("served"))), "{objects:?}");
    drop(serve);
}
