//! The raw archive: every exchange a pipeline with an `[archive]` table commits is also written
//! to object storage (S3 or an S3-compatible server) or a shared folder, so any machine can
//! re-parse it (`apiary reparse --from-archive`).
//!
//! The raw commit queues the exchange in the store in the same transaction (`archive_queue`), so
//! a crash never loses one; a drain ([`Archiver`] in the background, [`push`] to the end) puts
//! the queued exchanges create-only under content-addressed keys ([`object`]) and takes them off
//! the queue once the archive has them. The archive never slows or fails a sync: a run gives it
//! a short flush at its end and reports what is left for the next run or `apiary archive push`.

mod archiver;
mod drain;
mod import;
pub mod object;
mod target;

use std::path::PathBuf;

pub use archiver::{Archiver, backlog, push};
pub use drain::BACKOFF;
pub use import::{Imported, import};
pub use target::ArchiveTarget;

use crate::secrets::SecretError;
use crate::store::StoreError;

/// The archive could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The `[archive]` table cannot be turned into a client (a folder, a bad endpoint).
    #[error("{0}")]
    Setup(String),
    /// A credential could not be read.
    #[error("[archive] {0}")]
    Secret(#[from] SecretError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pipeline file has no `[archive]` table.
    #[error("pipeline {pipeline} has no [archive] table: add `[archive] url = \"s3://BUCKET/PREFIX\"` to its file")]
    NoArchive { pipeline: String },
    /// The archive did not answer, or refused.
    #[error("archive {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The archive kept failing; what is queued stays queued.
    #[error(
        "archive {url} failed {attempts} times in a row, last: {reason}; the exchanges stay queued, try again later"
    )]
    GaveUp { url: String, attempts: u32, reason: String },
    /// An archived object is not what was archived.
    #[error("archive {url}: object {key} is damaged ({reason}); remove it or restore it from a backup")]
    Damaged { url: String, key: String, reason: String },
    /// Nothing of the pipeline is in the archive.
    #[error("archive {url} holds no exchanges of pipeline {pipeline}: check the url and the pipeline's `name`")]
    Empty { url: String, pipeline: String },
    /// The home already holds exchanges of the pipeline.
    #[error(
        "{database} already holds exchanges of pipeline {pipeline}: re-parse from the archive into a fresh --home, or without --from-archive"
    )]
    NotFresh { database: PathBuf, pipeline: String },
    /// A background task died.
    #[error("internal error: {0}")]
    Internal(String),
}

#[cfg(test)]
mod tests;
