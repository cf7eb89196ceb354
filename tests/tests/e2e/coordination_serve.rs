//! Two `apiary serve` workers (two homes, as on two machines) on one pipeline folder, through
//! a real Redis: every scheduled run happens once, and when the worker running a pipeline is
//! killed the other takes it over after the lease's TTL, the PostgreSQL table ending as a
//! clean run's.

use std::path::Path;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm};
use apiary_e2e::serve::{ServeProcess, metric, wait_until};
use apiary_e2e::services::redis;
use apiary_e2e::spawn::MockProcess;

use crate::pg::{Db, URL_VAR, pipeline as pg_pipeline};

const COORDINATION: &str = "[coordination]\nredis = { env = \"APIARY_REDIS\" }\nlease-ttl = \"5s\"\n";

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

/// Start a worker on `dir` in a home of its own, with `env` and the shared Redis.
fn worker(home: &Path, dir: &Path, env: &[(&str, &str)]) -> ServeProcess {
    let redis_url = redis().url();
    let mut env = env.to_vec();
    env.push(("APIARY_REDIS", &redis_url));
    ServeProcess::start(home, dir, &[], &env).expect("apiary serve starts")
}

/// The status of `pipeline` on `worker` (`never_run`, `running`, `succeeded`, ...).
fn status(worker: &ServeProcess, pipeline: &str) -> String {
    let view = worker.json("/api/pipelines");
    let all = view["pipelines"].as_array().cloned().unwrap_or_default();
    let found = all.into_iter().find(|p| p["name"] == pipeline);
    found.and_then(|p| p["status"].as_str().map(str::to_string)).unwrap_or_default()
}

/// How many jobs of `pipeline` `worker` skipped because another worker had it.
fn skipped(worker: &ServeProcess, pipeline: &str) -> f64 {
    let (_, text) = worker.request("GET", "/metrics", &[]);
    metric(&text, &format!("apiary_jobs_skipped_total{{pipeline=\"{pipeline}\"}}")).unwrap_or(0.0)
}

#[test]
fn two_workers_on_one_folder_run_each_scheduled_sync_once() {
    let api = mock(&["--pages", "10", "--latency-ms", "20"]);
    let scratch = Scratch::new();
    let dir = scratch.path().join("pipelines");
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "10")];
    for name in ["first", "second"] {
        let spec = PipelineSpec {
            name,
            connector: &wasm,
            base_url: api.base_url(),
            streams: &["issues"],
            config: &config,
            extra: COORDINATION,
        };
        std::fs::write(dir.join(format!("{name}.toml")), format!("every = \"1h\"\n{}", spec.toml())).unwrap();
    }
    let workers =
        [worker(&scratch.path().join("home-a"), &dir, &[]), worker(&scratch.path().join("home-b"), &dir, &[])];

    for name in ["first", "second"] {
        wait_until(&format!("{name} to run on one worker and be skipped on the other"), || {
            let ran = workers.iter().filter(|w| status(w, name) == "succeeded").count();
            let passed = workers.iter().filter(|w| skipped(w, name) >= 1.0).count();
            (ran == 1 && passed == 1).then_some(())
        });
    }
    let stats = api.stats().unwrap();
    assert_eq!(stats.total, 2 * 10, "each pipeline's ten pages fetched once, by one worker: {:?}", stats.by_request);
}

#[test]
fn a_killed_worker_s_pipeline_is_taken_over_after_the_ttl_and_the_table_equals_a_clean_run_s() {
    let clean_db = Db::create("coord_clean", "github");
    let clean_api = mock(&["--pages", "60"]);
    let clean = Scratch::new();
    let ran = clean.apiary_with_env(
        &["run", &pg_pipeline(&clean, clean_api.base_url(), "github", "")],
        &[(URL_VAR, &clean_db.url)],
    );
    assert!(ran.success, "{ran:?}");
    let expected = clean_db.dump("github.issues");
    assert_eq!(expected.len(), 300);

    let db = Db::create("coord_takeover", "github");
    // 50 ms a page: the 60-page chain takes 3 s or more, so the kill lands mid-run.
    let api = mock(&["--pages", "60", "--latency-ms", "50"]);
    let scratch = Scratch::new();
    let file = pg_pipeline(&scratch, api.base_url(), "github", COORDINATION);
    let dir = scratch.path().join("pipelines");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("generated.toml"), format!("every = \"10s\"\n{}", std::fs::read_to_string(file).unwrap()))
        .unwrap();
    let env = [(URL_VAR, db.url.as_str())];
    let mut workers =
        vec![worker(&scratch.path().join("home-a"), &dir, &env), worker(&scratch.path().join("home-b"), &dir, &env)];

    let holder = wait_until("one worker to be midway through the pipeline", || {
        let loaded = loaded_pages(&db);
        let running = workers.iter().position(|w| status(w, "generated") == "running");
        running.filter(|_| loaded >= 10)
    });
    workers[holder].signal("KILL");
    let killed = workers.remove(holder);
    drop(killed);
    let survivor = &workers[0];
    assert!(loaded_pages(&db) < 60, "killed mid-run");

    wait_until("the other worker to take the pipeline over and finish it", || {
        (status(survivor, "generated") == "succeeded").then_some(())
    });
    assert!(skipped(survivor, "generated") >= 1.0, "it waited while the lease was held");
    let dump = db.dump("github.issues");
    assert_eq!(dump.len(), expected.len());
    assert!(dump == expected, "the table after the takeover differs from a clean run's");
    let fence: i64 = db.value("SELECT token FROM github._apiary_fences WHERE pipeline = 'generated'").parse().unwrap();
    assert!(fence >= 2, "the second worker wrote with a newer fencing token ({fence})");
}

/// Pages loaded into `db`'s `github` schema so far (0 before the loads table exists).
fn loaded_pages(db: &Db) -> u64 {
    if db.value("SELECT coalesce(to_regclass('github._apiary_loads')::text, '')").is_empty() {
        return 0;
    }
    db.count("github._apiary_loads")
}
