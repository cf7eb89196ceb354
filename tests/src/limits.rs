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

/// What one limit saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitStats {
    /// Requests it applied to.
    pub requests: u64,
    /// Requests that broke it (answered 429).
    pub violations: u64,
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
}

impl Enforced {
    /// Enforce `limit`.
    pub fn new(limit: EndpointLimit) -> Enforced {
        let period = Duration::from_millis(limit.per_ms.max(1)) / limit.requests.max(1);
        let quota = Quota::with_period(period)
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(limit.burst.max(1)).expect("at least one"));
        Enforced { limit, limiter: RateLimiter::direct(quota), stats: LimitStats::default() }
    }

    /// Count a request at `since_start`; `false` when it breaks the limit.
    pub fn admit(&mut self, since_start: Instant) -> bool {
        let now_ms = since_start.elapsed().as_millis() as u64;
        if self.stats.requests == 0 {
            self.stats.first_ms = now_ms;
        }
        self.stats.requests += 1;
        self.stats.last_ms = now_ms;
        let ok = self.limiter.check().is_ok();
        self.stats.violations += u64::from(!ok);
        ok
    }
}
