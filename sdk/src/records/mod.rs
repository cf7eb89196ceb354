//! Turning response bodies into records without re-encoding them.
//!
//! Records are passed through as slices of the response body, so every number keeps every
//! digit and the parser does no more work than finding where each record starts and ends.
//! [`scan`] does all of a page's work in one pass over the body: records, keys, required
//! fields, the newest cursor and the next-page token. The single-purpose helpers
//! ([`json_array_records`], [`key_of`], ...) run on the same core.

#[doc(hidden)]
pub mod on_host;
mod pointer;
mod scan;
mod walk;

pub(crate) use pointer::value_at;
pub use scan::{PageScan, Scanned, scan};
pub(crate) use walk::pick;

use serde_json::value::RawValue;

use crate::{Exchange, ParseError, Record, Reject};
use walk::{Location, Picked, Walk};

/// Every element of the JSON array in the response body, as a record of `stream`, keyed by
/// the `primary_key` fields. A body that is not a JSON array is [`ParseError::Malformed`].
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # fn exchange(url: &str, body: &str) -> Exchange {
/// #     Exchange { request: Request::get("items", url), response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() }, fetched_at_ms: 0 }
/// # }
/// let x = exchange("/items", r#"[{"id":7,"amount":12345678901234567.891}]"#);
/// let records = apiary_sdk::json_array_records(&x, "items", &["id"]).unwrap();
/// assert_eq!(records[0].json, r#"{"id":7,"amount":12345678901234567.891}"#, "every digit kept");
/// assert_eq!(records[0].key.as_deref(), Some("7"));
/// ```
pub fn json_array_records(exchange: &Exchange, stream: &str, primary_key: &[&str]) -> Result<Vec<Record>, ParseError> {
    records_at(exchange, Location::Array, stream, primary_key)
}

/// Every element of the JSON array under `field` of the response body's object (e.g. the
/// `items` of a search result, the `data` of a Stripe list), as records of `stream`.
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # let x = Exchange { request: Request::get("search", "/s"), response: Response { status: 200, headers: vec![], body: br#"{"total_count":1,"items":[{"id":7}]}"#.to_vec() }, fetched_at_ms: 0 };
/// let records = apiary_sdk::json_field_records(&x, "items", "search", &["id"]).unwrap();
/// assert_eq!((records[0].json.as_str(), records[0].key.as_deref()), (r#"{"id":7}"#, Some("7")));
/// ```
pub fn json_field_records(
    exchange: &Exchange,
    field: &str,
    stream: &str,
    primary_key: &[&str],
) -> Result<Vec<Record>, ParseError> {
    records_at(exchange, Location::Field(field), stream, primary_key)
}

/// Every record at `location`, keyed when it has its key (records without one are kept, with
/// no key, for [`reject_missing_keys`]).
fn records_at(
    exchange: &Exchange,
    location: Location<'_>,
    stream: &str,
    primary_key: &[&str],
) -> Result<Vec<Record>, ParseError> {
    let mut records = Vec::new();
    let walk = Walk { fields: primary_key, pointer: None };
    walk_body(&walk, &exchange.response.body, location, |raw, values| {
        records.push(Record { stream: stream.to_string(), key: key_text(values), json: raw.to_string() });
    })?;
    Ok(records)
}

/// Run `walk` over a response body: in the host where there is one ([`on_host`]), here
/// otherwise. A body that is not UTF-8 is malformed either way.
fn walk_body<'b>(
    walk: &Walk<'_>,
    body: &'b [u8],
    location: Location<'_>,
    mut visit: impl FnMut(&'b str, &[Option<Picked<'b>>]),
) -> Result<Option<Picked<'b>>, ParseError> {
    match on_host::run(walk, body, location, &mut visit) {
        Some(by_host) => by_host,
        None => walk.run(body_text(body)?, location, visit),
    }
}

/// A response body as text: records are text, so a body that is not UTF-8 is malformed.
fn body_text(body: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(body).map_err(|e| ParseError::Malformed(format!("response body is not UTF-8 text: {e}")))
}

impl Record {
    /// A record built from a Rust value, for APIs whose records need reshaping. Passing the
    /// response's own JSON through with [`json_array_records`] keeps numbers exact; this
    /// re-encodes.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Order { id: u64, total_cents: i64 }
    /// let r = apiary_sdk::Record::from_serialize("orders", Some("9".into()), &Order { id: 9, total_cents: 1250 }).unwrap();
    /// assert_eq!(r.json, r#"{"id":9,"total_cents":1250}"#);
    /// ```
    pub fn from_serialize<T: serde::Serialize>(
        stream: &str,
        key: Option<String>,
        value: &T,
    ) -> Result<Record, ParseError> {
        let json =
            serde_json::to_string(value).map_err(|e| ParseError::Fatal(format!("record does not encode: {e}")))?;
        Ok(Record { stream: stream.to_string(), key, json })
    }
}

impl Reject {
    /// Reject one record with a reason; it becomes a dead letter holding `payload`.
    ///
    /// ```
    /// let reject = apiary_sdk::Reject::new("amount is not a number", r#"{"id":3,"amount":"n/a"}"#);
    /// assert_eq!(reject.reason, "amount is not a number");
    /// ```
    pub fn new(reason: impl Into<String>, payload: impl Into<String>) -> Reject {
        Reject { reason: reason.into(), payload: payload.into() }
    }
}

/// Split off the records that lack their primary key: they become [`Reject`]s (dead letters
/// holding the record), never silently dropped nor written without a key.
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # fn exchange(url: &str, body: &str) -> Exchange {
/// #     Exchange { request: Request::get("items", url), response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() }, fetched_at_ms: 0 }
/// # }
/// let x = exchange("/items", r#"[{"id":1},{"name":"no id"}]"#);
/// let records = apiary_sdk::json_array_records(&x, "items", &["id"]).unwrap();
/// let (kept, rejected) = apiary_sdk::reject_missing_keys(records, &["id"]);
/// assert_eq!((kept.len(), rejected[0].payload.as_str()), (1, r#"{"name":"no id"}"#));
/// ```
pub fn reject_missing_keys(records: Vec<Record>, primary_key: &[&str]) -> (Vec<Record>, Vec<Reject>) {
    let (keyed, unkeyed): (Vec<Record>, Vec<Record>) = records.into_iter().partition(|r| r.key.is_some());
    let reason = no_key_reason(primary_key);
    let rejects = unkeyed.into_iter().map(|r| Reject { reason: reason.clone(), payload: r.json }).collect();
    (keyed, rejects)
}

/// Why a record without its primary key is rejected.
fn no_key_reason(primary_key: &[&str]) -> String {
    format!("record has no primary key ({})", primary_key.join(", "))
}

/// The primary key of a JSON object: the values of `fields`, strings unquoted, joined by `/`.
/// `None` when `fields` is empty, the value is not an object, or a field is missing or `null`.
///
/// ```
/// let raw: &serde_json::value::RawValue = serde_json::from_str(r#"{"org":"acme","n":7,"x":[1,2]}"#).unwrap();
/// assert_eq!(apiary_sdk::key_of(raw, &["org", "n"]).as_deref(), Some("acme/7"));
/// ```
pub fn key_of(record: &RawValue, fields: &[&str]) -> Option<String> {
    key_text(&pick(record.get(), fields).ok()?)
}

/// The key made of picked values: each one's text joined by `/`; `None` when there are no
/// values or one is absent or `null`.
fn key_text(values: &[Option<Picked<'_>>]) -> Option<String> {
    match values {
        [] => None,
        [one] => one.as_ref()?.text().map(str::to_string),
        many => {
            let parts: Option<Vec<&str>> = many.iter().map(|v| v.as_ref()?.text()).collect();
            Some(parts?.join("/"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, Response};

    #[test]
    fn a_body_that_is_not_utf8_is_malformed() {
        let mut x = exchange("[]");
        x.response.body = vec![b'[', b'"', 0xff, b'"', b']'];
        let err = json_array_records(&x, "items", &["id"]).unwrap_err();
        assert!(matches!(err, ParseError::Malformed(m) if m.contains("not UTF-8")));
    }

    fn exchange(body: &str) -> Exchange {
        Exchange {
            request: Request::get("items", "/items"),
            response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() },
            fetched_at_ms: 0,
        }
    }

    #[test]
    fn passes_records_through_byte_for_byte() {
        let body = r#"[{"id":1,"amount":12345678901234567.891,"big":18446744073709551616000,"e":1e400,"s":"\u00e9"}, {"id":"a/b","x":null}]"#;
        let records = json_array_records(&exchange(body), "items", &["id"]).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0].json,
            r#"{"id":1,"amount":12345678901234567.891,"big":18446744073709551616000,"e":1e400,"s":"\u00e9"}"#
        );
        assert_eq!(records[0].key.as_deref(), Some("1"));
        assert_eq!(records[1].key.as_deref(), Some("a/b"));
    }

    #[test]
    fn a_body_that_is_not_an_array_is_malformed() {
        let err = json_array_records(&exchange(r#"{"message":"oops"}"#), "items", &["id"]).unwrap_err();
        assert!(matches!(err, ParseError::Malformed(m) if m.contains("not a JSON array")));
        let err = json_array_records(&exchange("[{\"id\":1},"), "items", &["id"]).unwrap_err();
        assert!(matches!(err, ParseError::Malformed(_)));
    }

    #[test]
    fn records_under_a_field_of_an_object() {
        let body = r#"{"total_count":2,"items":[{"id":7,"n":1.50},{"id":8}]}"#;
        let records = json_field_records(&exchange(body), "items", "search", &["id"]).unwrap();
        assert_eq!(
            records.iter().map(|r| r.json.as_str()).collect::<Vec<_>>(),
            [r#"{"id":7,"n":1.50}"#, r#"{"id":8}"#]
        );
        let missing = json_field_records(&exchange(r#"{"data":[]}"#), "items", "search", &["id"]);
        assert!(matches!(missing, Err(ParseError::Malformed(m)) if m.contains("no `items`")));
    }

    #[test]
    fn records_without_their_key_are_rejected_with_their_payload() {
        let records = json_array_records(&exchange(r#"[{"id":1},{"name":"x"}]"#), "items", &["id"]).unwrap();
        let (kept, rejected) = reject_missing_keys(records, &["id"]);
        assert_eq!(kept.len(), 1);
        assert_eq!(rejected[0].payload, r#"{"name":"x"}"#);
        assert!(rejected[0].reason.contains("no primary key (id)"));
    }

    #[test]
    fn key_is_none_when_a_field_is_missing() {
        let raw: &RawValue = serde_json::from_str(r#"{"a":1}"#).unwrap();
        assert_eq!(key_of(raw, &["id"]), None);
        assert_eq!(key_of(raw, &[]), None);
        let raw: &RawValue = serde_json::from_str(r#"{"org":"x","n":7}"#).unwrap();
        assert_eq!(key_of(raw, &["org", "n"]).as_deref(), Some("x/7"));
        let raw: &RawValue = serde_json::from_str(r#"{"id":null,"n":1}"#).unwrap();
        assert_eq!(key_of(raw, &["id"]), None, "a null key is no key");
        assert_eq!(key_of(raw, &["n", "id"]), None);
    }
}
