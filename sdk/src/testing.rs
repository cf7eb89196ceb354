//! Replaying recorded traffic to a connector in plain `cargo test`.
//!
//! Recorded exchanges in the [octokit/fixtures] format (a JSON array of `scope`, `method`,
//! `path`, `reqheaders`, `status`, `headers`, `response`) load as [`Exchange`]s that a
//! connector's [`Connector::parse`](crate::Connector::parse) can be called with directly.
//!
//! [octokit/fixtures]: https://github.com/octokit/fixtures

use serde::Deserialize;
use serde_json::Value;

use crate::{Exchange, Header, Method, Request, Response};

/// One exchange as the octokit fixtures record it.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordedExchange {
    /// Scheme, host and port, e.g. `https://api.github.com:443`.
    pub scope: String,
    /// The HTTP method, lower case.
    pub method: String,
    /// The request path, with its query string.
    pub path: String,
    /// The request headers as sent.
    #[serde(default)]
    pub reqheaders: serde_json::Map<String, Value>,
    /// The response status.
    pub status: u16,
    /// The response headers.
    #[serde(default)]
    pub headers: serde_json::Map<String, Value>,
    /// The decoded response body (JSON, or a string for empty and text bodies).
    #[serde(default)]
    pub response: Value,
}

impl RecordedExchange {
    /// The response body as the API sent it: the JSON re-encoded, a string as its text.
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.response {
            Value::String(text) => text.as_bytes().to_vec(),
            Value::Null => Vec::new(),
            json => serde_json::to_vec(json).expect("a JSON value always encodes"),
        }
    }

    /// The response headers as name/value pairs, numbers written as text.
    pub fn response_headers(&self) -> Vec<Header> {
        headers_of(&self.headers)
    }

    /// The recorded method as the contract's [`Method`]; unknown methods read as `GET`.
    pub fn http_method(&self) -> Method {
        method_named(&self.method)
    }

    /// This recording as the [`Exchange`] the host would hand to `parse` for `endpoint`.
    pub fn to_exchange(&self, endpoint: &str) -> Exchange {
        let scope = self.scope.trim_end_matches(":443");
        Exchange {
            request: Request {
                endpoint: endpoint.to_string(),
                method: self.http_method(),
                url: format!("{scope}{}", self.path),
                headers: headers_of(&self.reqheaders),
                body: None,
            },
            response: Response { status: self.status, headers: self.response_headers(), body: self.body_bytes() },
            fetched_at_ms: 0,
        }
    }
}

/// A method by name, any case (`get`, `Post`, ...); unknown names read as `GET`.
fn method_named(name: &str) -> Method {
    match name.to_ascii_lowercase().as_str() {
        "post" => Method::Post,
        "put" => Method::Put,
        "patch" => Method::Patch,
        "delete" => Method::Delete,
        "head" => Method::Head,
        _ => Method::Get,
    }
}

fn headers_of(map: &serde_json::Map<String, Value>) -> Vec<Header> {
    map.iter()
        .map(|(name, value)| Header {
            name: name.clone(),
            value: match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        })
        .collect()
}

/// Read a file of recorded exchanges in the octokit fixtures format.
pub fn load_recorded(path: impl AsRef<std::path::Path>) -> Result<Vec<RecordedExchange>, String> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not octokit fixtures: {e}", path.display()))
}

/// Panic with every problem [`check_manifest`](crate::check_manifest) finds in `C`'s manifest.
/// Put it in a unit test: `apiary_sdk::testing::assert_manifest_sound::<MyConnector>();`
pub fn assert_manifest_sound<C: crate::Connector>() {
    let problems = crate::check_manifest(&C::manifest());
    assert!(problems.is_empty(), "the manifest has problems:\n- {}", problems.join("\n- "));
}

/// What a connector's `parse` made of one recorded exchange, for assertions in replay tests.
pub fn replay<C: crate::Connector>(
    recorded: &[RecordedExchange],
    endpoint: &str,
) -> Vec<Result<crate::Page, crate::ParseError>> {
    recorded.iter().map(|r| C::parse(&r.to_exchange(endpoint))).collect()
}

/// Read an exchange exported with `apiary raw show ID --json`: traffic the host recorded in a
/// real sync, replayed natively exactly as it was fetched (`body_text` is the body byte for
/// byte).
pub fn load_export(path: impl AsRef<std::path::Path>) -> Result<Exchange, String> {
    let path = path.as_ref();
    let bad = |what: &str| format!("{}: not an `apiary raw show --json` export ({what})", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let export: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let meta = export.get("meta").ok_or_else(|| bad("no `meta`"))?;
    let request = meta.get("request").ok_or_else(|| bad("no `meta.request`"))?;
    let text_of = |v: &Value, field: &str| v.get(field).and_then(Value::as_str).map(str::to_string);
    let headers_of = |v: Option<&Value>| -> Vec<Header> {
        v.and_then(Value::as_array)
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| Some(Header { name: text_of(h, "name")?, value: text_of(h, "value")? }))
                    .collect()
            })
            .unwrap_or_default()
    };
    let method = method_named(request.get("method").and_then(Value::as_str).unwrap_or("get"));
    Ok(Exchange {
        request: Request {
            endpoint: text_of(request, "endpoint").ok_or_else(|| bad("no `meta.request.endpoint`"))?,
            method,
            url: text_of(request, "url").ok_or_else(|| bad("no `meta.request.url`"))?,
            headers: headers_of(request.get("headers")),
            body: None,
        },
        response: Response {
            status: meta.get("status").and_then(Value::as_u64).ok_or_else(|| bad("no `meta.status`"))? as u16,
            headers: headers_of(meta.get("headers")),
            body: text_of(&export, "body_text").ok_or_else(|| bad("no `body_text`"))?.into_bytes(),
        },
        fetched_at_ms: meta.get("fetched_at_ms").and_then(Value::as_u64).unwrap_or(0),
    })
}
