//! The retry schedule: exponential backoff with jitter.
//!
//! Step `n` (0 for the wait after the first failure) waits `min(max, base * 2^n)`, then jitter is
//! applied. `Retry-After` or a rate-limit reset wins when it asks for longer.

use std::time::Duration;

use rand::Rng;

use crate::model::Jitter;

/// An exponential backoff schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first step.
    pub base: Duration,
    /// The largest step, before jitter.
    pub max: Duration,
    /// How noise is added.
    pub jitter: Jitter,
}

impl Backoff {
    /// The schedule of a run's retry settings.
    pub fn of(settings: &crate::policy::RetrySettings) -> Backoff {
        Backoff { base: settings.base, max: settings.max, jitter: settings.jitter }
    }

    /// The step before jitter for retry number `step` (0-based): `min(max, base * 2^step)`.
    pub fn step(&self, step: u32) -> Duration {
        let factor = 1u32.checked_shl(step.min(31)).unwrap_or(u32::MAX);
        self.base.checked_mul(factor).unwrap_or(self.max).min(self.max)
    }

    /// The wait before retry number `step`, with jitter drawn from `rng`.
    pub fn delay(&self, step: u32, rng: &mut impl Rng) -> Duration {
        let d = self.step(step);
        let mut noise = |upto: Duration| upto.mul_f64(rng.random::<f64>());
        match self.jitter {
            Jitter::Additive => d + noise(d / 2),
            Jitter::Full => noise(d),
            Jitter::Equal => d / 2 + noise(d / 2),
            Jitter::None => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn schedule(jitter: Jitter) -> Backoff {
        Backoff { base: Duration::from_secs(2), max: Duration::from_secs(60), jitter }
    }

    #[test]
    fn steps_double_from_the_base_up_to_the_cap() {
        let b = schedule(Jitter::None);
        let steps: Vec<u64> = (0..8).map(|n| b.step(n).as_secs()).collect();
        assert_eq!(steps, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.step(1000), Duration::from_secs(60), "huge step numbers do not overflow");
    }

    #[test]
    fn each_jitter_mode_stays_within_its_bounds() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in 0..7 {
            let step = schedule(Jitter::None).step(n);
            for _ in 0..200 {
                let additive = schedule(Jitter::Additive).delay(n, &mut rng);
                assert!(additive >= step && additive <= step + step / 2, "{additive:?} for {step:?}");
                let full = schedule(Jitter::Full).delay(n, &mut rng);
                assert!(full <= step);
                let equal = schedule(Jitter::Equal).delay(n, &mut rng);
                assert!(equal >= step / 2 && equal <= step);
                assert_eq!(schedule(Jitter::None).delay(n, &mut rng), step);
            }
        }
    }

    #[test]
    fn additive_jitter_actually_varies() {
        let mut rng = StdRng::seed_from_u64(1);
        let b = schedule(Jitter::Additive);
        let waits: std::collections::HashSet<Duration> = (0..20).map(|_| b.delay(0, &mut rng)).collect();
        assert!(waits.len() > 15, "jitter spreads retries apart");
    }
}
