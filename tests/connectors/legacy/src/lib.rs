//! A connector of contract `apiary:connector@0.1.0` (or `@0.2.0` with the `contract-0-2`
//! feature, `@0.3.0` with `contract-0-3`), bound with wit-bindgen directly against the frozen
//! `wit/0.1` (`wit/0.2`, `wit/0.3`), not through the SDK, which speaks the newest contract: what
//! a connector built before contract 0.2 (0.3, 0.4) looks like to the host. It reads the mock
//! API's generated issues, paginated by `Link: rel="next"`. Built for 0.3 it finds the records
//! with 0.3's `scan-records`, whose answer is a list of records (0.4's is flat).

// wit-bindgen's generated glue passes flattened records as many arguments.
#![allow(clippy::too_many_arguments)]

#[cfg(not(any(feature = "contract-0-2", feature = "contract-0-3")))]
wit_bindgen::generate!({ path: "../../../wit/0.1", world: "connector" });
#[cfg(feature = "contract-0-2")]
wit_bindgen::generate!({ path: "../../../wit/0.2", world: "connector" });
#[cfg(feature = "contract-0-3")]
wit_bindgen::generate!({ path: "../../../wit/0.3", world: "connector" });

use apiary::connector::types::{Auth, Endpoint, Method, Record, RetryPolicy};
#[cfg(not(feature = "contract-0-3"))]
use serde_json::value::RawValue;

struct Legacy;

/// The only stream.
const STREAM: &str = "issues";

impl Guest for Legacy {
    fn manifest() -> Manifest {
        let endpoint = Endpoint {
            name: STREAM.into(),
            method: Method::Get,
            path: "/repos/apiary-mock/generated/issues".into(),
            buckets: vec![],
            max_in_flight: 1,
            primary_key: vec!["id".into()],
            cursor_field: None,
            idempotency_key: None,
            #[cfg(any(feature = "contract-0-2", feature = "contract-0-3"))]
            schema: None,
        };
        Manifest {
            name: "legacy".into(),
            version: "0.1.0".into(),
            api_version: "2024-01-01".into(),
            base_url: "https://api.example.com".into(),
            allowed_hosts: vec![],
            auth: Auth::None,
            buckets: vec![],
            endpoints: vec![endpoint],
            retry: RetryPolicy { max_attempts: 3, base_ms: 10, max_ms: 100, retry_statuses: vec![] },
            rate_limit_headers: None,
        }
    }

    fn start(endpoint: String, _ctx: SyncContext) -> Result<Vec<Request>, String> {
        Ok(vec![get(&endpoint, "/repos/apiary-mock/generated/issues?per_page=5".into())])
    }

    fn parse(exchange: Exchange) -> Result<Page, ParseError> {
        let records = records(&exchange.response.body)?;
        let next = exchange
            .response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("link"))
            .find_map(|h| next_link(&h.value));
        Ok(Page {
            records,
            rejects: vec![],
            next: next.map(|url| get(STREAM, url)).into_iter().collect(),
            checkpoint: None,
        })
    }
}

/// The records of a page that is a JSON array, keyed by `id`: read here with serde_json.
#[cfg(not(feature = "contract-0-3"))]
fn records(body: &[u8]) -> Result<Vec<Record>, ParseError> {
    let items: Vec<&RawValue> =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(format!("not a JSON array: {e}")))?;
    Ok(items
        .into_iter()
        .map(|item| Record { stream: STREAM.into(), key: id_of(item), json: item.get().to_string() })
        .collect())
}

/// The records of a page that is a JSON array, keyed by `id`: found by the host's 0.3
/// `scan-records`, each record and its `id` a position in the body.
#[cfg(feature = "contract-0-3")]
fn records(body: &[u8]) -> Result<Vec<Record>, ParseError> {
    use apiary::connector::types::{Picked, RecordsAt, Span};
    let scan = scan_records(body, &RecordsAt::Array, &["id".into()], None).map_err(ParseError::Malformed)?;
    let text = std::str::from_utf8(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let at = |span: &Span| text.get(span.start as usize..span.end as usize).unwrap_or_default().to_string();
    let key = |field: &Option<Picked>| match field {
        Some(Picked::JsonAt(span) | Picked::TextAt(span)) => Some(at(span)),
        Some(Picked::Text(text)) => Some(text.clone()),
        Some(Picked::Null) | None => None,
    };
    Ok(scan.records.iter().map(|r| Record { stream: STREAM.into(), key: key(&r.fields[0]), json: at(&r.at) }).collect())
}

fn get(endpoint: &str, url: String) -> Request {
    Request { endpoint: endpoint.into(), method: Method::Get, url, headers: vec![], body: None }
}

/// The record's `id`, as text.
#[cfg(not(feature = "contract-0-3"))]
fn id_of(item: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Keyed {
        id: Option<u64>,
    }
    serde_json::from_str::<Keyed>(item.get()).ok()?.id.map(|id| id.to_string())
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let (_, rest) = part.split_once('<')?;
        Some(rest.split_once('>')?.0.to_string())
    })
}

export!(Legacy);
