//! The Prometheus metrics of `apiary serve`, through `prometheus-client`: counters fed by the
//! sync's commit events ([`observer`]), gauges read from the store after every job
//! ([`from_store`]), rendered in the text format at `/metrics`. Every name is under `apiary_`;
//! the README lists them.

mod from_store;
mod observer;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use observer::RunObserver;

use super::schedule::JobKind;
use crate::fetch::BucketLevel;

/// Labels of what is counted per stream (a stream is its endpoint's name).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    /// The pipeline.
    pub pipeline: String,
    /// The stream (endpoint).
    pub stream: String,
}

/// Labels of dead letters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LetterLabels {
    /// The pipeline.
    pub pipeline: String,
    /// The stream (endpoint).
    pub stream: String,
    /// Where it failed: fetch, parse, record or policy.
    pub stage: String,
}

/// Labels of a pipeline.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    /// The pipeline.
    pub pipeline: String,
}

/// Labels of a finished job.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    /// The pipeline.
    pub pipeline: String,
    /// sync or replay.
    pub kind: String,
    /// succeeded, failed or interrupted.
    pub outcome: String,
}

/// Labels of a rate-limit bucket.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BucketLabels {
    /// The pipeline.
    pub pipeline: String,
    /// The bucket's name.
    pub bucket: String,
}

/// Labels of a deprecation notice.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NoticeLabels {
    /// The connector.
    pub connector: String,
    /// The API version the notice was sent to.
    pub api_version: String,
    /// The endpoint.
    pub endpoint: String,
}

type Seconds = Counter<f64, AtomicU64>;
type RunHistogram = Family<RunLabels, Histogram, fn() -> Histogram>;

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    pub(super) requests: Family<StreamLabels, Counter>,
    pub(super) retries: Family<StreamLabels, Counter>,
    pub(super) throttled: Family<StreamLabels, Counter>,
    pub(super) retry_wait: Family<StreamLabels, Seconds>,
    pub(super) rate_limit_wait: Family<StreamLabels, Seconds>,
    pub(super) pages: Family<StreamLabels, Counter>,
    pub(super) records: Family<StreamLabels, Counter>,
    pub(super) raw_bytes: Family<StreamLabels, Counter>,
    pub(super) letters_added: Family<LetterLabels, Counter>,
    pub(super) letters_open: Family<LetterLabels, Gauge>,
    pub(super) run_duration: RunHistogram,
    pub(super) last_success: Family<PipelineLabels, Gauge>,
    pub(super) bucket_tokens: Family<BucketLabels, Gauge>,
    pub(super) bucket_burst: Family<BucketLabels, Gauge>,
    pub(super) deprecations: Family<NoticeLabels, Gauge>,
    pub(super) sunsets: Family<NoticeLabels, Gauge>,
    pub(super) schema_drift: Family<StreamLabels, Gauge>,
    pub(super) running: Gauge,
    pub(super) file_errors: Gauge,
    pub(super) skipped: Family<PipelineLabels, Counter>,
    pub(super) archive_waiting: Family<PipelineLabels, Gauge>,
    /// The latest level of every bucket, by pipeline and bucket, for the API.
    pub(super) levels: Mutex<BTreeMap<(String, String), BucketLevel>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("apiary"),
            requests: Family::default(),
            retries: Family::default(),
            throttled: Family::default(),
            retry_wait: Family::default(),
            rate_limit_wait: Family::default(),
            pages: Family::default(),
            records: Family::default(),
            raw_bytes: Family::default(),
            letters_added: Family::default(),
            letters_open: Family::default(),
            run_duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.25, 2.0, 16))),
            last_success: Family::default(),
            bucket_tokens: Family::default(),
            bucket_burst: Family::default(),
            deprecations: Family::default(),
            sunsets: Family::default(),
            schema_drift: Family::default(),
            running: Gauge::default(),
            file_errors: Gauge::default(),
            skipped: Family::default(),
            archive_waiting: Family::default(),
            levels: Mutex::default(),
        };
        m.register();
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register("requests", "HTTP requests sent (attempts and redirect hops)", self.requests.clone());
        r.register("retries", "attempts that repeated an earlier one", self.retries.clone());
        r.register("throttled", "responses with status 429", self.throttled.clone());
        r.register("retry_wait_seconds", "time spent waiting to retry", self.retry_wait.clone());
        r.register("rate_limit_wait_seconds", "time spent waiting for rate-limit tokens", self.rate_limit_wait.clone());
        r.register("pages", "pages processed (committed or dead-lettered)", self.pages.clone());
        r.register("records", "records written", self.records.clone());
        r.register("raw_bytes", "response body bytes received", self.raw_bytes.clone());
        r.register("dead_letters_added", "dead letters added or seen again", self.letters_added.clone());
        r.register("dead_letters_open", "open live dead letters in the store", self.letters_open.clone());
        r.register("run_duration_seconds", "wall-clock time of a job in this process", self.run_duration.clone());
        r.register("last_success_timestamp_seconds", "end of the latest succeeded run", self.last_success.clone());
        r.register("bucket_tokens", "requests a rate-limit bucket allows at once now", self.bucket_tokens.clone());
        r.register("bucket_burst", "requests a rate-limit bucket allows at once when full", self.bucket_burst.clone());
        r.register("deprecation_notices", "1 per endpoint an API said is deprecated", self.deprecations.clone());
        r.register("sunset_timestamp_seconds", "when a deprecated endpoint stops working", self.sunsets.clone());
        r.register(
            "schema_drift_fields",
            "field changes in a stream's latest observed schema",
            self.schema_drift.clone(),
        );
        r.register("jobs_running", "jobs (syncs and replays) running now", self.running.clone());
        r.register(
            "jobs_skipped",
            "jobs not run because another worker held the pipeline's lease or had run the slot",
            self.skipped.clone(),
        );
        r.register("archive_waiting", "exchanges waiting for the raw archive", self.archive_waiting.clone());
        r.register("pipeline_file_errors", "pipeline files that cannot be used as they are", self.file_errors.clone());
    }

    /// The metrics in the Prometheus (OpenMetrics) text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    /// A job of `pipeline` ended after `elapsed` with `outcome`.
    pub fn job_ended(&self, pipeline: &str, kind: JobKind, outcome: &str, elapsed: Duration) {
        let labels = RunLabels { pipeline: pipeline.into(), kind: kind.to_string(), outcome: outcome.into() };
        self.run_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// A job of `pipeline` was skipped: another worker holds it or ran its slot.
    pub fn job_skipped(&self, pipeline: &str) {
        self.skipped.get_or_create(&PipelineLabels { pipeline: pipeline.into() }).inc();
    }

    /// The latest level of every bucket of every pipeline, as of its last commit.
    pub fn bucket_levels(&self) -> Vec<(String, BucketLevel)> {
        let levels = self.levels.lock().expect("levels lock");
        levels.iter().map(|((pipeline, _), level)| (pipeline.clone(), level.clone())).collect()
    }

    /// How many jobs run now.
    pub fn set_running(&self, jobs: usize) {
        self.running.set(jobs as i64);
    }

    /// How many pipeline files cannot be used.
    pub fn set_file_errors(&self, files: usize) {
        self.file_errors.set(files as i64);
    }
}

#[cfg(test)]
mod tests;
