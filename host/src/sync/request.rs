//! One request of a stream, from its first attempt to its one commit: every attempt and
//! redirect hop is stored raw before anything looks at it, the page is parsed and judged on the
//! one acceptance path, and everything that can send the request again (a transport error, a
//! retryable status, a malformed page, `retry-later`) draws from one [`RetryBudget`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::SyncError;
use super::send_ahead::{Arrived, link_next};
use super::shared::{Queued, Shared, ToStore};
use super::turns::Turn;
use crate::accept::{self, PageOrigin, Verdict};
use crate::clock::now_ms;
use crate::fetch::{Failure, Redirect, RetryBudget, redirect_of};
use crate::model::{Exchange, Page, Request};
use crate::store::{Completion, Counts, ExchangeId, FrontierEntry, NewDeadLetter, RequestKey, Stage};

/// How an attempt ended.
enum Attempted {
    /// A successful response, queued to be stored and marked to be parsed.
    Page(ExchangeId, Arc<Exchange>, Queued),
    /// Try again after this wait.
    Again(Duration),
    /// No more attempts: this letter ends the request.
    Failed(NewDeadLetter),
    /// The run is being stopped: the request stays in the frontier for the next run.
    Stopped,
}

/// What processing a frontier entry gives its stream.
pub struct Processed {
    /// Follow-up entries, to fetch now.
    pub next: Vec<FrontierEntry>,
    /// The rest of an accepted page's work, to run while `next` is fetched: its records
    /// checked, its raw commit awaited, its commit queued in its turn.
    pub settle: Option<Settle>,
}

/// See [`Processed::settle`].
pub type Settle = Pin<Box<dyn Future<Output = Result<(), SyncError>> + Send>>;

impl Processed {
    /// Nothing more to do and nothing to follow.
    fn over() -> Processed {
        Processed { next: Vec::new(), settle: None }
    }
}

/// Process one frontier entry: fetch it (unless its page is already stored) and parse the
/// page. An accepted page's follow-ups are returned at once, the rest of its work as a
/// [`Settle`]; any other outcome is committed before this returns.
pub async fn process(
    shared: Arc<Shared>,
    stream: String,
    entry: FrontierEntry,
    mut stored: Option<ExchangeId>,
) -> Result<Processed, SyncError> {
    let (shared, stream) = (&shared, stream.as_str());
    let (request, mut budget) = shared.fetcher.prepare(&entry.request);
    let mut pending = Counts::default();
    loop {
        // A page stored by an earlier process was fetched under the base URL of that process.
        let (exchange_id, exchange, mut queued, fetched_under) = match stored.take() {
            Some(id) => {
                budget.start_attempt();
                let store = shared.store.clone();
                let raw = shared.blocking(move || store.raw(id)).await??;
                (id, Arc::new(raw.to_exchange()), None, raw.meta.base_url)
            }
            None => match attempt(shared, stream, &entry, &request, &mut budget, &mut pending).await? {
                Attempted::Page(id, exchange, queued) => (id, exchange, Some(queued), None),
                Attempted::Again(wait) if pause(shared, wait, &mut pending).await => continue,
                Attempted::Again(_) | Attempted::Stopped => return Ok(Processed::over()),
                Attempted::Failed(letter) => return finish(shared, stream, &entry, None, letter, pending).await,
            },
        };
        let (connector, fetched_at_ms) = (shared.connector.clone(), exchange.fetched_at_ms);
        let sending_ahead = shared.fetcher.http().send_ahead;
        let link = if sending_ahead { page_link(shared, &exchange) } else { None };
        let parsed = shared.parsers.parse(connector, exchange).await?;
        let verdict = accept::judge_page(parsed, shared.connector.limits());
        // A page to fetch again teaches nothing yet: its guess waits for the page's next copy.
        let asked_for = match &verdict {
            Verdict::Accept(page) => Some(page.next.as_slice()),
            Verdict::Fail(_) => Some(&[][..]),
            Verdict::Refetch { .. } => None,
        };
        if let (true, Some(asked_for)) = (sending_ahead, asked_for) {
            shared.send_ahead.learn(stream, link.as_ref(), asked_for, shared.fetcher.target());
        }
        if let (Some(queued), false) = (&mut queued, matches!(verdict, Verdict::Accept(_))) {
            // What follows from an unused page must not reach the store before the page.
            queued.wait().await?;
        }
        let error = match verdict {
            Verdict::Accept(mut page) => {
                let exchange = Fetched { id: exchange_id, at_ms: fetched_at_ms, under: fetched_under };
                let settling = Settling::of(shared, stream, entry, exchange, pending, std::mem::take(&mut page.next));
                return Ok(settling.settle(shared, page, queued.take()));
            }
            Verdict::Refetch { reason, asked } => {
                let failure = asked.map_or(Failure::Malformed, Failure::RetryLater);
                match budget.after(failure) {
                    crate::fetch::Verdict::Retry(wait) => {
                        tracing::info!(stream, attempt = budget.attempts(), "{reason}; fetching again");
                        let done = Completion {
                            stream: stream.to_string(),
                            entry: Some(entry.id),
                            exchange: Some(exchange_id),
                            counts: std::mem::take(&mut pending),
                            ..Completion::default()
                        };
                        shared.commit_in_turn(shared.turn(stream), Vec::new(), done, 0).await?;
                        if pause(shared, wait, &mut pending).await {
                            continue;
                        }
                        return Ok(Processed::over());
                    }
                    crate::fetch::Verdict::GiveUp(why) => format!("{reason} ({why})"),
                }
            }
            Verdict::Fail(error) => error,
        };
        let letter = NewDeadLetter::new(stream, Stage::Parse, error, budget.attempts())
            .about(Some(entry.request.clone()))
            .linked(Some(exchange_id));
        return finish(shared, stream, &entry, Some(exchange_id), letter, pending).await;
    }
}

/// The `Link: rel="next"` target of a page, resolved.
fn page_link(shared: &Shared, page: &Exchange) -> Option<url::Url> {
    let target = shared.fetcher.target();
    link_next(&page.response.headers, &target.resolve(&page.request.url).ok()?, target)
}

/// One attempt: send the request, following redirects hop by hop, storing every response.
async fn attempt(
    shared: &Arc<Shared>,
    stream: &str,
    entry: &FrontierEntry,
    request: &Request,
    budget: &mut RetryBudget,
    pending: &mut Counts,
) -> Result<Attempted, SyncError> {
    let (fetcher, number) = (&shared.fetcher, budget.start_attempt());
    pending.retries += u64::from(number > 1);
    let letter = |stage: Stage, error: String, exchange: Option<ExchangeId>| {
        NewDeadLetter::new(stream, stage, error, number).about(Some(entry.request.clone())).linked(exchange)
    };
    let mut url = match fetcher.target().resolve(&request.url) {
        Ok(url) => url,
        Err(why) => return Ok(Attempted::Failed(letter(Stage::Policy, why, None))),
    };
    let mut hop_request = request.clone();
    for hop in 0.. {
        let first_send = number == 1 && hop == 0;
        let Arrived { attempt: sent, fetched_at_ms } = tokio::select! {
            biased;
            _ = shared.cancel.cancelled() => return Ok(Attempted::Stopped),
            sent = send(shared, stream, &hop_request, &url, number, first_send) => sent,
        };
        pending.requests += 1;
        pending.rate_waited_ms += sent.rate_waited.as_millis() as u64;
        let response = match sent.result {
            Ok(response) => response,
            Err(error) => {
                return Ok(match budget.after(Failure::Transport) {
                    crate::fetch::Verdict::Retry(wait) => Attempted::Again(wait),
                    crate::fetch::Verdict::GiveUp(why) => {
                        Attempted::Failed(letter(Stage::Fetch, format!("{error} ({why})"), None))
                    }
                });
            }
        };
        pending.throttled += u64::from(response.status == 429);
        let status = response.status;
        let stored_request = Request { url: fetcher.target().relative(url.as_str()), ..hop_request.clone() };
        let exchange = Arc::new(Exchange { request: stored_request, response, fetched_at_ms });
        let is_page = exchange.response.is_success();
        let (id, queued) = shared
            .store_exchange(ToStore {
                stream,
                exchange: &exchange,
                attempt: number,
                hop,
                duration_ms: sent.duration.as_millis() as u64,
                to_parse: is_page.then_some(entry.id),
                counts: std::mem::take(pending),
                unasked: false,
            })
            .await?;
        if let Some(queued) = queued {
            if shared.fetcher.http().send_ahead {
                shared.send_ahead.guess(shared, stream, &exchange, &url, shared.in_flight_of(stream));
            }
            return Ok(Attempted::Page(id, exchange, queued));
        }
        match redirect_of(fetcher.target(), &url, hop_request.method, &exchange.response) {
            Some(Redirect::Follow { .. }) if hop >= fetcher.http().max_redirects => {
                let why = format!("more than {} redirects ([http] max-redirects)", fetcher.http().max_redirects);
                return Ok(Attempted::Failed(letter(Stage::Policy, why, Some(id))));
            }
            Some(Redirect::Follow { url: next, method }) => {
                pending.redirects += 1;
                if method != hop_request.method {
                    hop_request.method = method;
                    hop_request.body = None;
                }
                url = next;
                fetcher.strip_credentials(&mut url);
                continue;
            }
            Some(Redirect::Refused(why)) => return Ok(Attempted::Failed(letter(Stage::Policy, why, Some(id)))),
            None => {}
        }
        if !fetcher.retry().retries_status(status) {
            let error = format!("HTTP {status} (after {number} attempt(s))");
            return Ok(Attempted::Failed(letter(Stage::Fetch, error, Some(id))));
        }
        return Ok(match budget.after(Failure::Status { asked: sent.asked }) {
            crate::fetch::Verdict::Retry(wait) => Attempted::Again(wait),
            crate::fetch::Verdict::GiveUp(why) => {
                Attempted::Failed(letter(Stage::Fetch, format!("HTTP {status} ({why})"), Some(id)))
            }
        });
    }
    unreachable!("every hop returns or continues")
}

/// Send `request` to `url` as attempt `number`; a request's first send takes the response of
/// the same request sent ahead, when there is one.
async fn send(
    shared: &Arc<Shared>,
    stream: &str,
    request: &Request,
    url: &url::Url,
    number: u32,
    first: bool,
) -> Arrived {
    let ahead = if first { shared.send_ahead.take(stream, request, url) } else { None };
    if let Some(ahead) = ahead
        && let Some(arrived) = ahead.arrival().await
    {
        return arrived;
    }
    let attempt = shared.fetcher.send(request, url, number).await;
    Arrived { attempt, fetched_at_ms: now_ms() }
}

/// Wait `wait` before the next attempt, counted as retry wait; `false` when the run is being
/// stopped meanwhile (the request stays in the frontier).
async fn pause(shared: &Shared, wait: Duration, pending: &mut Counts) -> bool {
    tokio::select! {
        biased;
        _ = shared.cancel.cancelled() => false,
        _ = tokio::time::sleep(wait) => {
            pending.waited_ms += wait.as_millis() as u64;
            true
        }
    }
}

/// End the request with `letter`: the entry leaves the frontier, the letter settles the
/// request's earlier letters.
async fn finish(
    shared: &Shared,
    stream: &str,
    entry: &FrontierEntry,
    exchange: Option<ExchangeId>,
    letter: NewDeadLetter,
    counts: Counts,
) -> Result<Processed, SyncError> {
    let done = Completion { exchange, dead_letters: vec![letter], ..finished(stream, entry, counts) };
    shared.commit_in_turn(shared.turn(stream), Vec::new(), done, 0).await?;
    Ok(Processed::over())
}

/// An accepted page on its way to its commit, its place in the stream's commit order taken
/// and its follow-ups reserved.
struct Settling {
    stream: String,
    entry: FrontierEntry,
    exchange: Fetched,
    next: Vec<FrontierEntry>,
    counts: Counts,
    turn: Turn,
}

impl Settling {
    /// Take the page's turn now, when its outcome is decided, and reserve its follow-ups
    /// `requests` (stored relative to the base URL, or to the one the page was fetched under).
    fn of(
        shared: &Shared,
        stream: &str,
        entry: FrontierEntry,
        exchange: Fetched,
        counts: Counts,
        requests: Vec<Request>,
    ) -> Settling {
        let turn = shared.turn(stream);
        let next = shared.new_entries(stream, requests, exchange.under.as_deref());
        Settling { stream: stream.to_string(), entry, exchange, next, counts, turn }
    }

    /// The page's follow-ups, to fetch now, and the rest of its work: check its records, wait
    /// for its raw exchange to be queued, queue its commit in turn.
    fn settle(self, shared: &Arc<Shared>, page: Page, queued: Option<Queued>) -> Processed {
        let next = self.next.clone();
        let shared = shared.clone();
        let settle = async move {
            // The records are checked while the raw exchange is compressed and queued; only
            // the page's own commit must come after it, in the same transaction or a later one.
            let origin = PageOrigin { stream: &self.stream, request: &self.entry.request, exchange: self.exchange.id };
            let checked = shared.schemas.check(origin, page, &shared.connector);
            if let Some(mut queued) = queued {
                queued.wait().await?;
            }
            self.commit(&shared, checked).await
        };
        Processed { next, settle: Some(Box::pin(settle)) }
    }

    /// Write the checked page and commit it with its letters, follow-ups and checkpoint.
    async fn commit(self, shared: &Shared, page: accept::Accepted) -> Result<(), SyncError> {
        let stream = self.stream.as_str();
        let done = Completion {
            exchange: Some(self.exchange.id),
            next: self.next,
            checkpoint: page.checkpoint.map(|c| (stream.to_string(), c)),
            dead_letters: page.letters,
            ..finished(stream, &self.entry, self.counts)
        };
        shared.commit_in_turn(self.turn, page.records, done, self.exchange.at_ms).await
    }
}

/// The completion of a request whose processing is over: it leaves the frontier, settles its
/// earlier letters and counts one page.
fn finished(stream: &str, entry: &FrontierEntry, mut counts: Counts) -> Completion {
    counts.pages += 1;
    Completion {
        stream: stream.to_string(),
        settles: Some(RequestKey::of(&entry.request)),
        counts,
        entry: Some(entry.id),
        entry_done: true,
        ..Completion::default()
    }
}

/// The stored exchange a page was parsed from.
struct Fetched {
    /// Its id.
    id: ExchangeId,
    /// When it was fetched (ms since the epoch).
    at_ms: u64,
    /// The base URL it was fetched under, when an earlier process stored it.
    under: Option<String>,
}
