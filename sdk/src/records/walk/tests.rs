//! The one-pass core against what serde_json says about the same bodies.

use super::*;
use crate::records::value_at;

/// Each record's text and its picked fields.
type Seen<'b> = Vec<(&'b str, Vec<Option<Picked<'b>>>)>;

/// Every record's text and picked fields, and the pointer's value.
fn walk<'b>(
    body: &'b str,
    location: Location<'_>,
    fields: &[&str],
    pointer: Option<&str>,
) -> Result<(Seen<'b>, Option<Picked<'b>>), ParseError> {
    let mut seen = Vec::new();
    let found = Walk { fields, pointer }.run(body, location, |raw, values| seen.push((raw, values.to_vec())))?;
    Ok((seen, found))
}

fn string(value: &str) -> Option<Picked<'_>> {
    Some(Picked::Str(Cow::Borrowed(value)))
}

fn json(value: &str) -> Option<Picked<'_>> {
    Some(Picked::Json(value))
}

#[test]
fn records_are_exact_slices_and_fields_are_picked_at_the_top_level_only() {
    let body = " [ {\"id\": 1, \"user\": {\"id\": 9}, \"n\": 12345678901234567.891e-3 } ,\n{\"x\":[1,{\"id\":2}],\"id\":\"a\\\"b\"}, 7, [1] ] ";
    let (records, _) = walk(body, Location::Array, &["id", "n"], None).unwrap();
    let raws: Vec<&str> = records.iter().map(|(raw, _)| *raw).collect();
    let expected: Vec<&serde_json::value::RawValue> = serde_json::from_str(body).unwrap();
    assert_eq!(raws, expected.iter().map(|r| r.get()).collect::<Vec<_>>(), "the same slices as serde_json's RawValue");
    assert_eq!(records[0].1, [json("1"), json("12345678901234567.891e-3")], "every digit kept");
    assert_eq!(records[1].1[0], Some(Picked::Str(Cow::Owned("a\"b".into()))), "escapes decoded");
    assert_eq!(records[1].1[1], None);
    assert_eq!(records[2].1, [None, None], "a non-object has no fields");
}

#[test]
fn keys_written_with_escapes_are_found() {
    let (records, _) = walk(r#"[{"\u0069d":7,"t\"x":1}]"#, Location::Array, &["id", "t\"x"], None).unwrap();
    assert_eq!(records[0].1, [json("7"), json("1")]);
}

#[test]
fn null_is_told_apart_from_absent_and_nested_values_are_exact_text() {
    let (records, _) =
        walk(r#"[{"a":null,"b":{"c":[1, 2]},"d":true}]"#, Location::Array, &["a", "b", "d", "e"], None).unwrap();
    assert_eq!(records[0].1, [Some(Picked::Null), json(r#"{"c":[1, 2]}"#), json("true"), None]);
    assert_eq!(Picked::Null.text(), None);
    assert_eq!((Picked::Json("[1]").text(), Picked::Json("[1]").scalar_text()), (Some("[1]"), None));
    assert_eq!(Picked::Str(Cow::Borrowed("{x}")).scalar_text(), Some("{x}"), "a string is a scalar");
}

#[test]
fn records_under_a_field_with_a_pointer_read_on_the_way() {
    let body = r#"{"meta":{"total":2},"items":[{"id":1},{"id":2}],"paging":{"next":"c\u00e9","pages":[10,{"n":11}]}}"#;
    let (records, next) = walk(body, Location::Field("items"), &["id"], Some("/paging/next")).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(next, Some(Picked::Str(Cow::Owned("c\u{e9}".into()))));
    let (_, found) = walk(body, Location::Field("items"), &[], Some("/paging/pages/1/n")).unwrap();
    assert_eq!(found, json("11"), "array indexes");
    let (_, found) = walk(body, Location::Field("items"), &[], Some("/paging/missing")).unwrap();
    assert_eq!(found, None);
    assert_eq!(value_at(body, "/meta/total").unwrap(), json("2"));
    assert_eq!(value_at(r#"{"a/b":{"~":5}}"#, "/a~1b/~0").unwrap(), json("5"), "RFC 6901 escapes");
}

#[test]
fn value_at_stops_once_found() {
    assert_eq!(value_at(r#"{"next":"x","items":[{"unterminated"#, "/next").unwrap(), string("x"));
}

#[test]
fn bad_bodies_are_malformed_with_a_reason() {
    let reason = |body: &str, location| match walk(body, location, &["id"], None) {
        Err(ParseError::Malformed(reason)) => reason,
        other => panic!("{body}: {other:?}"),
    };
    assert!(reason(r#"{"id":1}"#, Location::Array).contains("not a JSON array"));
    assert!(reason("[1]", Location::Field("items")).contains("not a JSON object"));
    assert!(reason(r#"{"data":[]}"#, Location::Field("items")).contains("no `items` field"));
    assert!(reason(r#"{"items":{}}"#, Location::Field("items")).contains("`items` is not a JSON array"));
    for truncated in
        [r#"[{"id":1},"#, r#"[{"id":1}"#, r#"[{"id":"#, "", "[1,]", r#"[{"id":1}] x"#, r#"[{"a":01}]"#, r#"["\x"]"#]
    {
        assert!(reason(truncated, Location::Array).contains("JSON"), "{truncated}");
    }
    assert!(pick("{\"a\":1} {", &["a"]).is_err());
    assert_eq!(pick(r#"{"a":"x","b":2}"#, &["b", "a"]).unwrap(), [json("2"), string("x")]);
    assert_eq!(pick("[1]", &["a"]).unwrap(), [None]);
}
