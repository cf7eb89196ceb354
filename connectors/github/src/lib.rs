//! The apiary connector for the GitHub REST API.
//!
//! Streams: `issues` (incremental: it resumes from the newest `updated_at` it saw, with `since=`),
//! `labels` and `pulls` of one repository (`[config] owner` and `repo`), and
//! `search_issues` (`[config] query`), paginated by following the `Link: rel="next"` header
//! exactly as given. Every request draws from the `core` bucket (5,000 requests per hour); search
//! also draws from its own `search` bucket (30 per minute). Speaks API version `2022-11-28`.
//! `labels` declares its schema (derived from [`Label`]), so the host checks every label against
//! it; the other streams' schemas are inferred by the host.

use apiary_sdk::{Auth, Bucket, Connector, Endpoint, Exchange, Manifest, Page, ParseError, Request, SyncContext};
use schemars::JsonSchema;

/// The GitHub connector.
pub struct GitHub;

/// The GitHub REST API version this connector speaks.
pub const API_VERSION: &str = "2022-11-28";

/// A label as GitHub returns it: the declared schema of the `labels` stream.
#[derive(Debug, JsonSchema)]
pub struct Label {
    /// The label's id.
    pub id: u64,
    /// Its GraphQL node id.
    pub node_id: String,
    /// Its API URL.
    pub url: String,
    /// Its name.
    pub name: String,
    /// Its colour, as six hex digits.
    pub color: String,
    /// Whether it is one of the repository's default labels.
    pub default: bool,
    /// What it is for, if the repository says.
    pub description: Option<String>,
}

/// Records per page asked for when the pipeline does not set `per_page`.
const DEFAULT_PER_PAGE: &str = "100";

impl Connector for GitHub {
    fn manifest() -> Manifest {
        let mut manifest =
            apiary_sdk::manifest("github", env!("CARGO_PKG_VERSION"), API_VERSION, "https://api.github.com");
        manifest.auth = Auth::Bearer("token".to_string());
        manifest.buckets.push(Bucket::new("core", 5_000, 3_600_000, 100));
        manifest.buckets.push(Bucket::new("search", 30, 60_000, 10));
        manifest.endpoints = vec![
            Endpoint::get("issues", "/repos/{owner}/{repo}/issues")
                .bucket("core")
                .primary_key(&["id"])
                .cursor_field("updated_at"),
            Endpoint::get("labels", "/repos/{owner}/{repo}/labels")
                .bucket("core")
                .primary_key(&["id"])
                .schema_of::<Label>(),
            Endpoint::get("pulls", "/repos/{owner}/{repo}/pulls").bucket("core").primary_key(&["id"]),
            Endpoint::get("search_issues", "/search/issues").bucket("core").bucket("search").primary_key(&["id"]),
        ];
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let per_page = ctx.config("per_page").unwrap_or(DEFAULT_PER_PAGE);
        let path = match endpoint {
            "issues" | "labels" | "pulls" => {
                let owner = ctx.config("owner").ok_or("config `owner` is required (the repository owner)")?;
                let repo = ctx.config("repo").ok_or("config `repo` is required (the repository name)")?;
                let mut path = format!("/repos/{owner}/{repo}/{endpoint}?per_page={per_page}");
                if endpoint == "issues" {
                    // Oldest change first, so the last page's newest `updated_at` is the checkpoint.
                    path.push_str("&state=all&sort=updated&direction=asc");
                    if let Some(since) = &ctx.checkpoint {
                        path.push_str(&format!("&since={}", apiary_sdk::query_escape(since)));
                    }
                }
                path
            }
            "search_issues" => {
                let query = ctx.config("query").ok_or("config `query` is required for search_issues")?;
                format!("/search/issues?q={}&per_page={per_page}", apiary_sdk::query_escape(query))
            }
            other => {
                return Err(format!("unknown endpoint `{other}`: this connector has issues, labels and search_issues"));
            }
        };
        Ok(vec![github_request(endpoint, path)])
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        let stream = exchange.stream();
        if exchange.response.status != 200 {
            return Err(ParseError::Fatal(format!(
                "GitHub answered {} for {}",
                exchange.response.status, exchange.request.url
            )));
        }
        // One pass over the body: records, their `id`, and for issues the newest `updated_at`.
        let scan = apiary_sdk::records::scan(exchange).key(&["id"]);
        let scanned = match stream {
            "issues" => scan.cursor("updated_at").array()?,
            "search_issues" => scan.field("items")?,
            _ => scan.array()?,
        };
        let next = apiary_sdk::link_next(exchange).map(|url| github_request(stream, url));
        Ok(scanned.into_page(next))
    }
}

/// A GET request with the headers GitHub asks every client to send.
fn github_request(endpoint: &str, url: impl Into<String>) -> Request {
    Request::get(endpoint, url)
        .with_header("Accept", "application/vnd.github+json")
        .with_header("X-GitHub-Api-Version", API_VERSION)
}

apiary_sdk::export_connector!(GitHub);

#[cfg(test)]
mod tests;
