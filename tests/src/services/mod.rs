//! Real servers for tests, started and stopped by the test process itself on loopback ports,
//! never as system services: PostgreSQL 15, Redis, an S3-compatible server (moto), the Singer
//! targets from PyPI, and headless Chromium.
//!
//! - [`postgres()`] is one cluster per test binary, started on first use; each test makes its
//!   own database: `let url = postgres().create_database("sink_upserts");`
//! - [`redis()`] and [`s3()`] are shared servers; a test that stops its server mid-run starts its
//!   own: `let mut redis = Redis::start(); ... redis.stop(); ... redis.restart();`
//!   `S3::restart` brings the buckets and objects back (moto replays its request recording).
//! - [`venv()`]`.bin("target-jsonl")` is a pinned Python tool (`moto_server`, `target-jsonl`,
//!   `target-postgres`), each in its own virtualenv under `target/test-venv`.
//! - [`Browser::launch`] starts headless Chromium; `open(url)` gives a [`Page`] to read text
//!   from, click, wait on and screenshot.
//!
//! Every server is a direct child of the test process, spawned by one keeper thread with
//! `PR_SET_PDEATHSIG`, so it dies with the test binary even on a panic or a SIGKILL. Its data and
//! log live in `$TMPDIR/apiary-services-<uid>/<pid>/`; folders of dead test processes are swept on the
//! next start. A start that fails panics with the server's name and the end of its log; a missing
//! program panics naming its Debian package and `cargo xtask setup`, which installs them all.

mod browser;
mod postgres;
mod process;
mod redis;
mod s3;
mod scratch;
mod server;
mod user;
mod venv;

pub use browser::{Browser, BrowserError, Page, chromium};
pub use postgres::{Postgres, postgres};
pub use redis::{Redis, redis};
pub use s3::{S3, s3};
pub use venv::{Venv, venv};
