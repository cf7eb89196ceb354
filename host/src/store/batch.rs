//! Many writes in one durable transaction: how a sync groups the raw exchanges and page
//! completions of all its streams that are ready at the same time, so one fsync serves them.
//! Writes apply in order, so a page's raw exchange is always stored no later than anything
//! derived from it.

use super::raw::insert_exchange;
use super::sync_state::apply_completion;
use super::{Completion, ExchangeWrite, RunContext, Store, StoreError, db_error};

/// One write of a batch.
#[derive(Debug, Clone)]
pub enum Write {
    /// Store a raw exchange.
    Exchange(Box<ExchangeWrite>),
    /// Commit what processing a request changed.
    Completion(Completion),
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
