//! The store as a whole: formats, opening, upgrading format 1, and how letters are settled.

use super::*;
use crate::model::{ComponentDigest, Method, Request};

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("apiary.redb")).unwrap();
    (dir, store)
}

fn context(store: &Store, kind: RunKind) -> RunContext {
    let connector = ConnectorIdentity {
        name: "c".into(),
        version: "1".into(),
        api_version: "v1".into(),
        digest: ComponentDigest("ab".into()),
    };
    let run = store.begin_run(kind, "p", &connector, &["s".to_string()]).unwrap();
    RunContext { run: run.id, pipeline: "p".into(), connector }
}

fn request(page: u32) -> Request {
    Request { endpoint: "s".into(), method: Method::Get, url: format!("/s?page={page}"), headers: vec![], body: None }
}

fn completion(page: u32, letters: Vec<NewDeadLetter>) -> Completion {
    Completion {
        stream: "s".into(),
        settles: Some(RequestKey::of(&request(page))),
        dead_letters: letters,
        ..Completion::default()
    }
}

#[test]
fn a_database_from_a_newer_apiary_is_refused_and_left_alone() {
    let (dir, store) = fresh();
    let path = dir.path().join("apiary.redb");
    {
        let write = store.write().unwrap();
        write.open_table(tables::META).unwrap().insert("format", FORMAT_VERSION + 1).unwrap();
        write.commit().unwrap();
    }
    drop(store);
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).err().expect("refused");
    assert!(matches!(err, StoreError::NewerFormat { found, .. } if found == FORMAT_VERSION + 1));
    assert!(err.to_string().contains("upgrade apiary"), "{err}");
    assert!(std::fs::read(&path).unwrap() == before, "nothing written");
}

#[test]
fn a_new_database_is_created_whole_and_a_read_never_creates_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo/apiary.redb");
    let err = Store::open_read_only(&missing).err().expect("refused");
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(!dir.path().join("typo").exists(), "a read creates nothing");
    let path = dir.path().join("nested/apiary.redb");
    drop(Store::open(&path).unwrap());
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path().join("nested")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("apiary.redb")], "no temporary file is left");
    assert!(Store::open_read_only(&path).is_ok(), "reopening the same format works");
}

#[test]
fn an_io_failure_is_reported_as_such_not_as_damage() {
    let io = std::io::Error::from(std::io::ErrorKind::StorageFull);
    let err = open::describe(
        std::path::Path::new("/x/apiary.redb"),
        redb::DatabaseError::Storage(redb::StorageError::Io(io)),
    );
    assert!(matches!(err, StoreError::Io { .. }));
    assert!(err.to_string().contains("not damaged") && !err.to_string().contains("move it aside"), "{err}");
}

#[test]
fn a_format_1_database_is_upgraded_and_reads_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apiary.redb");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/store/format-1.redb.zst");
    let compressed = std::fs::read(fixture).unwrap();
    std::fs::write(&path, zstd::decode_all(compressed.as_slice()).unwrap()).unwrap();
    let store = Store::open_read_only(&path).unwrap();
    assert!(migrate::backup_path(&path).exists(), "the format-1 file is kept");
    let runs = store.runs().unwrap();
    let kinds: Vec<RunKind> = runs.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [RunKind::Sync, RunKind::Replay, RunKind::Sync]);
    assert_eq!((runs[0].counts.records, runs[0].counts.dead_letters), (17, 3));
    let raw = store.raw_list(|_| true).unwrap();
    assert_eq!(raw.len(), 5);
    assert!(raw[1].request.url.ends_with("/repos/apiary-mock/generated/issues?per_page=5&page=2"));
    let exchange = store.raw(raw[0].id).unwrap();
    assert!(exchange.body.starts_with(b"[{"), "bodies decompress");
    let letters = store.dead_letters(|_| true).unwrap();
    let stages: Vec<Stage> = letters.iter().map(|l| l.stage).collect();
    assert_eq!(stages, [Stage::Record, Stage::Record, Stage::Record, Stage::Fetch]);
    assert!(letters.iter().all(|l| l.origin == LetterOrigin::Live && l.resolved_by.is_none()));
    assert_eq!(store.checkpoint("format1", "issues").unwrap().as_deref(), Some("2024-02-20T12:30:00Z"));
}

#[test]
fn a_request_processed_again_settles_its_open_letters() {
    let (_dir, store) = fresh();
    let first = context(&store, RunKind::Sync);
    let fetch = NewDeadLetter::new("s", Stage::Fetch, "HTTP 503", 5).about(Some(request(3)));
    store.complete(&first, completion(3, vec![fetch.clone()])).unwrap();
    let second = context(&store, RunKind::Sync);
    store.complete(&second, completion(3, vec![fetch])).unwrap();
    let letters = store.dead_letters(|_| true).unwrap();
    assert_eq!(letters.len(), 1, "failing again updates the letter instead of adding one");
    assert_eq!((letters[0].attempts, letters[0].resolved_by), (10, None));
    let third = context(&store, RunKind::Replay);
    store.complete(&third, completion(3, vec![])).unwrap();
    assert_eq!(store.dead_letter(letters[0].id).unwrap().resolved_by, Some(third.run), "success resolves it");
}

#[test]
fn rejected_records_keep_their_letter_while_still_rejected() {
    let (_dir, store) = fresh();
    let reject = |payload: &str| {
        NewDeadLetter::new("s", Stage::Record, "no id", 1).about(Some(request(1))).holding(payload.to_string())
    };
    let first = context(&store, RunKind::Sync);
    store.complete(&first, completion(1, vec![reject("{\"a\":1}"), reject("{\"a\":2}")])).unwrap();
    let second = context(&store, RunKind::Sync);
    store.complete(&second, completion(1, vec![reject("{\"a\":2}")])).unwrap();
    let letters = store.dead_letters(|_| true).unwrap();
    assert_eq!(letters.len(), 2, "no new letter for a record rejected again");
    assert_eq!(letters[0].resolved_by, Some(second.run), "the record now accepted is resolved");
    assert_eq!(letters[1].resolved_by, None, "the record still rejected stays open");
}

#[test]
fn a_queued_exchange_holds_only_its_compressed_body_and_is_stored_whole() {
    let (_dir, store) = fresh();
    let ctx = context(&store, RunKind::Sync);
    let body: Vec<u8> = (0..2_000).flat_map(|i| format!("{{\"id\":{i}}},").into_bytes()).collect();
    let response = crate::model::Response { status: 200, headers: vec![], body: body.clone() };
    let exchange = crate::model::Exchange { request: request(1), response, fetched_at_ms: 7 };
    let write = ExchangeWrite::new(&store, &exchange);
    assert!(write.exchange.response.body.is_empty(), "the body is not held twice while the write waits");
    assert_eq!((write.body_bytes, write.added_counts().raw_bytes), (body.len() as u64, body.len() as u64));
    let id = write.id;
    store.commit_batch(&ctx, vec![Write::Exchange(Box::new(write))]).unwrap();
    let stored = store.raw(id).unwrap();
    assert_eq!((stored.body, stored.meta.body_bytes), (body.clone(), body.len() as u64));
}
