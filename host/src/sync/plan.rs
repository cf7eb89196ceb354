//! Turning a pipeline and a connector's manifest into the fetch settings in force: the retry
//! policy with the pipeline's overrides, the buckets as lowered (or raised), timeouts, target.

use std::time::Duration;

use super::SyncError;
use crate::config::Pipeline;
use crate::fetch::{AuthInjector, Buckets, FetchPlan, FetchSettings, Secrets, Target, effective_buckets};
use crate::runtime::{Manifest, RetryPolicy};

/// The fetch plan and settings for a pipeline, and warnings for the user.
pub fn fetch_plan(
    pipeline: &Pipeline,
    manifest: &Manifest,
    secrets: Secrets,
    mut settings: FetchSettings,
) -> Result<(FetchPlan, FetchSettings, Vec<String>), SyncError> {
    let mut warnings = Vec::new();
    let missing = secrets.missing_for(&manifest.auth);
    if !missing.is_empty() {
        warnings.push(format!(
            "the connector authenticates with secret(s) {}, which the pipeline's [secrets] does not define: requests are sent without credentials",
            missing.join(", ")
        ));
    }
    let base_url = pipeline.base_url.as_deref().unwrap_or(&manifest.base_url);
    let target = Target::new(base_url, &manifest.base_url, &manifest.allowed_hosts).map_err(SyncError::Plan)?;
    let (buckets, raised) = effective_buckets(&manifest.buckets, &pipeline.buckets).map_err(SyncError::Plan)?;
    warnings.extend(raised);
    apply_http_overrides(pipeline, &mut settings);
    let policy = retry_policy(&manifest.retry, pipeline);
    let buckets = Buckets::new(&buckets, &manifest.endpoints);
    let plan = FetchPlan::new(manifest, target, AuthInjector::new(manifest.auth.clone(), secrets), policy, buckets);
    Ok((plan, settings, warnings))
}

/// The manifest's retry policy with the pipeline's `[retry]` values in place.
fn retry_policy(declared: &RetryPolicy, pipeline: &Pipeline) -> RetryPolicy {
    let o = &pipeline.retry;
    RetryPolicy {
        max_attempts: o.max_attempts.unwrap_or(declared.max_attempts).max(1),
        base_ms: o.base_ms.unwrap_or(declared.base_ms),
        max_ms: o.max_ms.unwrap_or(declared.max_ms),
        retry_statuses: o.retry_statuses.clone().unwrap_or_else(|| declared.retry_statuses.clone()),
    }
}

fn apply_http_overrides(pipeline: &Pipeline, settings: &mut FetchSettings) {
    let (http, retry) = (&pipeline.http, &pipeline.retry);
    if let Some(ms) = http.connect_timeout_ms {
        settings.connect_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = http.timeout_ms {
        settings.timeout = Duration::from_millis(ms);
    }
    if let Some(mib) = http.max_body_mib {
        settings.max_body_bytes = mib << 20;
    }
    if let Some(jitter) = retry.jitter {
        settings.jitter = jitter;
    }
    if let Some(s) = retry.max_retry_after_s {
        settings.max_retry_after = Duration::from_secs(s);
    }
}
