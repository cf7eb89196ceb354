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

use crate::generated;
use crate::recorded::Recordings;

/// What the mock serves.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// A folder of octokit fixture files to replay.
    pub fixtures: Option<PathBuf>,
    /// Pages in the generated collection.
    pub pages: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            fixtures: None,
            pages: 20,
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
}

struct AppState {
    config: MockConfig,
    recordings: Recordings,
    base_url: String,
    stats: Mutex<Stats>,
}

/// Serve on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: MockConfig) -> anyhow::Result<()> {
    let recordings = match &config.fixtures {
        Some(dir) => Recordings::load(dir)?,
        None => Recordings::default(),
    };
    let base_url = format!("http://{}", listener.local_addr()?);
    let state = Arc::new(AppState {
        config,
        recordings,
        base_url,
        stats: Mutex::new(Stats::default()),
    });
    let app = axum::Router::new().fallback(handle).with_state(state);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn handle(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let method = request.method().clone();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let path = request.uri().path().to_string();
    if path == "/__mock/stats" {
        let stats = state.stats.lock().expect("stats lock").clone();
        return json_response(
            StatusCode::OK,
            serde_json::to_vec(&stats).expect("stats encode"),
        );
    }
    {
        let mut stats = state.stats.lock().expect("stats lock");
        stats.total += 1;
        *stats
            .by_request
            .entry(format!("{method} {path_and_query}"))
            .or_default() += 1;
    }
    if method == Method::GET && is_generated(&path) {
        return generated_page(&state, &path, request.uri().query().unwrap_or(""));
    }
    match state.recordings.find(method.as_str(), &path_and_query) {
        Some(recorded) => {
            let mut response = Response::new(Body::from(recorded.body.clone()));
            *response.status_mut() =
                StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
            for (name, value) in &recorded.headers {
                let value = value.replace("https://api.github.com", &state.base_url);
                if let (Ok(name), Ok(value)) = (
                    name.parse::<axum::http::HeaderName>(),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            response
        }
        None => json_response(
            StatusCode::NOT_FOUND,
            br#"{"message":"Not Found"}"#.to_vec(),
        ),
    }
}

/// `/repos/{owner}/generated/issues`
fn is_generated(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(parts.as_slice(), ["repos", _, "generated", "issues"])
}

fn generated_page(state: &AppState, path: &str, query: &str) -> Response {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let per_page = param("per_page").unwrap_or(30).clamp(1, 1000);
    let page = param("page").unwrap_or(1);
    let pages = state.config.pages;
    let mut response = json_response(
        StatusCode::OK,
        generated::page_body(page, per_page, pages).into_bytes(),
    );
    if page < pages {
        let next = format!(
            "<{}{path}?per_page={per_page}&page={}>; rel=\"next\"",
            state.base_url,
            page + 1
        );
        let last = format!(
            "<{}{path}?per_page={per_page}&page={pages}>; rel=\"last\"",
            state.base_url
        );
        let link = HeaderValue::from_str(&format!("{next}, {last}")).expect("ASCII link");
        response.headers_mut().insert("link", link);
    }
    response
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
