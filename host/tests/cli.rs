//! The `apiary` binary itself, for what needs no server: it starts, and it ends quietly when
//! its reader goes away (`apiary runs | head -1`). Being an integration test of this package
//! also makes `cargo test --workspace` build the binary the end-to-end tests run.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const APIARY: &str = env!("CARGO_BIN_EXE_apiary");

#[test]
fn prints_its_version() {
    let out = Command::new(APIARY).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), concat!("apiary ", env!("CARGO_PKG_VERSION")));
}

/// A home whose only exchange has a body far larger than a pipe's buffer.
fn home_with_a_large_exchange() -> tempfile::TempDir {
    use apiary_host::model::{ConnectorIdentity, Exchange, Method, Request, Response};
    use apiary_host::store::{ExchangeWrite, RunContext, RunKind, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("apiary.redb")).unwrap();
    let connector = ConnectorIdentity::default();
    let run = store.begin_run(RunKind::Sync, "p", &connector, &[]).unwrap();
    let context = RunContext { run: run.id, pipeline: "p".into(), connector };
    let request = Request { endpoint: "s".into(), method: Method::Get, url: "/s".into(), headers: vec![], body: None };
    let body = format!("[{}]", vec!["{\"n\":1}"; 100_000].join(","));
    let exchange =
        Exchange { request, response: Response { status: 200, headers: vec![], body: body.into() }, fetched_at_ms: 0 };
    store.put_exchange(&context, ExchangeWrite::new(&store, &exchange)).unwrap();
    dir
}

#[test]
fn a_closed_pipe_ends_it_quietly_without_a_panic() {
    let home = home_with_a_large_exchange();
    let mut child = Command::new(APIARY)
        .arg("--home")
        .arg(home.path())
        .args(["raw", "show", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    reader.read_line(&mut first).unwrap();
    // The reader goes away (like `head -1`) with most of the 800 KB body unread.
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(first.starts_with("exchange 1"), "{first}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "no panic exit");
}
