//! Rate budgets every worker of a credential draws from: one GCRA per (connector, credential,
//! bucket) kept in Redis, so N workers together never exceed the bucket's rate. A pause one
//! worker is told about (a 429, a used-up quota) stops the bucket for all of them.
//!
//! When Redis cannot be reached a draw waits and tries again: a worker never spends the
//! budget on its own guess.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::Quota;

use super::link::{CoordError, RedisLink};
use super::scripts::{DRAW, PAUSE};
use super::{Coordinator, CredentialId};

/// The longest wait between two tries while Redis is unreachable.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// What one try at a draw gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// A token was taken: send the request.
    Granted,
    /// No token yet (or the bucket is paused): try again after this long.
    Wait(Duration),
}

/// The shared buckets of one connector and credential.
#[derive(Clone)]
pub struct SharedBudget {
    link: RedisLink,
    scope: String,
    /// Whether the current outage was reported (once per outage, not once per try).
    outage_reported: Arc<AtomicBool>,
}

impl SharedBudget {
    /// The budgets of `connector` used with `credential`, through `coordinator`'s Redis.
    pub fn new(coordinator: &Coordinator, connector: &str, credential: &CredentialId) -> SharedBudget {
        SharedBudget {
            link: coordinator.link().clone(),
            scope: format!("apiary:budget:{connector}:{credential}"),
            outage_reported: Arc::default(),
        }
    }

    /// Take one token from `bucket` (whose rate and burst are `quota`), waiting as long as the
    /// shared bucket or Redis asks. Returns how long it waited.
    pub async fn draw(&self, bucket: &str, quota: &Quota) -> Duration {
        let started = tokio::time::Instant::now();
        let mut retry_wait = Duration::from_millis(100);
        loop {
            match self.try_draw(bucket, quota).await {
                Ok(Draw::Granted) => {
                    self.recovered();
                    return started.elapsed();
                }
                Ok(Draw::Wait(wait)) => {
                    self.recovered();
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    if !self.outage_reported.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "{e}: waiting for it before sending more requests (never past the shared budget)"
                        );
                    }
                    tokio::time::sleep(retry_wait).await;
                    retry_wait = (retry_wait * 2).min(MAX_RETRY_WAIT);
                }
            }
        }
    }

    /// One try at taking a token from `bucket`.
    pub async fn try_draw(&self, bucket: &str, quota: &Quota) -> Result<Draw, CoordError> {
        let interval = micros(quota.replenish_interval()).max(1);
        let tolerance = interval.saturating_mul(u64::from(quota.burst_size().get().saturating_sub(1)));
        let (tat, pause) = (self.key(bucket, "tat"), self.key(bucket, "pause"));
        let wait: u64 = self.link.eval(&DRAW, &[&tat, &pause], &[&interval, &tolerance]).await?;
        Ok(if wait == 0 { Draw::Granted } else { Draw::Wait(Duration::from_micros(wait)) })
    }

    /// Pause `bucket` for every worker for `duration` (a longer pause already on wins). A
    /// failure is logged: the worker that saw the 429 pauses itself in any case.
    pub async fn pause(&self, bucket: &str, duration: Duration) {
        let pause = self.key(bucket, "pause");
        if let Err(e) = self.link.eval::<i64>(&PAUSE, &[&pause], &[&micros(duration).max(1)]).await {
            tracing::warn!("{e}: the pause of bucket {bucket} ({duration:?}) holds for this worker only");
        }
    }

    fn key(&self, bucket: &str, part: &str) -> String {
        format!("{}:{bucket}:{part}", self.scope)
    }

    fn recovered(&self) {
        if self.outage_reported.swap(false, Ordering::Relaxed) {
            tracing::info!("Redis at {} answers again: drawing from the shared budget", self.link.place());
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
