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
//! **The large collection**, the benchmark's input: records of about 1.5 KB at
//! `GET /repos/{owner}/large/issues?per_page=M&page=N` (`Link` chain) and
//! `GET /api/events?limit=M&cursor=C` (cursor in the body), pages set by [`LargePages`].
//! `--drift-after N` serves the generated pages after the first N drifted, as an API that changes
//! its payload without a new version: `comments` turns from an integer into a string, `locked`
//! is gone and `importance` is new.
//!
//! `GET /__mock/stats` returns request counts as JSON. [`Faults`] (429 with `Retry-After`, 5xx,
//! connection resets, slow responses, truncated bodies) and enforced per-endpoint rate limits
//! ([`EndpointLimit`], violations counted) are switched on in [`MockConfig`] or by flags, and so
//! are redirects ([`RedirectRule`]) and named rate limits reported on responses
//! ([`RateResource`]). Recorded traffic wins over a generated route of the same path.
//!
//! [`services`] starts the real servers later tests need (PostgreSQL, Redis, S3, Chromium).

mod apis;
mod faults;
mod generated;
pub mod harness;
mod large;
mod limits;
mod parts;
mod quota;
mod recorded;
mod redirects;
pub mod serve;
mod server;
pub mod services;
pub mod spawn;

pub use faults::Faults;
pub use large::{LargePages, link_page};
pub use limits::{EndpointLimit, LimitStats, THROTTLE_GRACE, ThrottleOnce};
pub use quota::RateResource;
pub use redirects::RedirectRule;
pub use server::{MockConfig, Stats, serve};
