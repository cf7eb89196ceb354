//! What a run did, in numbers: one type for a stream, a run and a re-parse, committed in the
//! same transactions as the work it counts, so the history is true after crashes and resumes.

use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::tables::RUN_COUNTS;
use super::{RunId, Store, StoreError, codec, db_error};

/// Counters of a stream or a run. Every field is a sum: [`Counts::add`] combines two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// HTTP requests sent: attempts and redirect hops.
    pub requests: u64,
    /// Attempts that repeated an earlier one (after an error, a retryable status, a malformed page).
    pub retries: u64,
    /// Responses with status 429.
    pub throttled: u64,
    /// Redirect hops followed.
    pub redirects: u64,
    /// Time spent waiting to retry, in ms.
    pub waited_ms: u64,
    /// Time spent waiting for rate-limit tokens, in ms.
    pub rate_waited_ms: u64,
    /// Exchanges stored in the raw table.
    pub exchanges: u64,
    /// Pages processed (parsed and committed, or dead-lettered).
    pub pages: u64,
    /// Records written.
    pub records: u64,
    /// Response body bytes received.
    pub raw_bytes: u64,
    /// Response body bytes stored, after compression.
    pub stored_bytes: u64,
    /// Dead letters added (or seen again).
    pub dead_letters: u64,
}

impl Counts {
    /// Add `other`'s numbers to these.
    pub fn add(&mut self, other: &Counts) {
        let fields = [
            (&mut self.requests, other.requests),
            (&mut self.retries, other.retries),
            (&mut self.throttled, other.throttled),
            (&mut self.redirects, other.redirects),
            (&mut self.waited_ms, other.waited_ms),
            (&mut self.rate_waited_ms, other.rate_waited_ms),
            (&mut self.exchanges, other.exchanges),
            (&mut self.pages, other.pages),
            (&mut self.records, other.records),
            (&mut self.raw_bytes, other.raw_bytes),
            (&mut self.stored_bytes, other.stored_bytes),
            (&mut self.dead_letters, other.dead_letters),
        ];
        for (mine, theirs) in fields {
            *mine += theirs;
        }
    }

    /// Whether every counter is zero.
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// The sum of several.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Counts>) -> Counts {
        let mut total = Counts::default();
        all.into_iter().for_each(|c| total.add(c));
        total
    }
}

/// Add `delta` to the counts of `stream` in `run`, inside an open write transaction.
pub(super) fn add_counts(write: &WriteTransaction, run: RunId, stream: &str, delta: &Counts) -> Result<(), StoreError> {
    if delta.is_zero() {
        return Ok(());
    }
    let mut table = write.open_table(RUN_COUNTS).map_err(db_error)?;
    let mut counts: Counts = match table.get((run.0, stream)).map_err(db_error)? {
        Some(v) => codec::from_json("run_counts", v.value())?,
        None => Counts::default(),
    };
    counts.add(delta);
    table.insert((run.0, stream), codec::to_json(&counts).as_slice()).map_err(db_error)?;
    Ok(())
}

impl Store {
    /// Add `delta` to the counts of `stream` in `run`, in a transaction of its own.
    pub fn add_counts(&self, run: RunId, stream: &str, delta: &Counts) -> Result<(), StoreError> {
        let write = self.write()?;
        add_counts(&write, run, stream, delta)?;
        write.commit().map_err(db_error)
    }

    /// The committed counts of every stream of `run`.
    pub fn run_counts(&self, run: RunId) -> Result<BTreeMap<String, Counts>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(RUN_COUNTS).map_err(db_error)?;
        let mut out = BTreeMap::new();
        for row in table.range((run.0, "")..(run.0 + 1, "")).map_err(db_error)? {
            let (k, v) = row.map_err(db_error)?;
            out.insert(k.value().1.to_string(), codec::from_json("run_counts", v.value())?);
        }
        Ok(out)
    }
}
