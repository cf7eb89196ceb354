//! Wall-clock time for the scheduler, behind a trait: cron patterns need the date, and tests
//! run the scheduler on tokio's paused clock, where a wall clock must move with tokio's time.

use tokio::time::Instant;

/// Milliseconds since the Unix epoch, as the scheduler sees them.
pub trait WallClock: Send + Sync {
    /// Now, in ms since the epoch.
    fn now_ms(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::clock::now_ms()
    }
}

/// A wall clock that starts at a given time and advances with tokio's clock, so a paused test
/// runtime controls it (`tokio::time::advance`, or auto-advance while every task sleeps).
#[derive(Debug, Clone, Copy)]
pub struct TokioWallClock {
    origin_ms: u64,
    origin: Instant,
}

impl TokioWallClock {
    /// A clock reading `origin_ms` now.
    pub fn starting_at(origin_ms: u64) -> TokioWallClock {
        TokioWallClock { origin_ms, origin: Instant::now() }
    }
}

impl WallClock for TokioWallClock {
    fn now_ms(&self) -> u64 {
        self.origin_ms + self.origin.elapsed().as_millis() as u64
    }
}
