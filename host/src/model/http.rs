//! Requests, responses and exchanges as the host keeps them: what a connector asks for, what
//! the API answered, and both together as they are stored in the raw table.

use serde::{Deserialize, Serialize};

/// One HTTP header. Names compare case-insensitively (see [`header`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    /// The header name as received or given.
    pub name: String,
    /// Its value.
    pub value: String,
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header { name: name.into(), value: value.into() }
    }
}

/// The HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// GET.
    Get,
    /// HEAD.
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// The method as it goes on the wire: `GET`, `POST` ...
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether repeating the request has no further effect (RFC 9110): GET, HEAD, PUT, DELETE.
    pub fn is_idempotent(self) -> bool {
        matches!(self, Method::Get | Method::Head | Method::Put | Method::Delete)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Method, String> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "HEAD" => Ok(Method::Head),
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            "PATCH" => Ok(Method::Patch),
            "DELETE" => Ok(Method::Delete),
            other => Err(format!("unknown HTTP method {other:?}")),
        }
    }
}

/// A request a connector asks the host to make. `url` is absolute, or relative to the base URL
/// when it starts with `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Request {
    /// The endpoint (stream) it belongs to.
    pub endpoint: String,
    /// The method.
    pub method: Method,
    /// The URL, absolute or relative to the base URL.
    pub url: String,
    /// Headers the connector sets (never credentials: the host adds those when sending).
    pub headers: Vec<Header>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// What the API answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<Header>,
    /// The body as received.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request and its response, as fetched and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request as the connector made it (no credentials).
    pub request: Request,
    /// The response.
    pub response: Response,
    /// When the response arrived (ms since the epoch).
    pub fetched_at_ms: u64,
}

/// The first value of header `name` (case-insensitive).
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_stored_as_it_was_before_the_contract_boundary() {
        // The JSON the redb store holds since format 1: field names and method variants.
        let request = Request {
            endpoint: "issues".into(),
            method: Method::Get,
            url: "/x".into(),
            headers: vec![Header::new("Accept", "a")],
            body: Some(vec![1, 2]),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            json,
            r#"{"endpoint":"issues","method":"Get","url":"/x","headers":[{"name":"Accept","value":"a"}],"body":[1,2]}"#
        );
    }

    #[test]
    fn methods_read_case_insensitively_and_know_idempotence() {
        assert_eq!("post".parse::<Method>().unwrap(), Method::Post);
        assert!("TRACE".parse::<Method>().is_err());
        assert!(Method::Put.is_idempotent() && !Method::Patch.is_idempotent());
    }
}
