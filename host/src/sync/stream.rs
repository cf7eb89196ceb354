//! One stream of a sync: its frontier, processed with up to `max-in-flight` requests at once.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::SyncError;
use super::shared::Shared;
use crate::fetch::{FetchError, Fetched};
use crate::runtime::{Exchange, Method, Page, ParseError, Record, Request, SyncContext};
use crate::sink::validate_record;
use crate::store::{Completion, ExchangeId, FrontierEntry, NewDeadLetter, NewExchange, Stage, now_ms};

/// Where a stream starts: fresh, or from what an interrupted run left in the store.
#[derive(Debug, Default)]
pub struct StreamResume {
    /// Whether `start` already ran (its requests are in `entries`).
    pub started: bool,
    /// The stream's frontier.
    pub entries: Vec<FrontierEntry>,
    /// Exchanges stored but not processed, to parse from storage first.
    pub unprocessed: Vec<(ExchangeId, FrontierEntry)>,
}

/// Sync `stream` until its frontier is empty. Failures of single requests become dead letters;
/// only errors that stop the whole run (database, disk) are returned.
pub async fn sync_stream(shared: Arc<Shared>, stream: String, resume: StreamResume) -> Result<(), SyncError> {
    let mut frontier = VecDeque::from(resume.entries);
    if !resume.started {
        frontier.extend(start(&shared, &stream).await?);
    }
    let mut seen = HashSet::new();
    let mut running = JoinSet::new();
    for (exchange, entry) in resume.unprocessed {
        frontier.retain(|e| e.id != entry.id);
        seen.insert(request_key(&shared, &entry.request));
        running.spawn(process(shared.clone(), stream.clone(), entry, Some(exchange)));
    }
    let in_flight = shared.in_flight_of(&stream);
    loop {
        while running.len() < in_flight {
            let Some(entry) = frontier.pop_front() else { break };
            if seen.insert(request_key(&shared, &entry.request)) {
                running.spawn(process(shared.clone(), stream.clone(), entry, None));
            } else {
                let error = format!(
                    "pagination loop: {:?} {} was already fetched in this run",
                    entry.request.method, entry.request.url
                );
                let dead = letter(&stream, Stage::Policy, error, 0, Some(entry.request.clone()), None);
                shared.commit(&stream, Vec::new(), finished(&entry, None, vec![dead])).await?;
            }
        }
        match running.join_next().await {
            Some(joined) => frontier.extend(joined.map_err(|e| SyncError::Internal(e.to_string()))??),
            None if frontier.is_empty() => return Ok(()),
            None => {}
        }
    }
}

/// The stream's first requests, committed to the frontier; a failing `start` is a dead letter.
async fn start(shared: &Arc<Shared>, stream: &str) -> Result<Vec<FrontierEntry>, SyncError> {
    let checkpoint = shared.store.checkpoint(&shared.context.pipeline, stream)?;
    let ctx = SyncContext { config: shared.pipeline.config_pairs(), checkpoint, now_ms: now_ms() };
    let (connector, name) = (shared.connector.clone(), stream.to_string());
    let requests = match shared.blocking(move || connector.start(&name, &ctx)).await? {
        Ok(Ok(requests)) => requests,
        failed => {
            let error = match failed {
                Ok(Err(message)) => format!("start failed: {message}"),
                Err(call) => format!("start failed: {call}"),
                Ok(Ok(_)) => unreachable!("handled above"),
            };
            let done = Completion {
                dead_letters: vec![letter(stream, Stage::Parse, error, 1, None, None)],
                ..Completion::default()
            };
            shared.commit(stream, Vec::new(), done).await?;
            Vec::new()
        }
    };
    let (store, pipeline, name) = (shared.store.clone(), shared.context.pipeline.clone(), stream.to_string());
    Ok(shared.blocking(move || store.start_stream(&pipeline, &name, requests)).await??)
}

/// What parsing one exchange led to.
enum Parsed {
    /// Committed: these are the new frontier entries.
    Done(Vec<FrontierEntry>),
    /// Fetch the request again after this wait (malformed body, `retry-later`).
    Again(Duration),
}

/// Process one frontier entry: fetch (unless its exchange is already stored), parse, commit.
/// A response the connector calls malformed, or answers with `retry-later`, is fetched again
/// under the retry policy; every attempt's raw exchange stays stored.
async fn process(
    shared: Arc<Shared>,
    stream: String,
    entry: FrontierEntry,
    mut stored: Option<ExchangeId>,
) -> Result<Vec<FrontierEntry>, SyncError> {
    let (shared, stream) = (&shared, stream.as_str());
    let rounds = shared.fetcher.policy().max_attempts.max(1);
    for round in 1..=rounds {
        let (exchange_id, exchange) = match stored.take() {
            Some(id) => {
                let store = shared.store.clone();
                let raw = shared.blocking(move || store.raw(id)).await??;
                (id, raw.to_exchange())
            }
            None => match fetch_and_store(shared, stream, &entry).await? {
                Some((id, fetched)) => (id, fetched.exchange),
                None => return Ok(Vec::new()),
            },
        };
        match parse_and_commit(shared, stream, &entry, exchange_id, exchange, round, rounds).await? {
            Parsed::Done(next) => return Ok(next),
            Parsed::Again(wait) => {
                shared.count(stream, |s| s.waited_ms += wait.as_millis() as u64);
                tokio::time::sleep(wait).await;
            }
        }
    }
    unreachable!("the last round always commits")
}

/// Parse a stored exchange and commit the outcome.
async fn parse_and_commit(
    shared: &Arc<Shared>,
    stream: &str,
    entry: &FrontierEntry,
    exchange_id: ExchangeId,
    exchange: Exchange,
    round: u32,
    rounds: u32,
) -> Result<Parsed, SyncError> {
    let connector = shared.connector.clone();
    let error = match shared.blocking(move || connector.parse(&exchange)).await? {
        Ok(Ok(page)) => return accept_page(shared, stream, entry, page, exchange_id).await.map(Parsed::Done),
        Ok(Err(parse_error)) => match retry_after_parse(shared, &parse_error, round).filter(|_| round < rounds) {
            Some(wait) => {
                tracing::info!(stream, round, "{}; fetching again", describe_parse_error(&parse_error));
                let done = Completion { entry: Some(entry.id), exchange: Some(exchange_id), ..Completion::default() };
                shared.commit(stream, Vec::new(), done).await?;
                return Ok(Parsed::Again(wait));
            }
            None => format!("{} (after {round} attempt(s))", describe_parse_error(&parse_error)),
        },
        Err(call) => call.to_string(),
    };
    let dead = letter(stream, Stage::Parse, error, round, Some(entry.request.clone()), Some(exchange_id));
    shared.commit(stream, Vec::new(), finished(entry, Some(exchange_id), vec![dead])).await?;
    Ok(Parsed::Done(Vec::new()))
}

/// How long to wait before fetching again after a parse error, if it is worth it: a malformed
/// body (often a truncated transfer) or the connector's `retry-later`, within the wait cap.
fn retry_after_parse(shared: &Shared, error: &ParseError, round: u32) -> Option<Duration> {
    match error {
        ParseError::Malformed(_) => Some(shared.fetcher.retry_wait(round, None)),
        ParseError::RetryLater(ms) => {
            let asked = Duration::from_millis(*ms);
            (asked <= shared.max_retry_after).then(|| shared.fetcher.retry_wait(round, Some(asked)))
        }
        ParseError::Fatal(_) => None,
    }
}

/// Fetch an entry's request and commit its exchange as unprocessed. `None` when it ended as a
/// dead letter (refused, unreachable, or a non-2xx status after retries).
async fn fetch_and_store(
    shared: &Arc<Shared>,
    stream: &str,
    entry: &FrontierEntry,
) -> Result<Option<(ExchangeId, Fetched)>, SyncError> {
    let fetched = match shared.fetcher.fetch(&entry.request).await {
        Ok(fetched) => fetched,
        Err(error) => {
            let (stage, attempts) = match &error {
                FetchError::Policy(_) => (Stage::Policy, 0),
                FetchError::Failed { attempts, .. } => (Stage::Fetch, *attempts),
            };
            shared.count(stream, |s| {
                s.requests += u64::from(attempts);
                s.retries += u64::from(attempts.saturating_sub(1));
            });
            let dead = letter(stream, stage, error.to_string(), attempts, Some(entry.request.clone()), None);
            shared.commit(stream, Vec::new(), finished(entry, None, vec![dead])).await?;
            return Ok(None);
        }
    };
    let (exchange_id, fetched) = store_exchange(shared, stream, entry, fetched).await?;
    let status = fetched.exchange.response.status;
    if (200..300).contains(&status) {
        return Ok(Some((exchange_id, fetched)));
    }
    let error = match &fetched.gave_up {
        Some(reason) => format!("HTTP {status}: {reason}"),
        None => format!("HTTP {status} after {} attempt(s)", fetched.attempts),
    };
    let dead = letter(stream, Stage::Fetch, error, fetched.attempts, Some(entry.request.clone()), Some(exchange_id));
    shared.commit(stream, Vec::new(), finished(entry, Some(exchange_id), vec![dead])).await?;
    Ok(None)
}

/// Commit the exchange to the raw store, marked unprocessed, before anything parses it.
async fn store_exchange(
    shared: &Arc<Shared>,
    stream: &str,
    entry: &FrontierEntry,
    fetched: Fetched,
) -> Result<(ExchangeId, Fetched), SyncError> {
    let (store, context, entry_id) = (shared.store.clone(), shared.context.clone(), entry.id);
    let (stored, fetched) = shared
        .blocking(move || {
            let stored = store.put_exchange(NewExchange {
                context: &context,
                exchange: &fetched.exchange,
                attempt: fetched.attempts,
                duration_ms: fetched.duration.as_millis() as u64,
                entry: Some(entry_id),
            });
            (stored, fetched)
        })
        .await?;
    let meta = stored?;
    shared.note_deprecation(&entry.request.endpoint, &fetched.exchange.response.headers).await?;
    shared.count(stream, |s| {
        s.requests += u64::from(fetched.attempts);
        s.retries += u64::from(fetched.attempts - 1);
        s.throttled += u64::from(fetched.throttled);
        s.waited_ms += fetched.waited.as_millis() as u64;
        s.rate_waited_ms += fetched.rate_waited.as_millis() as u64;
        s.exchanges += 1;
        s.raw_bytes += meta.body_bytes;
        s.stored_bytes += meta.stored_bytes;
    });
    Ok((meta.id, fetched))
}

/// Write a parsed page's records, dead-letter its rejects, and commit it with its `next`
/// requests and checkpoint.
async fn accept_page(
    shared: &Arc<Shared>,
    stream: &str,
    entry: &FrontierEntry,
    page: Page,
    exchange: ExchangeId,
) -> Result<Vec<FrontierEntry>, SyncError> {
    if let Err(limit) = shared.connector.limits().check_page(&page) {
        let dead = letter(stream, Stage::Parse, limit, 1, Some(entry.request.clone()), Some(exchange));
        return shared.commit(stream, Vec::new(), finished(entry, Some(exchange), vec![dead])).await;
    }
    let mut dead = Vec::new();
    let mut records: Vec<Record> = Vec::with_capacity(page.records.len());
    for record in page.records {
        match validate_record(&record.stream, &record.json) {
            Ok(()) => records.push(record),
            Err(invalid) => dead.push(NewDeadLetter {
                payload: Some(record.json),
                ..letter(stream, Stage::Record, invalid.to_string(), 1, None, Some(exchange))
            }),
        }
    }
    for reject in page.rejects {
        dead.push(NewDeadLetter {
            payload: Some(reject.payload),
            ..letter(stream, Stage::Record, reject.reason, 1, None, Some(exchange))
        });
    }
    let written = records.len() as u64;
    let mut done = finished(entry, Some(exchange), dead);
    done.next = page.next.into_iter().map(|r| (stream.to_string(), r)).collect();
    done.checkpoint = page.checkpoint.map(|c| (stream.to_string(), c));
    let next = shared.commit(stream, records, done).await?;
    shared.observer.on_page(stream, written);
    Ok(next)
}

/// A completion that takes `entry` out of the frontier.
fn finished(entry: &FrontierEntry, exchange: Option<ExchangeId>, dead_letters: Vec<NewDeadLetter>) -> Completion {
    Completion { entry: Some(entry.id), entry_done: true, exchange, dead_letters, ..Completion::default() }
}

fn describe_parse_error(error: &ParseError) -> String {
    match error {
        ParseError::Malformed(m) => format!("malformed response: {m}"),
        ParseError::RetryLater(ms) => format!("connector asked to retry in {ms} ms"),
        ParseError::Fatal(m) => format!("connector could not parse the response: {m}"),
    }
}

/// What makes two requests the same for the loop guard: method, absolute URL, body.
fn request_key(shared: &Shared, request: &Request) -> (Method, String, Option<Vec<u8>>) {
    let url = shared.fetcher.resolve(&request.url).map_or_else(|_| request.url.clone(), String::from);
    (request.method, url, request.body.clone())
}

/// A dead letter of `stream`.
pub fn letter(
    stream: &str,
    stage: Stage,
    error: String,
    attempts: u32,
    request: Option<Request>,
    exchange: Option<ExchangeId>,
) -> NewDeadLetter {
    NewDeadLetter { stream: stream.to_string(), stage, error, attempts, request, exchange, payload: None }
}
