//! What every stream task of one run shares, and the two writes of the data path, both queued
//! to the run's [`Committer`]: storing an exchange (sent before anything parses it) and the
//! commit that ends processing a request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::SyncError;
use super::committer::{Committer, Job};
use super::loop_guard::LoopGuard;
use super::parsers::Parsers;
use super::schemas::RunSchemas;
use super::send_ahead::SendAhead;
use super::turns::{Turn, Turns};
use crate::config::Pipeline;
use crate::fetch::Fetcher;
use crate::model::{DeprecationNotice, Exchange, Header, Record, Request};
use crate::progress::{Observer, Progress};
use crate::runtime::LoadedConnector;
use crate::sink::Sink;
use crate::store::{Completion, Counts, ExchangeId, ExchangeWrite, FrontierEntry, FrontierId, RunContext, Store};

/// The state of one run, shared by its stream tasks.
pub struct Shared {
    pub pipeline: Pipeline,
    pub connector: LoadedConnector,
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub sink: Arc<Mutex<Box<dyn Sink>>>,
    /// Each stream's schema state: records are judged against it.
    pub schemas: RunSchemas,
    pub context: RunContext,
    pub observer: Arc<dyn Observer>,
    /// Cancelled by SIGTERM/SIGINT: take no new request, finish the pages being parsed.
    pub cancel: CancellationToken,
    /// Deprecation notices seen in this run, by endpoint (recorded once per endpoint).
    pub deprecations: Mutex<BTreeMap<String, DeprecationNotice>>,
    /// Progress so far, for the observer.
    pub progress: Mutex<Progress>,
    /// Where every durable write goes.
    pub committer: Arc<Committer>,
    /// Each stream's commit order.
    pub turns: BTreeMap<String, Turns>,
    /// `Link` chains' next pages, sent while the page naming them is parsed.
    pub send_ahead: SendAhead,
    /// Every request each stream sent in this run: a page linking back ends its chain.
    pub loop_guard: LoopGuard,
    /// The threads every page is parsed on.
    pub parsers: Parsers,
}

/// Told when a page's raw exchange is queued for the committer: whatever is queued after that
/// is committed in the same transaction as the exchange, or a later one.
pub struct Queued(tokio::sync::oneshot::Receiver<()>);

impl Queued {
    /// Wait until the exchange is queued; an error when the committer stopped first.
    pub async fn wait(&mut self) -> Result<(), SyncError> {
        (&mut self.0).await.map_err(|_| SyncError::Internal("the committer has stopped".into()))
    }
}

/// An exchange to store: which attempt and hop it answers, and whether it is the page to parse.
pub struct ToStore<'a> {
    pub stream: &'a str,
    /// Shared with the parse of a page: its body is compressed where it is, not copied.
    pub exchange: &'a Arc<Exchange>,
    pub attempt: u32,
    pub hop: u32,
    pub duration_ms: u64,
    pub to_parse: Option<FrontierId>,
    pub counts: Counts,
    /// A request sent ahead that no page asked for.
    pub unasked: bool,
}

impl Shared {
    /// Run blocking work (a connector's `start`, database reads, compression) off the async
    /// threads; pages are parsed on [`Shared::parsers`].
    pub async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, SyncError> {
        tokio::task::spawn_blocking(f).await.map_err(|e| SyncError::Internal(e.to_string()))
    }

    /// How many requests of `stream` may be in flight at once (its endpoint's declaration).
    pub fn in_flight_of(&self, stream: &str) -> usize {
        self.connector.manifest().endpoint(stream).map_or(1, |e| e.max_in_flight.max(1) as usize)
    }

    /// Queue an exchange for the raw store as soon as it arrives (rule 2: the committer stores
    /// it no later than anything derived from it). Returns its id, and
    /// for a page to parse a receiver told when it is queued: nothing derived from the page is
    /// queued before that. A page's body is compressed on a blocking thread while it is
    /// parsed; other exchanges (evidence of a failed attempt, a redirect hop) are queued before
    /// this returns.
    pub async fn store_exchange(&self, s: ToStore<'_>) -> Result<(ExchangeId, Option<Queued>), SyncError> {
        let id = self.store.reservations().exchange();
        let (exchange, base_url) = (s.exchange.clone(), self.fetcher.target().base().to_string());
        let (attempt, hop, duration_ms, to_parse, counts, unasked) =
            (s.attempt, s.hop, s.duration_ms, s.to_parse, s.counts, s.unasked);
        let compress = move || ExchangeWrite {
            attempt,
            hop,
            duration_ms,
            base_url: Some(base_url),
            to_parse,
            counts,
            unasked,
            ..ExchangeWrite::compressing(id, &exchange)
        };
        let queued = match s.to_parse {
            Some(_) => {
                let (tell, queued) = tokio::sync::oneshot::channel();
                let committer = self.committer.clone();
                // Its settle (or the outcome that ends the request) waits for `queued`, so
                // the run never ends with this send still to come.
                tokio::spawn(async move {
                    let write = tokio::task::spawn_blocking(compress).await;
                    if let Ok(write) = write
                        && committer.send(Job::Exchange(Box::new(write))).await.is_ok()
                    {
                        let _ = tell.send(());
                    }
                });
                Some(Queued(queued))
            }
            None => {
                let write = self.blocking(compress).await?;
                self.committer.send(Job::Exchange(Box::new(write))).await?;
                None
            }
        };
        self.note_deprecation(s.stream, &s.exchange.response.headers).await?;
        Ok((id, queued))
    }

    /// Frontier entries for follow-up `requests` of `stream`, their ids reserved now; URLs under
    /// the base URL (or under `fetched_under`, the one a stored page was fetched under) are
    /// stored relative to it, so `--base-url` applies to a resumed frontier.
    pub fn new_entries(&self, stream: &str, requests: Vec<Request>, fetched_under: Option<&str>) -> Vec<FrontierEntry> {
        let target = self.fetcher.target();
        let relative = |r: Request| Request { url: target.relative_to_either(&r.url, fetched_under), ..r };
        self.store.new_entries(stream, requests.into_iter().map(relative).collect())
    }

    /// Record a deprecation notice the first time this run sees one for `endpoint`.
    async fn note_deprecation(&self, endpoint: &str, headers: &[Header]) -> Result<(), SyncError> {
        let Some(notice) = DeprecationNotice::from_headers(headers) else { return Ok(()) };
        if self.deprecations.lock().expect("deprecations lock").insert(endpoint.to_string(), notice.clone()).is_some() {
            return Ok(());
        }
        tracing::info!(endpoint, "the API deprecates this endpoint: {}", notice.describe());
        let (store, context, endpoint) = (self.store.clone(), self.context.clone(), endpoint.to_string());
        self.blocking(move || store.record_deprecation(&context, &endpoint, &notice)).await??;
        Ok(())
    }

    /// The next place in `stream`'s commit order, taken when an outcome is decided.
    pub fn turn(&self, stream: &str) -> Turn {
        self.turns.get(stream).map_or_else(|| Turns::default().take(), Turns::take)
    }

    /// [`Shared::commit`] once every earlier turn of the stream has queued its commit.
    pub async fn commit_in_turn(
        &self,
        mut turn: Turn,
        records: Vec<Record>,
        done: Completion,
        fetched_at_ms: u64,
    ) -> Result<(), SyncError> {
        turn.wait().await;
        self.commit(records, done, fetched_at_ms).await
    }

    /// Queue `records` (already validated) and `done`: the committer writes the records, makes
    /// them durable and commits `done` with the sink's new position. `fetched_at_ms` is when
    /// the page's exchange was fetched (0 when there is none).
    pub async fn commit(
        &self,
        records: Vec<Record>,
        mut done: Completion,
        fetched_at_ms: u64,
    ) -> Result<(), SyncError> {
        done.counts.records += records.len() as u64;
        let (stream, written, is_page) = (done.stream.clone(), records.len() as u64, done.entry.is_some());
        self.committer.send(Job::Page { records, done, fetched_at_ms }).await?;
        if is_page {
            self.report_progress(&stream, written);
        }
        Ok(())
    }

    /// Tell the observer that a page of `stream` was done.
    fn report_progress(&self, stream: &str, records: u64) {
        let snapshot = {
            let mut progress = self.progress.lock().expect("progress lock");
            progress.pages += 1;
            progress.records += records;
            progress.stream = stream.to_string();
            progress.clone()
        };
        self.observer.on_progress(&snapshot);
    }
}
