//! `apiary test CONNECTOR.wasm --fixtures DIR`: recorded exchanges through the real host and the
//! connector's wasm, offline. Fixtures are octokit-format recordings (a JSON array of `scope`,
//! `method`, `path`, `status`, `headers`, `response`) or exports of `apiary raw show ID --json`.

use std::path::{Path, PathBuf};

use apiary_sdk::testing::RecordedExchange;
use serde::{Deserialize, Serialize};

use crate::runtime::{Exchange, Header, LoadedConnector, Method, Request, Response};
use crate::store::RawMeta;

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
    /// Records, rejects, follow-up URLs and checkpoint; or why parsing failed.
    pub result: Result<PageSummary, String>,
}

/// A parsed page, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct PageSummary {
    /// Records produced.
    pub records: usize,
    /// Records rejected.
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

/// Parse every exchange of every `*.json` file in `dir` (sorted) with `connector`, as
/// requests of `endpoint` (an export keeps its own).
pub fn run_fixtures(
    connector: &LoadedConnector,
    dir: &Path,
    endpoint: &str,
) -> Result<Vec<FixtureOutcome>, FixtureError> {
    let error = |path: &Path, reason: String| FixtureError { path: path.to_path_buf(), reason };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| error(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.to_string_lossy().ends_with(".expected.json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(error(dir, "no *.json fixtures here".into()));
    }
    let mut outcomes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| error(&file, e.to_string()))?;
        for exchange in exchanges_in(&text, endpoint).map_err(|reason| error(&file, reason))? {
            let result = match connector.parse(&exchange) {
                Ok(Ok(page)) => Ok(PageSummary {
                    records: page.records.len(),
                    rejects: page.rejects.len(),
                    next: page.next.iter().map(|r| r.url.clone()).collect(),
                    checkpoint: page.checkpoint,
                }),
                Ok(Err(parse_error)) => Err(format!("{parse_error:?}")),
                Err(call) => Err(call.to_string()),
            };
            outcomes.push(FixtureOutcome { file: file.clone(), url: exchange.request.url, result });
        }
    }
    Ok(outcomes)
}

/// The exchanges of one fixture file, in either format.
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
    let headers =
        |hs: Vec<apiary_sdk::Header>| hs.into_iter().map(|h| Header { name: h.name, value: h.value }).collect();
    let sdk = r.to_exchange(endpoint);
    Exchange {
        request: Request {
            endpoint: endpoint.to_string(),
            method: match r.http_method() {
                apiary_sdk::Method::Get => Method::Get,
                apiary_sdk::Method::Head => Method::Head,
                apiary_sdk::Method::Post => Method::Post,
                apiary_sdk::Method::Put => Method::Put,
                apiary_sdk::Method::Patch => Method::Patch,
                apiary_sdk::Method::Delete => Method::Delete,
            },
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
