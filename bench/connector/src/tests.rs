//! The parser on small pages shaped like the mock's large collection.

use apiary_sdk::testing::assert_manifest_sound;
use apiary_sdk::{Connector, Exchange, Header, Request, Response};

use super::Bench;

const ISSUES: &str = r#"[
 {"id":2000000001,"title":"Sync \"resumes\"","user":{"id":7,"title":"not this one"},"updated_at":"2024-01-01T00:01:00Z","score":12.500000,"body":"caf\u00e9\r\n"},
 {"title":"no id","updated_at":"2024-01-01T00:09:00Z"},
 {"id":2000000003,"user":{"title":"nested, not the record's"},"updated_at":"2024-01-01T00:03:00Z"},
 {"id":2000000004,"title":"last","updated_at":"2024-01-01T00:04:00Z","big":123456789012345678901234567890}
]"#;

fn exchange(stream: &str, url: &str, body: &str, headers: Vec<Header>) -> Exchange {
    Exchange {
        request: Request::get(stream, url),
        response: Response { status: 200, headers, body: body.as_bytes().to_vec() },
        fetched_at_ms: 0,
    }
}

#[test]
fn the_manifest_is_sound() {
    assert_manifest_sound::<Bench>();
}

#[test]
fn issues_keep_records_byte_for_byte_and_reject_missing_keys_and_titles() {
    let link = Header {
        name: "Link".into(),
        value: r#"<http://127.0.0.1:1/repos/o/large/issues?per_page=4&page=2>; rel="next""#.into(),
    };
    let page = Bench::parse(&exchange("issues", "/repos/o/large/issues?per_page=4", ISSUES, vec![link])).unwrap();
    let keys: Vec<_> = page.records.iter().map(|r| r.key.as_deref().unwrap()).collect();
    assert_eq!(keys, ["2000000001", "2000000004"]);
    assert!(page.records[1].json.ends_with(r#""big":123456789012345678901234567890}"#), "every digit kept");
    assert!(page.records[0].json.contains(r#""body":"caf\u00e9\r\n""#), "escapes kept as sent");
    let reasons: Vec<_> = page.rejects.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("primary key") && reasons[1].contains("`title`"), "{reasons:?}");
    assert!(page.rejects[1].payload.starts_with(r#"{"id":2000000003,"#));
    assert_eq!(page.next[0].url, "http://127.0.0.1:1/repos/o/large/issues?per_page=4&page=2");
    assert_eq!(page.checkpoint.as_deref(), Some("2024-01-01T00:04:00Z"), "the newest kept record's updated_at");
}

#[test]
fn events_follow_the_cursor_in_the_body_until_it_is_null() {
    let body = format!(r#"{{"items":{ISSUES},"meta":{{"next_cursor":"6166746572","limit":4}}}}"#);
    let page = Bench::parse(&exchange("events", "/api/events?limit=4", &body, vec![])).unwrap();
    assert_eq!(page.records.len(), 2);
    assert_eq!(page.next[0].url, "/api/events?limit=4&cursor=6166746572");
    let last = format!(r#"{{"items":{ISSUES},"meta":{{"next_cursor":null}}}}"#);
    let page = Bench::parse(&exchange("events", "/api/events?limit=4&cursor=61", &last, vec![])).unwrap();
    assert!(page.next.is_empty(), "a null cursor ends the stream");
}

#[test]
fn a_truncated_page_is_malformed() {
    let err = Bench::parse(&exchange("issues", "/i", &ISSUES[..40], vec![])).unwrap_err();
    assert!(matches!(err, apiary_sdk::ParseError::Malformed(_)), "{err:?}");
    let err = Bench::parse(&exchange("events", "/e", r#"{"meta":{}}"#, vec![])).unwrap_err();
    assert!(matches!(err, apiary_sdk::ParseError::Malformed(m) if m.contains("items")));
}

#[test]
fn the_endpoint_allowing_four_in_flight_reads_the_same_chain_as_its_own_stream() {
    let manifest = Bench::manifest();
    let endpoint = manifest.endpoints.iter().find(|e| e.name == super::ISSUES_IN_FLIGHT_4).expect("declared");
    assert_eq!((endpoint.path.as_str(), endpoint.max_in_flight), ("/repos/{owner}/large/issues", 4));
    let link = Header {
        name: "Link".into(),
        value: r#"<http://127.0.0.1:1/repos/o/large/issues?per_page=4&page=2>; rel="next""#.into(),
    };
    let url = "/repos/o/large/issues?per_page=4";
    let page = Bench::parse(&exchange(super::ISSUES_IN_FLIGHT_4, url, ISSUES, vec![link])).unwrap();
    assert_eq!(page.records.len(), 2);
    assert_eq!((page.next[0].endpoint.as_str(), page.next.len()), (super::ISSUES_IN_FLIGHT_4, 1));
}
