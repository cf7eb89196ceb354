//! One open dead letter per failing request, one per rejected record: when a request is
//! processed again (a later run, a replay, a resumed run), its earlier open letters are settled
//! in the same transaction as the new outcome. A letter for the same failure is updated (seen
//! again), a rejected record still rejected keeps its letter, and everything the new outcome
//! no longer fails is resolved, so a later `dlq replay` never writes a page twice.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dead_letters::{DeadLetter, LetterOrigin, NewDeadLetter, Stage, insert_letter, put_letter};
use super::tables::{DEAD_LETTERS, LETTER_INDEX};
use super::{DeadLetterId, RunContext, Store, StoreError, db_error, tables};
use crate::clock::now_ms;
use crate::model::Request;

/// What identifies a request across runs: its endpoint, method, URL (as stored: relative to the
/// base URL when under it) and body, hashed; or the start of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestKey(String);

impl RequestKey {
    /// The key of `request`.
    pub fn of(request: &Request) -> RequestKey {
        let mut hash = Sha256::new();
        for part in [request.endpoint.as_bytes(), request.method.as_str().as_bytes(), request.url.as_bytes()] {
            hash.update(part);
            hash.update([0]);
        }
        hash.update(request.body.as_deref().unwrap_or_default());
        RequestKey(hex::encode(&hash.finalize()[..16]))
    }

    /// The key of a stream's `start` call (a letter when it fails).
    pub fn start_of(stream: &str) -> RequestKey {
        RequestKey(format!("start:{stream}"))
    }

    /// The key of a letter, if it is tied to a request (re-parse letters never are).
    pub fn of_letter(letter: &DeadLetter) -> Option<RequestKey> {
        if letter.origin == LetterOrigin::Reparse {
            return None;
        }
        Self::of_parts(&letter.request, letter.stage, letter.exchange.is_some(), &letter.stream)
    }

    /// The key a new live letter is indexed under.
    pub fn of_new(letter: &NewDeadLetter) -> Option<RequestKey> {
        Self::of_parts(&letter.request, letter.stage, letter.exchange.is_some(), &letter.stream)
    }

    /// A letter's request, or a failed `start` (a parse letter with neither request nor exchange).
    fn of_parts(request: &Option<Request>, stage: Stage, has_exchange: bool, stream: &str) -> Option<RequestKey> {
        match request {
            Some(request) => Some(RequestKey::of(request)),
            None if stage == Stage::Parse && !has_exchange => Some(RequestKey::start_of(stream)),
            None => None,
        }
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

/// Settle the open letters of request `key` now that `context.run` processed it, adding
/// `letters` (its new outcome's failures). Returns how many letters were added or seen again.
pub(super) fn settle(
    write: &WriteTransaction,
    context: &RunContext,
    key: &RequestKey,
    letters: Vec<NewDeadLetter>,
) -> Result<u64, StoreError> {
    let mut open = open_letters(write, &context.pipeline, key)?;
    let mut kept: Vec<DeadLetterId> = Vec::new();
    let now = now_ms();
    let count = letters.len() as u64;
    for new in letters {
        let same = |l: &&DeadLetter| match new.stage {
            Stage::Record => l.stage == Stage::Record && l.payload == new.payload,
            _ => l.stage != Stage::Record,
        };
        match open.iter_mut().find(|l| !kept.contains(&l.id) && same(&&**l)) {
            Some(letter) => {
                letter.seen_again(new, now);
                put_letter(write, letter)?;
                kept.push(letter.id);
            }
            None => {
                let id = insert_letter(write, context, new, LetterOrigin::Live, now)?;
                index(write, &context.pipeline, key, id)?;
            }
        }
    }
    for letter in open.iter_mut().filter(|l| !kept.contains(&l.id)) {
        letter.resolved_by = Some(context.run);
        letter.last_seen_ms = now;
        put_letter(write, letter)?;
        unindex(write, &context.pipeline, key, letter.id)?;
    }
    Ok(count)
}

/// Add `letters` without settling anything, each indexed under its own request's key.
pub(super) fn add_indexed(
    write: &WriteTransaction,
    context: &RunContext,
    letters: Vec<NewDeadLetter>,
) -> Result<u64, StoreError> {
    let count = letters.len() as u64;
    let now = now_ms();
    for new in letters {
        let key = RequestKey::of_new(&new);
        let id = insert_letter(write, context, new, LetterOrigin::Live, now)?;
        if let Some(key) = key {
            index(write, &context.pipeline, &key, id)?;
        }
    }
    Ok(count)
}

/// The open letters indexed under `key`.
fn open_letters(write: &WriteTransaction, pipeline: &str, key: &RequestKey) -> Result<Vec<DeadLetter>, StoreError> {
    let index = write.open_table(LETTER_INDEX).map_err(db_error)?;
    let letters = write.open_table(DEAD_LETTERS).map_err(db_error)?;
    let mut found = Vec::new();
    for row in index.range((pipeline, key.as_str(), 0)..=(pipeline, key.as_str(), u64::MAX)).map_err(db_error)? {
        let (k, _) = row.map_err(db_error)?;
        let id = k.value().2;
        if let Some(letter) = tables::get_json::<DeadLetter>(&letters, DEAD_LETTERS, id)?
            && letter.resolved_by.is_none()
        {
            found.push(letter);
        }
    }
    Ok(found)
}

/// Index letter `id` under `key`.
pub(super) fn index(
    write: &WriteTransaction,
    pipeline: &str,
    key: &RequestKey,
    id: DeadLetterId,
) -> Result<(), StoreError> {
    write.open_table(LETTER_INDEX).map_err(db_error)?.insert((pipeline, key.as_str(), id.0), ()).map_err(db_error)?;
    Ok(())
}

/// Remove letter `id` from the index.
pub(super) fn unindex(
    write: &WriteTransaction,
    pipeline: &str,
    key: &RequestKey,
    id: DeadLetterId,
) -> Result<(), StoreError> {
    write.open_table(LETTER_INDEX).map_err(db_error)?.remove((pipeline, key.as_str(), id.0)).map_err(db_error)?;
    Ok(())
}

impl Store {
    /// Index every open letter from scratch (after an upgrade from a format without an index).
    /// Record letters of format 1 did not keep their request: it is taken from their exchange.
    pub fn rebuild_letter_index(&self) -> Result<(), StoreError> {
        let mut letters = self.dead_letters(|l| l.resolved_by.is_none())?;
        for letter in letters.iter_mut().filter(|l| l.request.is_none() && l.stage == Stage::Record) {
            if let Some(exchange) = letter.exchange {
                letter.request = Some(self.raw(exchange)?.meta.request);
            }
        }
        let write = self.write()?;
        write.open_table(LETTER_INDEX).map_err(db_error)?.retain(|_, _| false).map_err(db_error)?;
        for letter in &letters {
            put_letter(&write, letter)?;
            if let Some(key) = RequestKey::of_letter(letter) {
                index(&write, &letter.pipeline, &key, letter.id)?;
            }
        }
        write.commit().map_err(db_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Method;

    #[test]
    fn keys_tell_requests_apart_by_endpoint_method_url_and_body() {
        let get = |url: &str| Request {
            endpoint: "issues".into(),
            method: Method::Get,
            url: url.into(),
            headers: vec![],
            body: None,
        };
        assert_eq!(RequestKey::of(&get("/a?page=2")), RequestKey::of(&get("/a?page=2")));
        assert_ne!(RequestKey::of(&get("/a?page=2")), RequestKey::of(&get("/a?page=3")));
        let mut labels = get("/a?page=2");
        labels.endpoint = "labels".into();
        assert_ne!(RequestKey::of(&labels), RequestKey::of(&get("/a?page=2")));
        let mut post = get("/a?page=2");
        post.body = Some(b"{}".to_vec());
        assert_ne!(RequestKey::of(&post), RequestKey::of(&get("/a?page=2")));
    }
}
