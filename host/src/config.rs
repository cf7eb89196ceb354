//! The pipeline file: which connector, which streams, its config and secrets, where output goes.
//!
//! ```toml
//! name = "github-issues"
//! connector = "github.wasm"            # relative to this file
//! base-url = "http://127.0.0.1:8080"   # optional override of the manifest's
//! streams = ["issues"]                 # default: every endpoint
//!
//! [config]
//! owner = "octokit-fixture-org"
//! repo = "paginate-issues"
//!
//! [secrets]
//! token = { env = "GITHUB_TOKEN" }
//!
//! [sink]
//! kind = "jsonl"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::fetch::Jitter;

/// A pipeline file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read pipeline file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not a valid pipeline (bad TOML, unknown key, missing field, bad value).
    #[error("invalid pipeline file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A pipeline, as read from its TOML file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Pipeline {
    /// The pipeline's name: its output folder and its key in the store.
    pub name: String,
    /// The connector component, resolved against the pipeline file's folder.
    pub connector: PathBuf,
    /// Overrides the manifest's base URL (a mock server, GitHub Enterprise, a proxy).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The streams to sync; every endpoint of the connector when absent.
    #[serde(default)]
    pub streams: Option<Vec<String>>,
    /// Plain values handed to the connector.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigValue>,
    /// Secrets the host injects into requests; the connector never sees their values.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSource>,
    /// Where records go.
    #[serde(default)]
    pub sink: SinkConfig,
    /// Overrides of the connector's retry policy.
    #[serde(default)]
    pub retry: RetryOverrides,
    /// HTTP timeouts and limits.
    #[serde(default)]
    pub http: HttpOverrides,
    /// Per-bucket rate limits replacing the connector's declarations (lower only, unless
    /// `allow-raise = true`).
    #[serde(default)]
    pub buckets: BTreeMap<String, BucketOverride>,
    /// Limits on each call into the connector.
    #[serde(default)]
    pub limits: LimitOverrides,
}

/// The `[limits]` table: each key replaces the host's default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitOverrides {
    /// Time one `start` or `parse` call may run, in ms (default 2,000).
    pub time_ms: Option<u64>,
    /// Memory one instance may use, in MiB (default 128).
    pub memory_mib: Option<usize>,
    /// Records one page may produce (default 100,000).
    pub max_records: Option<usize>,
    /// MiB of record JSON one page may produce (default 64).
    pub max_record_mib: Option<usize>,
    /// Follow-up requests one page may produce (default 1,000).
    pub max_next: Option<usize>,
}

impl LimitOverrides {
    /// `defaults` with these overrides in place.
    pub fn apply(&self, defaults: crate::runtime::CallLimits) -> crate::runtime::CallLimits {
        let mut l = defaults;
        if let Some(ms) = self.time_ms {
            l.time = std::time::Duration::from_millis(ms);
        }
        if let Some(mib) = self.memory_mib {
            l.memory_bytes = mib << 20;
        }
        l.max_records = self.max_records.unwrap_or(l.max_records);
        l.max_record_bytes = self.max_record_mib.map_or(l.max_record_bytes, |m| m << 20);
        l.max_next = self.max_next.unwrap_or(l.max_next);
        l
    }
}

/// The `[retry]` table: each key replaces the manifest's value.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetryOverrides {
    /// Attempts in all, the first included.
    pub max_attempts: Option<u32>,
    /// The first backoff step, in ms.
    pub base_ms: Option<u64>,
    /// The largest backoff step, in ms.
    pub max_ms: Option<u64>,
    /// How noise is added to each step.
    pub jitter: Option<Jitter>,
    /// Statuses retried on top of 408, 425, 429, 500, 502, 503, 504.
    pub retry_statuses: Option<Vec<u16>>,
    /// The longest `Retry-After` or reset wait honoured, in seconds (default 900).
    pub max_retry_after_s: Option<u64>,
}

/// The `[http]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpOverrides {
    /// Time to connect, in ms (default 10,000).
    pub connect_timeout_ms: Option<u64>,
    /// Time for a whole request, in ms (default 60,000).
    pub timeout_ms: Option<u64>,
    /// Largest response body accepted, in MiB (default 64).
    pub max_body_mib: Option<usize>,
}

/// One `[buckets.NAME]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BucketOverride {
    /// Requests per period.
    pub requests: u32,
    /// The period, in ms.
    pub per_ms: u64,
    /// Requests allowed at once; the connector's when absent.
    pub burst: Option<u32>,
    /// Allow a rate or burst above the connector's declaration (logged as a warning).
    #[serde(default)]
    pub allow_raise: bool,
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

/// The `[sink]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// The kind of sink.
    #[serde(default)]
    pub kind: SinkKind,
}

/// The kinds of sink.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// One JSON object per line, one file per stream: `out/<pipeline>/<stream>.jsonl`.
    #[default]
    Jsonl,
}

impl Pipeline {
    /// Read and check the pipeline file at `path`; the connector path is resolved against the
    /// file's folder.
    pub fn load(path: &Path) -> Result<Pipeline, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let mut pipeline =
            Pipeline::parse(&text).map_err(|message| ConfigError::Invalid { path: path.to_path_buf(), message })?;
        let folder = path.parent().unwrap_or(Path::new("."));
        pipeline.connector = folder.join(&pipeline.connector);
        Ok(pipeline)
    }

    /// Parse and check pipeline TOML; the error is one line, with the line number.
    pub fn parse(text: &str) -> Result<Pipeline, String> {
        let pipeline: Pipeline = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
        pipeline.check()?;
        Ok(pipeline)
    }

    fn check(&self) -> Result<(), String> {
        let valid_name =
            !self.name.is_empty() && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(format!(
                "`name` must be letters, digits, `-` or `_` (it names the output folder), not {:?}",
                self.name
            ));
        }
        if let Some(url) = &self.base_url {
            url::Url::parse(url).map_err(|e| format!("`base-url` {url:?} is not a URL: {e}"))?;
        }
        if self.streams.as_ref().is_some_and(|s| s.is_empty()) {
            return Err("`streams` is empty: list at least one, or leave it out for all".into());
        }
        Ok(())
    }

    /// Point the pipeline at another base URL (a mock server, a proxy).
    pub fn set_base_url(&mut self, url: &str) -> Result<(), String> {
        url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        self.base_url = Some(url.to_string());
        Ok(())
    }

    /// The `[config]` values as the connector receives them.
    pub fn config_pairs(&self) -> Vec<(String, String)> {
        self.config.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
    }
}

/// A TOML error on one line: "line N: message".
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "github-issues"
connector = "github.wasm"
base-url = "http://127.0.0.1:8080"
streams = ["issues"]

[config]
owner = "octokit-fixture-org"
per_page = 3

[secrets]
token = { env = "GITHUB_TOKEN" }

[retry]
max-attempts = 3
jitter = "full"

[http]
timeout-ms = 5000

[buckets.core]
requests = 10
per-ms = 1000
"#;

    #[test]
    fn reads_a_full_pipeline() {
        let p = Pipeline::parse(GOOD).unwrap();
        assert_eq!(p.name, "github-issues");
        assert_eq!(p.streams.as_deref(), Some(&["issues".to_string()][..]));
        assert_eq!(
            p.config_pairs(),
            vec![("owner".into(), "octokit-fixture-org".into()), ("per_page".into(), "3".into())]
        );
        assert_eq!(p.secrets["token"], SecretSource::Env("GITHUB_TOKEN".into()));
        assert_eq!(p.sink.kind, SinkKind::Jsonl);
        assert_eq!(p.retry.max_attempts, Some(3));
        assert_eq!(p.retry.jitter, Some(Jitter::Full));
        assert_eq!(p.http.timeout_ms, Some(5000));
        assert_eq!(p.buckets["core"], BucketOverride { requests: 10, per_ms: 1000, burst: None, allow_raise: false });
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = Pipeline::parse("name = \"x\"\nconnector = \"c.wasm\"\nstreem = [\"a\"]\n").unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(err.contains("unknown field `streem`"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn a_missing_field_and_a_bad_name_are_errors() {
        let err = Pipeline::parse("name = \"x\"\n").unwrap_err();
        assert!(err.contains("missing field `connector`"), "{err}");
        let err = Pipeline::parse("name = \"../x\"\nconnector = \"c.wasm\"\n").unwrap_err();
        assert!(err.contains("`name` must be"), "{err}");
        let err = Pipeline::parse("name = \"x\"\nconnector = \"c.wasm\"\nbase-url = \"nope\"\n").unwrap_err();
        assert!(err.contains("not a URL"), "{err}");
    }
}
