//! The effective policy of a run, resolved once: the connector's declarations (retry policy,
//! buckets), the pipeline's overrides (`[retry]`, `[http]`, `[buckets.NAME]`, `[limits]`) and
//! the host's defaults, each defined here and nowhere else. The fetcher, the runtime and the
//! sync engine receive the result; none of them reads the pipeline's overrides itself.

mod buckets;
mod http;
mod limits;
mod retry;

pub use buckets::effective_buckets;
pub use http::HttpSettings;
pub use limits::ConnectorLimits;
pub use retry::{DEFAULT_RETRY_STATUSES, RetrySettings};

use crate::config::Pipeline;
use crate::model::{Bucket, Manifest};

/// Everything a run applies, as resolved from the manifest and the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPolicy {
    /// Retries and backoff.
    pub retry: RetrySettings,
    /// Timeouts, body size, redirects.
    pub http: HttpSettings,
    /// The rate-limit buckets in force.
    pub buckets: Vec<Bucket>,
}

/// A pipeline's overrides do not fit its connector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl RunPolicy {
    /// The policy of a run of `pipeline` with a connector declaring `manifest`, and warnings for
    /// the user (a bucket raised above the declaration).
    pub fn resolve(manifest: &Manifest, pipeline: &Pipeline) -> Result<(RunPolicy, Vec<String>), PolicyError> {
        let (buckets, warnings) = effective_buckets(&manifest.buckets, &pipeline.buckets).map_err(PolicyError)?;
        let policy = RunPolicy {
            retry: RetrySettings::resolve(&manifest.retry, &pipeline.retry),
            http: HttpSettings::with_overrides(&pipeline.http),
            buckets,
        };
        Ok((policy, warnings))
    }
}
