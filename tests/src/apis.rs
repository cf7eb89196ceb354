//! Two more generated APIs, in the styles a connector author meets: a Stripe-like list API
//! (`has_more` + `starting_after`, amounts in minor units, idempotency keys on POST) and an
//! offset/limit shop API.

use std::fmt::Write;

/// Records in each generated collection of these APIs, per configured page.
pub const RECORDS_PER_PAGE: u64 = 10;

/// `GET /v1/charges?limit=L&starting_after=ch_N`: charges after `ch_N`, `has_more` while more.
pub fn stripe_charges(query: &str, pages: u64) -> String {
    let total = pages * RECORDS_PER_PAGE;
    let limit = param(query, "limit").and_then(|v| v.parse().ok()).unwrap_or(10u64).clamp(1, 100);
    let after: u64 = param(query, "starting_after").and_then(|v| v.strip_prefix("ch_")?.parse().ok()).unwrap_or(0);
    let last = (after + limit).min(total);
    let mut data = String::from("[");
    for n in after + 1..=last {
        if n > after + 1 {
            data.push(',');
        }
        let _ = write!(
            data,
            r#"{{"id":"ch_{n:06}","object":"charge","amount":{amount},"currency":"eur","captured":true,"created":{created},"description":"Order {n}"}}"#,
            amount = 100 + n * 7 % 100_000,
            created = 1_700_000_000 + n * 60,
        );
    }
    data.push(']');
    format!(r#"{{"object":"list","url":"/v1/charges","has_more":{},"data":{data}}}"#, last < total)
}

/// `POST /v1/reporting/report_runs`: one report run, the same for the same idempotency key.
pub fn stripe_report_run(idempotency_key: &str) -> String {
    format!(
        r#"{{"object":"list","has_more":false,"data":[{{"id":"frr_{}","object":"reporting.report_run","status":"succeeded"}}]}}"#,
        &idempotency_key[..idempotency_key.len().min(12)]
    )
}

/// `GET /api/{products,orders}?offset=O&limit=L`: a page of the collection.
pub fn shop_page(kind: &str, query: &str, pages: u64) -> String {
    let total = pages * RECORDS_PER_PAGE;
    let limit = param(query, "limit").and_then(|v| v.parse().ok()).unwrap_or(10u64).clamp(1, 100);
    let offset: u64 = param(query, "offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut items = Vec::new();
    for n in offset + 1..=(offset + limit).min(total) {
        items.push(match kind {
            "products" => {
                format!(r#"{{"sku":"SKU-{n:05}","name":"Product {n}","price":"{}.{:02}"}}"#, n % 90 + 10, n % 100)
            }
            _ => format!(r#"{{"order_id":{n},"sku":"SKU-{:05}","quantity":{}}}"#, n % 50 + 1, n % 4 + 1),
        });
    }
    format!(r#"{{"{kind}":[{}],"total":{total}}}"#, items.join(","))
}

/// The value of query parameter `name` in `query`.
pub(crate) fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_lists_page_with_starting_after_until_has_more_is_false() {
        let first: serde_json::Value = serde_json::from_str(&stripe_charges("limit=15", 2)).unwrap();
        assert_eq!(first["data"].as_array().unwrap().len(), 15);
        assert_eq!(first["has_more"], true);
        let rest: serde_json::Value =
            serde_json::from_str(&stripe_charges("limit=15&starting_after=ch_000015", 2)).unwrap();
        assert_eq!(rest["data"].as_array().unwrap().len(), 5);
        assert_eq!(rest["has_more"], false);
    }

    #[test]
    fn shop_pages_by_offset() {
        let page: serde_json::Value = serde_json::from_str(&shop_page("orders", "offset=15&limit=10", 2)).unwrap();
        assert_eq!(page["orders"].as_array().unwrap().len(), 5);
        assert_eq!(page["orders"][0]["order_id"], 16);
    }
}
