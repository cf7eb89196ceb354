//! `apiary serve` end to end: the real binary with pipeline files in a folder, the mock API as a
//! real server, the store read alongside; metrics checked against the store, SIGTERM mid-sync
//! and a second serve that resumes, files reloaded on SIGHUP, the API's actions, the token.

use std::collections::BTreeMap;
use std::path::Path;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm};
use apiary_e2e::serve::{ServeProcess, metric, wait_until};
use apiary_e2e::spawn::MockProcess;
use apiary_host::store::{Counts, RunOutcome, Stage, Store};

/// Fast retries and a generous bucket: these tests are about serving, not pacing.
const FAST: &str = "[retry]\nbase-ms = 10\nmax-ms = 50\n\n[buckets.core]\nrequests = 100000\nper-ms = 1000\n\
                    burst = 1000\nallow-raise = true\n";

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

/// A github pipeline over the mock's generated issues; `schedule` is a TOML line or "".
fn generated(name: &str, base_url: &str, per_page: &str, schedule: &str) -> String {
    let wasm = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", per_page)];
    let spec = PipelineSpec { name, connector: &wasm, base_url, streams: &["issues"], config: &config, extra: FAST };
    format!("{schedule}\n{}", spec.toml())
}

/// The `versioned` connector (v1 breaks on page 3, v2 parses it) over the mock.
fn versioned(name: &str, base_url: &str, release: &str, schedule: &str) -> String {
    let wasm = connector_wasm(&format!("versioned_{release}"));
    let spec = PipelineSpec { name, connector: &wasm, base_url, streams: &["issues"], config: &[], extra: "" };
    format!("{schedule}\n{}", spec.toml())
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
}

/// The pipeline `name` in an `/api/pipelines` answer (null when absent).
fn pipeline_of<'a>(view: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let found = view["pipelines"].as_array().and_then(|all| all.iter().find(|p| p["name"] == name));
    found.unwrap_or(&serde_json::Value::Null)
}

fn status_of(view: &serde_json::Value, name: &str) -> String {
    pipeline_of(view, name)["status"].as_str().unwrap_or("").to_string()
}

fn reader(scratch: &Scratch) -> Store {
    Store::open_read_only(&scratch.home().join("apiary.redb")).unwrap()
}

/// The store's committed counts summed per (pipeline, stream) over every run.
fn store_counts(store: &Store) -> BTreeMap<(String, String), Counts> {
    let mut sums: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for run in store.runs().unwrap() {
        for (stream, counts) in store.run_counts(run.id).unwrap() {
            sums.entry((run.pipeline.clone(), stream)).or_default().add(&counts);
        }
    }
    sums
}

#[test]
fn two_pipelines_run_on_schedule_and_the_metrics_equal_the_store() {
    let api = mock(&["--pages", "6", "--fault-429", "0.3", "--retry-after", "0", "--seed", "7"]);
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    write(&dir, "issues.toml", &generated("issues", api.base_url(), "10", "every = \"1h\""));
    write(&dir, "broken.toml", &versioned("broken", api.base_url(), "v1", "schedule = \"0 0 1 1 *\""));
    let mut serve = ServeProcess::start(&scratch.home(), &dir, &[], &[]).unwrap();

    let view = serve.wait_for("/api/pipelines", "issues to succeed", |v| status_of(v, "issues") == "succeeded");
    assert_eq!(status_of(&view, "broken"), "never_run", "a cron pipeline waits for its slot: {view}");
    let issues = pipeline_of(&view, "issues");
    let started = issues["last_run"]["started_at_ms"].as_u64().unwrap();
    let next = issues["next_run_ms"].as_u64().unwrap();
    // Counted from when serve started the job, a moment before the run was recorded.
    assert!((started + 3_595_000..=started + 3_600_000).contains(&next), "every 1h counts from the start: {issues}");
    let (status, body) = serve.post("/api/pipelines/broken/run");
    assert_eq!(status, 202, "{body}");
    serve.wait_for("/api/pipelines", "broken to run", |v| status_of(v, "broken") == "succeeded");

    let text = wait_until("the store gauges after the last job", || {
        let (_, text) = serve.request("GET", "/metrics", &[]);
        text.contains("apiary_dead_letters_open{").then_some(text)
    });
    let store = reader(&scratch);
    let sums = store_counts(&store);
    assert!(sums.values().map(|c| c.throttled).sum::<u64>() > 0, "the mock sent 429s: {sums:?}");
    for ((pipeline, stream), counts) in sums {
        let labels = format!("{{pipeline=\"{pipeline}\",stream=\"{stream}\"}}");
        for (name, value) in [
            ("apiary_requests_total", counts.requests),
            ("apiary_retries_total", counts.retries),
            ("apiary_throttled_total", counts.throttled),
            ("apiary_pages_total", counts.pages),
            ("apiary_records_total", counts.records),
            ("apiary_raw_bytes_total", counts.raw_bytes),
        ] {
            let expected = (value > 0).then_some(value as f64); // a counter never touched has no series
            assert_eq!(metric(&text, &format!("{name}{labels}")), expected, "{name}{labels}\n{text}");
        }
        let waited = metric(&text, &format!("apiary_retry_wait_seconds_total{labels}")).unwrap_or(0.0);
        assert!((waited - counts.waited_ms as f64 / 1000.0).abs() < 1e-6, "retry wait {waited} vs {counts:?}");
    }
    let open = store.dead_letters(|l| l.resolved_by.is_none()).unwrap();
    assert_eq!(open.len(), 1, "v1 cannot parse page 3");
    assert_eq!(open[0].stage, Stage::Parse);
    let letters = "{pipeline=\"broken\",stream=\"issues\",stage=\"parse\"}";
    assert_eq!(metric(&text, &format!("apiary_dead_letters_open{letters}")), Some(1.0));
    assert_eq!(metric(&text, &format!("apiary_dead_letters_added_total{letters}")), Some(1.0));
    let runs = store.runs().unwrap();
    let ended = runs.iter().find(|r| r.pipeline == "issues").unwrap().finished_at_ms.unwrap() / 1000;
    let success = metric(&text, "apiary_last_success_timestamp_seconds{pipeline=\"issues\"}");
    assert_eq!(success, Some(ended as f64));
    let core = metric(&text, "apiary_bucket_burst{pipeline=\"issues\",bucket=\"core\"}");
    assert_eq!(core, Some(1000.0), "{text}");
    let duration = "apiary_run_duration_seconds_count{pipeline=\"issues\",kind=\"sync\",outcome=\"succeeded\"}";
    assert_eq!(metric(&text, duration), Some(1.0));
    let api_runs = serve.json("/api/runs");
    assert_eq!(api_runs.as_array().unwrap().len(), 2);
    assert!(serve.terminate().success(), "serve exits 0 on SIGTERM");
}

#[test]
fn sigterm_mid_sync_then_serve_again_resumes_and_writes_every_record_once() {
    let pages = "1500";
    let clean_api = mock(&["--pages", pages]);
    let clean = Scratch::new();
    let file = clean.write("generated.toml", generated("generated", clean_api.base_url(), "5", ""));
    assert!(clean.apiary(&["run", file.to_str().unwrap()]).success);
    let expected = std::fs::read(clean.output("generated", "issues")).unwrap();

    let api = mock(&["--pages", pages, "--latency-ms", "2"]);
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    write(&dir, "generated.toml", &generated("generated", api.base_url(), "5", "every = \"1h\""));
    let mut serve = ServeProcess::start(&scratch.home(), &dir, &[], &[]).unwrap();
    serve.wait_for("/api/runs", "some committed records", |runs| runs[0]["counts"]["records"].as_u64() > Some(100));
    let (status, body) = serve.post("/api/pipelines/generated/run");
    assert_eq!(status, 409, "a pipeline never runs twice at once: {body}");
    assert!(serve.terminate().success(), "serve exits 0 on SIGTERM mid-sync");
    let store = reader(&scratch);
    let run = &store.runs().unwrap()[0];
    assert!(matches!(run.outcome, RunOutcome::Interrupted(_)), "stopped mid-sync, resumable: {:?}", run.outcome);
    assert!(store.sync_state("generated").unwrap().is_some());
    drop(store);

    let mut again = ServeProcess::start(&scratch.home(), &dir, &[], &[]).unwrap();
    again.wait_for("/api/pipelines", "the resumed run to finish", |v| status_of(v, "generated") == "succeeded");
    assert!(again.terminate().success());
    let output = std::fs::read(scratch.output("generated", "issues")).unwrap();
    assert!(
        output == expected,
        "resumed output differs from a clean run ({} vs {} bytes)",
        output.len(),
        expected.len()
    );
    let store = reader(&scratch);
    assert_eq!(store.runs().unwrap().len(), 1, "the second serve resumed the same run");
    assert!(store.sync_state("generated").unwrap().is_none());
}

#[test]
fn an_invalid_file_is_reported_the_others_run_and_sighup_reloads() {
    let api = mock(&["--pages", "2"]);
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    write(&dir, "good.toml", &generated("good", api.base_url(), "10", ""));
    write(&dir, "bad.toml", "name = \"bad\"\nconnector = \"x.wasm\"\nevery = \"often\"\n");
    let mut serve = ServeProcess::start(&scratch.home(), &dir, &["--rescan-every", "1h"], &[]).unwrap();
    let view = serve.json("/api/pipelines");
    assert_eq!(view["pipelines"].as_array().unwrap().len(), 1, "{view}");
    let error = view["file_errors"][0]["error"].as_str().unwrap();
    assert!(error.contains("bad.toml") && error.contains("line 3") && error.contains("not a duration"), "{error}");
    let (_, text) = serve.request("GET", "/metrics", &[]);
    assert_eq!(metric(&text, "apiary_pipeline_file_errors"), Some(1.0));

    assert_eq!(serve.post("/api/pipelines/good/run").0, 202);
    serve.wait_for("/api/pipelines", "good to run", |v| status_of(v, "good") == "succeeded");
    assert_eq!(serve.post("/api/pipelines/nope/run").0, 404);
    assert_eq!(serve.post("/api/pipelines").0, 405, "no route takes a pipeline file");

    write(&dir, "bad.toml", &generated("fixed", api.base_url(), "10", ""));
    serve.signal("HUP");
    let view = serve.wait_for("/api/pipelines", "the fixed file", |v| v["pipelines"].as_array().unwrap().len() == 2);
    assert_eq!(view["file_errors"].as_array().unwrap().len(), 0, "{view}");
    assert_eq!(status_of(&view, "fixed"), "never_run");
    assert!(serve.terminate().success());
}

#[test]
fn replay_through_the_api_resolves_the_dead_letter() {
    let api = mock(&["--pages", "6"]);
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    write(&dir, "versioned.toml", &versioned("versioned", api.base_url(), "v1", ""));
    let mut serve = ServeProcess::start(&scratch.home(), &dir, &["--rescan-every", "1h"], &[]).unwrap();
    assert_eq!(serve.post("/api/pipelines/versioned/run").0, 202);
    let letters = serve.wait_for("/api/dead-letters", "the page-3 letter", |l| l.as_array().unwrap().len() == 1);
    let exchange = letters[0]["exchange"].as_u64().unwrap();
    let raw = serve.json(&format!("/api/exchanges/{exchange}"));
    assert!(raw["meta"]["request"]["url"].as_str().unwrap().contains("page=3"), "{raw}");

    // The fixed connector, in a file of another name: the API shows when it is read.
    std::fs::remove_file(dir.join("versioned.toml")).unwrap();
    write(&dir, "versioned-v2.toml", &versioned("versioned", api.base_url(), "v2", ""));
    serve.signal("HUP");
    serve.wait_for("/api/pipelines", "the v2 file", |v| {
        pipeline_of(v, "versioned")["file"].as_str().is_some_and(|f| f.ends_with("versioned-v2.toml"))
    });
    let (status, body) = serve.post("/api/pipelines/versioned/replay");
    assert_eq!(status, 202, "{body}");
    serve.wait_for("/api/dead-letters", "the letter resolved", |l| l.as_array().unwrap().is_empty());
    let all = serve.json("/api/dead-letters?all=true");
    assert!(all[0]["resolved_by"].is_u64(), "kept, marked resolved: {all}");
    let runs = serve.wait_for("/api/runs", "the replay run", |r| {
        r[0]["kind"] == "replay" && r[0]["outcome"]["state"] == "succeeded"
    });
    assert_eq!(runs[0]["counts"]["records"].as_u64(), Some(20), "pages 3-6 after the replay: {runs}");
    assert!(serve.terminate().success());
}

#[test]
fn a_token_guards_the_data_and_no_secret_is_ever_served() {
    let secret = "s3cr3t-value-that-must-not-leak";
    let api = mock(&["--pages", "2"]);
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    let wasm = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "10")];
    let extra = format!("[secrets]\ntoken = {{ env = \"APIARY_E2E_SERVE_TOKEN\" }}\n\n{FAST}");
    let spec = PipelineSpec {
        name: "gh",
        connector: &wasm,
        base_url: api.base_url(),
        streams: &["issues"],
        config: &config,
        extra: &extra,
    };
    write(&dir, "gh.toml", &format!("every = \"1h\"\n{}", spec.toml()));
    let token = "0123456789abcdef0123456789abcdef";
    let token_file = scratch.write("token", format!("{token}\n"));
    std::fs::set_permissions(&token_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    let refused = scratch.apiary(&["serve", "--dir", dir.to_str().unwrap(), "--listen", "0.0.0.0:0"]);
    assert!(!refused.success && refused.stderr.contains("--token-file"), "{refused:?}");

    let args = ["--token-file", token_file.to_str().unwrap()];
    let env = [("APIARY_E2E_SERVE_TOKEN", secret)];
    let mut serve = ServeProcess::start(&scratch.home(), &dir, &args, &env).unwrap();
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    assert_eq!(serve.request("GET", "/api/pipelines", &[]).0, 401);
    assert_eq!(serve.request("GET", "/metrics", &[("Authorization", "Bearer wrong-token-0123456789")]).0, 401);
    assert_eq!(serve.request("GET", "/", &[]).0, 200, "the page itself holds no data");
    let foreign = [("Authorization", bearer.as_str()), ("Host", "rebound.example:80")];
    assert_eq!(serve.request("GET", "/api/pipelines", &foreign).0, 403);

    wait_until("gh to succeed", || {
        let (_, body) = serve.request("GET", "/api/pipelines", &auth);
        body.contains("\"succeeded\"").then_some(())
    });
    let letters: serde_json::Value =
        serde_json::from_str(&serve.request("GET", "/api/dead-letters?all=true", &auth).1).unwrap();
    let exchanges = reader(&scratch).raw_list(|_| true).unwrap();
    assert!(!exchanges.is_empty());
    let mut paths: Vec<String> = [
        "/",
        "/app.js",
        "/metrics",
        "/api/pipelines",
        "/api/runs",
        "/api/dead-letters?all=true",
        "/api/deprecations",
        "/api/rate-limits",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    paths.extend(exchanges.iter().map(|m| format!("/api/exchanges/{}", m.id)));
    for path in &paths {
        let (status, body) = serve.request("GET", path, &auth);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.contains(secret), "{path} serves the secret");
    }
    assert!(letters.as_array().is_some());
    assert!(serve.terminate().success());
}
