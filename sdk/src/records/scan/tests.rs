//! One scan against the single-purpose helpers it replaces.

use super::*;
use crate::{Exchange, Response};

fn exchange(body: &str) -> Exchange {
    Exchange {
        request: Request::get("issues", "/issues?per_page=3"),
        response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() },
        fetched_at_ms: 0,
    }
}

const PAGE: &str = r#"[
  {"id":1,"title":"a","updated_at":"2024-01-03T00:00:00Z","user":{"id":9,"title":"x"},"n":0.10},
  {"id":2,"title":null,"updated_at":"2024-01-09T00:00:00Z"},
  {"id":null,"title":"c"},
  {"title":"d","updated_at":"2024-01-08T00:00:00Z","id":"4"},
  "not an object",
  {"id":5,"updated_at":"2024-01-05T00:00:00Z","title":"e"}
]"#;

#[test]
fn one_scan_gives_what_the_helpers_give_in_several_passes() {
    let x = exchange(PAGE);
    let scanned = scan(&x).key(&["id"]).cursor("updated_at").array().unwrap();
    let records = crate::json_array_records(&x, "issues", &["id"]).unwrap();
    let (kept, rejects) = crate::reject_missing_keys(records, &["id"]);
    assert_eq!((&scanned.records, &scanned.rejects), (&kept, &rejects));
    let max = crate::checkpoint::max_cursor(&kept, "updated_at", None);
    assert_eq!(scanned.max_cursor, max);
    assert_eq!(scanned.max_cursor.as_deref(), Some("2024-01-09T00:00:00Z"));
}

#[test]
fn required_fields_reject_missing_and_null_values_and_rejected_records_set_no_cursor() {
    let scanned = scan(&exchange(PAGE)).key(&["id"]).cursor("updated_at").require(&["title"]).array().unwrap();
    let keys: Vec<_> = scanned.records.iter().map(|r| r.key.as_deref().unwrap()).collect();
    assert_eq!(keys, ["1", "4", "5"]);
    let reasons: Vec<_> = scanned.rejects.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "required field `title` is missing or null",
            "record has no primary key (id)",
            "record has no primary key (id)",
        ]
    );
    assert_eq!(scanned.rejects[0].payload, r#"{"id":2,"title":null,"updated_at":"2024-01-09T00:00:00Z"}"#);
    assert_eq!(scanned.rejects[2].payload, r#""not an object""#);
    assert_eq!(scanned.max_cursor.as_deref(), Some("2024-01-08T00:00:00Z"), "the rejected 01-09 does not count");
    assert_eq!(scanned.checkpoint(Some("2024-02-01T00:00:00Z")).as_deref(), Some("2024-02-01T00:00:00Z"));
}

#[test]
fn without_a_key_nothing_is_rejected_for_it() {
    let scanned = scan(&exchange(r#"[{"a":1},2]"#)).array().unwrap();
    assert_eq!(scanned.records.len(), 2);
    assert!(scanned.records.iter().all(|r| r.key.is_none() && r.stream == "issues"));
    assert!(scanned.rejects.is_empty() && scanned.max_cursor.is_none() && scanned.next.is_none());
}

#[test]
fn records_under_a_field_with_the_next_token_in_one_pass() {
    let body = r#"{"meta":{"next_cursor":""},"items":[{"id":1}],"links":{"next":"https://x.example/p2"}}"#;
    let x = exchange(body);
    let page = scan(&x).key(&["id"]).next_at("/links/next").field("items").unwrap();
    assert_eq!(page.next.as_deref(), Some("https://x.example/p2"));
    let next = crate::paginate::next_from_token(&x, &page.records, page.next.as_deref(), "cursor").unwrap();
    assert_eq!(next.url, "https://x.example/p2", "a URL is requested as is");
    let page = scan(&x).next_at("/meta/next_cursor").field("items").unwrap();
    assert_eq!(page.next, None, "an empty token ends the stream");
    let page = scan(&x).key(&["id"]).field("items").unwrap().into_page(Some(next));
    assert_eq!((page.records.len(), page.next.len(), page.checkpoint), (1, 1, None));
}

#[test]
fn malformed_bodies_name_the_problem() {
    let err = |body: &str| scan(&exchange(body)).key(&["id"]).field("items").unwrap_err();
    assert!(matches!(err("[]"), ParseError::Malformed(m) if m.contains("not a JSON object")));
    assert!(matches!(err(r#"{"items":[{"id":1}"#), ParseError::Malformed(m) if m.contains("not valid JSON")));
    assert!(matches!(err(r#"{"data":[]}"#), ParseError::Malformed(m) if m == "response has no `items` field"));
}
