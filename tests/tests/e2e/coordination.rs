//! Shared rate budgets end to end: three `apiary run` processes (three homes, as on three
//! machines) on three pipelines that share one credential and one bucket, through a real
//! Redis, against the mock enforcing that bucket's rate on the API side.

use std::process::{Child, Stdio};

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::serve::wait_until;
use apiary_e2e::services::{Redis, redis};
use apiary_e2e::spawn::MockProcess;

/// The budget every test here shares between its workers: 20 requests a second. The API
/// allows a burst of 4 on top; the workers keep to 2, so network jitter is never a violation.
const RATE: f64 = 20.0;
const WORKERS: [&str; 3] = ["worker-a", "worker-b", "worker-c"];
const PAGES: u64 = 20;

fn mock(extra: &[&str]) -> MockProcess {
    let pages = PAGES.to_string();
    let mut args = vec!["--pages", &pages, "--limit", "generated/issues=20/1000/4"];
    args.extend_from_slice(extra);
    MockProcess::start(&binary("apiary-mock"), &args).expect("mock starts")
}

/// Pipeline `name` over the mock's generated issues, authenticating with `SHARED_TOKEN` and
/// coordinating through the Redis in `APIARY_REDIS`.
fn pipeline(scratch: &Scratch, name: &str, base_url: &str) -> String {
    let wasm = connector_wasm("github_connector");
    let extra = "[secrets]\ntoken = { env = \"SHARED_TOKEN\" }\n\n[coordination]\nredis = { env = \"APIARY_REDIS\" }\n\n\
                 [retry]\nbase-ms = 10\n\n[buckets.core]\nrequests = 20\nper-ms = 1000\nburst = 2\nallow-raise = true\n";
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "10")];
    let spec = PipelineSpec { name, connector: &wasm, base_url, streams: &["issues"], config: &config, extra };
    scratch.write(&format!("{name}.toml"), spec.toml()).to_str().unwrap().to_string()
}

/// A token no other test uses: the budget in Redis is keyed by its hash.
fn fresh_token() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("ghp_test_{}_{n}", std::process::id())
}

/// Start one `apiary run` per worker, each in its own home; returns the scratches and children.
fn start_workers(base_url: &str, redis_url: &str, token: &str) -> Vec<(Scratch, String, Child)> {
    WORKERS
        .iter()
        .map(|name| {
            let scratch = Scratch::new();
            let file = pipeline(&scratch, name, base_url);
            let mut command = scratch.command(&["run", &file]);
            command.env("SHARED_TOKEN", token).env("APIARY_REDIS", redis_url);
            let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("apiary starts");
            (scratch, name.to_string(), child)
        })
        .collect()
}

/// Wait for every worker; each must succeed and write every record once.
fn finish(workers: Vec<(Scratch, String, Child)>) {
    for (scratch, name, child) in workers {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(!stderr.contains("ghp_test_"), "{name}: the token never reaches a log line: {stderr}");
        let records = read_jsonl(&scratch.output(&name, "issues"));
        assert_eq!(records.len() as u64, PAGES * 10, "{name}: every record");
    }
}

#[test]
fn three_workers_share_one_budget_with_no_violation_and_use_nine_tenths_of_it() {
    let api = mock(&[]);
    finish(start_workers(api.base_url(), &redis().url(), &fresh_token()));

    let limit = &api.stats().unwrap().limits["generated/issues"];
    assert_eq!(limit.requests, 3 * PAGES, "each page once per worker: {limit:?}");
    assert_eq!(limit.violations, 0, "together the workers never went over the budget: {limit:?}");
    let share = limit.rate() / RATE;
    assert!(share >= 0.9, "the workers together used {:.0}% of the budget ({:.1}/s)", share * 100.0, limit.rate());
}

#[test]
fn a_429_seen_by_one_worker_pauses_every_worker() {
    // The 21st request is answered 429 with Retry-After: 2; a request within those 2 s (after
    // the moment it takes the news to travel) counts as a violation.
    let api = mock(&["--throttle-once", "generated/issues=20/2"]);
    finish(start_workers(api.base_url(), &redis().url(), &fresh_token()));

    let limit = &api.stats().unwrap().limits["generated/issues"];
    assert_eq!(limit.throttled, 1, "the API sent its one 429: {limit:?}");
    assert_eq!(limit.violations, 0, "no worker sent a request during the pause: {limit:?}");
    assert_eq!(limit.requests, 3 * PAGES + 1, "the throttled page was fetched again: {limit:?}");
}

#[test]
fn with_redis_down_workers_wait_and_send_nothing_then_finish_when_it_is_back() {
    let api = mock(&[]);
    let mut own = Redis::start();
    own.stop();
    let scratch = Scratch::new();
    let file = pipeline(&scratch, "worker-a", api.base_url());
    let mut command = scratch.command(&["run", &file]);
    command.env("SHARED_TOKEN", fresh_token()).env("APIARY_REDIS", own.url());
    let log = scratch.path().join("stderr.log");
    let child =
        command.stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().expect("apiary starts");

    let waiting = wait_until("the worker to report Redis unreachable", || {
        std::fs::read_to_string(&log).ok().filter(|text| text.contains("never past the shared budget"))
    });
    assert!(waiting.contains(&format!("127.0.0.1:{}", own.port())), "names Redis by address: {waiting}");
    assert_eq!(api.stats().unwrap().total, 0, "no request goes out without a token from the shared budget");

    own.restart();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(read_jsonl(&scratch.output("worker-a", "issues")).len() as u64, PAGES * 10);
    assert_eq!(api.stats().unwrap().limits["generated/issues"].violations, 0);
}

/// A coordinator on the shared Redis, the URL given as a secret.
fn coordinator() -> apiary_host::coord::Coordinator {
    use apiary_host::config::{CoordinationConfig, LeaseTtl, UrlSource};
    let config = CoordinationConfig { redis: UrlSource::Secret("redis".into()), lease_ttl: LeaseTtl::default() };
    let secrets = apiary_host::secrets::Secrets::from_values([("redis".to_string(), redis().url())]);
    apiary_host::coord::Coordinator::new(&config, &secrets).unwrap()
}

#[tokio::test]
async fn two_workers_draw_from_one_bucket_its_burst_then_one_interval_and_share_its_pause() {
    use apiary_host::coord::{CredentialId, Draw, SharedBudget};
    use apiary_host::model::{Auth, Bucket};
    use std::time::Duration;

    let credential = CredentialId::of(&Auth::None, &apiary_host::secrets::Secrets::default());
    let (a, b) = (coordinator(), coordinator());
    let (a, b) = (SharedBudget::new(&a, "draw-test", &credential), SharedBudget::new(&b, "draw-test", &credential));
    let quota = apiary_host::fetch::quota(&Bucket { name: "core".into(), requests: 10, per_ms: 1_000, burst: 3 });

    for budget in [&a, &b, &a] {
        assert_eq!(budget.try_draw("core", &quota).await.unwrap(), Draw::Granted, "the burst of 3, across workers");
    }
    match b.try_draw("core", &quota).await.unwrap() {
        Draw::Wait(wait) => assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100), "{wait:?}"),
        Draw::Granted => panic!("a fourth token at once breaks the burst"),
    }
    a.pause("core", Duration::from_secs(30)).await;
    match b.try_draw("core", &quota).await.unwrap() {
        Draw::Wait(wait) => assert!(wait > Duration::from_secs(29), "the other worker waits out the pause: {wait:?}"),
        Draw::Granted => panic!("a paused bucket gave a token"),
    }
}

#[tokio::test]
async fn a_lease_is_one_worker_s_at_a_time_and_each_new_lease_has_a_higher_fencing_token() {
    use apiary_host::coord::{Leases, WorkerId};

    let (a, b) = (Leases::new(&coordinator(), WorkerId::generate()), Leases::new(&coordinator(), WorkerId::generate()));
    let first = a.acquire("lease-test").await.unwrap().expect("free at first");
    assert!(b.acquire("lease-test").await.unwrap().is_none(), "held by the first worker");
    let token = first.fence().token;
    first.release().await;
    let second = b.acquire("lease-test").await.unwrap().expect("free once released");
    assert_eq!(second.fence().token, token + 1, "the next lease fences off the previous holder");
    assert!(!second.lost().is_cancelled());
    second.release().await;
}
