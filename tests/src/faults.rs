//! Faults the mock injects, chosen deterministically per request so tests are repeatable.
//!
//! Each distinct request (method, path and query) is assigned one fault kind by hashing it with
//! the seed, and suffers it only on its first hit: the retry succeeds. So "10 % 429" means about
//! one page in ten answers 429 once, and every record can still arrive exactly once.

use std::hash::{DefaultHasher, Hash, Hasher};

/// Fractions of requests that get each fault (together at most 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// 429 Too Many Requests with `Retry-After: retry_after_s`.
    pub throttle: f64,
    /// The `Retry-After` seconds sent with a 429.
    pub retry_after_s: u64,
    /// 500 or 503.
    pub server_error: f64,
    /// The connection is dropped partway through the body.
    pub reset: f64,
    /// The response is held for `slow_ms` (longer than a client timeout).
    pub slow: f64,
    /// How long a slow response is held.
    pub slow_ms: u64,
    /// A 200 with a truncated JSON body.
    pub malformed: f64,
    /// Fraction of generated records served without their `id` (on every hit).
    pub missing_id: f64,
    /// Seed for choosing which requests fail.
    pub seed: u64,
}

/// A fault to inject into one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError,
    Reset,
    Slow,
    Malformed,
}

impl Faults {
    /// The fault for the `hit`-th request (1-based) with `key`, if any.
    pub fn choose(&self, key: &str, hit: u64) -> Option<Fault> {
        if hit != 1 {
            return None;
        }
        let u = unit(self.seed, key);
        let kinds = [
            (self.throttle, Fault::Throttle),
            (self.server_error, Fault::ServerError),
            (self.reset, Fault::Reset),
            (self.slow, Fault::Slow),
            (self.malformed, Fault::Malformed),
        ];
        let mut edge = 0.0;
        for (fraction, fault) in kinds {
            edge += fraction;
            if u < edge {
                return Some(fault);
            }
        }
        None
    }
}

impl Faults {
    /// Whether generated record `n` is served without its `id` (the same on every request).
    pub fn drops_id(&self, n: u64) -> bool {
        self.missing_id > 0.0 && unit(self.seed ^ 0x1d, &n.to_string()) < self.missing_id
    }
}

/// A uniform number in [0, 1) from hashing `key` with `seed`.
fn unit(seed: u64, key: &str) -> f64 {
    let mut hasher = DefaultHasher::new();
    (seed, key).hash(&mut hasher);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_hit_about_their_fraction_and_only_the_first_time() {
        let faults = Faults { throttle: 0.2, malformed: 0.1, ..Faults::default() };
        let chosen: Vec<_> = (0..2000).map(|i| faults.choose(&format!("GET /p?page={i}"), 1)).collect();
        let throttled = chosen.iter().filter(|f| **f == Some(Fault::Throttle)).count();
        let malformed = chosen.iter().filter(|f| **f == Some(Fault::Malformed)).count();
        assert!((300..500).contains(&throttled), "{throttled}");
        assert!((120..280).contains(&malformed), "{malformed}");
        assert!((0..2000).all(|i| faults.choose(&format!("GET /p?page={i}"), 2).is_none()));
        assert_eq!(faults.choose("GET /x", 1), faults.choose("GET /x", 1), "deterministic");
    }
}
