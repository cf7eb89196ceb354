//! Rule 1, retries with exponential backoff and jitter: one budget of attempts per request,
//! shared by everything that can send it again (a transport error, a retryable status, a page
//! the connector calls malformed, a `retry-later`), with one backoff sequence. `Retry-After`
//! and the connector's `retry-later` win when they ask for longer, up to a cap.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::backoff::Backoff;
use crate::policy::RetrySettings;

/// Why an attempt did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No response: a connection error, a reset, a timeout.
    Transport,
    /// A response with a status worth retrying; `asked` is its `Retry-After`, if any.
    Status { asked: Option<Duration> },
    /// The connector called the body malformed (often a truncated transfer).
    Malformed,
    /// The connector said "try again later" inside a successful response.
    RetryLater(Duration),
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Wait this long, then send the request again.
    Retry(Duration),
    /// Stop: why, for the dead letter.
    GiveUp(String),
}

/// The attempts of one request: how many were made, how many may be, and the waits between.
#[derive(Debug)]
pub struct RetryBudget {
    made: u32,
    max_attempts: u32,
    repeatable: bool,
    backoff: Backoff,
    max_retry_after: Duration,
    rng: StdRng,
}

impl RetryBudget {
    /// A budget under `settings`. A request that is not `repeatable` (a POST without an
    /// idempotency key) gets one attempt, whatever the settings say.
    pub fn new(settings: &RetrySettings, repeatable: bool, seed: u64) -> RetryBudget {
        RetryBudget {
            made: 0,
            max_attempts: settings.max_attempts.max(1),
            repeatable,
            backoff: Backoff::of(settings),
            max_retry_after: settings.max_retry_after,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Count a new attempt; returns its number (1 for the first).
    pub fn start_attempt(&mut self) -> u32 {
        self.made += 1;
        self.made
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.made
    }

    /// Whether another attempt follows `failure`, and after how long.
    pub fn after(&mut self, failure: Failure) -> Verdict {
        if !self.repeatable {
            return Verdict::GiveUp("not retried: the request is not idempotent and has no idempotency key".into());
        }
        let asked = match failure {
            Failure::Status { asked } => asked,
            Failure::RetryLater(wait) => Some(wait),
            Failure::Transport | Failure::Malformed => None,
        };
        if let Some(wait) = asked.filter(|w| *w > self.max_retry_after) {
            return Verdict::GiveUp(format!(
                "asked to wait {} s, more than the {} s cap",
                wait.as_secs(),
                self.max_retry_after.as_secs()
            ));
        }
        if self.made >= self.max_attempts {
            return Verdict::GiveUp(format!("after {} attempt(s)", self.made));
        }
        let computed = self.backoff.delay(self.made.saturating_sub(1), &mut self.rng);
        Verdict::Retry(asked.map_or(computed, |a| a.max(computed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Jitter;

    fn budget(max_attempts: u32, repeatable: bool) -> RetryBudget {
        let settings = RetrySettings {
            max_attempts,
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            jitter: Jitter::None,
            max_retry_after: Duration::from_secs(900),
            ..RetrySettings::default()
        };
        RetryBudget::new(&settings, repeatable, 1)
    }

    #[test]
    fn every_kind_of_failure_draws_from_one_budget_and_one_backoff_sequence() {
        let mut b = budget(4, true);
        b.start_attempt();
        assert_eq!(b.after(Failure::Transport), Verdict::Retry(Duration::from_secs(2)));
        b.start_attempt();
        assert_eq!(b.after(Failure::Status { asked: None }), Verdict::Retry(Duration::from_secs(4)));
        b.start_attempt();
        assert_eq!(b.after(Failure::Malformed), Verdict::Retry(Duration::from_secs(8)));
        b.start_attempt();
        assert_eq!(b.after(Failure::RetryLater(Duration::from_secs(1))), Verdict::GiveUp("after 4 attempt(s)".into()));
    }

    #[test]
    fn a_longer_server_demand_wins_up_to_the_cap() {
        let mut b = budget(5, true);
        b.start_attempt();
        let asked = Some(Duration::from_secs(30));
        assert_eq!(b.after(Failure::Status { asked }), Verdict::Retry(Duration::from_secs(30)));
        let too_long = Failure::Status { asked: Some(Duration::from_secs(3600)) };
        assert!(matches!(b.after(too_long), Verdict::GiveUp(m) if m.contains("3600 s, more than the 900 s cap")));
    }

    #[test]
    fn a_request_that_is_not_repeatable_gets_one_attempt() {
        let mut b = budget(5, false);
        b.start_attempt();
        assert!(matches!(b.after(Failure::Transport), Verdict::GiveUp(m) if m.contains("not idempotent")));
    }
}
