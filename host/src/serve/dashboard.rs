//! The dashboard: one page, its script and its style, compiled into the binary (no CDN, works
//! offline). The page reads everything from the JSON API; the content security policy lets it
//! load nothing from anywhere else.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/app.js");
const STYLE: &str = include_str!("dashboard/style.css");

/// Only this server's own files and API; no inline script.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

/// Whether `path` is one of the dashboard's own files (which hold no data).
pub fn is_asset(path: &str) -> bool {
    matches!(path, "/" | "/app.js" | "/style.css")
}

/// `GET /`.
pub async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, POLICY)], PAGE)
}

/// `GET /app.js`.
pub async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT)
}

/// `GET /style.css`.
pub async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}
