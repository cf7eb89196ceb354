//! The apiary connector for a Stripe-style API.
//!
//! - `charges`: `GET /v1/charges?limit=N`, paginated with `has_more` and
//!   `starting_after=<last id>`. Amounts stay in minor units (cents), passed through unchanged.
//! - `report_runs`: `POST /v1/reporting/report_runs`, which the API deduplicates by its
//!   `Idempotency-Key` header, so the host may retry it: it sends one key for every attempt.
//!
//! Both draw from one `default` bucket (25 requests per second, Stripe's test-mode limit).

use apiary_sdk::{
    Auth, Bucket, Connector, Endpoint, Exchange, Manifest, Method, Page, ParseError, Request, SyncContext, paginate,
};

/// The Stripe-style connector.
pub struct Stripe;

impl Connector for Stripe {
    fn manifest() -> Manifest {
        let mut manifest =
            apiary_sdk::manifest("stripe", env!("CARGO_PKG_VERSION"), "2024-06-20", "https://api.stripe.com");
        manifest.auth = Auth::Bearer("secret_key".into());
        manifest.buckets.push(Bucket::new("default", 25, 1_000, 5));
        manifest.endpoints = vec![
            Endpoint::get("charges", "/v1/charges").bucket("default").primary_key(&["id"]).cursor_field("created"),
            Endpoint::new("report_runs", Method::Post, "/v1/reporting/report_runs")
                .bucket("default")
                .primary_key(&["id"])
                .idempotency_key("Idempotency-Key"),
        ];
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let limit = ctx.config("limit").unwrap_or("100");
        match endpoint {
            "charges" => Ok(vec![Request::get(endpoint, format!("/v1/charges?limit={limit}"))]),
            "report_runs" => Ok(vec![Request {
                endpoint: endpoint.into(),
                method: Method::Post,
                url: "/v1/reporting/report_runs".into(),
                headers: vec![],
                body: Some(b"report_type=balance.summary.1".to_vec()),
            }]),
            other => Err(format!("unknown endpoint `{other}`: this connector has charges and report_runs")),
        }
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        let scanned = apiary_sdk::records::scan(exchange).key(&["id"]).field("data")?;
        let next = paginate::next_after_last_id(exchange, &scanned.records, "has_more", "id", "starting_after");
        Ok(scanned.into_page(next))
    }
}

apiary_sdk::export_connector!(Stripe);

#[cfg(test)]
mod tests {
    use apiary_sdk::testing::{assert_manifest_sound, load_recorded, replay};

    use super::Stripe;

    #[test]
    fn the_manifest_is_sound() {
        assert_manifest_sound::<Stripe>();
    }

    #[test]
    fn follows_has_more_with_starting_after_and_keeps_minor_units() {
        let recorded = load_recorded(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/charges.json")).unwrap();
        let pages = replay::<Stripe>(&recorded, "charges");
        let first = pages[0].as_ref().unwrap();
        assert_eq!(first.records.len(), 2);
        assert!(first.records[0].json.contains(r#""amount":1999"#), "minor units, unchanged");
        assert!(first.next[0].url.ends_with("/v1/charges?limit=2&starting_after=ch_2"), "{}", first.next[0].url);
        let last = pages[1].as_ref().unwrap();
        assert_eq!(last.records.len(), 1);
        assert!(last.next.is_empty(), "has_more false ends the stream");
    }
}
