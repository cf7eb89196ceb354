//! Many writes in one durable transaction: how a sync groups the raw exchanges and page
//! completions of all its streams that are ready at the same time, so one fsync serves them.
//! Writes apply in order, so a page's raw exchange is always stored no later than anything
//! derived from it.

use super::raw::insert_exchange;
use super::sync_state::apply_completion;
use super::{Completion, Counts, ExchangeWrite, RunContext, Stage, Store, StoreError, db_error};

/// One write of a batch.
#[derive(Debug, Clone)]
pub enum Write {
    /// Store a raw exchange.
    Exchange(Box<ExchangeWrite>),
    /// Commit what processing a request changed.
    Completion(Completion),
}

/// What one write adds to the counts of its stream, as the store commits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The stream (endpoint) whose counts grow.
    pub stream: String,
    /// The counts added.
    pub counts: Counts,
    /// The stage of each dead letter added (or seen again).
    pub letters: Vec<Stage>,
}

impl Write {
    /// What this write adds to its stream's counts.
    pub fn added(&self) -> Added {
        match self {
            Write::Exchange(exchange) => Added {
                stream: exchange.exchange.request.endpoint.clone(),
                counts: exchange.added_counts(),
                letters: Vec::new(),
            },
            Write::Completion(done) => Added {
                stream: done.stream.clone(),
                counts: done.added_counts(),
                letters: done.dead_letters.iter().map(|l| l.stage).collect(),
            },
        }
    }
}

impl Store {
    /// Apply `writes` in order, in one durable transaction.
    pub fn commit_batch(&self, context: &RunContext, writes: Vec<Write>) -> Result<(), StoreError> {
        let write = self.write()?;
        for w in writes {
            match w {
                Write::Exchange(exchange) => {
                    insert_exchange(&write, context, &exchange)?;
                }
                Write::Completion(done) => apply_completion(&write, context, done)?,
            }
        }
        write.commit().map_err(db_error)
    }
}
