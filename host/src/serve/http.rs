//! The HTTP side of `serve`: the routes (dashboard, `/metrics`, `/api/...`), every request
//! checked by [`Access`] first, and a server that stops when asked.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::access::{Access, Denied};
use super::api::{self, AppState};
use super::dashboard;

/// How long open connections get to finish once the server is told to stop.
const DRAIN: Duration = Duration::from_secs(5);

/// Every route, behind the access check.
pub fn router(state: AppState, access: Arc<Access>) -> Router {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/app.js", get(dashboard::script))
        .route("/style.css", get(dashboard::style))
        .route("/metrics", get(api::metrics))
        .route("/api/pipelines", get(api::pipelines))
        .route("/api/pipelines/{name}/run", post(api::run_now))
        .route("/api/pipelines/{name}/replay", post(api::replay))
        .route("/api/runs", get(api::runs))
        .route("/api/dead-letters", get(api::dead_letters))
        .route("/api/deprecations", get(api::deprecations))
        .route("/api/rate-limits", get(api::rate_limits))
        .route("/api/exchanges/{id}", get(api::exchange))
        .layer(middleware::from_fn_with_state(access, guard))
        .with_state(state)
}

/// Refuse what [`Access`] refuses; mark every answer as not to be cached or framed.
async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    let public = dashboard::is_asset(request.uri().path());
    if let Err(denied) = access.check(request.method(), request.headers(), public) {
        let status = match denied {
            Denied::Token => StatusCode::UNAUTHORIZED,
            Denied::Host(_) | Denied::Origin(_) => StatusCode::FORBIDDEN,
        };
        return (status, axum::Json(serde_json::json!({ "error": denied.to_string() }))).into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, "no-store".parse().expect("static header"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, "nosniff".parse().expect("static header"));
    headers.insert(header::X_FRAME_OPTIONS, "DENY".parse().expect("static header"));
    response
}

/// Serve `router` on `listener` until `stop` is cancelled, then give open connections
/// [`DRAIN`] to finish.
pub async fn serve(listener: TcpListener, router: Router, stop: CancellationToken) -> std::io::Result<()> {
    let stopped = stop.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move { stopped.cancelled().await });
    let server = tokio::spawn(async move { server.await });
    stop.cancelled().await;
    match tokio::time::timeout(DRAIN, server).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => Ok(()),
    }
}
