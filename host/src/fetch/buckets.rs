//! Rule 3, rate limits per endpoint: named GCRA buckets (from `governor`) that an endpoint draws
//! one token from each of, pauses that stop a whole bucket (a 429, a rate-limit reset) or one
//! named limit of the API, and a cap on requests in flight per endpoint.
//!
//! With coordination on ([`Buckets::sharing`]), tokens come from the buckets every worker of
//! the credential shares in Redis instead, and pauses reach every worker.
//!
//! Waiting uses tokio's timer, and the limiter reads tokio's clock, so tests run on a paused
//! clock and never sleep for real.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::pause::{Pause, Resources};
use crate::coord::SharedBudget;
use crate::model::{Bucket, Endpoint};

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

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, StateInformationMiddleware>;

/// One named bucket.
struct NamedBucket {
    limiter: Limiter,
    quota: Quota,
    clock: TokioClock,
    pause: Pause,
    /// Tokens left after the latest take, and when: what [`NamedBucket::level`] counts from.
    last_take: Mutex<Option<(u32, Instant)>>,
}

/// How full one bucket is, for metrics and the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BucketLevel {
    /// The bucket's name.
    pub bucket: String,
    /// Requests it would allow at once now (0 while the API has paused it).
    pub tokens: u32,
    /// Requests it allows at once when full.
    pub burst: u32,
}

impl NamedBucket {
    fn new(spec: &Bucket, clock: TokioClock) -> NamedBucket {
        let quota = quota(spec);
        let limiter = RateLimiter::direct_with_clock(quota, clock).with_middleware::<StateInformationMiddleware>();
        NamedBucket { limiter, quota, clock, pause: Pause::default(), last_take: Mutex::new(None) }
    }

    /// Wait out any pause, then for a token.
    async fn take(&self) {
        loop {
            self.pause.wait().await;
            match self.limiter.check() {
                Ok(state) => {
                    let left = state.remaining_burst_capacity();
                    *self.last_take.lock().expect("bucket level lock") = Some((left, Instant::now()));
                    return;
                }
                Err(not_until) => tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await,
            }
        }
    }

    /// Tokens left now: those left at the latest take plus those replenished since, up to the
    /// burst (read without drawing one).
    fn level(&self, name: &str) -> BucketLevel {
        let burst = self.quota.burst_size().get();
        let tokens = match *self.last_take.lock().expect("bucket level lock") {
            _ if self.pause.is_active() => 0,
            None => burst,
            Some((left, at)) => {
                let interval = self.quota.replenish_interval().as_nanos().max(1);
                let refilled = u32::try_from(at.elapsed().as_nanos() / interval).unwrap_or(u32::MAX);
                left.saturating_add(refilled).min(burst)
            }
        };
        BucketLevel { bucket: name.to_string(), tokens, burst }
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
    resources: Arc<Resources>,
    shared: Option<SharedBudget>,
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
            resources: Arc::default(),
            shared: None,
        }
    }

    /// These buckets drawn from `budget`, shared with every worker of the credential, instead
    /// of from this process's own.
    pub fn sharing(self, budget: SharedBudget) -> Buckets {
        Buckets { shared: Some(budget), ..self }
    }

    /// Wait for an in-flight slot of `endpoint`, the end of its resource's pause, then one token
    /// from each of its buckets.
    pub async fn acquire(&self, endpoint: &str) -> Permit {
        let started = Instant::now();
        let slot = match self.in_flight.get(endpoint) {
            Some(semaphore) => semaphore.clone().acquire_owned().await.ok(),
            None => None,
        };
        self.resources.wait(endpoint).await;
        for (name, bucket) in self.buckets_of(endpoint) {
            match &self.shared {
                Some(shared) => {
                    bucket.pause.wait().await;
                    shared.draw(name, &bucket.quota).await;
                }
                None => bucket.take().await,
            }
        }
        Permit { _slot: slot, waited: started.elapsed() }
    }

    /// Pause every bucket `endpoint` draws from for `duration` (a 429, an exhausted quota).
    pub fn pause(&self, endpoint: &str, duration: Duration) {
        let until = Instant::now() + duration;
        for (name, bucket) in self.buckets_of(endpoint) {
            bucket.pause.extend_to(until);
            if let Some(shared) = self.shared.clone() {
                let name = name.to_string();
                tokio::spawn(async move { shared.pause(&name, duration).await });
            }
        }
    }

    /// Pause only the endpoints that count against the API's limit `resource` (which `endpoint`
    /// was just seen to count against), for `duration`.
    pub fn pause_resource(&self, endpoint: &str, resource: &str, duration: Duration) {
        self.resources.learn(endpoint, resource);
        self.resources.pause(resource, Instant::now() + duration);
    }

    /// Remember which API limit `endpoint` counts against.
    pub fn learn_resource(&self, endpoint: &str, resource: &str) {
        self.resources.learn(endpoint, resource);
    }

    /// The API limits learned so far: endpoint -> resource.
    pub fn resources(&self) -> BTreeMap<String, String> {
        self.resources.learned()
    }

    /// How full every bucket is now, by name.
    pub fn levels(&self) -> Vec<BucketLevel> {
        let mut levels: Vec<BucketLevel> = self.buckets.iter().map(|(name, b)| b.level(name)).collect();
        levels.sort_by(|a, b| a.bucket.cmp(&b.bucket));
        levels
    }

    fn buckets_of<'a>(&'a self, endpoint: &str) -> impl Iterator<Item = (&'a str, &'a NamedBucket)> + 'a {
        let names = self.draws.get(endpoint).map(Vec::as_slice).unwrap_or_default();
        names.iter().filter_map(move |name| self.buckets.get_key_value(name).map(|(n, b)| (n.as_str(), b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Method;

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
            schema: None,
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
    async fn a_named_limit_pauses_only_its_own_endpoints() {
        let b = Buckets::new(
            &[bucket("core", 1_000, 1_000, 10)],
            &[endpoint("issues", &["core"], 1), endpoint("search", &["core"], 1)],
        );
        b.learn_resource("issues", "core");
        b.pause_resource("search", "search", Duration::from_secs(30));
        assert_eq!(b.acquire("issues").await.waited, Duration::ZERO, "issues counts against another limit");
        assert_eq!(b.acquire("search").await.waited, Duration::from_secs(30));
        assert_eq!(b.resources().get("search").map(String::as_str), Some("search"));
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

    #[tokio::test(start_paused = true)]
    async fn levels_count_tokens_left_and_refill_over_time() {
        let b = Buckets::new(&[bucket("core", 10, 1_000, 5)], &[endpoint("issues", &["core"], 1)]);
        let level = |b: &Buckets| b.levels()[0].tokens;
        assert_eq!(b.levels(), vec![BucketLevel { bucket: "core".into(), tokens: 5, burst: 5 }], "full at first");
        time_for(&b, "issues", 3).await;
        assert_eq!(level(&b), 2, "three of five taken");
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(level(&b), 4, "two more after 250 ms at 10/s");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(level(&b), 5, "never above the burst");
        b.pause("issues", Duration::from_secs(30));
        assert_eq!(level(&b), 0, "a paused bucket has nothing to give");
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
