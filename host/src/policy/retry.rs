//! The retry settings of a run: the connector's retry policy with the pipeline's `[retry]`
//! overrides and the host's defaults. How they are applied (backoff, `Retry-After`) is
//! `fetch::retry`'s job; this is only the numbers.

use std::time::Duration;

use crate::config::RetryOverrides;
use crate::model::{Jitter, RetryPolicy};

/// Statuses retried for every connector: timeouts, too early, too many requests, server errors.
/// Defined once, in the SDK, where connector authors see it.
pub use apiary_sdk::DEFAULT_RETRY_STATUSES;

/// The longest `Retry-After` honoured when the pipeline does not say: 15 minutes.
const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// How a run retries: one budget of attempts per request, shared by transport errors,
/// retryable statuses and parse results that ask for a new fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySettings {
    /// Attempts in all per request, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff step.
    pub base: Duration,
    /// The largest backoff step, before jitter.
    pub max: Duration,
    /// How steps are randomised.
    pub jitter: Jitter,
    /// Statuses retried on top of [`DEFAULT_RETRY_STATUSES`].
    pub extra_statuses: Vec<u16>,
    /// The longest wait a server (`Retry-After`, a reset) or connector (`retry-later`) may ask
    /// for; a longer demand gives the request up instead of stalling the run.
    pub max_retry_after: Duration,
    /// Seed for the jitter (tests); random when `None`.
    pub seed: Option<u64>,
}

impl Default for RetrySettings {
    /// What a connector gets that keeps the SDK's default declaration and has no overrides.
    fn default() -> Self {
        let sdk = apiary_sdk::RetryPolicy::default();
        let declared = RetryPolicy {
            max_attempts: sdk.max_attempts,
            base_ms: sdk.base_ms,
            max_ms: sdk.max_ms,
            retry_statuses: sdk.retry_statuses,
        };
        RetrySettings::resolve(&declared, &RetryOverrides::default())
    }
}

impl RetrySettings {
    /// The connector's `declared` policy with the pipeline's overrides `o` in place.
    pub fn resolve(declared: &RetryPolicy, o: &RetryOverrides) -> RetrySettings {
        let base_ms = o.base_ms.map_or(declared.base_ms, |b| b.get()).max(1);
        let max_ms = o.max_ms.map_or(declared.max_ms, |m| m.get()).max(base_ms);
        RetrySettings {
            max_attempts: o.max_attempts.map_or(declared.max_attempts, |n| n.get_u32()).max(1),
            base: Duration::from_millis(base_ms),
            max: Duration::from_millis(max_ms),
            jitter: o.jitter.unwrap_or_default(),
            extra_statuses: match &o.retry_statuses {
                Some(statuses) => statuses.iter().map(|s| s.get() as u16).collect(),
                None => declared.retry_statuses.clone(),
            },
            max_retry_after: o.max_retry_after_s.map_or(DEFAULT_MAX_RETRY_AFTER, |s| Duration::from_secs(s.get())),
            seed: None,
        }
    }

    /// Whether a response with `status` is worth another attempt.
    pub fn retries_status(&self, status: u16) -> bool {
        DEFAULT_RETRY_STATUSES.contains(&status) || self.extra_statuses.contains(&status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Bounded;

    #[test]
    fn retries_server_errors_and_throttling_but_not_client_errors() {
        let settings = RetrySettings::default();
        for s in [408, 425, 429, 500, 502, 503, 504] {
            assert!(settings.retries_status(s), "{s}");
        }
        for s in [200, 201, 301, 400, 401, 403, 404, 422, 501] {
            assert!(!settings.retries_status(s), "{s}");
        }
        let extra = RetrySettings { extra_statuses: vec![520], ..RetrySettings::default() };
        assert!(extra.retries_status(520));
    }

    #[test]
    fn overrides_replace_the_declaration_and_keep_max_above_base() {
        let declared = RetryPolicy { max_attempts: 5, base_ms: 2_000, max_ms: 60_000, retry_statuses: vec![520] };
        let o = RetryOverrides {
            max_attempts: Some(Bounded::new(8)),
            base_ms: Some(Bounded::new(90_000)),
            jitter: Some(Jitter::Full),
            ..RetryOverrides::default()
        };
        let s = RetrySettings::resolve(&declared, &o);
        assert_eq!((s.max_attempts, s.base, s.max), (8, Duration::from_secs(90), Duration::from_secs(90)));
        assert_eq!((s.jitter, s.extra_statuses.as_slice()), (Jitter::Full, &[520][..]));
    }
}
