//! The archive queue and its drain, against a real store and a real folder archive: an exchange
//! is queued in its raw commit, leaves the queue only once the archive has it, and comes back
//! whole into another home. Backoff waits run on Tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::Pipeline;
use crate::model::{ComponentDigest, ConnectorIdentity, Exchange, Method, Request, Response};
use crate::store::{Archiving, ExchangeId, ExchangeWrite, RunContext, RunKind, Store, Write};

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<Store>,
    pipeline: Pipeline,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("home/apiary.redb")).unwrap());
        let text = format!(
            "name = \"p\"\nconnector = \"c.wasm\"\n[archive]\nurl = \"file://{}\"\n",
            dir.path().join("archive").display()
        );
        Fixture { dir, store, pipeline: Pipeline::parse(&text).unwrap() }
    }

    /// Commit one exchange per page, as the sync's committer does.
    fn commit(&self, pages: &[u32], archiving: Archiving) -> Vec<ExchangeId> {
        let connector = ConnectorIdentity {
            name: "c".into(),
            version: "1".into(),
            api_version: "v1".into(),
            digest: ComponentDigest("ab".into()),
        };
        let run = self.store.begin_run(RunKind::Sync, "p", &connector, &["s".to_string()]).unwrap();
        let context = RunContext { run: run.id, pipeline: "p".into(), connector };
        let writes: Vec<ExchangeWrite> = pages.iter().map(|page| exchange(&self.store, *page, archiving)).collect();
        let ids = writes.iter().map(|w| w.id).collect();
        self.store.commit_batch(&context, writes.into_iter().map(|w| Write::Exchange(Box::new(w))).collect()).unwrap();
        ids
    }

    fn waiting(&self) -> Vec<ExchangeId> {
        self.store.archive_waiting("p", 100).unwrap()
    }

    /// The archived objects' files, sorted.
    fn archived(&self) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("archive/p"))
            .map_or(vec![], |d| d.map(|e| e.unwrap().path()).collect());
        files.sort();
        files
    }
}

fn exchange(store: &Store, page: u32, archiving: Archiving) -> ExchangeWrite {
    let request = Request {
        endpoint: "s".into(),
        method: Method::Get,
        url: format!("/s?page={page}"),
        headers: vec![],
        body: None,
    };
    let body = format!("[{{\"page\":{page}}}]").into_bytes();
    let response = Response { status: 200, headers: vec![], body };
    let mut write = ExchangeWrite::new(store, &Exchange { request, response, fetched_at_ms: 1_000 + u64::from(page) });
    write.archiving = archiving;
    write
}

#[test]
fn the_raw_commit_queues_an_exchange_only_for_a_pipeline_with_an_archive() {
    let f = Fixture::new();
    f.commit(&[1], Archiving::Off);
    assert!(f.waiting().is_empty(), "no archive, no queue");
    let ids = f.commit(&[2, 3], Archiving::Queue);
    assert_eq!(f.waiting(), ids, "queued in the transaction that stored them, oldest first");
    let backlog = backlog(&f.store, "p").unwrap();
    assert_eq!((backlog.waiting, backlog.oldest_ms.is_some()), (2, true));
}

#[tokio::test]
async fn a_push_puts_each_exchange_once_and_then_empties_the_queue() {
    let f = Fixture::new();
    let ids = f.commit(&[1, 2, 3], Archiving::Queue);
    // One is in the archive already (a drain put it and was killed before taking it off the queue).
    let target = ArchiveTarget::open(f.pipeline.archive.as_ref().unwrap(), &f.pipeline.secrets).unwrap();
    let (meta, body) = f.store.raw_stored(ids[0]).unwrap();
    let early = object::encode(target.prefix(), &meta, &body);
    std::fs::create_dir_all(f.dir.path().join("archive/p")).unwrap();
    std::fs::write(f.dir.path().join("archive").join(early.key.to_string()), &early.bytes).unwrap();

    let left = push(f.store.clone(), &f.pipeline, &|_, _| {}).await.unwrap();
    assert_eq!((left.waiting, left.health.archived), (0, 3), "{left:?}");
    assert!(f.waiting().is_empty());
    let files = f.archived();
    assert_eq!(files.len(), 3, "{files:?}");
    let key = object_store::path::Path::from(format!("p/{}", files[1].file_name().unwrap().to_str().unwrap()));
    let (archived, compressed) = object::decode(&key, &std::fs::read(&files[1]).unwrap()).unwrap();
    assert_eq!((archived, compressed), f.store.raw_stored(ids[1]).unwrap(), "metadata and stored body, as stored");
}

#[tokio::test(start_paused = true)]
async fn an_exchange_stays_queued_while_the_archive_fails_and_goes_once_it_works() {
    let f = Fixture::new();
    let ids = f.commit(&[1], Archiving::Queue);
    // A file where the pipeline's folder should be: every put fails.
    std::fs::create_dir_all(f.dir.path().join("archive")).unwrap();
    std::fs::write(f.dir.path().join("archive/p"), b"in the way").unwrap();

    let err = push(f.store.clone(), &f.pipeline, &|_, _| {}).await.unwrap_err();
    assert!(matches!(err, ArchiveError::GaveUp { attempts: 6, .. }), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");
    assert_eq!(f.waiting(), ids, "removed only after a put succeeded");
    let health = backlog(&f.store, "p").unwrap().health;
    assert!(health.last_error.is_some() && health.archived == 0, "{health:?}");

    let archiver = Archiver::for_pipeline(f.store.clone(), &f.pipeline).unwrap().unwrap();
    let started = tokio::time::Instant::now();
    let left = archiver.finish(Duration::from_secs(5)).await.unwrap();
    assert_eq!(left.waiting, 1, "a run's flush gives up at its deadline");
    assert!(started.elapsed() >= Duration::from_secs(5) && started.elapsed() < Duration::from_secs(6));

    std::fs::remove_file(f.dir.path().join("archive/p")).unwrap();
    let archiver = Archiver::for_pipeline(f.store.clone(), &f.pipeline).unwrap().unwrap();
    let left = archiver.finish(Duration::from_secs(5)).await.unwrap();
    assert_eq!((left.waiting, left.health.archived), (0, 1), "caught up: {left:?}");
    assert_eq!(f.archived().len(), 1);
}

#[tokio::test]
async fn an_archive_brings_a_pipelines_exchanges_into_a_fresh_home_once() {
    let f = Fixture::new();
    let ids = f.commit(&[3, 1, 2], Archiving::Queue);
    push(f.store.clone(), &f.pipeline, &|_, _| {}).await.unwrap();
    let target = ArchiveTarget::open(f.pipeline.archive.as_ref().unwrap(), &f.pipeline.secrets).unwrap();

    let other = tempfile::tempdir().unwrap();
    let fresh = Store::open(&other.path().join("apiary.redb")).unwrap();
    let imported = import(&fresh, &target, "p", &|_, _| {}).await.unwrap();
    assert_eq!(imported.exchanges, 3);
    let original: Vec<_> = ids.iter().map(|id| f.store.raw(*id).unwrap()).collect();
    let mut brought = fresh.raw_list(|_| true).unwrap();
    brought.sort_by_key(|m| m.fetched_at_ms);
    let mut expected: Vec<_> = original.iter().map(|r| r.meta.clone()).collect();
    expected.sort_by_key(|m| m.fetched_at_ms);
    for (b, e) in brought.iter().zip(&expected) {
        assert_eq!(crate::store::RawMeta { id: e.id, ..b.clone() }, *e, "the same exchange, under a new id");
        assert_eq!(fresh.raw(b.id).unwrap().body, f.store.raw(e.id).unwrap().body);
    }
    assert!(fresh.archive_waiting("p", 10).unwrap().is_empty(), "imported exchanges are not archived again");
    let again = import(&fresh, &target, "p", &|_, _| {}).await.unwrap_err();
    assert!(matches!(again, ArchiveError::NotFresh { .. }), "{again}");
    let none = import(&Store::open(&other.path().join("b.redb")).unwrap(), &target, "q", &|_, _| {}).await;
    assert!(matches!(none, Err(ArchiveError::Empty { .. })));
}
