//! The benchmark's connector, for the mock's large collection (`apiary-mock --large-pages N
//! --event-pages M`), written the way `docs/writing-a-connector.md` teaches:
//!
//! - `issues`: `GET /repos/{owner}/large/issues?per_page=N`, a JSON array per page, paginated by
//!   the `Link: rel="next"` header;
//! - `events`: `GET /api/events?limit=N`, `{"items": [...], "meta": {"next_cursor": ...}}`,
//!   paginated by the cursor in the body.
//!
//! Both are keyed by `id`, checkpoint the newest `updated_at`, and reject records without a
//! `title`. `[config]`: `owner` (default `apiary-mock`), `per_page` (default 100).

use apiary_sdk::{
    Bucket, Connector, Endpoint, Exchange, Manifest, Page, ParseError, Record, Reject, Request, SyncContext,
    checkpoint, paginate,
};

/// The benchmark connector.
pub struct Bench;

/// The primary key of both streams.
const KEY: &[&str] = &["id"];

/// The field every record must have.
const REQUIRED: &str = "title";

impl Connector for Bench {
    fn manifest() -> Manifest {
        let mut manifest = apiary_sdk::manifest("bench", env!("CARGO_PKG_VERSION"), "v1", "https://api.example.com");
        manifest.buckets.push(Bucket::new("core", 5_000, 3_600_000, 100));
        manifest.endpoints = vec![
            Endpoint::get("issues", "/repos/{owner}/large/issues")
                .bucket("core")
                .primary_key(KEY)
                .cursor_field("updated_at"),
            Endpoint::get("events", "/api/events").bucket("core").primary_key(KEY).cursor_field("updated_at"),
        ];
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let per_page = ctx.config("per_page").unwrap_or("100");
        match endpoint {
            "issues" => {
                let owner = ctx.config("owner").unwrap_or("apiary-mock");
                Ok(vec![Request::get(endpoint, format!("/repos/{owner}/large/issues?per_page={per_page}"))])
            }
            "events" => Ok(vec![Request::get(endpoint, format!("/api/events?limit={per_page}"))]),
            other => Err(format!("unknown endpoint `{other}`: this connector has issues and events")),
        }
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        let stream = exchange.stream();
        if exchange.response.status != 200 {
            return Err(ParseError::Fatal(format!(
                "the API answered {} for {}",
                exchange.response.status, exchange.request.url
            )));
        }
        let records = match stream {
            "events" => apiary_sdk::json_field_records(exchange, "items", stream, KEY)?,
            _ => apiary_sdk::json_array_records(exchange, stream, KEY)?,
        };
        let (records, mut rejects) = apiary_sdk::reject_missing_keys(records, KEY);
        let (records, untitled): (Vec<Record>, Vec<Record>) = records.into_iter().partition(has_title);
        rejects.extend(untitled.into_iter().map(|r| Reject::new(format!("record has no `{REQUIRED}`"), r.json)));
        let next = match stream {
            "events" => paginate::next_from_body_field(exchange, &records, "/meta/next_cursor", "cursor"),
            _ => paginate::next_from_link(exchange, &records),
        };
        let checkpoint = checkpoint::max_cursor(&records, "updated_at", None);
        Ok(Page { records, rejects, next: next.into_iter().collect(), checkpoint })
    }
}

/// The required-field check the docs show: the field's value, found with `key_of`.
fn has_title(record: &Record) -> bool {
    serde_json::from_str::<&serde_json::value::RawValue>(&record.json)
        .is_ok_and(|raw| apiary_sdk::key_of(raw, &[REQUIRED]).is_some())
}

apiary_sdk::export_connector!(Bench);

#[cfg(test)]
mod tests;
