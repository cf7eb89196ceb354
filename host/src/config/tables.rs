//! The optional tables of a pipeline file: `[retry]`, `[http]`, `[buckets.NAME]`, `[limits]`,
//! `[secrets]` and `[config]` values. Each key overrides the connector's declaration
//! or the host's default; numbers are checked against their allowed range when read.

use std::path::PathBuf;

use serde::Deserialize;

use super::Bounded;
use crate::model::Jitter;

/// Milliseconds in an hour, a day and a year: the upper ends of time ranges.
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;
const YEAR_MS: u64 = 365 * DAY_MS;

/// The `[retry]` table: each key replaces the manifest's value.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetryOverrides {
    /// Attempts in all, the first included.
    pub max_attempts: Option<Bounded<1, 100>>,
    /// The first backoff step, in ms.
    pub base_ms: Option<Bounded<1, HOUR_MS>>,
    /// The largest backoff step, in ms.
    pub max_ms: Option<Bounded<1, HOUR_MS>>,
    /// How noise is added to each step.
    pub jitter: Option<Jitter>,
    /// Statuses retried on top of 408, 425, 429, 500, 502, 503, 504.
    pub retry_statuses: Option<Vec<Bounded<100, 599>>>,
    /// The longest `Retry-After` or reset wait honoured, in seconds (default 900).
    pub max_retry_after_s: Option<Bounded<0, 86_400>>,
}

/// The `[http]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpOverrides {
    /// Time to connect, in ms (default 10,000).
    pub connect_timeout_ms: Option<Bounded<1, HOUR_MS>>,
    /// Time for a whole request, in ms (default 60,000).
    pub timeout_ms: Option<Bounded<1, DAY_MS>>,
    /// Largest response body accepted, in MiB (default 64).
    pub max_body_mib: Option<Bounded<1, 4096>>,
    /// Redirects followed per request (default 5; 0 stores a redirect as it came).
    pub max_redirects: Option<Bounded<0, 20>>,
    /// Send a `Link` chain's next page while the page naming it is parsed (default true).
    pub send_ahead: Option<bool>,
}

/// One `[buckets.NAME]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BucketOverride {
    /// Requests per period.
    pub requests: Bounded<1, 1_000_000_000>,
    /// The period, in ms.
    pub per_ms: Bounded<1, YEAR_MS>,
    /// Requests allowed at once; the connector's when absent.
    pub burst: Option<Bounded<1, 1_000_000>>,
    /// Allow a rate or burst above the connector's declaration (logged as a warning).
    #[serde(default)]
    pub allow_raise: bool,
}

/// The `[limits]` table: each key replaces the host's default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitOverrides {
    /// Time one `start` or `parse` call may run, in ms (default 2,000).
    pub time_ms: Option<Bounded<1, 600_000>>,
    /// Memory one instance may use, in MiB (default 128).
    pub memory_mib: Option<Bounded<1, 4096>>,
    /// Records one page may produce (default 100,000).
    pub max_records: Option<Bounded<1, 100_000_000>>,
    /// MiB of record JSON one page may produce (default 64).
    pub max_record_mib: Option<Bounded<1, 4096>>,
    /// Follow-up requests one page may produce (default 1,000).
    pub max_next: Option<Bounded<1, 10_000_000>>,
    /// Size of the connector's `.wasm` file, in MiB (default 64).
    pub max_component_mib: Option<Bounded<1, 1024>>,
}

/// A `[config]` value: strings, numbers and booleans are handed over as text.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ConfigValue {
    /// A string.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl std::fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigValue::Text(s) => f.write_str(s),
            ConfigValue::Integer(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretSource {
    /// An environment variable: `{ env = "GITHUB_TOKEN" }`.
    Env(String),
    /// A file readable only by its owner: `{ file = "/run/secrets/token" }`.
    File(PathBuf),
}
