//! Rate limits per endpoint: named GCRA buckets (from `governor`) that an endpoint draws one
//! token from each of, pauses that stop a whole bucket (a 429, a rate-limit reset), and a cap on
//! requests in flight per endpoint.
//!
//! Waiting uses tokio's timer, and the limiter reads tokio's clock, so tests run on a paused
//! clock and never sleep for real.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::BucketOverride;
use crate::runtime::{Bucket, Endpoint};

/// The clock `governor` reads: time since the buckets were made, on tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// One named bucket.
struct NamedBucket {
    limiter: Limiter,
    clock: TokioClock,
    paused_until: Mutex<Option<Instant>>,
}

impl NamedBucket {
    fn new(spec: &Bucket, clock: TokioClock) -> NamedBucket {
        NamedBucket { limiter: Limiter::direct_with_clock(quota(spec), clock), clock, paused_until: Mutex::new(None) }
    }

    /// Wait out any pause, then for a token.
    async fn take(&self) {
        loop {
            let paused = *self.paused_until.lock().expect("pause lock");
            if let Some(until) = paused.filter(|u| *u > Instant::now()) {
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.limiter.check() {
                Ok(()) => return,
                Err(not_until) => tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await,
            }
        }
    }

    /// Stop handing out tokens until `until` (a later pause wins).
    fn pause_until(&self, until: Instant) {
        let mut paused = self.paused_until.lock().expect("pause lock");
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

/// The GCRA quota of a bucket: `requests` per `per_ms`, at least one, with its burst.
pub fn quota(spec: &Bucket) -> Quota {
    let requests = spec.requests.max(1);
    let period = Duration::from_millis(spec.per_ms.max(1)) / requests;
    let burst = NonZeroU32::new(spec.burst.max(1)).expect("at least one");
    Quota::with_period(period.max(Duration::from_nanos(1))).expect("non-zero period").allow_burst(burst)
}

/// Every bucket of a connector, and every endpoint's in-flight cap.
#[derive(Clone)]
pub struct Buckets {
    buckets: Arc<HashMap<String, NamedBucket>>,
    in_flight: Arc<HashMap<String, Arc<Semaphore>>>,
    draws: Arc<HashMap<String, Vec<String>>>,
}

/// Permission to send one request: holds the endpoint's in-flight slot until dropped.
pub struct Permit {
    _slot: Option<OwnedSemaphorePermit>,
    /// How long it took to get.
    pub waited: Duration,
}

impl Buckets {
    /// Buckets from the manifest's declarations (already adjusted by the pipeline).
    pub fn new(buckets: &[Bucket], endpoints: &[Endpoint]) -> Buckets {
        let clock = TokioClock { origin: Instant::now() };
        Buckets {
            buckets: Arc::new(buckets.iter().map(|b| (b.name.clone(), NamedBucket::new(b, clock))).collect()),
            in_flight: Arc::new(
                endpoints
                    .iter()
                    .map(|e| (e.name.clone(), Arc::new(Semaphore::new(e.max_in_flight.max(1) as usize))))
                    .collect(),
            ),
            draws: Arc::new(endpoints.iter().map(|e| (e.name.clone(), e.buckets.clone())).collect()),
        }
    }

    /// Wait for an in-flight slot of `endpoint`, then one token from each of its buckets.
    pub async fn acquire(&self, endpoint: &str) -> Permit {
        let started = Instant::now();
        let slot = match self.in_flight.get(endpoint) {
            Some(semaphore) => semaphore.clone().acquire_owned().await.ok(),
            None => None,
        };
        for bucket in self.buckets_of(endpoint) {
            bucket.take().await;
        }
        Permit { _slot: slot, waited: started.elapsed() }
    }

    /// Pause every bucket `endpoint` draws from for `duration` (a 429, an exhausted quota).
    pub fn pause(&self, endpoint: &str, duration: Duration) {
        let until = Instant::now() + duration;
        for bucket in self.buckets_of(endpoint) {
            bucket.pause_until(until);
        }
    }

    fn buckets_of<'a>(&'a self, endpoint: &str) -> impl Iterator<Item = &'a NamedBucket> + 'a {
        let names = self.draws.get(endpoint).cloned().unwrap_or_default();
        names.into_iter().filter_map(move |name| self.buckets.get(&name))
    }
}

/// The buckets in force: the manifest's, with the pipeline's overrides. Lowering is always
/// allowed; raising a rate or burst needs `allow-raise` and yields a warning. An override of a
/// bucket the connector does not declare is an error.
pub fn effective_buckets(
    declared: &[Bucket],
    overrides: &std::collections::BTreeMap<String, BucketOverride>,
) -> Result<(Vec<Bucket>, Vec<String>), String> {
    let mut buckets = declared.to_vec();
    let mut warnings = Vec::new();
    for (name, o) in overrides {
        let Some(bucket) = buckets.iter_mut().find(|b| &b.name == name) else {
            let known: Vec<&str> = declared.iter().map(|b| b.name.as_str()).collect();
            return Err(format!(
                "[buckets.{name}]: the connector declares no bucket `{name}` (it has: {})",
                known.join(", ")
            ));
        };
        let wanted = Bucket {
            name: name.clone(),
            requests: o.requests,
            per_ms: o.per_ms,
            burst: o.burst.unwrap_or(bucket.burst),
        };
        let raises = rate(&wanted) > rate(bucket) || wanted.burst > bucket.burst;
        if raises && !o.allow_raise {
            return Err(format!(
                "[buckets.{name}] raises the connector's limit ({} per {} ms, burst {}); lower it, or add `allow-raise = true` if the API really allows more",
                bucket.requests, bucket.per_ms, bucket.burst
            ));
        }
        if raises {
            warnings.push(format!(
                "bucket `{name}` raised above the connector's declaration to {} per {} ms, burst {}: expect 429s if the API disagrees",
                wanted.requests, wanted.per_ms, wanted.burst
            ));
        }
        *bucket = wanted;
    }
    Ok((buckets, warnings))
}

/// Requests per millisecond.
fn rate(b: &Bucket) -> f64 {
    f64::from(b.requests) / b.per_ms.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Method;

    fn endpoint(name: &str, buckets: &[&str], in_flight: u32) -> Endpoint {
        Endpoint {
            name: name.into(),
            method: Method::Get,
            path: "/".into(),
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            max_in_flight: in_flight,
            primary_key: vec![],
            cursor_field: None,
            idempotency_key: None,
        }
    }

    fn bucket(name: &str, requests: u32, per_ms: u64, burst: u32) -> Bucket {
        Bucket { name: name.into(), requests, per_ms, burst }
    }

    /// Acquire `n` permits for `endpoint` one after another; the virtual time it took.
    async fn time_for(buckets: &Buckets, endpoint: &str, n: usize) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            buckets.acquire(endpoint).await;
        }
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_its_rate() {
        let b = Buckets::new(&[bucket("core", 10, 1_000, 5)], &[endpoint("issues", &["core"], 1)]);
        assert_eq!(time_for(&b, "issues", 5).await, Duration::ZERO, "the burst is free");
        let t = time_for(&b, "issues", 10).await;
        assert!(t >= Duration::from_millis(950) && t <= Duration::from_millis(1_050), "{t:?}: 10 more at 10/s");
    }

    #[tokio::test(start_paused = true)]
    async fn endpoints_get_the_rate_of_their_own_buckets() {
        let b = Buckets::new(
            &[bucket("core", 100, 1_000, 1), bucket("search", 5, 1_000, 1)],
            &[endpoint("issues", &["core"], 1), endpoint("search", &["core", "search"], 1)],
        );
        let issues = time_for(&b, "issues", 101).await;
        let search = time_for(&b, "search", 6).await;
        assert!(issues <= Duration::from_millis(1_010), "issues at 100/s: {issues:?}");
        assert!(search >= Duration::from_millis(990), "search held to 5/s by its own bucket: {search:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_stops_every_endpoint_sharing_the_bucket() {
        let b = Buckets::new(
            &[bucket("core", 1_000, 1_000, 10)],
            &[endpoint("issues", &["core"], 1), endpoint("labels", &["core"], 1)],
        );
        b.pause("issues", Duration::from_secs(30));
        let waited = b.acquire("labels").await.waited;
        assert_eq!(waited, Duration::from_secs(30), "labels waits out the 429 that issues got");
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_is_capped_per_endpoint() {
        let b = Buckets::new(&[], &[endpoint("issues", &[], 2)]);
        let first = b.acquire("issues").await;
        let _second = b.acquire("issues").await;
        let third = tokio::time::timeout(Duration::from_secs(1), b.acquire("issues")).await;
        assert!(third.is_err(), "a third request waits for a slot");
        drop(first);
        assert!(tokio::time::timeout(Duration::from_secs(1), b.acquire("issues")).await.is_ok());
    }

    #[test]
    fn a_pipeline_may_lower_a_bucket_but_raising_needs_a_flag() {
        let declared = [bucket("core", 5_000, 3_600_000, 100)];
        let lower = |requests, allow_raise| {
            let o = BucketOverride { requests, per_ms: 3_600_000, burst: None, allow_raise };
            effective_buckets(&declared, &[("core".to_string(), o)].into())
        };
        let (buckets, warnings) = lower(1_000, false).unwrap();
        assert_eq!((buckets[0].requests, buckets[0].burst), (1_000, 100));
        assert!(warnings.is_empty());
        assert!(lower(6_000, false).unwrap_err().contains("allow-raise"));
        let (buckets, warnings) = lower(6_000, true).unwrap();
        assert_eq!(buckets[0].requests, 6_000);
        assert!(warnings[0].contains("raised"));
        let unknown = BucketOverride { requests: 1, per_ms: 1, burst: None, allow_raise: false };
        let err = effective_buckets(&declared, &[("search".to_string(), unknown)].into()).unwrap_err();
        assert!(err.contains("no bucket `search`") && err.contains("core"), "{err}");
    }

    #[test]
    fn quotas_spread_requests_over_the_period() {
        let q = quota(&bucket("core", 5_000, 3_600_000, 100));
        assert_eq!(q.replenish_interval(), Duration::from_millis(720));
        assert_eq!(q.burst_size().get(), 100);
        let q = quota(&bucket("zero", 0, 0, 0));
        assert_eq!(q.burst_size().get(), 1, "nonsense declarations still make a usable bucket");
    }
}
