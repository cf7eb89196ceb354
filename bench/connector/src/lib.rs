//! The benchmark's connector, for the mock's large collection (`apiary-mock --large-pages N
//! --event-pages M`), written the way `docs/writing-a-connector.md` teaches:
//!
//! - `issues`: `GET /repos/{owner}/large/issues?per_page=N`, a JSON array per page, paginated by
//!   the `Link: rel="next"` header;
//! - `events`: `GET /api/events?limit=N`, `{"items": [...], "meta": {"next_cursor": ...}}`,
//!   paginated by the cursor in the body;
//! - `issues_in_flight_4`: `issues` on an endpoint that allows four requests in flight.
//!
//! Both are keyed by `id`, checkpoint the newest `updated_at`, and reject records without a
//! `title`. `[config]`: `owner` (default `apiary-mock`), `per_page` (default 100).

use apiary_sdk::{
    Bucket, Connector, Endpoint, Exchange, Manifest, Page, ParseError, Request, SyncContext, paginate, records,
};

/// The benchmark connector.
pub struct Bench;

/// The primary key of both streams.
const KEY: &[&str] = &["id"];

/// The fields every record must have.
const REQUIRED: &[&str] = &["title"];

/// `issues` again, on an endpoint declaring that the API takes four requests at once: the host
/// then sends the `Link` chain up to four pages ahead (figure 1c).
const ISSUES_IN_FLIGHT_4: &str = "issues_in_flight_4";

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
            Endpoint::get(ISSUES_IN_FLIGHT_4, "/repos/{owner}/large/issues")
                .bucket("core")
                .primary_key(KEY)
                .cursor_field("updated_at")
                .max_in_flight(4),
        ];
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let per_page = ctx.config("per_page").unwrap_or("100");
        match endpoint {
            "issues" | ISSUES_IN_FLIGHT_4 => {
                let owner = ctx.config("owner").unwrap_or("apiary-mock");
                Ok(vec![Request::get(endpoint, format!("/repos/{owner}/large/issues?per_page={per_page}"))])
            }
            "events" => Ok(vec![Request::get(endpoint, format!("/api/events?limit={per_page}"))]),
            other => {
                Err(format!("unknown endpoint `{other}`: this connector has issues, events and {ISSUES_IN_FLIGHT_4}"))
            }
        }
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        if exchange.response.status != 200 {
            let status = exchange.response.status;
            return Err(ParseError::Fatal(format!("the API answered {status} for {}", exchange.request.url)));
        }
        // One pass over the body: records, keys, the required-field check, the newest cursor
        // and (for events) the next cursor.
        let scan = records::scan(exchange).key(KEY).require(REQUIRED).cursor("updated_at");
        match exchange.stream() {
            "events" => {
                let page = scan.next_at("/meta/next_cursor").field("items")?;
                let next = paginate::next_from_token(exchange, &page.records, page.next.as_deref(), "cursor");
                Ok(page.into_page(next))
            }
            _ => {
                let page = scan.array()?;
                let next = paginate::next_from_link(exchange, &page.records);
                Ok(page.into_page(next))
            }
        }
    }
}

apiary_sdk::export_connector!(Bench);

#[cfg(test)]
mod tests;
