//! One stream of a sync: the frontier loop.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::SyncError;
use super::shared::Shared;
use crate::fetch::{FetchError, Fetched};
use crate::runtime::{Method, Page, ParseError, Request, SyncContext};
use crate::sink::validate_record;
use crate::store::{ExchangeId, NewDeadLetter, NewExchange, Stage, now_ms};

/// Sync `stream` until its frontier is empty, with up to the endpoint's `max-in-flight`
/// requests at once. Failures of single requests become dead letters; only errors that stop
/// the whole run (database, disk) are returned.
pub async fn sync_stream(shared: Arc<Shared>, stream: String) -> Result<(), SyncError> {
    let mut frontier = VecDeque::from(start(&shared, &stream).await?);
    let in_flight = shared.in_flight_of(&stream);
    let mut seen = HashSet::new();
    let mut running = JoinSet::new();
    loop {
        while running.len() < in_flight {
            let Some(request) = frontier.pop_front() else { break };
            if seen.insert(request_key(&shared, &request)) {
                running.spawn(process(shared.clone(), stream.clone(), request));
            } else {
                let error =
                    format!("pagination loop: {:?} {} was already fetched in this run", request.method, request.url);
                shared
                    .dead_letters(&stream, vec![letter(&stream, Stage::Policy, error, 0, Some(request), None)])
                    .await?;
            }
        }
        match running.join_next().await {
            Some(joined) => frontier.extend(joined.map_err(|e| SyncError::Internal(e.to_string()))??),
            None if frontier.is_empty() => return Ok(()),
            None => {}
        }
    }
}

/// The stream's first requests; a failing `start` is a dead letter and an empty stream.
async fn start(shared: &Arc<Shared>, stream: &str) -> Result<Vec<Request>, SyncError> {
    let ctx = SyncContext { config: shared.pipeline.config_pairs(), checkpoint: None, now_ms: now_ms() };
    let (connector, name) = (shared.connector.clone(), stream.to_string());
    let error = match shared.blocking(move || connector.start(&name, &ctx)).await? {
        Ok(Ok(requests)) => return Ok(requests),
        Ok(Err(message)) => format!("start failed: {message}"),
        Err(call) => format!("start failed: {call}"),
    };
    shared.dead_letters(stream, vec![letter(stream, Stage::Parse, error, 1, None, None)]).await?;
    Ok(Vec::new())
}

/// Fetch, store, parse and write one request; returns its follow-up requests. A response the
/// connector calls malformed, or answers with `retry-later`, is fetched again under the retry
/// policy (every attempt's raw exchange stays stored) before it becomes a dead letter.
async fn process(shared: Arc<Shared>, stream: String, request: Request) -> Result<Vec<Request>, SyncError> {
    let (shared, stream) = (&shared, stream.as_str());
    let rounds = shared.fetcher.policy().max_attempts.max(1);
    let mut round = 1;
    loop {
        let Some((exchange_id, fetched)) = fetch_and_store(shared, stream, &request).await? else {
            return Ok(Vec::new());
        };
        let connector = shared.connector.clone();
        let exchange = fetched.exchange;
        let error = match shared.blocking(move || connector.parse(&exchange)).await? {
            Ok(Ok(page)) => return accept_page(shared, stream, page, exchange_id).await,
            Ok(Err(parse_error)) if round < rounds => match retry_after_parse(shared, &parse_error, round) {
                Some(wait) => {
                    tracing::info!(
                        stream,
                        round,
                        wait_ms = wait.as_millis() as u64,
                        "{}; fetching again",
                        describe_parse_error(&parse_error)
                    );
                    shared.count(stream, |s| s.waited_ms += wait.as_millis() as u64);
                    tokio::time::sleep(wait).await;
                    round += 1;
                    continue;
                }
                None => describe_parse_error(&parse_error),
            },
            Ok(Err(parse_error)) => format!("{} (after {round} attempt(s))", describe_parse_error(&parse_error)),
            Err(call) => call.to_string(),
        };
        let dead = letter(stream, Stage::Parse, error, round, Some(request), Some(exchange_id));
        shared.dead_letters(stream, vec![dead]).await?;
        return Ok(Vec::new());
    }
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

/// Fetch a request and commit its exchange. `None` when it ended as a dead letter (refused,
/// unreachable, or a non-2xx status after retries).
async fn fetch_and_store(
    shared: &Arc<Shared>,
    stream: &str,
    request: &Request,
) -> Result<Option<(ExchangeId, Fetched)>, SyncError> {
    let fetched = match shared.fetcher.fetch(request).await {
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
            let dead = letter(stream, stage, error.to_string(), attempts, Some(request.clone()), None);
            shared.dead_letters(stream, vec![dead]).await?;
            return Ok(None);
        }
    };
    let (exchange_id, fetched) = store_exchange(shared, stream, fetched).await?;
    let status = fetched.exchange.response.status;
    if (200..300).contains(&status) {
        return Ok(Some((exchange_id, fetched)));
    }
    let error = match &fetched.gave_up {
        Some(reason) => format!("HTTP {status}: {reason}"),
        None => format!("HTTP {status} after {} attempt(s)", fetched.attempts),
    };
    let dead = letter(stream, Stage::Fetch, error, fetched.attempts, Some(request.clone()), Some(exchange_id));
    shared.dead_letters(stream, vec![dead]).await?;
    Ok(None)
}

/// Commit the exchange to the raw store before anything parses it.
async fn store_exchange(
    shared: &Arc<Shared>,
    stream: &str,
    fetched: Fetched,
) -> Result<(ExchangeId, Fetched), SyncError> {
    let store = shared.store.clone();
    let (run, pipeline, identity) = (shared.run, shared.pipeline.name.clone(), shared.connector.identity().clone());
    let (stored, fetched) = shared
        .blocking(move || {
            let stored = store.put_exchange(NewExchange {
                run,
                pipeline: &pipeline,
                connector: &identity,
                exchange: &fetched.exchange,
                attempt: fetched.attempts,
                duration_ms: fetched.duration.as_millis() as u64,
            });
            (stored, fetched)
        })
        .await?;
    let meta = stored?;
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

/// Write a parsed page's records, dead-letter its rejects, and hand back its `next` requests.
async fn accept_page(
    shared: &Arc<Shared>,
    stream: &str,
    page: Page,
    exchange: ExchangeId,
) -> Result<Vec<Request>, SyncError> {
    let mut dead = Vec::new();
    let mut written = 0u64;
    {
        let mut sink = shared.sink.lock().expect("sink lock");
        for record in &page.records {
            match validate_record(&record.stream, &record.json) {
                Ok(()) => {
                    sink.write(&record.stream, &record.json)?;
                    written += 1;
                }
                Err(invalid) => dead.push(NewDeadLetter {
                    payload: Some(record.json.clone()),
                    ..letter(stream, Stage::Record, invalid.to_string(), 1, None, Some(exchange))
                }),
            }
        }
    }
    for reject in page.rejects {
        dead.push(NewDeadLetter {
            payload: Some(reject.payload),
            ..letter(stream, Stage::Record, reject.reason, 1, None, Some(exchange))
        });
    }
    shared.count(stream, |s| s.records += written);
    shared.observer.on_page(stream, written);
    shared.dead_letters(stream, dead).await?;
    Ok(page.next)
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

fn letter(
    stream: &str,
    stage: Stage,
    error: String,
    attempts: u32,
    request: Option<Request>,
    exchange: Option<ExchangeId>,
) -> NewDeadLetter {
    NewDeadLetter { stream: stream.to_string(), stage, error, attempts, request, exchange, payload: None }
}
