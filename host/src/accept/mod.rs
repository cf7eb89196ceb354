//! One page-acceptance path, used by the sync, `dlq replay`, `reparse` and `apiary test`: what
//! a connector's answer to `parse` becomes. The page's limits are checked, every record is
//! checked against its stream's schema state ([`SchemaCheck`]: valid JSON, its shape learned,
//! the contract's verdict on how it deviates, the declared schema), rejected records become
//! `record` dead letters, and a failed parse is either worth fetching again (a malformed body,
//! `retry-later`) or a `parse` dead letter.

use std::time::Duration;

use serde_json::value::RawValue;

use crate::model::{Page, ParseError, Record, Request};
use crate::policy::ConnectorLimits;
use crate::runtime::CallError;
use crate::schema::{Contract, DeclaredSchema, Deviation, SchemaObserver};
use crate::store::{ExchangeId, NewDeadLetter, Stage};

/// The records of a page that may be written, and the letters for those that may not.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    /// Valid records, to write.
    pub records: Vec<Record>,
    /// `record` letters: rejects, invalid records and records their stream's schema refuses
    /// (a frozen contract, a declared schema), holding their payloads.
    pub letters: Vec<NewDeadLetter>,
    /// Follow-up requests.
    pub next: Vec<Request>,
    /// The stream's new checkpoint.
    pub checkpoint: Option<String>,
}

/// What a parse result means for its page: `T` is what an accepted page becomes (a [`Page`]
/// whose records are still to be checked, from [`judge_page`], or [`Accepted`]).
#[derive(Debug, Clone)]
pub enum Verdict<T = Accepted> {
    /// Write the records, dead-letter the rest, follow `next`.
    Accept(T),
    /// The connector asks for the response to be fetched again: after this wait, at least
    /// (`retry-later`), or after the backoff step (a malformed body).
    Refetch {
        /// What the connector said.
        reason: ParseError,
        /// The wait it asked for (`retry-later`).
        asked: Option<Duration>,
    },
    /// The page cannot be used: the error of its `parse` letter.
    Fail(String),
}

impl<T> Verdict<T> {
    /// The same verdict, an accepted page turned into what `f` makes of it.
    pub fn map_accepted<U>(self, f: impl FnOnce(T) -> U) -> Verdict<U> {
        match self {
            Verdict::Accept(page) => Verdict::Accept(f(page)),
            Verdict::Refetch { reason, asked } => Verdict::Refetch { reason, asked },
            Verdict::Fail(error) => Verdict::Fail(error),
        }
    }
}

/// Where a page came from, for its letters.
#[derive(Debug, Clone, Copy)]
pub struct PageOrigin<'a> {
    /// The stream it was fetched for.
    pub stream: &'a str,
    /// Its request, as stored.
    pub request: &'a Request,
    /// Its stored exchange.
    pub exchange: ExchangeId,
}

/// The schema state a page's records are judged against: its stream's observer (holding the
/// stream's baseline), its contract and its declared schema. Records a page emits for another
/// stream are only checked to be JSON.
pub struct SchemaCheck<'a> {
    /// Learns each record's shape and tells how it deviates from the baseline. `None` skips
    /// inference (an internal setting, for the benchmark's comparison): records are then only
    /// checked to be JSON, and the contract has nothing to judge.
    pub observer: Option<&'a mut SchemaObserver>,
    /// What a record that deviates from the baseline becomes.
    pub contract: Contract,
    /// The schema the stream's endpoint declares, enforced on every record.
    pub declared: Option<&'a DeclaredSchema>,
}

impl SchemaCheck<'_> {
    /// Why `record`, from a page of `stream`, may not be written; `None` when it may.
    fn refusal(&mut self, stream: &str, record: &Record) -> Option<String> {
        let own = record.stream == stream;
        let observer = if own { self.observer.as_deref_mut() } else { None };
        let deviations = match check_record(&record.stream, &record.json, record.key.as_deref(), observer) {
            Ok(deviations) => deviations,
            Err(invalid) => return Some(invalid.to_string()),
        };
        if let crate::schema::Verdict::Reject(violation) = self.contract.verdict(deviations) {
            return Some(violation.to_string());
        }
        let declared = self.declared.filter(|_| own)?;
        declared.validate(&record.json).err().map(|mismatch| mismatch.to_string())
    }
}

/// Judge a call to `parse` for the page from `origin`, under `limits`, its records against
/// `schemas`: [`judge_page`], then [`check_records`].
pub fn judge(
    origin: PageOrigin<'_>,
    parsed: Result<Result<Page, ParseError>, CallError>,
    limits: &ConnectorLimits,
    schemas: &mut SchemaCheck<'_>,
) -> Verdict {
    judge_page(parsed, limits).map_accepted(|page| check_records(origin, page, schemas))
}

/// The page-level half of [`judge`], cheap and without its records' checks: whether the page
/// is used at all (and so whether its `next` is followed), under `limits`. A sync follows an
/// accepted page's `next` at once and checks its records while the next page is fetched.
pub fn judge_page(parsed: Result<Result<Page, ParseError>, CallError>, limits: &ConnectorLimits) -> Verdict<Page> {
    let page = match parsed {
        Ok(Ok(page)) => page,
        Ok(Err(ParseError::RetryLater(ms))) => {
            let asked = Some(Duration::from_millis(ms));
            return Verdict::Refetch { reason: ParseError::RetryLater(ms), asked };
        }
        Ok(Err(reason @ ParseError::Malformed(_))) => return Verdict::Refetch { reason, asked: None },
        Ok(Err(fatal)) => return Verdict::Fail(fatal.to_string()),
        Err(call) => return Verdict::Fail(call.to_string()),
    };
    match limits.check_page(&page) {
        Ok(()) => Verdict::Accept(page),
        Err(limit) => Verdict::Fail(limit),
    }
}

/// The record-level half of [`judge`]: every record of an accepted `page` from `origin`
/// checked against `schemas`; refused records and the connector's rejects become `record`
/// letters.
pub fn check_records(origin: PageOrigin<'_>, page: Page, schemas: &mut SchemaCheck<'_>) -> Accepted {
    let letter = |error: String, payload: String| {
        NewDeadLetter::new(origin.stream, Stage::Record, error, 1)
            .about(Some(origin.request.clone()))
            .linked(Some(origin.exchange))
            .holding(payload)
    };
    let mut accepted = Accepted { next: page.next, checkpoint: page.checkpoint, ..Accepted::default() };
    accepted.records.reserve(page.records.len());
    for record in page.records {
        match schemas.refusal(origin.stream, &record) {
            None => accepted.records.push(record),
            Some(error) => accepted.letters.push(letter(error, record.json)),
        }
    }
    accepted.letters.extend(page.rejects.into_iter().map(|r| letter(r.reason, r.payload)));
    accepted
}

/// Why a record cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRecord {
    /// The JSON text does not parse.
    #[error("record is not valid JSON: {0}")]
    NotJson(String),
    /// The stream name cannot name an output.
    #[error("record names stream {0:?}, which is not a valid stream name")]
    BadStream(String),
}

/// Check a record before it is written, in one pass over the JSON: a usable stream name, valid
/// JSON, and its shape learned by `observer`, which returns how the record deviates from the
/// stream's schema. `key` is the record's primary key. Without an observer the JSON is only
/// checked (what `serde_json` accepts as a `RawValue`, the same acceptance and messages).
pub fn check_record<'o>(
    stream: &str,
    json: &str,
    key: Option<&str>,
    observer: Option<&'o mut SchemaObserver>,
) -> Result<&'o [Deviation], InvalidRecord> {
    check_stream_name(stream)?;
    match observer {
        Some(observer) => observer.observe(json, key).map_err(|e| InvalidRecord::NotJson(e.0)),
        None => match serde_json::from_str::<&RawValue>(json) {
            Ok(_) => Ok(&[]),
            Err(e) => Err(InvalidRecord::NotJson(e.to_string())),
        },
    }
}

fn check_stream_name(stream: &str) -> Result<(), InvalidRecord> {
    if is_valid_stream_name(stream) { Ok(()) } else { Err(InvalidRecord::BadStream(stream.to_string())) }
}

/// Stream names become file and table names: letters, digits, `-`, `_` and `.`, not starting
/// with `.`.
pub fn is_valid_stream_name(stream: &str) -> bool {
    !stream.is_empty()
        && !stream.starts_with('.')
        && stream.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests;
