//! The HTTP server: routing, counting, and (later) injecting faults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::apis;
use crate::faults::{Fault, Faults};
use crate::generated;
use crate::large::{self, LargePages};
use crate::limits::{EndpointLimit, Enforced, LimitStats, ThrottleOnce};
use crate::quota::{Quota, RateResource};
use crate::recorded::Recordings;
use crate::redirects::RedirectRule;

/// What the mock serves.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// A folder of octokit fixture files to replay.
    pub fixtures: Option<PathBuf>,
    /// Pages in the generated collections.
    pub pages: u64,
    /// Pages of the large collection's two chains.
    pub large: LargePages,
    /// Faults to inject.
    pub faults: Faults,
    /// Rate limits to enforce (a request over one is answered 429 and counted).
    pub limits: Vec<EndpointLimit>,
    /// One 429 sent on an enforced limit's path, as if another client had spent the quota.
    pub throttles: Vec<ThrottleOnce>,
    /// Responses to paths containing one of these carry `Deprecation`, `Sunset` and a
    /// `Link rel="deprecation"`.
    pub deprecated: Vec<String>,
    /// Every response is held this long first: a real API's round trip.
    pub latency: std::time::Duration,
    /// Generated pages after this many are served drifted (a field's type changed, one gone,
    /// one new): an API changing its payload without a new version.
    pub drift_after: Option<u64>,
    /// Requests answered `302` to somewhere else.
    pub redirects: Vec<RedirectRule>,
    /// Named rate limits reported on responses (`X-RateLimit-Resource`).
    pub rate_resources: Vec<RateResource>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            fixtures: None,
            pages: 20,
            large: LargePages { link: 20, cursor: 20 },
            faults: Faults::default(),
            limits: Vec::new(),
            throttles: Vec::new(),
            deprecated: Vec::new(),
            latency: std::time::Duration::ZERO,
            drift_after: None,
            redirects: Vec::new(),
            rate_resources: Vec::new(),
        }
    }
}

/// Requests the mock has answered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Every request.
    pub total: u64,
    /// Requests by `METHOD path?query`.
    pub by_request: BTreeMap<String, u64>,
    /// Faults injected.
    pub faults: u64,
    /// Requests that carried credentials (an `Authorization` header or an `api_key` parameter).
    pub authorized: u64,
    /// Distinct `Idempotency-Key` values received on POSTs.
    pub idempotency_keys: std::collections::BTreeSet<String>,
    /// Each enforced limit's counts, by its path part.
    pub limits: BTreeMap<String, LimitStats>,
    /// Every `Referer` header received.
    #[serde(default)]
    pub referers: Vec<String>,
}

/// The parts of a request that decide its response.
struct RequestInfo {
    method: Method,
    path: String,
    query: String,
    path_and_query: String,
    idempotency_key: Option<String>,
}

struct AppState {
    config: MockConfig,
    recordings: Recordings,
    base_url: String,
    stats: Mutex<Stats>,
    limits: Mutex<Vec<Enforced>>,
    quotas: Vec<Quota>,
    started: std::time::Instant,
}

/// Serve on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: MockConfig) -> anyhow::Result<()> {
    let recordings = match &config.fixtures {
        Some(dir) => Recordings::load(dir)?,
        None => Recordings::default(),
    };
    let base_url = format!("http://{}", listener.local_addr()?);
    let throttle_of = |limit: &EndpointLimit| config.throttles.iter().find(|t| t.path_part == limit.path_part).cloned();
    let limits = Mutex::new(config.limits.iter().map(|l| Enforced::new(l.clone(), throttle_of(l))).collect());
    let started = std::time::Instant::now();
    let stats = Mutex::new(Stats::default());
    let quotas = config.rate_resources.iter().cloned().map(Quota::new).collect();
    let state = Arc::new(AppState { config, recordings, base_url, stats, limits, quotas, started });
    let app = axum::Router::new().fallback(handle).with_state(state);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn handle(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let method = request.method().clone();
    let path_and_query = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    if path == "/__mock/stats" {
        return json_response(StatusCode::OK, serde_json::to_vec(&current_stats(&state)).expect("stats encode"));
    }
    let key = format!("{method} {path_and_query}");
    let hit = count_request(&state, &key);
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    if request.headers().contains_key("authorization") || query.split('&').any(|kv| kv.starts_with("api_key=")) {
        state.stats.lock().expect("stats lock").authorized += 1;
    }
    if let Some(referer) = request.headers().get("referer") {
        let referer = String::from_utf8_lossy(referer.as_bytes()).into_owned();
        state.stats.lock().expect("stats lock").referers.push(referer);
    }
    if let Some(retry_after) = admit(&state, &path) {
        return throttled(retry_after);
    }
    let fault = state.config.faults.choose(&key, hit);
    if fault.is_some() {
        state.stats.lock().expect("stats lock").faults += 1;
    }
    match fault {
        Some(Fault::Throttle) => return throttled(state.config.faults.retry_after_s),
        Some(Fault::ServerError) => {
            let status =
                if key.len() % 2 == 0 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::SERVICE_UNAVAILABLE };
            return json_response(status, br#"{"message":"injected server error"}"#.to_vec());
        }
        Some(Fault::Slow) => tokio::time::sleep(std::time::Duration::from_millis(state.config.faults.slow_ms)).await,
        _ => {}
    }
    if let Some(key) = request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()) {
        state.stats.lock().expect("stats lock").idempotency_keys.insert(key.to_string());
    }
    let info = RequestInfo {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        path_and_query: path_and_query.clone(),
        idempotency_key: request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string),
    };
    let mut response = respond(&state, &info);
    if state.config.deprecated.iter().any(|part| path.contains(part.as_str())) {
        announce_deprecation(&mut response);
    }
    for quota in &state.quotas {
        quota.annotate(&path, response.headers_mut());
    }
    match fault {
        Some(Fault::Reset) => reset_midway(response),
        Some(Fault::Malformed) => truncate(response),
        _ => response,
    }
}

/// The stats with every limit's counts.
fn current_stats(state: &AppState) -> Stats {
    let mut stats = state.stats.lock().expect("stats lock").clone();
    for enforced in state.limits.lock().expect("limits lock").iter() {
        stats.limits.insert(enforced.limit.path_part.clone(), enforced.stats.clone());
    }
    stats
}

/// Count a request; returns how many times this exact request has now been seen.
fn count_request(state: &AppState, key: &str) -> u64 {
    let mut stats = state.stats.lock().expect("stats lock");
    stats.total += 1;
    let hits = stats.by_request.entry(key.to_string()).or_default();
    *hits += 1;
    *hits
}

/// The response without faults: a redirect, then recordings (so recorded traffic wins over a
/// generated route of the same path), then the generated APIs, then 404.
fn respond(state: &AppState, request: &RequestInfo) -> Response {
    let (method, path, query, pages) =
        (&request.method, request.path.as_str(), request.query.as_str(), state.config.pages);
    if let Some(rule) = state.config.redirects.iter().find(|r| r.applies_to(path)) {
        let mut response = json_response(StatusCode::FOUND, br#"{"message":"Moved"}"#.to_vec());
        if let Ok(location) = HeaderValue::from_str(&rule.location(query)) {
            response.headers_mut().insert("location", location);
        }
        return response;
    }
    if let Some(recorded) = state.recordings.find(method.as_str(), &request.path_and_query) {
        return replay(state, recorded);
    }
    if method == Method::GET {
        if let Some(chain) = large::Chain::of_path(path) {
            let drop_id = |n| state.config.faults.drops_id(n);
            return large::respond(chain, path, query, state.config.large, &state.base_url, &drop_id);
        }
        if let Some(kind) = generated::kind_of(path) {
            let collection = generated::Collection {
                pages,
                base_url: &state.base_url,
                faults: &state.config.faults,
                drift_after: state.config.drift_after,
            };
            return generated::page_response(kind, path, query, &collection);
        }
        match path {
            "/v1/charges" => return json_response(StatusCode::OK, apis::stripe_charges(query, pages).into_bytes()),
            "/api/products" => {
                return json_response(StatusCode::OK, apis::shop_page("products", query, pages).into_bytes());
            }
            "/api/orders" => {
                return json_response(StatusCode::OK, apis::shop_page("orders", query, pages).into_bytes());
            }
            _ => {}
        }
    }
    if method == Method::POST && path == "/v1/reporting/report_runs" {
        let Some(key) = &request.idempotency_key else {
            return json_response(
                StatusCode::BAD_REQUEST,
                br#"{"error":{"message":"Idempotency-Key required"}}"#.to_vec(),
            );
        };
        return json_response(StatusCode::OK, apis::stripe_report_run(key).into_bytes());
    }
    json_response(StatusCode::NOT_FOUND, br#"{"message":"Not Found"}"#.to_vec())
}

/// A recorded response, its absolute GitHub URLs pointing at the mock.
fn replay(state: &AppState, recorded: &crate::recorded::Recorded) -> Response {
    let mut response = Response::new(Body::from(recorded.body.clone()));
    *response.status_mut() = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
    for (name, value) in &recorded.headers {
        let value = value.replace("https://api.github.com", &state.base_url);
        if let (Ok(name), Ok(value)) = (name.parse::<axum::http::HeaderName>(), HeaderValue::from_str(&value)) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The `Retry-After` of the 429 the request gets from the enforced limits that apply to its
/// path (the longest), or `None` when it is within all of them.
fn admit(state: &AppState, path: &str) -> Option<u64> {
    let mut limits = state.limits.lock().expect("limits lock");
    let applying = limits.iter_mut().filter(|e| path.contains(&e.limit.path_part));
    applying.map(|enforced| enforced.admit(state.started)).fold(None, |a, b| a.max(b))
}

fn throttled(retry_after_s: u64) -> Response {
    let mut response =
        json_response(StatusCode::TOO_MANY_REQUESTS, br#"{"message":"API rate limit exceeded"}"#.to_vec());
    response.headers_mut().insert("retry-after", HeaderValue::from(retry_after_s));
    response
}

/// The headers of an API version on its way out: deprecated 2026-01-01, gone 2026-07-01.
fn announce_deprecation(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert("deprecation", HeaderValue::from_static("@1767225600"));
    headers.insert("sunset", HeaderValue::from_static("Wed, 01 Jul 2026 00:00:00 GMT"));
    headers.append("link", HeaderValue::from_static("<https://docs.example.com/deprecations/v1>; rel=\"deprecation\""));
}

/// Send the head and part of the body, then drop the connection.
fn reset_midway(response: Response) -> Response {
    let (parts, _) = response.into_parts();
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        vec![Ok(bytes::Bytes::from_static(b"[{\"id\":")), Err(std::io::Error::other("injected connection reset"))];
    Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
}

/// A 200 whose JSON body stops halfway.
fn truncate(response: Response) -> Response {
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Body::from(r#"[{"id":1,"title":"trunc"#))
}

/// A response with a JSON body.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    response
}
