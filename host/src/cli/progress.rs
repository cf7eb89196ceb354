//! A spinner on stderr while a sync runs (hidden when stderr is not a terminal).

use std::sync::atomic::{AtomicU64, Ordering};

use apiary_host::sync::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows pages and records as they are processed.
pub struct SyncProgress {
    bar: ProgressBar,
    pages: AtomicU64,
    records: AtomicU64,
}

impl SyncProgress {
    /// A spinner for the pipeline `name`.
    pub fn new(name: &str) -> SyncProgress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]").expect("valid template"));
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        SyncProgress { bar, pages: AtomicU64::new(0), records: AtomicU64::new(0) }
    }

    /// Remove the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for SyncProgress {
    fn on_page(&self, stream: &str, records: u64) {
        let pages = self.pages.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.records.fetch_add(records, Ordering::Relaxed) + records;
        self.bar.set_message(format!("{pages} pages, {total} records (last: {stream})"));
    }
}
