//! The page walk done by the host (the contract's `scan-records` import).
//!
//! A connector built for wasm hands the walk over the body it was given to the host, whose
//! native code runs the very same [`Walk`] and answers with positions in the body. The records
//! stay slices of the connector's own copy of the body, and the connector's code sees exactly
//! what the walk in wasm would have given it. Why: the walk is most of a page's parse, and in
//! wasm it ran at less than half its native speed (the epoch checks that stop a looping
//! connector cost a fifth of it alone). The connector still decides everything: which fields,
//! what is a reject, what the next request is.
//!
//! The body crosses into the host once more (a copy); the saving is far larger: the bench
//! connector's parse ran at 0.40-0.42 of its native speed, 0.52 with the host's walk (README,
//! figure 2b). The host's scan also checks that the body is UTF-8, which the connector then
//! need not do again: that check, in wasm, was a quarter of the connector's own time. Since
//! contract 0.4 the answer is flat ([`scan_body`]): one list of numbers instead of a list of
//! records each with its own list, which the host lowered into the connector an allocation at a
//! time.
//!
//! The host's walk runs outside the call's deadline, so its work is bounded: it is linear in the
//! body, times the number of fields asked for, at most [`MAX_FIELDS`]. Asked for more, the SDK
//! walks in wasm instead.

use std::borrow::Cow;

use super::walk::{Location, Picked, Walk};
use crate::__private::bindings::apiary::connector::types::{BodyScan, Picked as Found, RecordsAt, Span};
use crate::ParseError;

/// The most fields `scan-records` picks per record: each key of the body is compared with each.
pub const MAX_FIELDS: usize = 64;

/// The kind of a picked field in [`BodyScan::records`], as the contract numbers them.
mod kind {
    /// The record lacks the field, or is not an object.
    pub const ABSENT: u32 = 0;
    /// `null`.
    pub const NULL: u32 = 1;
    /// A string without escapes: its contents are the two positions' bytes of the body.
    pub const TEXT_AT: u32 = 2;
    /// A string with escapes, decoded: the text at the first number's index.
    pub const TEXT: u32 = 3;
    /// Any other value's exact JSON text: the two positions' bytes of the body.
    pub const JSON_AT: u32 = 4;
}

/// For the host's `scan-records` of contract 0.4: check that `body` is UTF-8, walk it with
/// [`Walk::run`] and answer flat, as the contract lays it out: per record its span, then a kind
/// and two numbers per field. An error is the reason the body is malformed (not UTF-8
/// included), or more than [`MAX_FIELDS`] fields.
pub fn scan_body(body: &[u8], at: &RecordsAt, fields: &[String], pointer: Option<&str>) -> Result<BodyScan, String> {
    let (mut records, mut texts) = (Vec::new(), Vec::new());
    let pointer = walk_for_host(body, at, fields, pointer, |at, values| {
        records.extend([at.start, at.end]);
        for value in values {
            let numbers = match value {
                None => [kind::ABSENT, 0, 0],
                Some(Found::Null) => [kind::NULL, 0, 0],
                Some(Found::TextAt(at)) => [kind::TEXT_AT, at.start, at.end],
                Some(Found::Text(text)) => {
                    texts.push(text);
                    [kind::TEXT, texts.len() as u32 - 1, 0]
                }
                Some(Found::JsonAt(at)) => [kind::JSON_AT, at.start, at.end],
            };
            records.extend(numbers);
        }
    })?;
    Ok(BodyScan { records, texts, pointer })
}

/// The walk behind every contract version's `scan-records`: check that `body` is UTF-8, walk it
/// with [`Walk::run`], and call `record` with each record's position and the values of `fields`
/// it holds (as the contract's `picked`, in their order); the answer is the value at `pointer`.
/// Each version's host lays the records out its own way (0.3 as a list of records, 0.4 flat).
/// An error is the reason the body is malformed (not UTF-8 included), or more than
/// [`MAX_FIELDS`] fields.
pub fn walk_for_host(
    body: &[u8],
    at: &RecordsAt,
    fields: &[String],
    pointer: Option<&str>,
    mut record: impl FnMut(Span, &mut dyn Iterator<Item = Option<Found>>),
) -> Result<Option<Found>, String> {
    if fields.len() > MAX_FIELDS {
        return Err(format!("scan-records picks at most {MAX_FIELDS} fields, not {}", fields.len()));
    }
    let body = super::body_text(body).map_err(reason)?;
    let names: Vec<&str> = fields.iter().map(String::as_str).collect();
    let pointer_value = Walk { fields: &names, pointer }.run(body, location(at), |raw, values| {
        record(span(body, raw), &mut values.iter().map(|value| value.as_ref().map(|v| found(body, v))));
    });
    Ok(pointer_value.map_err(reason)?.as_ref().map(|v| found(body, v)))
}

/// The text of the walk's error, as `scan-records` answers it.
fn reason(error: ParseError) -> String {
    match error {
        ParseError::Malformed(reason) | ParseError::Fatal(reason) => reason,
        ParseError::RetryLater(ms) => format!("retry later ({ms} ms)"),
    }
}

/// Where the walk finds the records `at` names.
fn location(at: &RecordsAt) -> Location<'_> {
    match at {
        RecordsAt::Array => Location::Array,
        RecordsAt::Field(name) => Location::Field(name),
    }
}

/// A picked value as positions in `body` where it is a slice of it.
fn found(body: &str, value: &Picked<'_>) -> Found {
    match value {
        Picked::Null => Found::Null,
        Picked::Str(Cow::Borrowed(text)) => Found::TextAt(span(body, text)),
        Picked::Str(Cow::Owned(text)) => Found::Text(text.clone()),
        Picked::Json(json) => Found::JsonAt(span(body, json)),
    }
}

/// Where `slice`, a slice of `body`, lies in it.
fn span(body: &str, slice: &str) -> Span {
    let start = slice.as_ptr() as usize - body.as_ptr() as usize;
    Span { start: start as u32, end: (start + slice.len()) as u32 }
}

/// `walk` over `body` done by the host, replayed through `visit`; `None` when there is no host
/// (a native build) or the walk names more than [`MAX_FIELDS`] fields: the walk runs here.
pub(super) fn run<'b>(
    walk: &Walk<'_>,
    body: &'b [u8],
    location: Location<'_>,
    visit: &mut impl FnMut(&'b str, &[Option<Picked<'b>>]),
) -> Option<Result<Option<Picked<'b>>, ParseError>> {
    if !cfg!(target_arch = "wasm32") || walk.fields.len() > MAX_FIELDS {
        return None;
    }
    let at = match location {
        Location::Array => RecordsAt::Array,
        Location::Field(name) => RecordsAt::Field(name.to_string()),
    };
    let fields: Vec<String> = walk.fields.iter().map(|f| f.to_string()).collect();
    Some(match scan_records(body, &at, &fields, walk.pointer) {
        Ok(scan) => replay(checked_by_host(body), scan, fields.len(), visit),
        Err(reason) => Err(ParseError::Malformed(reason)),
    })
}

#[cfg(target_arch = "wasm32")]
fn scan_records(body: &[u8], at: &RecordsAt, fields: &[String], pointer: Option<&str>) -> Result<BodyScan, String> {
    crate::__private::bindings::scan_records(body, at, fields, pointer)
}

/// Natively the walk always runs in the SDK: `run` never calls this.
#[cfg(not(target_arch = "wasm32"))]
fn scan_records(_: &[u8], _: &RecordsAt, _: &[String], _: Option<&str>) -> Result<BodyScan, String> {
    Err("no host to scan the body".into())
}

/// `body` as text, once the host's scan of it succeeded: the contract says such a body is
/// UTF-8. Checking again in wasm took a quarter of the bench connector's own time (figure 2b,
/// README), so a release build trusts the host, as wit-bindgen does with every string the host
/// hands over; a debug build checks.
fn checked_by_host(body: &[u8]) -> &str {
    if cfg!(debug_assertions) {
        return std::str::from_utf8(body).expect("scan-records succeeds only on a UTF-8 body");
    }
    // SAFETY: `scan-records` succeeded on exactly these bytes, and it fails on a body that is not
    // UTF-8 (`scan_body`, the host's implementation, checks first).
    unsafe { std::str::from_utf8_unchecked(body) }
}

/// Call `visit` with each record the host found, as the walk in wasm would have: `scan` laid out
/// flat for `fields` fields a record.
fn replay<'b>(
    body: &'b str,
    scan: BodyScan,
    fields: usize,
    visit: &mut impl FnMut(&'b str, &[Option<Picked<'b>>]),
) -> Result<Option<Picked<'b>>, ParseError> {
    let stride = 2 + 3 * fields;
    if scan.records.len() % stride != 0 {
        let numbers = scan.records.len();
        return Err(ParseError::Malformed(format!(
            "the host's scan answered {numbers} numbers, not records of {stride} (for {fields} fields)"
        )));
    }
    let mut texts = scan.texts;
    let mut values = Vec::with_capacity(fields);
    for record in scan.records.chunks_exact(stride) {
        values.clear();
        for field in record[2..].chunks_exact(3) {
            values.push(flat_value(body, field, &mut texts)?);
        }
        visit(slice(body, record[0], record[1])?, &values);
    }
    scan.pointer.map(|value| picked(body, value)).transpose()
}

/// One field's kind and two numbers as the value the walk in wasm would have picked; a string
/// with escapes is taken out of `texts`.
fn flat_value<'b>(body: &'b str, field: &[u32], texts: &mut [String]) -> Result<Option<Picked<'b>>, ParseError> {
    let (kind, first, second) = (field[0], field[1], field[2]);
    Ok(Some(match kind {
        kind::ABSENT => return Ok(None),
        kind::NULL => Picked::Null,
        kind::TEXT_AT => Picked::Str(Cow::Borrowed(slice(body, first, second)?)),
        kind::TEXT => match texts.get_mut(first as usize) {
            Some(text) => Picked::Str(Cow::Owned(std::mem::take(text))),
            None => {
                return Err(ParseError::Malformed(format!("the host's scan named text {first} of {}", texts.len())));
            }
        },
        kind::JSON_AT => Picked::Json(slice(body, first, second)?),
        other => return Err(ParseError::Malformed(format!("the host's scan answered a value of kind {other}"))),
    }))
}

fn picked(body: &str, value: Found) -> Result<Picked<'_>, ParseError> {
    Ok(match value {
        Found::Null => Picked::Null,
        Found::TextAt(at) => Picked::Str(Cow::Borrowed(slice(body, at.start, at.end)?)),
        Found::Text(text) => Picked::Str(Cow::Owned(text)),
        Found::JsonAt(at) => Picked::Json(slice(body, at.start, at.end)?),
    })
}

fn slice(body: &str, start: u32, end: u32) -> Result<&str, ParseError> {
    body.get(start as usize..end as usize)
        .ok_or_else(|| ParseError::Malformed(format!("the host's scan named bytes {start}..{end} outside the body")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARRAY: &str = r#"[
      {"id":1,"title":"plain","user":{"id":7},"updated_at":null},
      {"\u0069d":2,"title":"caf\u00e9 \"quoted\"","updated_at":"2024-01-02T00:00:00Z","n":1.50},
      7,
      {"title":["not","text"],"id":12345678901234567890123}
    ]"#;
    const OBJECT: &str =
        r#"{"meta":{"next_cursor":"c\u00e9-2","total":2},"items":[{"id":"a"},{"id":"b","x":{}}],"tail":true}"#;

    /// Each record's text and picked values, and the value at the pointer, as a walk gives them.
    type Visits = (Vec<(String, Vec<Option<Picked<'static>>>)>, Option<Picked<'static>>);

    fn owned(value: &Option<Picked<'_>>) -> Option<Picked<'static>> {
        value.as_ref().map(|v| match v {
            Picked::Null => Picked::Null,
            Picked::Str(text) => Picked::Str(Cow::Owned(text.to_string())),
            Picked::Json(json) => Picked::Str(Cow::Owned(format!("json:{json}"))),
        })
    }

    fn collect<'b>(
        walk: impl FnOnce(&mut dyn FnMut(&'b str, &[Option<Picked<'b>>])) -> Result<Option<Picked<'b>>, ParseError>,
    ) -> Result<Visits, ParseError> {
        let mut records = Vec::new();
        let found = walk(&mut |raw, values| records.push((raw.to_string(), values.iter().map(owned).collect())))?;
        Ok((records, owned(&found)))
    }

    fn both(body: &str, at: RecordsAt, fields: &[&str], pointer: Option<&str>) -> (Visits, Visits) {
        let walk = Walk { fields, pointer };
        let here = collect(|visit| walk.run(body, location(&at), visit)).unwrap();
        let names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let scan = scan_body(body.as_bytes(), &at, &names, pointer).unwrap();
        let by_host = collect(|visit| replay(body, scan, fields.len(), &mut |raw, values| visit(raw, values))).unwrap();
        (here, by_host)
    }

    #[test]
    fn the_hosts_scan_replayed_gives_what_the_walk_gives() {
        let (here, by_host) = both(ARRAY, RecordsAt::Array, &["id", "title", "updated_at", "n"], None);
        assert_eq!(here, by_host);
        assert_eq!(here.0.len(), 4, "every record, the number too");
        assert_eq!(here.0[1].1[1], Some(Picked::Str(Cow::Owned("café \"quoted\"".into()))), "escapes decoded");
        assert_eq!(here.0[1].1[0], Some(Picked::Str(Cow::Owned("json:2".into()))), "a key spelled with escapes");

        let (here, by_host) = both(OBJECT, RecordsAt::Field("items".into()), &["id"], Some("/meta/next_cursor"));
        assert_eq!(here, by_host);
        assert_eq!(here.1, Some(Picked::Str(Cow::Owned("cé-2".into()))));
    }

    #[test]
    fn strings_without_escapes_cross_as_positions_and_the_rest_as_text() {
        let names = ["title".to_string(), "user".to_string(), "updated_at".to_string()];
        let scan = scan_body(ARRAY.as_bytes(), &RecordsAt::Array, &names, None).unwrap();
        let text = |start: u32, end: u32| &ARRAY[start as usize..end as usize];
        let stride = 2 + 3 * names.len();
        assert_eq!(scan.records.len(), 4 * stride, "four records of a span and three fields each");
        let first = &scan.records[..stride];
        assert_eq!(text(first[0], first[1]), r#"{"id":1,"title":"plain","user":{"id":7},"updated_at":null}"#);
        assert_eq!((first[2], text(first[3], first[4])), (kind::TEXT_AT, "plain"));
        assert_eq!((first[5], text(first[6], first[7])), (kind::JSON_AT, r#"{"id":7}"#));
        assert_eq!(&first[8..], [kind::NULL, 0, 0]);
        let second = &scan.records[stride..2 * stride];
        assert_eq!(&second[2..5], [kind::TEXT, 0, 0], "the first text with escapes");
        assert_eq!(scan.texts, ["café \"quoted\""]);
        assert_eq!(&scan.records[2 * stride + 2..3 * stride], [kind::ABSENT, 0, 0].repeat(3), "a number has no fields");
    }

    #[test]
    fn a_malformed_body_is_the_same_reason_either_way() {
        let body = r#"[{"id":1},{"id":2"#;
        let here = Walk { fields: &["id"], pointer: None }.run(body, Location::Array, |_, _| {}).unwrap_err();
        let by_host = scan_body(body.as_bytes(), &RecordsAt::Array, &["id".into()], None).unwrap_err();
        assert_eq!(here, ParseError::Malformed(by_host));
        let not_an_object = scan_body(b"[1]", &RecordsAt::Field("items".into()), &[], None).unwrap_err();
        assert_eq!(not_an_object, "response body is not a JSON object");
        let not_text = b"[\"caf\xe9\"]";
        let by_host = scan_body(not_text, &RecordsAt::Array, &[], None).unwrap_err();
        assert_eq!(ParseError::Malformed(by_host), super::super::body_text(not_text).unwrap_err());
        assert!(
            matches!(super::super::body_text(not_text), Err(ParseError::Malformed(m)) if m.starts_with("response body is not UTF-8 text"))
        );
    }

    #[test]
    fn more_fields_than_the_host_picks_are_refused() {
        let many: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("f{i}")).collect();
        let refused = scan_body(b"[]", &RecordsAt::Array, &many, None).unwrap_err();
        assert_eq!(refused, format!("scan-records picks at most {MAX_FIELDS} fields, not {}", MAX_FIELDS + 1));
        assert_eq!(scan_body(b"[]", &RecordsAt::Array, &many[..MAX_FIELDS], None).unwrap().records, Vec::<u32>::new());
    }

    #[test]
    fn an_answer_out_of_shape_is_malformed_not_a_panic() {
        let scan = |records: Vec<u32>, texts: Vec<String>| BodyScan { records, texts, pointer: None };
        let replayed = |scan: BodyScan, fields| replay("[1]", scan, fields, &mut |_, _| {});
        let outside = "the host's scan named bytes 2..99 outside the body";
        assert_eq!(replayed(scan(vec![2, 99], vec![]), 0), Err(ParseError::Malformed(outside.into())));
        let short = "the host's scan answered 4 numbers, not records of 5 (for 1 fields)";
        assert_eq!(replayed(scan(vec![1, 2, 0, 0], vec![]), 1), Err(ParseError::Malformed(short.into())));
        let no_text = "the host's scan named text 0 of 0";
        assert_eq!(replayed(scan(vec![1, 2, kind::TEXT, 0, 0], vec![]), 1), Err(ParseError::Malformed(no_text.into())));
        let unknown = "the host's scan answered a value of kind 9";
        assert_eq!(replayed(scan(vec![1, 2, 9, 0, 0], vec![]), 1), Err(ParseError::Malformed(unknown.into())));
        let text = replay("[1]", scan(vec![1, 2, kind::TEXT, 0, 0], vec!["é".into()]), 1, &mut |raw, values| {
            assert_eq!((raw, values), ("1", &[Some(Picked::Str(Cow::Owned("é".into())))][..]));
        });
        assert_eq!(text, Ok(None));
    }
}
