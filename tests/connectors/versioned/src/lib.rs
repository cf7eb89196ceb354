//! One connector in two releases, for the workflows of fixing a parser bug:
//!
//! - **v1** (default build) drops every record's `title` (a field its author forgot) and panics
//!   on page 3 (a date it cannot parse);
//! - **v2** (`--features v2`) passes records through whole and parses every page.
//!
//! Both read the mock API's generated issues, paginated by `Link: rel="next"`.

use apiary_sdk::{Connector, Endpoint, Exchange, Manifest, Page, ParseError, Request, SyncContext};

/// The versioned connector.
pub struct Versioned;

/// This build's release.
pub const VERSION: &str = if cfg!(feature = "v2") { "2.0.0" } else { "1.0.0" };

impl Connector for Versioned {
    fn manifest() -> Manifest {
        let mut manifest = apiary_sdk::manifest("versioned", VERSION, "2024-06-01", "https://api.example.com");
        manifest.endpoints = vec![Endpoint::get("issues", "/repos/apiary-mock/generated/issues").primary_key(&["id"])];
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let per_page = ctx.config("per_page").unwrap_or("5");
        Ok(vec![Request::get(endpoint, format!("/repos/apiary-mock/generated/issues?per_page={per_page}"))])
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        let stream = exchange.stream();
        let mut records = apiary_sdk::json_array_records(exchange, stream, &["id"])?;
        if !cfg!(feature = "v2") {
            if exchange.request.url.contains("page=3") {
                panic!("v1 bug: cannot parse the dates on page 3");
            }
            for record in &mut records {
                let mut value: serde_json::Value = serde_json::from_str(&record.json).expect("valid JSON from the SDK");
                value.as_object_mut().map(|o| o.remove("title"));
                record.json = value.to_string();
            }
        }
        let next = apiary_sdk::link_next(exchange).map(|url| Request::get(stream, url)).into_iter().collect();
        Ok(Page { records, next, ..Page::default() })
    }
}

apiary_sdk::export_connector!(Versioned);
