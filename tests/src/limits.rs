//! Rate limits the mock enforces per endpoint, counting every request that breaks one.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

/// A limit on requests whose path contains `path_part`: `requests` per `per_ms`, `burst` at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointLimit {
    /// Which requests it applies to.
    pub path_part: String,
    /// Requests per period.
    pub requests: u32,
    /// The period in ms.
    pub per_ms: u64,
    /// Requests allowed at once.
    pub burst: u32,
}

impl std::str::FromStr for EndpointLimit {
    type Err = String;

    /// `PATH_PART=REQUESTS/PER_MS/BURST`, e.g. `search=10/1000/2`.
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("{s:?}: expected PATH_PART=REQUESTS/PER_MS/BURST");
        let (part, spec) = s.split_once('=').ok_or_else(usage)?;
        let numbers: Vec<u64> = spec.split('/').map(|n| n.parse().map_err(|_| usage())).collect::<Result<_, _>>()?;
        let [requests, per_ms, burst] = numbers[..] else { return Err(usage()) };
        Ok(EndpointLimit { path_part: part.to_string(), requests: requests as u32, per_ms, burst: burst as u32 })
    }
}

/// How long after a [`ThrottleOnce`] 429 requests still count as sent before clients heard of it.
pub const THROTTLE_GRACE: Duration = Duration::from_millis(250);

/// One 429 the API sends on its own, as when another client of the same credential spent the
/// quota: the `after + 1`th request on the limit's path is answered 429 with `Retry-After:
/// seconds`, and every request on it before those seconds pass counts as a violation, except in
/// the first [`THROTTLE_GRACE`] (requests already on their way when the 429 left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleOnce {
    /// Which requests it applies to (the path part of an enforced limit).
    pub path_part: String,
    /// Requests answered before the 429.
    pub after: u64,
    /// The `Retry-After` it sends.
    pub seconds: u64,
}

impl std::str::FromStr for ThrottleOnce {
    type Err = String;

    /// `PATH_PART=AFTER/SECONDS`, e.g. `issues=30/1`.
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("{s:?}: expected PATH_PART=AFTER/SECONDS");
        let (part, spec) = s.split_once('=').ok_or_else(usage)?;
        let (after, seconds) = spec.split_once('/').ok_or_else(usage)?;
        Ok(ThrottleOnce {
            path_part: part.to_string(),
            after: after.parse().map_err(|_| usage())?,
            seconds: seconds.parse().map_err(|_| usage())?,
        })
    }
}

/// What one limit saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitStats {
    /// Requests it applied to.
    pub requests: u64,
    /// Requests that broke it (answered 429), including requests sent while its one
    /// [`ThrottleOnce`] 429 asked clients to wait.
    pub violations: u64,
    /// The 429s sent by its [`ThrottleOnce`] (not violations).
    #[serde(default)]
    pub throttled: u64,
    /// Time of the first and last request, ms since the mock started.
    pub first_ms: u64,
    /// See `first_ms`.
    pub last_ms: u64,
}

impl LimitStats {
    /// Requests per second between the first and last request.
    pub fn rate(&self) -> f64 {
        let span = self.last_ms.saturating_sub(self.first_ms) as f64 / 1000.0;
        if span == 0.0 { f64::INFINITY } else { (self.requests - 1) as f64 / span }
    }
}

/// An enforced limit and its counts.
pub struct Enforced {
    pub limit: EndpointLimit,
    limiter: DefaultDirectRateLimiter,
    pub stats: LimitStats,
    throttle: Option<ThrottleOnce>,
    /// The window after the 429 in which requests are violations.
    quiet: Option<(Instant, Instant)>,
}

impl Enforced {
    /// Enforce `limit`, sending the one 429 of `throttle` if given.
    pub fn new(limit: EndpointLimit, throttle: Option<ThrottleOnce>) -> Enforced {
        let period = Duration::from_millis(limit.per_ms.max(1)) / limit.requests.max(1);
        let quota = Quota::with_period(period)
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(limit.burst.max(1)).expect("at least one"));
        let limiter = RateLimiter::direct(quota);
        Enforced { limit, limiter, stats: LimitStats::default(), throttle, quiet: None }
    }

    /// Count a request at `since_start`; the `Retry-After` of the 429 it gets, if any.
    pub fn admit(&mut self, since_start: Instant) -> Option<u64> {
        let now_ms = since_start.elapsed().as_millis() as u64;
        if self.stats.requests == 0 {
            self.stats.first_ms = now_ms;
        }
        self.stats.requests += 1;
        self.stats.last_ms = now_ms;
        if self.quiet.is_some_and(|(from, until)| (from..until).contains(&Instant::now())) {
            self.stats.violations += 1;
            return Some(1);
        }
        if let Some(throttle) = self.throttle.take_if(|t| self.stats.requests > t.after) {
            self.stats.throttled += 1;
            let now = Instant::now();
            self.quiet = Some((now + THROTTLE_GRACE, now + Duration::from_secs(throttle.seconds)));
            return Some(throttle.seconds);
        }
        let ok = self.limiter.check().is_ok();
        self.stats.violations += u64::from(!ok);
        (!ok).then_some(1)
    }
}
