//! Helpers for the HTTP side of a connector: building requests, reading headers, following
//! `Link` pagination.

use crate::{Exchange, Header, Method, Request, Response};

impl Request {
    /// A `GET` request for `endpoint`'s stream. `url` is absolute, or starts with `/` to be
    /// resolved against the pipeline's base URL by the host.
    ///
    /// ```
    /// let request = apiary_sdk::Request::get("issues", "/repos/o/r/issues?per_page=100")
    ///     .with_header("Accept", "application/vnd.github+json");
    /// assert_eq!(request.headers[0].value, "application/vnd.github+json");
    /// ```
    pub fn get(endpoint: &str, url: impl Into<String>) -> Request {
        Request {
            endpoint: endpoint.to_string(),
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Add a header (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push(Header { name: name.to_string(), value: value.to_string() });
        self
    }
}

impl Response {
    /// The first value of the header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }
}

impl Exchange {
    /// The first value of the response header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.header(name)
    }

    /// The stream (endpoint name) this exchange was fetched for.
    pub fn stream(&self) -> &str {
        &self.request.endpoint
    }
}

/// The URL of the `rel="next"` link in the response's `Link` header (RFC 8288), exactly as
/// given, if there is one. This is how GitHub and many other APIs paginate.
///
/// ```
/// use apiary_sdk::{Exchange, Header, Request, Response, link_next};
/// let exchange = Exchange {
///     request: Request::get("issues", "/issues"),
///     response: Response {
///         status: 200,
///         headers: vec![Header {
///             name: "Link".into(),
///             value: r#"<https://api.example.com/issues?page=2>; rel="next", <https://api.example.com/issues?page=5>; rel="last""#.into(),
///         }],
///         body: b"[]".to_vec(),
///     },
///     fetched_at_ms: 0,
/// };
/// assert_eq!(link_next(&exchange), Some("https://api.example.com/issues?page=2"));
/// ```
pub fn link_next(exchange: &Exchange) -> Option<&str> {
    link_relation(exchange.header("link")?, "next")
}

/// The URL of the link with relation `rel` in a `Link` header value, if there is one.
///
/// ```
/// let link = r#"<https://x.example/p2>; rel="next", <https://x.example/p9>; rel="last""#;
/// assert_eq!(apiary_sdk::link_relation(link, "last"), Some("https://x.example/p9"));
/// ```
pub fn link_relation<'a>(link_header: &'a str, rel: &str) -> Option<&'a str> {
    let mut rest = link_header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let url = &rest[open + 1..close];
        let params_end = rest[close..].find('<').map_or(rest.len(), |i| close + i);
        let params = &rest[close + 1..params_end];
        if params.split(';').any(|param| names_relation(param, rel)) {
            return Some(url);
        }
        rest = &rest[params_end..];
    }
}

/// Whether one `Link` parameter (`rel="next"`, `rel=next`, `rel="next last"`) names `rel`.
fn names_relation(param: &str, rel: &str) -> bool {
    let Some((name, value)) = param.split_once('=') else {
        return false;
    };
    name.trim().eq_ignore_ascii_case("rel")
        && value
            .trim()
            .trim_end_matches(',')
            .trim_matches('"')
            .split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case(rel))
}

/// `value` encoded for a URL query (`application/x-www-form-urlencoded`: space as `+`).
///
/// ```
/// assert_eq!(apiary_sdk::query_escape("is:open label:bug"), "is%3Aopen+label%3Abug");
/// ```
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_relation_in_a_github_link_header() {
        let header = r#"<https://api.github.com/repositories/1000/issues?per_page=3&page=2>; rel="next", <https://api.github.com/repositories/1000/issues?per_page=3&page=5>; rel="last""#;
        assert_eq!(
            link_relation(header, "next"),
            Some("https://api.github.com/repositories/1000/issues?per_page=3&page=2")
        );
        assert_eq!(
            link_relation(header, "last"),
            Some("https://api.github.com/repositories/1000/issues?per_page=3&page=5")
        );
        assert_eq!(link_relation(header, "prev"), None);
    }

    #[test]
    fn accepts_unquoted_and_multiple_relations_and_commas_in_urls() {
        assert_eq!(link_relation("<https://x/a?b=1,2>; rel=next", "next"), Some("https://x/a?b=1,2"));
        assert_eq!(link_relation(r#"<https://x/p>; rel="prev first""#, "first"), Some("https://x/p"));
        assert_eq!(link_relation("garbage without brackets", "next"), None);
        assert_eq!(link_relation("<https://x/unterminated", "next"), None);
    }
}
