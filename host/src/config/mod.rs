//! The pipeline file: which connector, which streams, its config and secrets, where output goes.
//! Reading it checks everything that can be checked without the connector: unknown keys, value
//! ranges, duplicate streams; errors name the file, the line and the key.
//!
//! ```toml
//! name = "github-issues"
//! connector = "github.wasm"            # relative to this file
//! base-url = "http://127.0.0.1:8080"   # optional override of the manifest's
//! streams = ["issues"]                 # default: every endpoint
//! schedule = "*/15 * * * *"            # `apiary serve` only: cron (UTC), or `every = "15m"`
//!
//! [config]
//! owner = "octokit-fixture-org"
//! repo = "paginate-issues"
//!
//! [secrets]
//! token = { env = "GITHUB_TOKEN" }
//!
//! [sink]
//! kind = "jsonl"                       # or "singer" (stdout), or "postgres":
//! # kind = "postgres"
//! # url = { env = "APIARY_PG_URL" }    # or the name of a [secrets] entry
//! # schema = "github"                  # must exist in the database
//!
//! [archive]                            # optional: every exchange also goes here
//! url = "s3://bucket/prefix"           # or "file:///shared/mount/prefix"; see `archive.rs`
//!
//! [coordination]                       # optional: workers on several machines share
//! redis = { env = "REDIS_URL" }        # rate budgets per credential and pipeline leases
//!
//! [schema]                             # what drift from a stream's schema does
//! contract = "freeze"                  # default "evolve"
//! [schema.streams.events]
//! contract = "evolve"                  # this stream only
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::schema::SchemaPolicy;

mod archive;
mod bounded;
mod coordination;
mod schedule;
mod sink;
mod tables;

pub use archive::{ArchiveConfig, ArchiveUrl, DEFAULT_FLUSH_S};
pub use bounded::Bounded;
pub use coordination::{CoordinationConfig, LeaseTtl};
pub use schedule::{CronSchedule, Every, MIN_EVERY, Trigger};
pub use sink::{PgSchemaName, SinkConfig, SinkKind, UrlSource};
pub use tables::{BucketOverride, ConfigValue, HttpOverrides, LimitOverrides, RetryOverrides, SecretSource};

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
    /// Schema contracts: the pipeline's, and per-stream overrides (checked against the
    /// connector's streams when it is loaded).
    #[serde(default)]
    pub schema: SchemaPolicy,
    /// When `apiary serve` runs the pipeline: a cron pattern, evaluated in UTC.
    #[serde(default)]
    pub schedule: Option<CronSchedule>,
    /// When `apiary serve` runs the pipeline: this long after its last start.
    #[serde(default)]
    pub every: Option<Every>,
    /// Where every stored exchange is also written (object storage or a shared folder).
    #[serde(default)]
    pub archive: Option<ArchiveConfig>,
    /// The Redis shared with other workers: rate budgets per credential, pipeline leases.
    #[serde(default)]
    pub coordination: Option<CoordinationConfig>,
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
        let pipeline: Pipeline = toml::from_str(text)
            .map_err(|e| range_of_too_large(text, &e).unwrap_or_else(|| describe_toml_error(text, &e)))?;
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
        if self.schedule.is_some() && self.every.is_some() {
            return Err("`schedule` and `every` are both set: keep one of them".into());
        }
        if let Some(url) = &self.base_url {
            url::Url::parse(url).map_err(|e| format!("`base-url` {url:?} is not a URL: {e}"))?;
        }
        if let Some(streams) = &self.streams {
            if streams.is_empty() {
                return Err("`streams` is empty: list at least one, or leave it out for all".into());
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(twice) = streams.iter().find(|s| !seen.insert(s.as_str())) {
                return Err(format!("`streams` names `{twice}` twice: list each stream once"));
            }
        }
        if let Some(archive) = &self.archive {
            archive.check(&self.secrets)?;
        }
        self.sink.check(&self.secrets)
    }

    /// Point the pipeline at another base URL (a mock server, a proxy).
    pub fn set_base_url(&mut self, url: &str) -> Result<(), String> {
        url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        self.base_url = Some(url.to_string());
        Ok(())
    }

    /// What starts the pipeline under `apiary serve`.
    pub fn trigger(&self) -> Trigger {
        match (&self.schedule, self.every) {
            (Some(cron), _) => Trigger::Cron(cron.clone()),
            (None, Some(every)) => Trigger::Every(every),
            (None, None) => Trigger::OnDemand,
        }
    }

    /// The `[config]` values as the connector receives them.
    pub fn config_pairs(&self) -> Vec<(String, String)> {
        self.config.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
    }
}

/// A TOML error on one line: "line N (`[table] key`): message".
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    let Some(span) = error.span() else { return message };
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count() + 1;
    match key_at(text, start) {
        Some(key) => format!("line {line} ({key}): {message}"),
        None => format!("line {line}: {message}"),
    }
}

/// TOML refuses an integer beyond `i64` before any range is checked. Read the file again with
/// the nearest TOML integer in its place, so the error names the key's allowed range like any
/// other out-of-range value (with the number as written).
fn range_of_too_large(text: &str, error: &toml::de::Error) -> Option<String> {
    // The error's span starts at the number; the number runs to the first other character.
    let start = error.span()?.start;
    let rest = text.get(start..)?;
    let end = start + rest.find(|c: char| !(c.is_ascii_digit() || "+-_".contains(c))).unwrap_or(rest.len());
    let literal = &text[start..end];
    let digits = literal.trim_start_matches(['+', '-']).replace('_', "");
    if digits.len() < 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nearest = if literal.starts_with('-') { i64::MIN } else { i64::MAX }.to_string();
    let clamped = format!("{}{nearest}{}", &text[..start], &text[end..]);
    let retried = toml::from_str::<Pipeline>(&clamped).err()?;
    let message = describe_toml_error(&clamped, &retried);
    message.contains("out of range").then(|| message.replace(&nearest, literal))
}

/// The key whose value is at byte `at`, with its table: "`[retry] max-attempts`".
fn key_at(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let (key, _) = text[line_start..].split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') || key.contains(char::is_whitespace) {
        return None;
    }
    let table = text[..line_start].lines().rev().map(str::trim).find(|l| l.starts_with('['));
    Some(match table {
        Some(table) => format!("`{table} {key}`"),
        None => format!("`{key}`"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Jitter;

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
        assert_eq!(p.retry.max_attempts, Some(Bounded::new(3)));
        assert_eq!(p.retry.jitter, Some(Jitter::Full));
        assert_eq!(p.http.timeout_ms, Some(Bounded::new(5000)));
        let core = &p.buckets["core"];
        assert_eq!((core.requests.get(), core.per_ms.get(), core.burst, core.allow_raise), (10, 1000, None, false));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = Pipeline::parse("name = \"x\"\nconnector = \"c.wasm\"\nstreem = [\"a\"]\n").unwrap_err();
        assert!(err.starts_with("line 3 (`streem`):"), "{err}");
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

    #[test]
    fn values_out_of_range_name_the_line_the_key_and_the_range() {
        let base = "name = \"x\"\nconnector = \"c.wasm\"\n";
        let cases = [
            ("[buckets.core]\nrequests = 1\nper-ms = 18446744073709551615\n", "line 5 (`[buckets.core] per-ms`)"),
            ("[buckets.core]\nrequests = 0\nper-ms = 1000\n", "line 4 (`[buckets.core] requests`)"),
            ("[retry]\nmax-attempts = 0\n", "line 4 (`[retry] max-attempts`)"),
            ("[retry]\nbase-ms = 99999999999\n", "line 4 (`[retry] base-ms`)"),
            ("[retry]\nmax-retry-after-s = 10000000\n", "line 4 (`[retry] max-retry-after-s`)"),
            ("[limits]\ntime-ms = 0\n", "line 4 (`[limits] time-ms`)"),
        ];
        for (table, expected) in cases {
            let err = Pipeline::parse(&format!("{base}{table}")).unwrap_err();
            assert!(err.starts_with(expected), "{err}");
            assert!(err.contains("out of range: allowed"), "{err}");
        }
        let beyond_toml = Pipeline::parse(&format!("{base}{}", cases[0].0)).unwrap_err();
        assert!(
            beyond_toml.ends_with("18446744073709551615 is out of range: allowed 1 to 31536000000"),
            "{beyond_toml}"
        );
        let not_a_number = Pipeline::parse(&format!("{base}[retry]\nmax-attempts = \"9999999999999999999\"\n"));
        assert!(not_a_number.unwrap_err().contains("invalid type"), "a string is not taken for a number");
    }

    #[test]
    fn the_schema_table_sets_contracts_and_a_bad_value_names_its_line() {
        let base = "name = \"x\"\nconnector = \"c.wasm\"\n";
        let p = Pipeline::parse(&format!(
            "{base}[schema]\ncontract = \"freeze\"\n[schema.streams.events]\ncontract = \"evolve\"\n"
        ))
        .unwrap();
        assert_eq!(p.schema.contract_for("issues"), crate::schema::Contract::Freeze);
        assert_eq!(p.schema.contract_for("events"), crate::schema::Contract::Evolve);
        assert_eq!(Pipeline::parse(base).unwrap().schema, SchemaPolicy::default(), "evolve when absent");
        let err = Pipeline::parse(&format!("{base}[schema]\ncontract = \"strict\"\n")).unwrap_err();
        assert!(err.starts_with("line 4 (`[schema] contract`)") && err.contains("freeze"), "{err}");
        let err = Pipeline::parse(&format!("{base}[schema.streams.events]\nfrozen = true\n")).unwrap_err();
        assert!(err.contains("unknown field `frozen`"), "{err}");
    }

    #[test]
    fn a_schedule_is_read_and_checked_with_its_line() {
        let base = "name = \"x\"\nconnector = \"c.wasm\"\n";
        let p = Pipeline::parse(&format!("{base}schedule = \"*/15 * * * *\"\n")).unwrap();
        assert_eq!(p.trigger().to_string(), "cron */15 * * * * (UTC)");
        let p = Pipeline::parse(&format!("{base}every = \"15m\"\n")).unwrap();
        assert_eq!(p.trigger(), Trigger::Every("15m".parse().unwrap()));
        assert_eq!(Pipeline::parse(base).unwrap().trigger(), Trigger::OnDemand);
        let err = Pipeline::parse(&format!("{base}schedule = \"every day\"\n")).unwrap_err();
        assert!(err.starts_with("line 3 (`schedule`):") && err.contains("not a cron pattern"), "{err}");
        let both = format!("{base}schedule = \"@hourly\"\nevery = \"1h\"\n");
        assert!(Pipeline::parse(&both).unwrap_err().contains("keep one of them"));
    }

    #[test]
    fn a_stream_named_twice_is_an_error_naming_it() {
        let err =
            Pipeline::parse("name = \"x\"\nconnector = \"c.wasm\"\nstreams = [\"events\", \"events\"]\n").unwrap_err();
        assert!(err.contains("`events` twice"), "{err}");
    }
}
