//! A spinner on stderr while a sync runs (hidden when stderr is not a terminal).

use apiary_host::progress::{Observer, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows pages and records as they are processed.
pub struct SyncProgress {
    bar: ProgressBar,
}

impl SyncProgress {
    /// A spinner for the pipeline `name`.
    pub fn new(name: &str) -> SyncProgress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]").expect("valid template"));
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        SyncProgress { bar }
    }

    /// Remove the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for SyncProgress {
    fn on_progress(&self, p: &Progress) {
        self.bar.set_message(format!("{} pages, {} records (last: {})", p.pages, p.records, p.stream));
    }
}
