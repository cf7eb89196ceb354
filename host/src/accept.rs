//! One page-acceptance path, used by the sync, `dlq replay`, `reparse` and `apiary test`: what
//! a connector's answer to `parse` becomes. The page's limits are checked, every record is
//! validated, rejected records become `record` dead letters, and a failed parse is either worth
//! fetching again (a malformed body, `retry-later`) or a `parse` dead letter.

use std::time::Duration;

use serde_json::value::RawValue;

use crate::model::{Page, ParseError, Record, Request};
use crate::policy::ConnectorLimits;
use crate::runtime::CallError;
use crate::schema::{Deviation, SchemaObserver};
use crate::store::{ExchangeId, NewDeadLetter, Stage};

/// The records of a page that may be written, and the letters for those that may not.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    /// Valid records, to write.
    pub records: Vec<Record>,
    /// `record` letters: rejects and invalid records, holding their payloads.
    pub letters: Vec<NewDeadLetter>,
    /// Follow-up requests.
    pub next: Vec<Request>,
    /// The stream's new checkpoint.
    pub checkpoint: Option<String>,
}

/// What a parse result means for its page.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Write the records, dead-letter the rest, follow `next`.
    Accept(Accepted),
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

/// Judge a call to `parse` for the page from `origin`, under `limits`.
pub fn judge(
    origin: PageOrigin<'_>,
    parsed: Result<Result<Page, ParseError>, CallError>,
    limits: &ConnectorLimits,
) -> Verdict {
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
    if let Err(limit) = limits.check_page(&page) {
        return Verdict::Fail(limit);
    }
    let letter = |error: String, payload: String| {
        NewDeadLetter::new(origin.stream, Stage::Record, error, 1)
            .about(Some(origin.request.clone()))
            .linked(Some(origin.exchange))
            .holding(payload)
    };
    let mut accepted = Accepted { next: page.next, checkpoint: page.checkpoint, ..Accepted::default() };
    accepted.records.reserve(page.records.len());
    for record in page.records {
        match validate_record(&record.stream, &record.json) {
            Ok(()) => accepted.records.push(record),
            Err(invalid) => accepted.letters.push(letter(invalid.to_string(), record.json)),
        }
    }
    accepted.letters.extend(page.rejects.into_iter().map(|r| letter(r.reason, r.payload)));
    Verdict::Accept(accepted)
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

/// Check a record before it is written: valid JSON, a usable stream name.
pub fn validate_record(stream: &str, json: &str) -> Result<(), InvalidRecord> {
    check_stream_name(stream)?;
    serde_json::from_str::<&RawValue>(json).map_err(|e| InvalidRecord::NotJson(e.to_string()))?;
    Ok(())
}

/// [`validate_record`] and schema inference in one pass over the JSON: a usable stream name,
/// valid JSON (the same acceptance and messages), its shape learned by `observer`, which
/// returns how the record deviates from the stream's schema. `key` is the record's primary key.
pub fn check_record<'o>(
    stream: &str,
    json: &str,
    key: Option<&str>,
    observer: &'o mut SchemaObserver,
) -> Result<&'o [Deviation], InvalidRecord> {
    check_stream_name(stream)?;
    observer.observe(json, key).map_err(|e| InvalidRecord::NotJson(e.0))
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
mod tests {
    use super::*;
    use crate::model::{Method, Reject};

    fn origin(request: &Request) -> PageOrigin<'_> {
        PageOrigin { stream: "items", request, exchange: ExchangeId(7) }
    }

    fn request() -> Request {
        Request { endpoint: "items".into(), method: Method::Get, url: "/items".into(), headers: vec![], body: None }
    }

    fn record(json: &str) -> Record {
        Record { stream: "items".into(), key: None, json: json.into() }
    }

    #[test]
    fn invalid_records_and_rejects_become_record_letters_with_their_payloads() {
        let page = Page {
            records: vec![record("{\"id\":1}"), record("{\"id\":")],
            rejects: vec![Reject { reason: "no id".into(), payload: "{}".into() }],
            next: vec![],
            checkpoint: Some("c".into()),
        };
        let req = request();
        let Verdict::Accept(a) = judge(origin(&req), Ok(Ok(page)), &ConnectorLimits::default()) else { panic!() };
        assert_eq!(a.records.len(), 1);
        let errors: Vec<&str> = a.letters.iter().map(|l| l.error.as_str()).collect();
        assert!(errors[0].starts_with("record is not valid JSON") && errors[1] == "no id", "{errors:?}");
        assert!(a.letters.iter().all(|l| l.stage == Stage::Record && l.exchange == Some(ExchangeId(7))));
        assert_eq!(a.checkpoint.as_deref(), Some("c"));
    }

    #[test]
    fn limits_fatal_errors_and_refetches_are_told_apart() {
        let req = request();
        let limits = ConnectorLimits { max_records: 1, ..ConnectorLimits::default() };
        let page = Page { records: vec![record("{}"), record("{}")], ..Page::default() };
        assert!(matches!(judge(origin(&req), Ok(Ok(page)), &limits), Verdict::Fail(m) if m.contains("max-records")));
        let later = judge(origin(&req), Ok(Err(ParseError::RetryLater(1500))), &limits);
        assert!(matches!(later, Verdict::Refetch { asked: Some(d), .. } if d == Duration::from_millis(1500)));
        let fatal = judge(origin(&req), Ok(Err(ParseError::Fatal("gone".into()))), &limits);
        assert!(matches!(fatal, Verdict::Fail(m) if m == "connector could not parse the response: gone"));
    }

    #[test]
    fn rejects_invalid_json_and_stream_names_that_escape_the_folder() {
        assert!(matches!(validate_record("items", "{\"a\":"), Err(InvalidRecord::NotJson(_))));
        assert!(matches!(validate_record("../etc", "{}"), Err(InvalidRecord::BadStream(_))));
        assert!(validate_record("issues", "{}").is_ok());
    }

    #[test]
    fn checking_a_record_refuses_what_validation_refuses_with_the_same_error() {
        let mut observer = SchemaObserver::new(None);
        for (stream, json) in [("items", "{\"a\":"), ("../etc", "{}"), ("items", "[1,]"), ("items", "{\"a\":1e400}")] {
            let checked = check_record(stream, json, None, &mut observer).map(drop);
            assert_eq!(checked, validate_record(stream, json), "{stream} {json}");
        }
        assert_eq!(observer.schema().records(), 1, "only the valid record is counted");
    }
}
