//! The dead-letter queue: everything that could not succeed, so no record is silently dropped.

use serde::{Deserialize, Serialize};

use redb::WriteTransaction;

use super::tables::{self, DEAD_LETTERS};
use super::{DeadLetterId, ExchangeId, RunContext, RunId, Store, StoreError, db_error, now_ms};
use crate::runtime::{ConnectorIdentity, Request};

/// Where in a sync something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The request could not be fetched (retries spent, a 4xx, a connection that never worked).
    Fetch,
    /// The response could not be parsed (malformed after retries, a crashed connector).
    Parse,
    /// One record was rejected by the connector.
    Record,
    /// The host refused a request (an undeclared host, a pagination loop, a limit).
    Policy,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Fetch => "fetch",
            Stage::Parse => "parse",
            Stage::Record => "record",
            Stage::Policy => "policy",
        })
    }
}

impl std::str::FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Stage, String> {
        match s {
            "fetch" => Ok(Stage::Fetch),
            "parse" => Ok(Stage::Parse),
            "record" => Ok(Stage::Record),
            "policy" => Ok(Stage::Policy),
            other => Err(format!("unknown stage {other:?}: use fetch, parse, record or policy")),
        }
    }
}

/// A dead letter about to be added.
#[derive(Debug, Clone)]
pub struct NewDeadLetter {
    /// The stream it belongs to.
    pub stream: String,
    /// Where it failed.
    pub stage: Stage,
    /// What went wrong.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// The request, secrets redacted.
    pub request: Option<Request>,
    /// The stored raw exchange, when there is one.
    pub exchange: Option<ExchangeId>,
    /// The rejected record's payload (record stage).
    pub payload: Option<String>,
}

/// One stored dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its id.
    pub id: DeadLetterId,
    /// The run that added it.
    pub run: RunId,
    /// The pipeline.
    pub pipeline: String,
    /// The stream.
    pub stream: String,
    /// Where it failed.
    pub stage: Stage,
    /// What went wrong.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When it was first seen (ms since the epoch).
    pub first_seen_ms: u64,
    /// When it was last seen.
    pub last_seen_ms: u64,
    /// The connector in use.
    pub connector: ConnectorIdentity,
    /// The request, secrets redacted.
    pub request: Option<Request>,
    /// The raw exchange, when there is one.
    pub exchange: Option<ExchangeId>,
    /// The rejected record, for record-stage letters.
    pub payload: Option<String>,
    /// The run that resolved it, once one did.
    pub resolved_by: Option<RunId>,
}

impl DeadLetter {
    /// Whether `candidate` (a record's JSON) is the record this letter kept: the same text, or
    /// the same values of the primary-key fields.
    pub fn matches_record(&self, candidate: &str, key_fields: &[String]) -> bool {
        let Some(payload) = self.payload.as_deref() else { return false };
        if payload == candidate {
            return true;
        }
        let parse = serde_json::from_str::<serde_json::Value>;
        let (Ok(a), Ok(b)) = (parse(payload), parse(candidate)) else { return false };
        !key_fields.is_empty() && key_fields.iter().all(|f| a.get(f).is_some() && a.get(f) == b.get(f))
    }
}

/// Add dead letters for a run inside an open write transaction.
pub(super) fn insert_dead_letters(
    write: &WriteTransaction,
    context: &RunContext,
    letters: Vec<NewDeadLetter>,
) -> Result<Vec<DeadLetterId>, StoreError> {
    if letters.is_empty() {
        return Ok(Vec::new());
    }
    let mut id = tables::next_id(&write.open_table(DEAD_LETTERS).map_err(db_error)?)?;
    let now = now_ms();
    let mut ids = Vec::with_capacity(letters.len());
    for new in letters {
        let letter = DeadLetter {
            id: DeadLetterId(id),
            run: context.run,
            pipeline: context.pipeline.clone(),
            stream: new.stream,
            stage: new.stage,
            error: new.error,
            attempts: new.attempts,
            first_seen_ms: now,
            last_seen_ms: now,
            connector: context.connector.clone(),
            request: new.request,
            exchange: new.exchange,
            payload: new.payload,
            resolved_by: None,
        };
        tables::put_json(write, DEAD_LETTERS, id, &letter)?;
        ids.push(letter.id);
        id += 1;
    }
    Ok(ids)
}

impl Store {
    /// Add dead letters for a run in one transaction.
    pub fn add_dead_letters(
        &self,
        context: &RunContext,
        letters: Vec<NewDeadLetter>,
    ) -> Result<Vec<DeadLetterId>, StoreError> {
        let write = self.db().begin_write().map_err(db_error)?;
        let ids = insert_dead_letters(&write, context, letters)?;
        write.commit().map_err(db_error)?;
        Ok(ids)
    }

    /// The dead letter `id`.
    pub fn dead_letter(&self, id: DeadLetterId) -> Result<DeadLetter, StoreError> {
        let read = self.db().begin_read().map_err(db_error)?;
        let table = read.open_table(DEAD_LETTERS).map_err(db_error)?;
        tables::get_json(&table, DEAD_LETTERS, id.0)?.ok_or(StoreError::NotFound { what: "dead letter", id: id.0 })
    }

    /// Mark dead letters resolved by `run` (they are kept, never silently deleted).
    pub fn resolve_dead_letters(&self, ids: &[DeadLetterId], run: RunId) -> Result<(), StoreError> {
        let letters = ids.iter().map(|id| self.dead_letter(*id)).collect::<Result<Vec<_>, _>>()?;
        let write = self.db().begin_write().map_err(db_error)?;
        for mut letter in letters {
            letter.resolved_by = Some(run);
            letter.last_seen_ms = now_ms();
            tables::put_json(&write, DEAD_LETTERS, letter.id.0, &letter)?;
        }
        write.commit().map_err(db_error)
    }

    /// Delete dead letters: the resolved ones, or all that `keep` accepts when `everything`.
    /// Returns how many were deleted.
    pub fn purge_dead_letters(
        &self,
        everything: bool,
        keep: impl Fn(&DeadLetter) -> bool,
    ) -> Result<usize, StoreError> {
        let doomed: Vec<DeadLetterId> = self
            .dead_letters(|l| keep(l) && (everything || l.resolved_by.is_some()))?
            .into_iter()
            .map(|l| l.id)
            .collect();
        let write = self.db().begin_write().map_err(db_error)?;
        {
            let mut table = write.open_table(DEAD_LETTERS).map_err(db_error)?;
            for id in &doomed {
                table.remove(id.0).map_err(db_error)?;
            }
        }
        write.commit().map_err(db_error)?;
        Ok(doomed.len())
    }

    /// Every dead letter that `keep` accepts, oldest first.
    pub fn dead_letters(&self, keep: impl Fn(&DeadLetter) -> bool) -> Result<Vec<DeadLetter>, StoreError> {
        tables::list_json(self.db(), DEAD_LETTERS, keep)
    }
}
