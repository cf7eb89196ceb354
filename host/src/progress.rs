//! Progress of long work (a sync, a replay, a re-parse), reported to one observer trait: the
//! command line draws a progress bar with it, `serve` keeps metrics.

use crate::fetch::BucketLevel;
use crate::store::{Counts, Stage};

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

/// What one commit of a sync added to the store: exactly the counts the store added for the
/// stream, so metrics kept from these events equal the store's numbers.
#[derive(Debug, Clone, Copy)]
pub struct Committed<'a> {
    /// The stream the counts were added to.
    pub stream: &'a str,
    /// The counts added.
    pub counts: &'a Counts,
    /// The stage of each dead letter added (or seen again).
    pub letters: &'a [Stage],
    /// How full the run's rate-limit buckets are now.
    pub buckets: &'a [BucketLevel],
}

/// Told about progress. Every method has a no-op default.
pub trait Observer: Send + Sync {
    /// A page was done.
    fn on_progress(&self, _progress: &Progress) {}

    /// A sync committed counts (an exchange stored, a request processed).
    fn on_commit(&self, _committed: &Committed<'_>) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}
