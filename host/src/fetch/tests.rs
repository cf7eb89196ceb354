//! The fetcher end to end on a paused clock: idempotency keys, refused hosts, backoff.

use super::*;
use crate::runtime::{Auth, Endpoint};

fn fetcher(endpoints: Vec<Endpoint>) -> Fetcher {
    let target = Target::new("http://127.0.0.1:9", "http://127.0.0.1:9", &[]).unwrap();
    let policy = RetryPolicy { max_attempts: 3, base_ms: 10, max_ms: 100, retry_statuses: vec![] };
    let plan = FetchPlan {
        target,
        auth: AuthInjector::new(Auth::None, Secrets::default()),
        policy,
        buckets: Buckets::new(&[], &endpoints),
        endpoints,
        rate_limit_headers: None,
    };
    Fetcher::new(plan, FetchSettings { seed: Some(1), ..FetchSettings::default() })
}

fn endpoint(name: &str, method: Method, key: Option<&str>) -> Endpoint {
    Endpoint {
        name: name.into(),
        method,
        path: "/".into(),
        buckets: vec![],
        max_in_flight: 1,
        primary_key: vec![],
        cursor_field: None,
        idempotency_key: key.map(str::to_string),
    }
}

fn request(endpoint: &str, method: Method) -> Request {
    Request { endpoint: endpoint.into(), method, url: "/x".into(), headers: vec![], body: Some(b"{}".to_vec()) }
}

#[test]
fn a_post_is_retried_only_with_an_idempotency_key_header() {
    let f = fetcher(vec![
        endpoint("charges", Method::Post, Some("Idempotency-Key")),
        endpoint("notes", Method::Post, None),
    ]);
    let (sent, retry) = f.with_idempotency_key(&request("charges", Method::Post));
    assert!(retry);
    let key = header(&sent.headers, "idempotency-key").expect("a key is added");
    assert_eq!(key.len(), 32);
    let (again, _) = f.with_idempotency_key(&sent);
    assert_eq!(header(&again.headers, "idempotency-key"), Some(key), "an existing key is kept");
    let (_, retry) = f.with_idempotency_key(&request("notes", Method::Post));
    assert!(!retry, "a POST without an idempotency key is never retried");
    let (get, retry) = f.with_idempotency_key(&request("charges", Method::Get));
    assert!(retry && get.headers.is_empty(), "GET is idempotent and needs no key");
}

#[tokio::test(start_paused = true)]
async fn a_refused_host_is_a_policy_error_before_any_network() {
    let f = fetcher(vec![endpoint("issues", Method::Get, None)]);
    let mut r = request("issues", Method::Get);
    r.url = "https://evil.example.com/steal".into();
    assert!(matches!(f.fetch(&r).await, Err(FetchError::Policy(m)) if m.contains("undeclared host")));
}

#[tokio::test(start_paused = true)]
async fn connection_failures_are_retried_with_backoff_then_reported() {
    let f = fetcher(vec![endpoint("issues", Method::Get, None)]);
    let started = Instant::now();
    // Port 9 on loopback refuses connections: every attempt fails fast.
    let error = f.fetch(&request("issues", Method::Get)).await.unwrap_err();
    assert!(
        matches!(&error, FetchError::Failed { attempts: 3, error } if error.contains("connection failed")),
        "{error:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(30) && waited <= Duration::from_millis(45),
        "10 + 20 ms plus jitter: {waited:?}"
    );
}
