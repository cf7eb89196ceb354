//! The fetcher on a paused clock: idempotency keys, one attempt at a time, credentials only to
//! the base origin.

use super::*;
use crate::model::{Auth, Method};

fn fetcher(endpoints: Vec<Endpoint>) -> Fetcher {
    let target = Target::new("http://127.0.0.1:9", "http://127.0.0.1:9", &[]).unwrap();
    let mut policy = RunPolicy { retry: RetrySettings::default(), http: HttpSettings::default(), buckets: vec![] };
    policy.retry.seed = Some(1);
    let plan = FetchPlan {
        target,
        auth: AuthInjector::new(Auth::None, Secrets::default()),
        policy,
        endpoints,
        rate_limit_headers: None,
        shared: None,
    };
    Fetcher::new(plan).unwrap()
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
        schema: None,
    }
}

fn request(endpoint: &str, method: Method) -> Request {
    Request { endpoint: endpoint.into(), method, url: "/x".into(), headers: vec![], body: Some(b"{}".to_vec()) }
}

#[test]
fn a_post_is_repeatable_only_with_an_idempotency_key_header() {
    let f = fetcher(vec![
        endpoint("charges", Method::Post, Some("Idempotency-Key")),
        endpoint("notes", Method::Post, None),
    ]);
    let (sent, mut budget) = f.prepare(&request("charges", Method::Post));
    budget.start_attempt();
    assert!(matches!(budget.after(Failure::Transport), Verdict::Retry(_)));
    let key = header(&sent.headers, "idempotency-key").expect("a key is added");
    assert_eq!(key.len(), 32);
    let (again, _) = f.prepare(&sent);
    assert_eq!(header(&again.headers, "idempotency-key"), Some(key), "an existing key is kept");
    let (_, mut budget) = f.prepare(&request("notes", Method::Post));
    budget.start_attempt();
    assert!(matches!(budget.after(Failure::Transport), Verdict::GiveUp(_)), "a POST without a key is never retried");
    let (get, _) = f.prepare(&request("charges", Method::Get));
    assert!(get.headers.is_empty(), "GET is idempotent and needs no key");
}

#[tokio::test(start_paused = true)]
async fn a_connection_failure_is_one_redacted_attempt() {
    let f = fetcher(vec![endpoint("issues", Method::Get, None)]);
    let (req, _) = f.prepare(&request("issues", Method::Get));
    // Port 9 on loopback refuses connections: the attempt fails fast, without a response.
    let url = f.target().resolve(&req.url).unwrap();
    let attempt = f.send(&req, &url, 1).await;
    assert!(matches!(&attempt.result, Err(e) if e.contains("connection failed")), "{attempt:?}");
    assert_eq!(attempt.asked, None);
}
