//! The mock API server that apiary's tests and demo sync against, on loopback only.
//!
//! It serves two kinds of data:
//! - **recorded traffic**: every exchange of the octokit fixture files in a folder, matched by
//!   method + path (the exact query first, then the path alone), with absolute
//!   `https://api.github.com` URLs in headers rewritten to the mock itself;
//! - **a generated collection**: `GET /repos/{owner}/generated/issues?per_page=M&page=N`, GitHub
//!   issue-like records (about 1 KB each) in `pages` pages, paginated with `Link: rel="next"`,
//!   with deterministic content, so the github connector syncs it unchanged.
//!
//! `GET /search/issues?q=...&per_page=M&page=N` serves the same records in GitHub's search format.
//!
//! `GET /__mock/stats` returns request counts as JSON. [`Faults`] (429 with `Retry-After`, 5xx,
//! connection resets, slow responses, truncated bodies) and enforced per-endpoint rate limits
//! ([`EndpointLimit`], violations counted) are switched on in [`MockConfig`] or by flags.

mod apis;
mod faults;
mod generated;
pub mod harness;
mod limits;
mod recorded;
pub mod serve;
mod server;
pub mod spawn;

pub use faults::Faults;
pub use limits::{EndpointLimit, LimitStats};
pub use server::{MockConfig, Stats, serve};
