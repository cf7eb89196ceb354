//! `apiary test CONNECTOR.wasm --fixtures DIR --endpoint E`: recorded exchanges through the real
//! host and the connector's wasm, offline, judged on the same acceptance path as a sync (a
//! record failing the endpoint's declared schema counts as a reject). Fixtures are octokit-format
//! recordings (a JSON array of `scope`, `method`, `path`, `status`, `headers`, `response`) or
//! exports of `apiary raw show ID --json`. Only the exchanges of the endpoint are run: same
//! method, and a path that matches the endpoint's (`{name}` matches one segment) or ends in the
//! same resource (`/repositories/1000/issues` for `/repos/{owner}/{repo}/issues`, as a `Link`
//! header may point); the others are reported as skipped.

use std::path::{Path, PathBuf};

use apiary_sdk::testing::RecordedExchange;
use serde::{Deserialize, Serialize};

use crate::accept::{self, PageOrigin, SchemaCheck, Verdict};
use crate::model::{Endpoint, Exchange, Header, Method, Request, Response};
use crate::runtime::LoadedConnector;
use crate::schema::{Contract, SchemaObserver};
use crate::store::{ExchangeId, RawMeta};

/// Fixtures could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FixtureError {
    path: PathBuf,
    reason: String,
}

/// What the connector made of one fixture exchange.
#[derive(Debug, Clone, Serialize)]
pub struct FixtureOutcome {
    /// The fixture file.
    pub file: PathBuf,
    /// The request URL.
    pub url: String,
    /// Records, rejects, follow-up URLs and checkpoint; or why the page was not accepted.
    pub result: Result<PageSummary, String>,
}

/// An exchange of a fixture that does not belong to the endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The fixture file.
    pub file: PathBuf,
    /// `METHOD url`.
    pub request: String,
}

/// Everything `apiary test` ran and skipped.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FixtureReport {
    /// The endpoint's exchanges and what became of them.
    pub outcomes: Vec<FixtureOutcome>,
    /// Exchanges of other endpoints.
    pub skipped: Vec<Skipped>,
}

/// A parsed page, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct PageSummary {
    /// Records accepted.
    pub records: usize,
    /// Records rejected (dead letters in a sync).
    pub rejects: usize,
    /// Follow-up request URLs.
    pub next: Vec<String>,
    /// The checkpoint, if any.
    pub checkpoint: Option<String>,
}

/// An export of `apiary raw show ID --json`.
#[derive(Deserialize)]
struct RawExport {
    meta: RawMeta,
    body_text: String,
}

/// Parse every exchange of endpoint `endpoint` in every `*.json` file in `dir` (sorted).
pub fn run_fixtures(connector: &LoadedConnector, dir: &Path, endpoint: &str) -> Result<FixtureReport, FixtureError> {
    let error = |path: &Path, reason: String| FixtureError { path: path.to_path_buf(), reason };
    let declared = connector.manifest().endpoint(endpoint).cloned().ok_or_else(|| {
        let names: Vec<&str> = connector.manifest().endpoints.iter().map(|e| e.name.as_str()).collect();
        error(dir, format!("the connector has no endpoint `{endpoint}` (it has: {})", names.join(", ")))
    })?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| error(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.to_string_lossy().ends_with(".expected.json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(error(dir, "no *.json fixtures here".into()));
    }
    let mut report = FixtureReport::default();
    let mut observer = SchemaObserver::new(connector.declared(endpoint).map(|d| d.shape()));
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| error(&file, e.to_string()))?;
        for exchange in exchanges_in(&text, endpoint).map_err(|reason| error(&file, reason))? {
            if !belongs_to(&exchange.request, &declared) {
                let request = format!("{} {}", exchange.request.method, exchange.request.url);
                report.skipped.push(Skipped { file: file.clone(), request });
                continue;
            }
            let origin = PageOrigin { stream: endpoint, request: &exchange.request, exchange: ExchangeId(0) };
            let mut check = SchemaCheck {
                observer: Some(&mut observer),
                contract: Contract::Evolve,
                declared: connector.declared(endpoint),
            };
            let result = match accept::judge(origin, connector.parse(&exchange), connector.limits(), &mut check) {
                Verdict::Accept(page) => Ok(PageSummary {
                    records: page.records.len(),
                    rejects: page.letters.len(),
                    next: page.next.iter().map(|r| r.url.clone()).collect(),
                    checkpoint: page.checkpoint,
                }),
                Verdict::Refetch { reason, .. } => Err(reason.to_string()),
                Verdict::Fail(error) => Err(error),
            };
            report.outcomes.push(FixtureOutcome { file: file.clone(), url: exchange.request.url, result });
        }
    }
    Ok(report)
}

/// Whether a recorded request is one of `endpoint`'s: same endpoint name (an export), or same
/// method and a path matching the endpoint's template or ending in the same resource.
fn belongs_to(request: &Request, endpoint: &Endpoint) -> bool {
    if request.endpoint != endpoint.name || request.method != endpoint.method {
        return false;
    }
    let path = url::Url::parse(&request.url)
        .map_or_else(|_| request.url.split('?').next().unwrap_or_default().to_string(), |u| u.path().to_string());
    let template = endpoint.path.split('?').next().unwrap_or_default();
    let (got, want): (Vec<&str>, Vec<&str>) =
        (path.trim_matches('/').split('/').collect(), template.trim_matches('/').split('/').collect());
    let matches_template = got.len() == want.len()
        && got.iter().zip(&want).all(|(g, w)| (w.starts_with('{') && w.ends_with('}')) || g == w);
    matches_template || (got.last() == want.last() && !want.last().is_some_and(|w| w.starts_with('{')))
}

/// The exchanges of one fixture file, in either format, as requests of `endpoint` (an export
/// keeps its own endpoint).
fn exchanges_in(text: &str, endpoint: &str) -> Result<Vec<Exchange>, String> {
    if let Ok(recorded) = serde_json::from_str::<Vec<RecordedExchange>>(text) {
        return Ok(recorded.iter().map(|r| from_recorded(r, endpoint)).collect());
    }
    match serde_json::from_str::<RawExport>(text) {
        Ok(export) => Ok(vec![from_export(export)]),
        Err(e) => Err(format!("neither octokit recordings nor an `apiary raw show --json` export: {e}")),
    }
}

fn from_recorded(r: &RecordedExchange, endpoint: &str) -> Exchange {
    let headers = |hs: Vec<apiary_sdk::Header>| hs.into_iter().map(|h| Header::new(h.name, h.value)).collect();
    let sdk = r.to_exchange(endpoint);
    Exchange {
        request: Request {
            endpoint: endpoint.to_string(),
            method: r.method.parse().unwrap_or(Method::Get),
            url: sdk.request.url,
            headers: headers(sdk.request.headers),
            body: None,
        },
        response: Response { status: r.status, headers: headers(sdk.response.headers), body: sdk.response.body },
        fetched_at_ms: 0,
    }
}

fn from_export(export: RawExport) -> Exchange {
    let m = export.meta;
    Exchange {
        request: m.request,
        response: Response { status: m.status, headers: m.headers, body: export.body_text.into_bytes() },
        fetched_at_ms: m.fetched_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(method: Method, path: &str) -> Endpoint {
        Endpoint {
            name: "issues".into(),
            method,
            path: path.into(),
            buckets: vec![],
            max_in_flight: 1,
            primary_key: vec![],
            cursor_field: None,
            idempotency_key: None,
            schema: None,
        }
    }

    fn request(method: Method, url: &str) -> Request {
        Request { endpoint: "issues".into(), method, url: url.into(), headers: vec![], body: None }
    }

    #[test]
    fn only_the_endpoints_own_exchanges_are_run() {
        let issues = endpoint(Method::Get, "/repos/{owner}/{repo}/issues");
        assert!(belongs_to(&request(Method::Get, "https://api.github.com/repos/o/r/issues?per_page=3"), &issues));
        assert!(belongs_to(&request(Method::Get, "https://api.github.com/repositories/1000/issues?page=2"), &issues));
        assert!(!belongs_to(&request(Method::Post, "https://api.github.com/repos/o/r/issues"), &issues));
        assert!(!belongs_to(&request(Method::Get, "https://api.github.com/repos/o/r/labels"), &issues));
    }
}
