//! Progress of long work (a sync, a replay, a re-parse), reported to one observer trait: the
//! command line draws a progress bar with it, `serve` keeps metrics.

/// Where long work stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Pages done so far.
    pub pages: u64,
    /// Pages to do, when known (a re-parse knows; a sync does not).
    pub total: Option<u64>,
    /// Records written so far.
    pub records: u64,
    /// Response bytes read so far.
    pub bytes: u64,
    /// The stream of the latest page.
    pub stream: String,
}

/// Told about progress. Every method has a no-op default.
pub trait Observer: Send + Sync {
    /// A page was done.
    fn on_progress(&self, _progress: &Progress) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}
