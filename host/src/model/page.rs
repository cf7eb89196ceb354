//! What a connector's calls return: the records of a page, rejected records, follow-up
//! requests, a checkpoint; why a page could not be parsed; and what `start` is told.

use super::Request;

/// One output record: its stream, its primary key as text, and its JSON, written byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The stream it belongs to.
    pub stream: String,
    /// Its primary key, the key fields' values joined by `/`.
    pub key: Option<String>,
    /// The record as JSON text.
    pub json: String,
}

/// A record the connector could not accept; it becomes a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Why.
    pub reason: String,
    /// The record as the API sent it.
    pub payload: String,
}

/// What one response parsed into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Records to write.
    pub records: Vec<Record>,
    /// Records to dead-letter.
    pub rejects: Vec<Reject>,
    /// Follow-up requests (pagination).
    pub next: Vec<Request>,
    /// The stream's new checkpoint.
    pub checkpoint: Option<String>,
}

/// Why a response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The body is not what the API promises (truncated, not JSON, wrong shape): worth fetching
    /// again.
    Malformed(String),
    /// The API said "try again later" inside a successful response: wait this many ms.
    RetryLater(u64),
    /// Nothing can be done with this response.
    Fatal(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Malformed(m) => write!(f, "malformed response: {m}"),
            ParseError::RetryLater(ms) => write!(f, "connector asked to retry in {ms} ms"),
            ParseError::Fatal(m) => write!(f, "connector could not parse the response: {m}"),
        }
    }
}

/// What `start` is told: the pipeline's `[config]`, the stream's checkpoint, the time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncContext {
    /// The `[config]` values as text.
    pub config: Vec<(String, String)>,
    /// The stream's last checkpoint.
    pub checkpoint: Option<String>,
    /// When the sync started (ms since the epoch).
    pub now_ms: u64,
}

/// Levels of the connector's `log` import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Finest detail.
    Trace,
    /// Debugging.
    Debug,
    /// Information.
    Info,
    /// Something odd.
    Warn,
    /// Something failed.
    Error,
}
