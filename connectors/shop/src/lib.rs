//! The apiary connector for an offset/limit shop API.
//!
//! - `products`: `GET /api/products?offset=O&limit=L`, `{"products": [...], "total": T}`, keyed
//!   by `sku`; 20 requests per second.
//! - `orders`: the same for `/api/orders`, keyed by `order_id`, with a stricter limit of its own:
//!   it draws from the shared `api` bucket and from `orders` (5 per second).

use apiary_sdk::{Bucket, Connector, Endpoint, Exchange, Manifest, Page, ParseError, Request, SyncContext, paginate};

/// The shop connector.
pub struct Shop;

/// Records asked for per page unless the pipeline sets `limit`.
const DEFAULT_LIMIT: &str = "50";

impl Connector for Shop {
    fn manifest() -> Manifest {
        let mut manifest = apiary_sdk::manifest("shop", env!("CARGO_PKG_VERSION"), "v2", "https://shop.example.com");
        manifest.buckets = vec![Bucket::new("api", 20, 1_000, 2), Bucket::new("orders", 5, 1_000, 1)];
        manifest.endpoints = vec![
            Endpoint::get("products", "/api/products").bucket("api").primary_key(&["sku"]),
            Endpoint::get("orders", "/api/orders").bucket("api").bucket("orders").primary_key(&["order_id"]),
        ];
        manifest
    }

    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String> {
        let limit = ctx.config("limit").unwrap_or(DEFAULT_LIMIT);
        match endpoint {
            "products" | "orders" => {
                Ok(vec![Request::get(endpoint, format!("/api/{endpoint}?offset=0&limit={limit}"))])
            }
            other => Err(format!("unknown endpoint `{other}`: this connector has products and orders")),
        }
    }

    fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
        let stream = exchange.stream();
        let key = if stream == "orders" { "order_id" } else { "sku" };
        let scanned = apiary_sdk::records::scan(exchange).key(&[key]).field(stream)?;
        let limit = paginate::query_param(&exchange.request.url, "limit").and_then(|l| l.parse().ok()).unwrap_or(50);
        let next = paginate::next_offset(exchange, &scanned.records, "offset", limit);
        Ok(scanned.into_page(next))
    }
}

apiary_sdk::export_connector!(Shop);

#[cfg(test)]
mod tests {
    use apiary_sdk::testing::{assert_manifest_sound, load_recorded, replay};

    use super::Shop;

    #[test]
    fn the_manifest_is_sound_and_orders_have_their_own_limit() {
        assert_manifest_sound::<Shop>();
        let manifest = <Shop as apiary_sdk::Connector>::manifest();
        assert_eq!(manifest.endpoints[1].buckets, ["api", "orders"]);
    }

    #[test]
    fn pages_by_offset_until_a_short_page() {
        let recorded = load_recorded(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/orders.json")).unwrap();
        let pages = replay::<Shop>(&recorded, "orders");
        let first = pages[0].as_ref().unwrap();
        assert_eq!(first.records.len(), 2);
        assert_eq!(first.records[0].key.as_deref(), Some("1"));
        assert!(first.next[0].url.ends_with("/api/orders?limit=2&offset=2"), "{}", first.next[0].url);
        let last = pages[1].as_ref().unwrap();
        assert_eq!(last.records.len(), 1);
        assert!(last.next.is_empty(), "a short page is the last");
    }
}
