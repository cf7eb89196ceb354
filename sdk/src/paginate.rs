//! Pagination helpers for the styles APIs really use. Each returns the follow-up request of a
//! page, or `None` when the stream is done; all stop on an empty page.
//!
//! | style | APIs | helper |
//! | --- | --- | --- |
//! | `Link: rel="next"` header | GitHub, GitLab | [`link_next`](crate::link_next), [`next_from_link`] |
//! | cursor in the body (`has_more` + last id) | Stripe | [`next_after_last_id`] |
//! | next URL or token in the body | Slack, HubSpot, many | [`next_from_body_field`], or [`next_from_token`] with [`PageScan::next_at`](crate::records::PageScan::next_at) |
//! | offset / limit | SQL-backed APIs | [`next_offset`] |
//! | page number | simple APIs | [`next_page_number`] |

use crate::records::{pick, value_at};
use crate::{Exchange, Record, Request};

/// The request for the `Link: rel="next"` URL, exactly as given, unless the page was empty.
///
/// ```
/// use apiary_sdk::{Exchange, Header, Request, Response};
/// let x = Exchange {
///     request: Request::get("issues", "/issues"),
///     response: Response { status: 200, headers: vec![Header { name: "link".into(), value: r#"<https://api.example.com/issues?page=2>; rel="next""#.into() }], body: br#"[{"id":1}]"#.to_vec() },
///     fetched_at_ms: 0,
/// };
/// let records = apiary_sdk::json_array_records(&x, "issues", &["id"]).unwrap();
/// assert_eq!(apiary_sdk::paginate::next_from_link(&x, &records).unwrap().url, "https://api.example.com/issues?page=2");
/// ```
pub fn next_from_link(exchange: &Exchange, records: &[Record]) -> Option<Request> {
    if records.is_empty() {
        return None;
    }
    crate::link_next(exchange).map(|url| Request::get(exchange.stream(), url))
}

/// Stripe style: when the body's `has_more` is true, the same request with
/// `starting_after=<id of the last record>`.
///
/// ```
/// use apiary_sdk::{paginate, Exchange, Request, Response};
/// let exchange = Exchange {
///     request: Request::get("charges", "/v1/charges?limit=2"),
///     response: Response { status: 200, headers: vec![], body: br#"{"has_more":true,"data":[{"id":"ch_1"},{"id":"ch_2"}]}"#.to_vec() },
///     fetched_at_ms: 0,
/// };
/// let records = apiary_sdk::json_field_records(&exchange, "data", "charges", &["id"]).unwrap();
/// let next = paginate::next_after_last_id(&exchange, &records, "has_more", "id", "starting_after").unwrap();
/// assert_eq!(next.url, "/v1/charges?limit=2&starting_after=ch_2");
/// ```
pub fn next_after_last_id(
    exchange: &Exchange,
    records: &[Record],
    has_more_field: &str,
    id_field: &str,
    param: &str,
) -> Option<Request> {
    let has_more = body_value(exchange, &format!("/{}", pointer_escape(has_more_field)))?;
    if has_more != "true" {
        return None;
    }
    let last = pick(&records.last()?.json, &[id_field]).ok()?;
    let id = last[0].as_ref()?.text()?;
    Some(Request::get(exchange.stream(), with_param(&exchange.request.url, param, id)))
}

/// A next URL or token in the body at `pointer` (a JSON pointer such as `/paging/next`): a
/// value starting with `http` or `/` is requested as is, anything else is sent as `param`.
/// The body is read only up to that field, nothing of it is built; when the page is scanned
/// anyway, [`PageScan::next_at`](crate::records::PageScan::next_at) reads the token in the same
/// pass, for [`next_from_token`].
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # fn exchange(url: &str, body: &str) -> Exchange {
/// #     Exchange { request: Request::get("items", url), response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() }, fetched_at_ms: 0 }
/// # }
/// let x = exchange("/messages", r#"{"messages":[{"id":1}],"meta":{"next_cursor":"dXNlcjo"}}"#);
/// let records = apiary_sdk::json_field_records(&x, "messages", "messages", &["id"]).unwrap();
/// let next = apiary_sdk::paginate::next_from_body_field(&x, &records, "/meta/next_cursor", "cursor").unwrap();
/// assert_eq!(next.url, "/messages?cursor=dXNlcjo");
/// ```
pub fn next_from_body_field(exchange: &Exchange, records: &[Record], pointer: &str, param: &str) -> Option<Request> {
    if records.is_empty() {
        return None;
    }
    next_from_token(exchange, records, body_value(exchange, pointer).as_deref(), param)
}

/// The request for a next URL or token already read from the page (e.g.
/// [`Scanned::next`](crate::records::Scanned::next)): a value starting with `http` or `/` is
/// requested as is, anything else is sent as `param`; none when the token is absent or empty,
/// or the page was empty.
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # let x = Exchange { request: Request::get("events", "/events?limit=2"), response: Response { status: 200, headers: vec![], body: br#"{"items":[{"id":1}],"meta":{"next_cursor":"c 2"}}"#.to_vec() }, fetched_at_ms: 0 };
/// let page = apiary_sdk::records::scan(&x).key(&["id"]).next_at("/meta/next_cursor").field("items").unwrap();
/// let next = apiary_sdk::paginate::next_from_token(&x, &page.records, page.next.as_deref(), "cursor").unwrap();
/// assert_eq!(next.url, "/events?limit=2&cursor=c+2");
/// ```
pub fn next_from_token(exchange: &Exchange, records: &[Record], token: Option<&str>, param: &str) -> Option<Request> {
    let next = token.filter(|t| !t.is_empty() && !records.is_empty())?;
    let url = if next.starts_with("http") || next.starts_with('/') {
        next.to_string()
    } else {
        with_param(&exchange.request.url, param, next)
    };
    Some(Request::get(exchange.stream(), url))
}

/// Offset/limit: the same request with `offset` advanced by the records received; none when
/// fewer than `limit` came back.
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # fn exchange(url: &str, body: &str) -> Exchange {
/// #     Exchange { request: Request::get("items", url), response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() }, fetched_at_ms: 0 }
/// # }
/// let x = exchange("/api/orders?offset=0&limit=2", r#"{"orders":[{"id":1},{"id":2}]}"#);
/// let records = apiary_sdk::json_field_records(&x, "orders", "orders", &["id"]).unwrap();
/// let next = apiary_sdk::paginate::next_offset(&x, &records, "offset", 2).unwrap();
/// assert_eq!(next.url, "/api/orders?limit=2&offset=2");
/// ```
pub fn next_offset(exchange: &Exchange, records: &[Record], offset_param: &str, limit: usize) -> Option<Request> {
    if records.is_empty() || records.len() < limit {
        return None;
    }
    let offset: usize = query_param(&exchange.request.url, offset_param).and_then(|v| v.parse().ok()).unwrap_or(0);
    let url = with_param(&exchange.request.url, offset_param, &(offset + records.len()).to_string());
    Some(Request::get(exchange.stream(), url))
}

/// Page numbers: the same request with `page` + 1 (pages start at 1), until an empty page.
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # fn exchange(url: &str, body: &str) -> Exchange {
/// #     Exchange { request: Request::get("items", url), response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() }, fetched_at_ms: 0 }
/// # }
/// let x = exchange("/items?page=1", r#"[{"id":1}]"#);
/// let records = apiary_sdk::json_array_records(&x, "items", &["id"]).unwrap();
/// assert_eq!(apiary_sdk::paginate::next_page_number(&x, &records, "page").unwrap().url, "/items?page=2");
/// assert!(apiary_sdk::paginate::next_page_number(&x, &[], "page").is_none(), "an empty page ends it");
/// ```
pub fn next_page_number(exchange: &Exchange, records: &[Record], page_param: &str) -> Option<Request> {
    if records.is_empty() {
        return None;
    }
    let page: u64 = query_param(&exchange.request.url, page_param).and_then(|v| v.parse().ok()).unwrap_or(1);
    Some(Request::get(exchange.stream(), with_param(&exchange.request.url, page_param, &(page + 1).to_string())))
}

/// The value of query parameter `name` in `url`, if present.
///
/// ```
/// assert_eq!(apiary_sdk::paginate::query_param("/x?limit=10&offset=20", "offset"), Some("20"));
/// ```
pub fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let query = url.split_once('?')?.1;
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// `url` with query parameter `name` set to `value` (replaced if present, appended if not).
///
/// ```
/// use apiary_sdk::paginate::with_param;
/// assert_eq!(with_param("/x?limit=10&offset=20", "offset", "30"), "/x?limit=10&offset=30");
/// assert_eq!(with_param("/x", "q", "a b"), "/x?q=a+b");
/// ```
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let encoded = crate::query_escape(value);
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(name))
        .map(str::to_string)
        .collect();
    pairs.push(format!("{name}={encoded}"));
    format!("{path}?{}", pairs.join("&"))
}

/// The text of the scalar at `pointer` in the body (a string's contents, a number's or a
/// boolean's text); `None` when absent, `null`, an object or an array, or the body is not JSON.
fn body_value(exchange: &Exchange, pointer: &str) -> Option<String> {
    let body = std::str::from_utf8(&exchange.response.body).ok()?;
    value_at(body, pointer).ok()??.scalar_text().map(str::to_string)
}

/// `field` as one JSON pointer token (RFC 6901: `~` and `/` escaped).
fn pointer_escape(field: &str) -> String {
    field.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Response;

    fn exchange(url: &str, body: &str) -> Exchange {
        Exchange {
            request: Request::get("items", url),
            response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() },
            fetched_at_ms: 0,
        }
    }

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record { stream: "items".into(), key: Some(i.to_string()), json: format!("{{\"id\":{i}}}") })
            .collect()
    }

    #[test]
    fn offset_and_page_numbers_advance_and_stop() {
        let x = exchange("/items?limit=2&offset=4", "[]");
        assert_eq!(next_offset(&x, &records(2), "offset", 2).unwrap().url, "/items?limit=2&offset=6");
        assert!(next_offset(&x, &records(1), "offset", 2).is_none(), "a short page is the last");
        assert!(next_offset(&x, &[], "offset", 2).is_none());
        let x = exchange("/items?page=3", "[]");
        assert_eq!(next_page_number(&x, &records(5), "page").unwrap().url, "/items?page=4");
        assert_eq!(next_page_number(&exchange("/items", "[]"), &records(1), "page").unwrap().url, "/items?page=2");
        assert!(next_page_number(&x, &[], "page").is_none());
    }

    #[test]
    fn cursors_and_tokens_in_the_body() {
        let x = exchange("/v1/charges?limit=2&starting_after=ch_0", r#"{"has_more":false,"data":[]}"#);
        assert!(next_after_last_id(&x, &records(2), "has_more", "id", "starting_after").is_none());
        let x = exchange("/list", r#"{"paging":{"next":"abc 1"}}"#);
        assert_eq!(next_from_body_field(&x, &records(1), "/paging/next", "cursor").unwrap().url, "/list?cursor=abc+1");
        let x = exchange("/list", r#"{"next":"https://api.example.com/list?page=2"}"#);
        assert_eq!(
            next_from_body_field(&x, &records(1), "/next", "cursor").unwrap().url,
            "https://api.example.com/list?page=2"
        );
        let x = exchange("/list", r#"{"next":null}"#);
        assert!(next_from_body_field(&x, &records(1), "/next", "cursor").is_none());
        let x = exchange("/list", r#"{"next":"{abc}"}"#);
        assert_eq!(next_from_body_field(&x, &records(1), "/next", "c").unwrap().url, "/list?c=%7Babc%7D");
        let x = exchange("/list", r#"{"next":{"url":"/x"},"n":7}"#);
        assert!(next_from_body_field(&x, &records(1), "/next", "cursor").is_none(), "an object is no token");
        assert_eq!(next_from_body_field(&x, &records(1), "/n", "after").unwrap().url, "/list?after=7");
        assert!(next_from_body_field(&x, &[], "/n", "after").is_none(), "an empty page ends it");
        let x = exchange("/v1/charges?limit=2", r#"{"has_more":true,"data":[]}"#);
        let last = Record { stream: "charges".into(), key: None, json: r#"{"id":"ch_\u0032","n":1}"#.into() };
        let next = next_after_last_id(&x, &[last], "has_more", "id", "starting_after").unwrap();
        assert_eq!(next.url, "/v1/charges?limit=2&starting_after=ch_2", "the id decoded");
    }
}
