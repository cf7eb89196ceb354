//! The observer a job's sync reports to: every commit's counts go to the counters of its
//! pipeline and stream, so the counters equal what the store committed (for the runs of this
//! process); bucket levels go to their gauges.

use std::sync::Arc;

use super::{BucketLabels, LetterLabels, Metrics, StreamLabels};
use crate::progress::{Committed, Observer};

/// Feeds one pipeline's commits into the metrics.
pub struct RunObserver {
    metrics: Arc<Metrics>,
    pipeline: String,
}

impl RunObserver {
    /// An observer for the jobs of `pipeline`.
    pub fn new(metrics: Arc<Metrics>, pipeline: &str) -> RunObserver {
        RunObserver { metrics, pipeline: pipeline.to_string() }
    }
}

impl Observer for RunObserver {
    fn on_commit(&self, c: &Committed<'_>) {
        let m = &self.metrics;
        let labels = StreamLabels { pipeline: self.pipeline.clone(), stream: c.stream.to_string() };
        let counts = c.counts;
        let counters = [
            (&m.requests, counts.requests),
            (&m.retries, counts.retries),
            (&m.throttled, counts.throttled),
            (&m.pages, counts.pages),
            (&m.records, counts.records),
            (&m.raw_bytes, counts.raw_bytes),
        ];
        for (family, delta) in counters {
            if delta > 0 {
                family.get_or_create(&labels).inc_by(delta);
            }
        }
        for (family, ms) in [(&m.retry_wait, counts.waited_ms), (&m.rate_limit_wait, counts.rate_waited_ms)] {
            if ms > 0 {
                family.get_or_create(&labels).inc_by(ms as f64 / 1000.0);
            }
        }
        for stage in c.letters {
            let letter = LetterLabels {
                pipeline: labels.pipeline.clone(),
                stream: labels.stream.clone(),
                stage: stage.to_string(),
            };
            m.letters_added.get_or_create(&letter).inc();
        }
        for level in c.buckets {
            let bucket = BucketLabels { pipeline: self.pipeline.clone(), bucket: level.bucket.clone() };
            m.bucket_tokens.get_or_create(&bucket).set(i64::from(level.tokens));
            m.bucket_burst.get_or_create(&bucket).set(i64::from(level.burst));
        }
        if !c.buckets.is_empty() {
            let mut levels = m.levels.lock().expect("levels lock");
            for level in c.buckets {
                levels.insert((self.pipeline.clone(), level.bucket.clone()), level.clone());
            }
        }
    }
}
