//! The Stripe-style and offset/limit connectors against the mock API.

use std::collections::HashSet;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;

#[test]
fn stripe_lists_follow_has_more_and_a_retried_post_keeps_its_idempotency_key() {
    let mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "3", "--fault-5xx", "1.0"]).unwrap();
    let scratch = Scratch::new();
    let wasm = connector_wasm("stripe_connector");
    let extra = "[secrets]\nsecret_key = { env = \"STRIPE_KEY\" }\n\n[retry]\nbase-ms = 10\n";
    let spec = PipelineSpec {
        name: "stripe",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["charges", "report_runs"],
        config: &[("limit", "\"7\"")],
        extra,
    };
    let ran = scratch.apiary_with_env(
        &["run", scratch.write("stripe.toml", spec.toml()).to_str().unwrap()],
        &[("STRIPE_KEY", "sk_test_x")],
    );
    assert!(ran.success, "{ran:?}");
    let charges = read_jsonl(&scratch.output("stripe", "charges"));
    let ids: HashSet<&str> = charges.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!((charges.len(), ids.len()), (30, 30), "every charge once, across has_more pages");
    assert!(charges.iter().all(|c| c["amount"].is_u64()), "amounts in minor units");
    assert_eq!(read_jsonl(&scratch.output("stripe", "report_runs")).len(), 1);
    let stats = mock.stats().unwrap();
    assert_eq!(stats.by_request["POST /v1/reporting/report_runs"], 2, "the POST failed once and was retried");
    assert_eq!(stats.idempotency_keys.len(), 1, "with the same key both times: {:?}", stats.idempotency_keys);
}

#[test]
fn offset_pages_and_a_stricter_limit_for_orders() {
    let mock = MockProcess::start(
        &binary("apiary-mock"),
        &["--pages", "4", "--limit", "api/orders=5/1000/2", "--limit", "api/products=20/1000/3"],
    )
    .unwrap();
    let scratch = Scratch::new();
    let wasm = connector_wasm("shop_connector");
    let spec = PipelineSpec {
        name: "shop",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["products", "orders"],
        config: &[("limit", "\"10\"")],
        extra: "",
    };
    let ran = scratch.apiary(&["run", scratch.write("shop.toml", spec.toml()).to_str().unwrap()]);
    assert!(ran.success, "{ran:?}");
    assert_eq!(read_jsonl(&scratch.output("shop", "products")).len(), 40);
    assert_eq!(read_jsonl(&scratch.output("shop", "orders")).len(), 40);
    let stats = mock.stats().unwrap();
    let (orders, products) = (&stats.limits["api/orders"], &stats.limits["api/products"]);
    assert_eq!((orders.violations, products.violations), (0, 0), "{stats:?}");
    assert!(orders.rate() <= 5.5, "orders held to 5/s: {:.1}", orders.rate());
}
