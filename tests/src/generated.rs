//! The generated collections: deterministic GitHub issue-like records, served as
//! `/repos/{owner}/generated/issues` (a JSON array) and `/search/issues` (GitHub's search
//! format), paginated with `Link: rel="next"`.

use std::fmt::Write;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::faults::Faults;
use crate::server::json_response;

/// How the generated records look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// As always.
    Usual,
    /// Drifted, as an API changing its payload without a new version: `comments` is a string
    /// (`"3"`), `locked` is gone and `importance` (an integer) is new.
    Drifted,
}

/// Which generated collection a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// `/repos/{owner}/generated/issues`.
    Issues,
    /// `/search/issues`.
    Search,
}

/// The generated collection `path` names, if any.
pub fn kind_of(path: &str) -> Option<Generated> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["repos", _, "generated", "issues"] => Some(Generated::Issues),
        ["search", "issues"] => Some(Generated::Search),
        _ => None,
    }
}

/// What a generated page depends on besides the request.
pub struct Collection<'a> {
    /// Pages in every collection.
    pub pages: u64,
    /// The mock's own URL, for `Link` headers.
    pub base_url: &'a str,
    /// Which records lose their `id`.
    pub faults: &'a Faults,
    /// Pages after this many are served drifted.
    pub drift_after: Option<u64>,
}

/// The page of collection `kind` that `path?query` asks for (`per_page`, `page`, `q`).
pub fn page_response(kind: Generated, path: &str, query: &str, collection: &Collection<'_>) -> Response {
    let param =
        |name: &str| query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v);
    let number = |name: &str| param(name).and_then(|v| v.parse::<u64>().ok());
    let per_page = number("per_page").unwrap_or(30).clamp(1, 1000);
    let page = number("page").unwrap_or(1);
    let pages = collection.pages;
    let shape = if collection.drift_after.is_some_and(|after| page > after) { Shape::Drifted } else { Shape::Usual };
    let issues = page_body(page, per_page, pages, shape, |n| collection.faults.drops_id(n));
    let body = match kind {
        Generated::Issues => issues,
        Generated::Search => {
            format!(r#"{{"total_count":{},"incomplete_results":false,"items":{issues}}}"#, pages * per_page)
        }
    };
    let mut response = json_response(StatusCode::OK, body.into_bytes());
    let q = param("q").map(|q| format!("q={q}&")).unwrap_or_default();
    let link_to = |n: u64| format!("<{}{path}?{q}per_page={per_page}&page={n}>", collection.base_url);
    if page < pages {
        let link = format!("{}; rel=\"next\", {}; rel=\"last\"", link_to(page + 1), link_to(pages));
        response.headers_mut().insert("link", HeaderValue::from_str(&link).expect("ASCII link"));
    }
    response
}

/// The body of page `page` (1-based) of `per_page` records of `shape`; empty past the last
/// page. Records for which `drop_id(n)` holds are served without their `id`.
pub fn page_body(page: u64, per_page: u64, pages: u64, shape: Shape, drop_id: impl Fn(u64) -> bool) -> String {
    let numbers = if page >= 1 && page <= pages { (page - 1) * per_page + 1..page * per_page + 1 } else { 0..0 };
    records_array(numbers, 1200, |out, n| write_issue(out, n, shape), |n| 1_000_000_000 + n, drop_id)
}

/// A JSON array of the records numbered `numbers` (about `record_size` bytes each), each
/// written by `write`. Records for which `drop_id(n)` holds lose their `"id":ID,` field,
/// `id_of(n)` being that ID.
pub fn records_array(
    numbers: std::ops::Range<u64>,
    record_size: usize,
    write: impl Fn(&mut String, u64),
    id_of: fn(u64) -> u64,
    drop_id: impl Fn(u64) -> bool,
) -> String {
    let mut body = String::with_capacity((numbers.end - numbers.start) as usize * record_size + 2);
    body.push('[');
    for n in numbers {
        if body.len() > 1 {
            body.push(',');
        }
        let start = body.len();
        write(&mut body, n);
        if drop_id(n) {
            let id_field = format!(r#""id":{},"#, id_of(n));
            body.replace_range(start.., &body[start..].replacen(&id_field, "", 1));
        }
    }
    body.push(']');
    body
}

/// One issue record with id `n`: same `n` and shape, same bytes, every time.
fn write_issue(out: &mut String, n: u64, shape: Shape) {
    let text =
        "Steps to reproduce: sync the endpoint, kill the process, resume it. Expected every record exactly once. ";
    let (locked, comments, importance) = match shape {
        Shape::Usual => (r#""locked":false,"#.to_string(), (n % 17).to_string(), String::new()),
        Shape::Drifted => (String::new(), format!("\"{}\"", n % 17), format!(r#","importance":{}"#, n % 5)),
    };
    let _ = write!(
        out,
        r#"{{"id":{id},"number":{n},"node_id":"I_kwDO{n:08}","title":"Generated issue {n}","state":"{state}",{locked}"comments":{comments}{importance},"user":{{"login":"user{u}","id":{u},"type":"User","site_admin":false}},"labels":[{{"id":{l},"name":"label-{l}","color":"ededed","default":false}}],"amount":"{whole}.{cents:02}","created_at":"2024-01-{day:02}T10:00:00Z","updated_at":"2024-02-{day:02}T12:30:00Z","closed_at":null,"author_association":"MEMBER","body":"{body}"}}"#,
        id = 1_000_000_000 + n,
        state = if n.is_multiple_of(3) { "closed" } else { "open" },
        u = 100 + n % 50,
        l = n % 7,
        whole = n * 37 % 100_000,
        cents = n % 100,
        day = 1 + n % 28,
        body = text.repeat(8),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_valid_deterministic_records_of_about_a_kilobyte() {
        let body = page_body(2, 10, 3, Shape::Usual, |_| false);
        assert_eq!(body, page_body(2, 10, 3, Shape::Usual, |_| false));
        let records: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        assert_eq!(records.len(), 10);
        assert_eq!(records[0]["number"], 11);
        let average = body.len() / 10;
        assert!((900..2000).contains(&average), "{average} bytes per record");
        assert_eq!(page_body(4, 10, 3, Shape::Usual, |_| false), "[]");
        let without: Vec<serde_json::Value> =
            serde_json::from_str(&page_body(1, 3, 3, Shape::Usual, |n| n == 2)).unwrap();
        assert!(without[1].get("id").is_none() && without[0].get("id").is_some());
    }

    #[test]
    fn drifted_records_change_a_type_lose_a_field_and_gain_one() {
        let usual: Vec<serde_json::Value> = serde_json::from_str(&page_body(1, 2, 1, Shape::Usual, |_| false)).unwrap();
        let drifted: Vec<serde_json::Value> =
            serde_json::from_str(&page_body(1, 2, 1, Shape::Drifted, |_| false)).unwrap();
        assert_eq!((usual[1]["comments"].as_u64(), drifted[1]["comments"].as_str()), (Some(2), Some("2")));
        assert!(usual[1].get("locked").is_some() && drifted[1].get("locked").is_none());
        assert!(usual[1].get("importance").is_none() && drifted[1]["importance"] == 2);
        assert_eq!(drifted[1]["id"], usual[1]["id"], "the same records otherwise");
    }
}
