//! The JSON API: pipelines, runs, dead letters, deprecations, rate limits, one raw exchange,
//! and two actions (run now, replay dead letters). Reads go to the store off the async threads.
//! No route takes a pipeline file: what runs is only what is in `--dir`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::schedule::JobKind;
use super::state::ServeState;
use super::views;
use crate::store::{ExchangeId, LetterOrigin, StoreError};

/// The shared state, as handlers see it.
pub type AppState = Arc<ServeState>;

/// A request the API cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such pipeline or item (404).
    #[error("{0}")]
    NotFound(String),
    /// The pipeline is busy (409).
    #[error("{0}")]
    Conflict(String),
    /// The store failed (500).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A worker thread died (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::NotFound(_) | ApiError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

/// Run blocking store reads off the async threads.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&ServeState) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}

/// Filters of the list routes.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only this pipeline.
    pipeline: Option<String>,
    /// Dead letters: resolved ones too.
    #[serde(default)]
    all: bool,
    /// At most this many, newest first.
    limit: Option<usize>,
}

/// `GET /api/pipelines`.
pub async fn pipelines(State(state): State<AppState>) -> Result<Json<views::PipelinesView>, ApiError> {
    read(&state, views::pipelines).await.map(Json)
}

/// `GET /api/runs?pipeline=&limit=` (newest first, 200 by default).
pub async fn runs(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(200);
    read(&state, move |s| views::runs(s, q.pipeline.as_deref(), limit)).await.map(Json)
}

/// `GET /api/dead-letters?pipeline=&all=true&limit=` (open live letters unless `all`, newest
/// first, 500 by default).
pub async fn dead_letters(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(500);
    let letters = read(&state, move |s| {
        s.store.dead_letters(|l| {
            (q.all || (l.resolved_by.is_none() && l.origin == LetterOrigin::Live))
                && q.pipeline.as_ref().is_none_or(|p| *p == l.pipeline)
        })
    })
    .await?;
    Ok(Json(letters.into_iter().rev().take(limit).collect::<Vec<_>>()))
}

/// `GET /api/deprecations`.
pub async fn deprecations(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    read(&state, |s| s.store.deprecations(|_| true)).await.map(Json)
}

/// `GET /api/rate-limits`: each pipeline's buckets as of its last commit.
pub async fn rate_limits(State(state): State<AppState>) -> impl IntoResponse {
    Json(views::rate_limits(&state))
}

/// `GET /api/exchanges/{id}`: one stored exchange, as `apiary raw show --json` prints it.
pub async fn exchange(State(state): State<AppState>, Path(id): Path<u64>) -> Result<impl IntoResponse, ApiError> {
    read(&state, move |s| s.store.raw(ExchangeId(id)).map(|raw| raw.export())).await.map(Json)
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(axum::http::header::CONTENT_TYPE, content_type)], state.metrics.render())
}

/// What an action answers.
#[derive(Debug, Serialize)]
pub struct Queued {
    /// The pipeline.
    pipeline: String,
    /// The job queued.
    queued: JobKind,
}

/// `POST /api/pipelines/{name}/run`.
pub async fn run_now(State(state): State<AppState>, Path(name): Path<String>) -> Result<impl IntoResponse, ApiError> {
    request(&state, name, JobKind::Sync)
}

/// `POST /api/pipelines/{name}/replay`: replay the pipeline's open dead letters.
pub async fn replay(State(state): State<AppState>, Path(name): Path<String>) -> Result<impl IntoResponse, ApiError> {
    request(&state, name, JobKind::Replay)
}

/// Ask the scheduler for a job; it starts when a slot is free (202).
fn request(state: &ServeState, name: String, kind: JobKind) -> Result<impl IntoResponse + use<>, ApiError> {
    let mut book = state.book.lock().expect("book lock");
    let slot = book
        .slots
        .get_mut(&name)
        .ok_or_else(|| ApiError::NotFound(format!("no pipeline `{name}` in the served folder (see /api/pipelines)")))?;
    if let Some(running) = slot.running {
        return Err(ApiError::Conflict(format!(
            "pipeline `{name}` is running a {running} job: ask again when it ends"
        )));
    }
    slot.requested = Some(kind);
    drop(book);
    state.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Queued { pipeline: name, queued: kind })))
}
