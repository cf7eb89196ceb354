//! The SDK's JSON scan as a connector runs it: compiled to wasm with 128-bit SIMD (the
//! workspace's `.cargo/config.toml`), where strings are read sixteen bytes at a time. Strings of
//! every length around a chunk, with escapes, non-ASCII text and stray control characters at
//! every position, must split and key exactly as the byte-at-a-time scan does.

use apiary_e2e::harness::connector_wasm;
use apiary_host::model::{Exchange, Method, ParseError, Request, Response};
use apiary_host::policy::ConnectorLimits;
use apiary_host::runtime::{LoadedConnector, Runtime};

/// The github connector's component, loaded once per test binary.
fn github() -> &'static LoadedConnector {
    static GITHUB: std::sync::OnceLock<LoadedConnector> = std::sync::OnceLock::new();
    GITHUB.get_or_init(|| {
        let runtime = Runtime::new().expect("engine");
        let wasm = connector_wasm("github_connector");
        LoadedConnector::load(&runtime, &wasm, ConnectorLimits::default()).expect("loading the github connector")
    })
}

/// Parse `body` as a page of the github connector's `issues`, in wasm.
fn parse(body: impl AsRef<[u8]>) -> Result<apiary_host::model::Page, ParseError> {
    let request =
        Request { endpoint: "issues".into(), method: Method::Get, url: "/issues".into(), headers: vec![], body: None };
    let response = Response { status: 200, headers: vec![], body: body.as_ref().to_vec() };
    github().parse(&Exchange { request, response, fetched_at_ms: 0 }).expect("the call itself succeeds")
}

/// Text of `len` characters with `special` at position `at` (or none when `at >= len`).
fn text(len: usize, at: usize, special: &str) -> String {
    (0..len)
        .map(|i| if i == at { special.to_string() } else { char::from(b'a' + (i % 26) as u8).to_string() })
        .collect()
}

#[test]
fn strings_of_every_length_around_a_chunk_split_and_key_exactly() {
    let specials = [r#"\""#, r"\\", r"\u00e9", r"\n", "é", "日本", "🐝", "\u{7f}"];
    let mut elements = Vec::new();
    for len in 0..40 {
        for (s, special) in specials.iter().enumerate() {
            let at = (len * 7 + s * 3) % (len + 1);
            let id = elements.len();
            let key = text(len, at, special);
            elements.push(format!(r#"{{"title":"{key}","id":{id},"{key}":"{}"}}"#, text(len + 17, at, special)));
        }
    }
    // The last string ends within sixteen bytes of the body's end: the scalar tail finishes it.
    elements.push(r#"{"id":"tail","b":"xyz"}"#.to_string());
    let page = parse(&format!("[{}]", elements.join(","))).expect("every element is valid JSON");
    let jsons: Vec<&str> = page.records.iter().map(|r| r.json.as_str()).collect();
    assert_eq!(jsons, elements.iter().map(String::as_str).collect::<Vec<_>>());
    let keys: Vec<String> = page.records.iter().map(|r| r.key.clone().unwrap_or_default()).collect();
    let expected: Vec<String> = (0..elements.len() - 1).map(|i| i.to_string()).chain(["tail".into()]).collect();
    assert_eq!(keys, expected);
}

#[test]
fn a_raw_control_character_anywhere_in_a_string_makes_the_page_malformed() {
    for at in [0, 5, 15, 16, 17, 31, 40] {
        for control in ['\u{1}', '\t', '\n', '\u{1f}'] {
            let title = text(48, at, &control.to_string());
            let body = format!(r#"[{{"id":1,"title":"{title}"}},{{"id":2,"title":"after"}}]"#);
            match parse(&body) {
                Err(ParseError::Malformed(message)) => {
                    assert!(message.contains("control character"), "at {at}: {message}")
                }
                other => panic!("a raw {control:?} at {at} was accepted: {other:?}"),
            }
        }
    }
}

#[test]
fn a_body_that_is_not_utf8_is_malformed_wherever_the_bad_byte_is() {
    let good = format!(r#"[{{"id":1,"title":"{}"}}]"#, text(60, 30, "é"));
    for at in [3, 16, 20, 31, 32, 40, good.len() - 3] {
        for bad in [&[0xff][..], &[0xc3], &[0xe2, 0x86]] {
            let mut body = good.as_bytes().to_vec();
            body.splice(at..at, bad.iter().copied());
            match parse(&body) {
                Err(ParseError::Malformed(message)) => assert!(message.contains("not UTF-8"), "at {at}: {message}"),
                other => panic!("{bad:?} at {at} was accepted: {other:?}"),
            }
        }
    }
    assert!(parse(&good).is_ok(), "the page without the bad bytes parses");
}
