//! The dead-letter queue: everything that could not succeed, so no record is silently dropped.

use serde::{Deserialize, Serialize};

use redb::WriteTransaction;

use super::letter_index::{RequestKey, add_indexed, unindex};
use super::tables::{self, DEAD_LETTERS};
use super::{DeadLetterId, ExchangeId, RunContext, RunId, Store, StoreError, db_error};
use crate::clock::now_ms;
use crate::model::{ConnectorIdentity, Request};

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

/// Which output a letter belongs to: the pipeline's live output (replayable into it), or a
/// re-parse's separate output (never replayed into the live one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LetterOrigin {
    /// A sync, a replay or a resumed run: the live output.
    #[default]
    Live,
    /// `apiary reparse`: its own output folder.
    Reparse,
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

impl NewDeadLetter {
    /// A letter of `stream` at `stage`, with no payload.
    pub fn new(stream: &str, stage: Stage, error: impl Into<String>, attempts: u32) -> NewDeadLetter {
        NewDeadLetter {
            stream: stream.to_string(),
            stage,
            error: error.into(),
            attempts,
            request: None,
            exchange: None,
            payload: None,
        }
    }

    /// The same letter, about `request`.
    pub fn about(mut self, request: Option<Request>) -> NewDeadLetter {
        self.request = request;
        self
    }

    /// The same letter, linked to the stored exchange `exchange`.
    pub fn linked(mut self, exchange: Option<ExchangeId>) -> NewDeadLetter {
        self.exchange = exchange;
        self
    }

    /// The same letter, holding a rejected record.
    pub fn holding(mut self, payload: String) -> NewDeadLetter {
        self.payload = Some(payload);
        self
    }
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
    /// The output it belongs to.
    #[serde(default)]
    pub origin: LetterOrigin,
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

    /// The same failure met again: the latest error, attempts added up, the time seen.
    pub(super) fn seen_again(&mut self, again: NewDeadLetter, now: u64) {
        self.stage = again.stage;
        self.error = again.error;
        self.attempts += again.attempts;
        self.last_seen_ms = now;
        self.request = again.request.or(self.request.take());
        self.exchange = again.exchange.or(self.exchange);
    }
}

/// Store a new letter of `context`'s run; returns its id.
pub(super) fn insert_letter(
    write: &WriteTransaction,
    context: &RunContext,
    new: NewDeadLetter,
    origin: LetterOrigin,
    now: u64,
) -> Result<DeadLetterId, StoreError> {
    let id = DeadLetterId(tables::next_id(&write.open_table(DEAD_LETTERS).map_err(db_error)?)?);
    let letter = DeadLetter {
        id,
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
        origin,
    };
    put_letter(write, &letter)?;
    Ok(id)
}

/// Write `letter` under its id.
pub(super) fn put_letter(write: &WriteTransaction, letter: &DeadLetter) -> Result<(), StoreError> {
    tables::put_json(write, DEAD_LETTERS, letter.id.0, letter)
}

impl Store {
    /// Add letters of `context`'s run that belong to `origin`'s output, in one transaction.
    /// Live letters tied to a request are indexed, so a later completion of it settles them;
    /// a re-parse's letters are not (they belong to its own output).
    pub fn add_dead_letters(
        &self,
        context: &RunContext,
        origin: LetterOrigin,
        letters: Vec<NewDeadLetter>,
    ) -> Result<(), StoreError> {
        let write = self.write()?;
        match origin {
            LetterOrigin::Live => {
                add_indexed(&write, context, letters)?;
            }
            LetterOrigin::Reparse => {
                let now = now_ms();
                for new in letters {
                    insert_letter(&write, context, new, LetterOrigin::Reparse, now)?;
                }
            }
        }
        write.commit().map_err(db_error)
    }

    /// The dead letter `id`.
    pub fn dead_letter(&self, id: DeadLetterId) -> Result<DeadLetter, StoreError> {
        let read = self.read()?;
        let table = read.open_table(DEAD_LETTERS).map_err(db_error)?;
        tables::get_json(&table, DEAD_LETTERS, id.0)?.ok_or(StoreError::NotFound { what: "dead letter", id: id.0 })
    }

    /// Mark dead letters resolved by `run` (they are kept, never silently deleted).
    pub fn resolve_dead_letters(&self, ids: &[DeadLetterId], run: RunId) -> Result<(), StoreError> {
        let letters = ids.iter().map(|id| self.dead_letter(*id)).collect::<Result<Vec<_>, _>>()?;
        let write = self.write()?;
        for mut letter in letters {
            letter.resolved_by = Some(run);
            letter.last_seen_ms = now_ms();
            put_letter(&write, &letter)?;
            if let Some(key) = RequestKey::of_letter(&letter) {
                unindex(&write, &letter.pipeline, &key, letter.id)?;
            }
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
        let doomed = self.dead_letters(|l| keep(l) && (everything || l.resolved_by.is_some()))?;
        let write = self.write()?;
        {
            let mut table = write.open_table(DEAD_LETTERS).map_err(db_error)?;
            for letter in &doomed {
                table.remove(letter.id.0).map_err(db_error)?;
            }
        }
        for letter in &doomed {
            if let Some(key) = RequestKey::of_letter(letter) {
                unindex(&write, &letter.pipeline, &key, letter.id)?;
            }
        }
        write.commit().map_err(db_error)?;
        Ok(doomed.len())
    }

    /// Every dead letter that `keep` accepts, oldest first.
    pub fn dead_letters(&self, keep: impl Fn(&DeadLetter) -> bool) -> Result<Vec<DeadLetter>, StoreError> {
        tables::list_json(&self.read()?, DEAD_LETTERS, keep)
    }
}
