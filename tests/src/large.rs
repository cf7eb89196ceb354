//! The large collection, the benchmark's input: GitHub issue-like records of about 1.5 KB
//! (nested `user` and `assignee`, a `labels` array, a `body` with escapes, numbers, nulls,
//! timestamps), deterministic, served two ways:
//! - `GET /repos/{owner}/large/issues?per_page=M&page=N`: a JSON array per page, paginated
//!   with `Link: rel="next"`, as GitHub does;
//! - `GET /api/events?limit=M&cursor=C`: `{"items":[...],"meta":{"next_cursor":"C"}}`, an
//!   opaque cursor in the body (`null` on the last page), as Slack-style APIs do.
//!
//! Record `n` is the same in both chains; `updated_at` grows with `n`.

use std::fmt::Write;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::apis::param;
use crate::generated::records_array;
use crate::parts::{Label, write_label, write_timestamp, write_user};

/// Records per page unless the request says otherwise.
const DEFAULT_PER_PAGE: u64 = 100;

/// `updated_at` of record 0: 2024-01-01T00:00:00Z; each record is a minute newer.
const EPOCH_2024: u64 = 1_704_067_200;

/// How many pages each chain has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LargePages {
    /// Pages of the `Link` chain.
    pub link: u64,
    /// Pages of the body-cursor chain.
    pub cursor: u64,
}

/// The two ways the collection is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// `/repos/{owner}/large/issues`, `Link: rel="next"`.
    Link,
    /// `/api/events`, `meta.next_cursor` in the body.
    Cursor,
}

impl Chain {
    /// The chain `path` serves, if it is one of them.
    pub fn of_path(path: &str) -> Option<Chain> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["repos", _, "large", "issues"] => Some(Chain::Link),
            ["api", "events"] => Some(Chain::Cursor),
            _ => None,
        }
    }
}

/// The response to a GET of `chain` at `path?query`; records for which `drop_id(n)` holds lack
/// their `id`. `base_url` is the mock's own, for `Link` URLs.
pub fn respond(
    chain: Chain,
    path: &str,
    query: &str,
    pages: LargePages,
    base_url: &str,
    drop_id: &dyn Fn(u64) -> bool,
) -> Response {
    let number = |name: &str| param(query, name).and_then(|v| v.parse::<u64>().ok());
    match chain {
        Chain::Link => {
            let per_page = number("per_page").unwrap_or(DEFAULT_PER_PAGE).clamp(1, 1000);
            let page = number("page").unwrap_or(1);
            let mut response = crate::server::json_response(
                StatusCode::OK,
                link_page(page, per_page, pages.link, drop_id).into_bytes(),
            );
            if page < pages.link {
                let link_to = |n: u64| format!("<{base_url}{path}?per_page={per_page}&page={n}>");
                let link = format!("{}; rel=\"next\", {}; rel=\"last\"", link_to(page + 1), link_to(pages.link));
                response.headers_mut().insert("link", HeaderValue::from_str(&link).expect("ASCII link"));
            }
            response
        }
        Chain::Cursor => {
            let limit = number("limit").unwrap_or(DEFAULT_PER_PAGE).clamp(1, 1000);
            match cursor_page(param(query, "cursor"), limit, pages.cursor, drop_id) {
                Some(body) => crate::server::json_response(StatusCode::OK, body.into_bytes()),
                None => crate::server::json_response(
                    StatusCode::BAD_REQUEST,
                    br#"{"message":"invalid cursor: pass back meta.next_cursor unchanged"}"#.to_vec(),
                ),
            }
        }
    }
}

/// Page `page` (1-based) of the `Link` chain: a JSON array, empty past the last page.
pub fn link_page(page: u64, per_page: u64, pages: u64, drop_id: &dyn Fn(u64) -> bool) -> String {
    let numbers = if page >= 1 && page <= pages { (page - 1) * per_page + 1..page * per_page + 1 } else { 0..0 };
    records_array(numbers, 1600, write_record, record_id, drop_id)
}

/// The cursor chain's page after `cursor` (from the start without one); `None` for a cursor
/// this mock did not hand out.
pub fn cursor_page(cursor: Option<&str>, limit: u64, pages: u64, drop_id: &dyn Fn(u64) -> bool) -> Option<String> {
    let after = match cursor {
        Some(c) => decode_cursor(c)?,
        None => 0,
    };
    let last = (after + limit).min(pages * limit);
    let items = records_array(after + 1..last.max(after) + 1, 1600, write_record, record_id, drop_id);
    let next = if last < pages * limit { format!("\"{}\"", encode_cursor(last)) } else { "null".to_string() };
    Some(format!(r#"{{"items":{items},"meta":{{"next_cursor":{next},"limit":{limit}}}}}"#))
}

/// An opaque cursor: the hex of `after:N`.
fn encode_cursor(after: u64) -> String {
    format!("after:{after}").bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| cursor.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()?.strip_prefix("after:")?.parse().ok()
}

fn record_id(n: u64) -> u64 {
    2_000_000_000 + n
}

/// Record `n`: same `n`, same bytes, every time.
fn write_record(out: &mut String, n: u64) {
    let repo = "https://api.github.com/repos/apiary-mock/large";
    let _ = write!(
        out,
        r#"{{"url":"{repo}/issues/{n}","html_url":"https://github.com/apiary-mock/large/issues/{n}","id":{id},"node_id":"I_kwDOLarge{n:010}","number":{n},"title":"Sync \"resumes\" twice after a crash (case {n})","user":"#,
        id = record_id(n),
    );
    write_user(out, 1000 + n % 97);
    out.push_str(r#","labels":["#);
    for (i, label) in Label::ALL.iter().cycle().skip((n % 5) as usize).take(1 + (n % 3) as usize).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_label(out, repo, label);
    }
    let state = if n.is_multiple_of(4) { "closed" } else { "open" };
    let _ = write!(out, r#"],"state":"{state}","locked":false,"assignee":"#);
    match n % 5 {
        0 => write_user(out, 2000 + n % 13),
        _ => out.push_str("null"),
    }
    let _ = write!(out, r#","milestone":null,"comments":{},"created_at":""#, n % 23);
    write_timestamp(out, EPOCH_2024 - 30 * 86_400 + n * 37);
    out.push_str(r#"","updated_at":""#);
    write_timestamp(out, EPOCH_2024 + n * 60);
    out.push_str(r#"","closed_at":"#);
    match state {
        "closed" => {
            out.push('"');
            write_timestamp(out, EPOCH_2024 + n * 60 - 5);
            out.push('"');
        }
        _ => out.push_str("null"),
    }
    let _ = write!(
        out,
        r#","author_association":"CONTRIBUTOR","reactions":{{"total_count":{t},"+1":{a},"-1":0,"laugh":{b},"heart":{c}}},"score":{score}.{frac:06},"body":"{body}"}}"#,
        t = n % 7 + n % 3 + n % 2,
        a = n % 7,
        b = n % 3,
        c = n % 2,
        score = n * 7919 % 10_000,
        frac = n * 104_729 % 1_000_000,
        body = BODIES[(n % BODIES.len() as u64) as usize],
    );
}

/// Issue bodies as JSON string contents: escapes, non-ASCII text, Markdown.
const BODIES: [&str; 3] = [
    r#"### Steps to reproduce\r\n1. Run `apiary run issues.toml` against a slow API.\r\n2. Kill the process with `kill -9` while page 3 commits.\r\n3. Run it again.\r\n\r\n### Expected\r\nEvery record exactly once; the log says \"resuming from page 3\".\r\n\r\n### Actual\r\nPage 3 is fetched twice and the caf\u00e9 record appears twice in `out\\issues.jsonl`.\r\n\r\n> Caf\u00e9 cr\u00e8me \u2014 \ud83d\udc1d"#,
    r#"When the API answers `429` with `Retry-After: 2`, the sync waits 2 s and retries.\n\nBut with `\"Retry-After\": \"Wed, 21 Oct 2015 07:28:00 GMT\"` (an HTTP date) it retries at once:\n\n```\nWARN retry after=0ms status=429 url=/repos/o/r/issues?page=7\n```\n\nExpected: dates honoured too (RFC 9110 \u00a710.2.3).\tC:\\\\Users\\\\issues.jsonl. Gr\u00fc\u00dfe"#,
    r#"Feature request: a `--since` flag for `apiary reparse`.\n\n- [x] re-parse a single stream\n- [ ] re-parse only exchanges fetched after a date, e.g. `2024-02-01T00:00:00Z`\n- [ ] keep the diff per stream\n\nToday the whole run is re-parsed (82 MB, 55,000 records) which takes ~4 s; with `--since` it would be ~0.4 s.\n\n/cc @user1001 \u2014 a \"small\" change? \u00a1Gracias! \u00c5ngstr\u00f6m"#,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> serde_json::Value {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    #[test]
    fn records_are_valid_deterministic_and_about_1_5_kb() {
        let body = link_page(3, 100, 5, &|_| false);
        assert_eq!(body, link_page(3, 100, 5, &|_| false));
        let records = parse(&body);
        let records = records.as_array().unwrap();
        assert_eq!(records.len(), 100);
        assert_eq!(records[0]["number"], 201);
        assert_eq!(records[0]["id"], 2_000_000_201u64);
        let average = body.len() / 100;
        assert!((1400..=1600).contains(&average), "{average} bytes per record");
        let updated: Vec<&str> = records.iter().map(|r| r["updated_at"].as_str().unwrap()).collect();
        assert!(updated.windows(2).all(|w| w[0] < w[1]), "updated_at grows with the number");
        assert_eq!(records[0]["updated_at"], "2024-01-01T03:21:00Z");
        assert!(records[0]["body"].as_str().unwrap().contains('\u{e9}'), "escapes decode");
        assert!(
            records.iter().any(|r| r["assignee"].is_null()) && records.iter().any(|r| r["assignee"]["id"].is_u64())
        );
        assert_eq!(link_page(6, 100, 5, &|_| false), "[]");
    }

    #[test]
    fn the_cursor_chain_serves_every_record_once_then_a_null_cursor() {
        let (mut cursor, mut numbers) = (None::<String>, Vec::new());
        loop {
            let page = parse(&cursor_page(cursor.as_deref(), 40, 3, &|_| false).unwrap());
            numbers.extend(page["items"].as_array().unwrap().iter().map(|r| r["number"].as_u64().unwrap()));
            match page["meta"]["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(numbers, (1..=120).collect::<Vec<_>>());
        assert_eq!(cursor_page(Some("zz"), 40, 3, &|_| false), None);
        let after_3 =
            cursor_page(Some(&encode_cursor(3)), 2, 3, &|_| false).map(|b| parse(&b)["items"][0]["number"].clone());
        assert_eq!(after_3, Some(4.into()));
    }

    #[test]
    fn dropped_ids_and_paths() {
        let page = parse(&link_page(1, 3, 1, &|n| n == 2));
        assert!(page[1].get("id").is_none() && page[0].get("id").is_some() && page[1]["user"]["id"].is_u64());
        assert_eq!(Chain::of_path("/repos/apiary-mock/large/issues"), Some(Chain::Link));
        assert_eq!(Chain::of_path("/api/events"), Some(Chain::Cursor));
        assert_eq!(Chain::of_path("/repos/apiary-mock/generated/issues"), None);
    }
}
