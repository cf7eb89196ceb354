//! Limits on every call into a connector.

use std::time::Duration;

/// How long an epoch tick lasts: the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to each `start` or `parse` call, each in its own fresh store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimits {
    /// Wall-clock time one call may run before it is interrupted.
    pub time: Duration,
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Bytes of guest stdout/stderr kept per call.
    pub stderr_bytes: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits { time: Duration::from_secs(2), memory_bytes: 128 << 20, stderr_bytes: 16 << 10 }
    }
}

impl CallLimits {
    /// The call deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        (self.time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
