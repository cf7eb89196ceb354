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
    /// Bytes of guest stdout/stderr kept per call for the log (a guest may write up to 1 MiB;
    /// past that its writes fail).
    pub stderr_bytes: usize,
    /// Records one page may produce.
    pub max_records: usize,
    /// Bytes of record JSON one page may produce.
    pub max_record_bytes: usize,
    /// Follow-up requests one page may produce.
    pub max_next: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            time: Duration::from_secs(2),
            memory_bytes: 128 << 20,
            stderr_bytes: 16 << 10,
            max_records: 100_000,
            max_record_bytes: 64 << 20,
            max_next: 1_000,
        }
    }
}

impl CallLimits {
    /// Why `page` breaks an output limit, if it does.
    pub fn check_page(&self, page: &super::Page) -> Result<(), String> {
        let bytes: usize = page.records.iter().map(|r| r.json.len()).sum();
        let over = |what: &str, n: usize, max: usize, key: &str| {
            Err(format!("page produced {n} {what}, more than the limit of {max} (raise [limits] {key})"))
        };
        if page.records.len() > self.max_records {
            return over("records", page.records.len(), self.max_records, "max-records");
        }
        if bytes > self.max_record_bytes {
            return over("bytes of records", bytes, self.max_record_bytes, "max-record-mib");
        }
        if page.next.len() > self.max_next {
            return over("next requests", page.next.len(), self.max_next, "max-next");
        }
        Ok(())
    }

    /// The call deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        (self.time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
