//! Limits on a connector: the size of its component, and each call into it (time, memory,
//! output per page).

use std::time::Duration;

use crate::config::LimitOverrides;
use crate::model::Page;

/// Limits applied to loading a connector and to each `start` or `parse` call, each in its own
/// fresh store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorLimits {
    /// Size of the component file; a larger one is refused before it is read.
    pub component_bytes: u64,
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

impl Default for ConnectorLimits {
    fn default() -> Self {
        ConnectorLimits {
            component_bytes: 64 << 20,
            time: Duration::from_secs(2),
            memory_bytes: 128 << 20,
            stderr_bytes: 16 << 10,
            max_records: 100_000,
            max_record_bytes: 64 << 20,
            max_next: 1_000,
        }
    }
}

impl ConnectorLimits {
    /// The defaults with a pipeline's `[limits]` in place.
    pub fn with_overrides(o: &LimitOverrides) -> ConnectorLimits {
        let d = ConnectorLimits::default();
        ConnectorLimits {
            component_bytes: o.max_component_mib.map_or(d.component_bytes, |m| m.get() << 20),
            time: o.time_ms.map_or(d.time, |ms| Duration::from_millis(ms.get())),
            memory_bytes: o.memory_mib.map_or(d.memory_bytes, |m| m.get_usize() << 20),
            stderr_bytes: d.stderr_bytes,
            max_records: o.max_records.map_or(d.max_records, |n| n.get_usize()),
            max_record_bytes: o.max_record_mib.map_or(d.max_record_bytes, |m| m.get_usize() << 20),
            max_next: o.max_next.map_or(d.max_next, |n| n.get_usize()),
        }
    }

    /// Why `page` breaks an output limit, if it does.
    pub fn check_page(&self, page: &Page) -> Result<(), String> {
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
}
