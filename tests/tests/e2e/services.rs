//! The test services themselves: each real server starts, serves a real client, and (where a
//! later test needs it) stops and comes back; servers die with a killed test process.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apiary_e2e::harness::binary;
use apiary_e2e::services::{Browser, Redis, S3, postgres, venv};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, RetryConfig};

#[tokio::test]
async fn postgres_gives_each_test_a_database_that_keeps_rows() {
    let url = postgres().create_database("services_smoke");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client.batch_execute("CREATE TABLE t (id int PRIMARY KEY, amount numeric)").await.unwrap();
    client.execute("INSERT INTO t VALUES (1, 12345678901234567890.123456789)", &[]).await.unwrap();
    let row = client.query_one("SELECT id, amount::text FROM t", &[]).await.unwrap();
    assert_eq!((row.get::<_, i32>(0), row.get::<_, String>(1)), (1, "12345678901234567890.123456789".to_string()));

    let wrong = url.replace("apiary-test-password", "wrong");
    let err = tokio_postgres::connect(&wrong, tokio_postgres::NoTls).await.err().expect("a wrong password is refused");
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD), "{err:?}");
}

#[tokio::test]
async fn redis_serves_then_refuses_when_stopped_and_comes_back_empty() {
    let mut redis = Redis::start();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.expect("connect");
    let pong: String = redis::cmd("PING").query_async(&mut connection).await.unwrap();
    assert_eq!(pong, "PONG");
    let () = redis::cmd("SET").arg("k").arg("v").query_async(&mut connection).await.unwrap();
    let value: String = redis::cmd("GET").arg("k").query_async(&mut connection).await.unwrap();
    assert_eq!(value, "v");

    redis.stop();
    assert!(client.get_multiplexed_async_connection().await.is_err(), "a stopped Redis refuses connections");

    redis.restart();
    let mut connection = client.get_multiplexed_async_connection().await.expect("connect after restart");
    let value: Option<String> = redis::cmd("GET").arg("k").query_async(&mut connection).await.unwrap();
    assert_eq!(value, None, "no persistence: a restarted Redis is empty");
}

fn s3_store(s3: &S3, bucket: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(s3.endpoint())
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region(S3::REGION)
        .with_access_key_id(S3::ACCESS_KEY_ID)
        .with_secret_access_key(S3::SECRET_ACCESS_KEY)
        // Fail at once while the server is stopped instead of retrying for minutes.
        .with_retry(RetryConfig { max_retries: 0, ..RetryConfig::default() })
        .build()
        .expect("an S3 client")
}

#[tokio::test]
async fn s3_stores_objects_and_keeps_them_across_a_restart() {
    let mut s3 = S3::start();
    s3.create_bucket("apiary-smoke");
    let store = s3_store(&s3, "apiary-smoke");
    let path = ObjectPath::from("raw/exchange-1.json.zst");
    let body = b"\x28\xb5\x2f\xfd binary bytes \x00\xff".to_vec();
    store.put(&path, body.clone().into()).await.expect("put");
    assert_eq!(store.get(&path).await.unwrap().bytes().await.unwrap().as_ref(), body.as_slice());

    s3.stop();
    assert!(store.get(&path).await.is_err(), "a stopped server refuses requests");

    s3.restart();
    let after = store.get(&path).await.expect("the object is back after the restart");
    assert_eq!(after.bytes().await.unwrap().as_ref(), body.as_slice());
}

#[test]
fn singer_target_jsonl_writes_the_records_and_echoes_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let destination = dir.path().display().to_string();
    std::fs::write(
        &config,
        serde_json::json!({"destination_path": destination, "do_timestamp_file": false}).to_string(),
    )
    .unwrap();
    let messages = [
        r#"{"type":"SCHEMA","stream":"issues","schema":{"type":"object","properties":{"id":{"type":"integer"},"title":{"type":"string"}}},"key_properties":["id"]}"#,
        r#"{"type":"RECORD","stream":"issues","record":{"id":7,"title":"seven"},"time_extracted":"2026-11-01T00:00:00Z"}"#,
        r#"{"type":"STATE","value":{"bookmarks":{"issues":{"since":"2026-11-01T00:00:00Z"}}}}"#,
    ];
    let mut target = Command::new(venv().bin("target-jsonl"))
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("target-jsonl starts");
    target.stdin.take().unwrap().write_all(messages.join("\n").as_bytes()).unwrap();
    let output = target.wait_with_output().unwrap();
    assert!(output.status.success());

    let written = std::fs::read_to_string(dir.path().join("issues.jsonl")).expect("target-jsonl wrote issues.jsonl");
    let record: serde_json::Value = serde_json::from_str(written.trim()).unwrap();
    assert_eq!(record, serde_json::json!({"id": 7, "title": "seven"}));
    let state: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(state["bookmarks"]["issues"]["since"], "2026-11-01T00:00:00Z");
}

/// A page with a button that fetches `/clicked` and shows the answer.
const PAGE: &str = r#"<!doctype html><html><body>
<h1>apiary browser check</h1><p id="status">waiting</p><button id="go">Go</button>
<script>
document.getElementById('go').onclick = async () => {
  const answer = await fetch('/clicked');
  document.getElementById('status').textContent = await answer.text();
};
</script></body></html>"#;

#[tokio::test]
async fn browser_clicks_a_button_and_reads_what_the_server_answered() {
    let clicks = Arc::new(AtomicUsize::new(0));
    let counted = clicks.clone();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { axum::response::Html(PAGE) })).route(
        "/clicked",
        axum::routing::get(move || async move { format!("clicked {}", counted.fetch_add(1, Ordering::SeqCst) + 1) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let browser = Browser::launch().await;
    let page = browser.open(&url).await.expect("the page loads");
    assert_eq!(page.text("#status").await.unwrap(), "waiting");
    page.click("#go").await.unwrap();
    let shown = page.wait_for_text("#status", "clicked", Duration::from_secs(10)).await.unwrap();
    assert_eq!(shown, "clicked 1");
    assert_eq!(clicks.load(Ordering::SeqCst), 1, "the server saw exactly one click");

    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("page.png");
    page.screenshot(&png).await.unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG file");
    assert!(bytes.len() > 1000, "a real picture, not an empty one: {} bytes", bytes.len());
}

#[test]
fn servers_die_with_a_test_process_killed_by_sigkill() {
    let mut holder = Command::new(binary("apiary-services")).stdout(Stdio::piped()).spawn().expect("apiary-services");
    let mut pids = Vec::new();
    for line in BufReader::new(holder.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        let pid: u32 = line.split(' ').nth(1).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{line}"));
        assert!(alive(pid), "{line}: running before the kill");
        pids.push((line, pid));
    }
    assert_eq!(pids.len(), 3, "postgres, redis and s3 started");

    holder.kill().unwrap();
    holder.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while pids.iter().any(|(_, pid)| alive(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let survivors: Vec<&String> = pids.iter().filter(|(_, pid)| alive(*pid)).map(|(line, _)| line).collect();
    assert!(survivors.is_empty(), "still running after their test process was killed: {survivors:?}");
}

/// Whether the process runs (a zombie waiting for init to reap it does not count).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}
