//! A connector that declares the schema of its one stream, `issues` (the mock API's generated
//! issues): derived from [`Issue`] with schemars, so the host validates every record against it.
//! Built with `--features invalid`, it declares `{"type": 12}` instead, which is not JSON Schema:
//! the host must refuse to load it, naming the endpoint.

use apiary_sdk::{Connector, Endpoint, Exchange, Manifest, Page, ParseError, Request, SyncContext};
use schemars::JsonSchema;

/// The declaring connector.
pub struct Declared;

/// An issue as the connector promises it: what the declared schema requires.
#[derive(Debug, JsonSchema)]
pub struct Issue {
    /// The issue's id.
    pub id: u64,
    /// Its number in the repository.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// How many comments it has.
    pub comments: u64,
    /// `open` or `closed`.
    pub state: String,
}

impl Connector for Declared {
    fn manifest() -> Manifest {
        let mut manifest = apiary_sdk::manifest("declared", "0.2.0", "2025-01-01", "https://api.example.com");
        let issues = Endpoint::get("issues", "/repos/apiary-mock/generated/issues").primary_key(&["id"]);
        let issues =
            if cfg!(feature = "invalid") { issues.schema(r#"{"type": 12}"#) } else { issues.schema_of::<Issue>() };
        manifest.endpoints = vec![issues];
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let per_page = ctx.config("per_page").unwrap_or("5");
        Ok(vec![Request::get(endpoint, format!("/repos/apiary-mock/generated/issues?per_page={per_page}"))])
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        let stream = exchange.stream();
        let records = apiary_sdk::json_array_records(exchange, stream, &["id"])?;
        let next = apiary_sdk::link_next(exchange).map(|url| Request::get(stream, url)).into_iter().collect();
        Ok(Page { records, next, ..Page::default() })
    }
}

apiary_sdk::export_connector!(Declared);
