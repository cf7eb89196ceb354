//! The raw tables: every exchange, committed before anything parses it.

use serde::{Deserialize, Serialize};

use super::counts::add_counts;
use super::tables::{self, RAW_BODY, RAW_META};
use super::{Counts, ExchangeId, RunId, Store, StoreError, codec, db_error};
use crate::model::{ConnectorIdentity, Exchange, Header, Request, Response};

/// An exchange about to be stored.
#[derive(Debug, Clone)]
pub struct NewExchange<'a> {
    /// The run, pipeline and connector that fetched it.
    pub context: &'a super::RunContext,
    /// The request (secrets already redacted) and the response.
    pub exchange: &'a Exchange,
    /// Which attempt this response came from (1 = first try).
    pub attempt: u32,
    /// Which redirect hop of the attempt (0 = the request itself).
    pub hop: u32,
    /// How long the request took, in ms.
    pub duration_ms: u64,
    /// The frontier entry whose page this is, when it is to be parsed: the exchange is marked
    /// unprocessed until [`Store::complete`] says otherwise, so a crash in between parses it
    /// from storage instead of fetching it again. `None` for attempts and hops kept as evidence.
    pub to_parse: Option<super::FrontierId>,
    /// Counts to commit with it (the attempt, the waits before it); the exchange and its bytes
    /// are added here.
    pub counts: Counts,
}

/// Everything stored about an exchange except its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawMeta {
    /// The exchange's id.
    pub id: ExchangeId,
    /// The run that fetched it.
    pub run: RunId,
    /// The pipeline.
    pub pipeline: String,
    /// The stream (endpoint) it belongs to.
    pub stream: String,
    /// The connector that asked for it.
    pub connector: ConnectorIdentity,
    /// The request as sent, secrets redacted.
    pub request: Request,
    /// The response status.
    pub status: u16,
    /// The response headers.
    pub headers: Vec<Header>,
    /// When the response arrived (ms since the epoch).
    pub fetched_at_ms: u64,
    /// How long the request took.
    pub duration_ms: u64,
    /// Which attempt this was.
    pub attempt: u32,
    /// Which redirect hop of that attempt (0 = the request itself).
    #[serde(default)]
    pub hop: u32,
    /// Body length as received.
    pub body_bytes: u64,
    /// Body length as stored (compressed).
    pub stored_bytes: u64,
}

impl RawMeta {
    /// What storing this exchange adds to its stream's counts: one exchange and its bytes.
    pub fn counts(&self) -> Counts {
        Counts { exchanges: 1, raw_bytes: self.body_bytes, stored_bytes: self.stored_bytes, ..Counts::default() }
    }
}

/// A stored exchange with its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExchange {
    /// The metadata.
    pub meta: RawMeta,
    /// The response body, decompressed.
    pub body: Vec<u8>,
}

impl RawExchange {
    /// The exchange as `apiary raw show --json` and `serve`'s API show it: `meta`, `body`
    /// decoded as JSON when it is JSON (else as text), and `body_text`, the body byte for byte
    /// (what `apiary test --fixtures` reads). Requests are stored with secrets redacted.
    pub fn export(&self) -> serde_json::Value {
        let body = String::from_utf8_lossy(&self.body).into_owned();
        let decoded = serde_json::from_str::<serde_json::Value>(&body)
            .unwrap_or_else(|_| serde_json::Value::String(body.clone()));
        serde_json::json!({ "meta": self.meta, "body": decoded, "body_text": body })
    }

    /// The exchange exactly as it was fetched, ready to hand to `parse` again.
    pub fn to_exchange(&self) -> Exchange {
        Exchange {
            request: self.meta.request.clone(),
            response: Response {
                status: self.meta.status,
                headers: self.meta.headers.clone(),
                body: self.body.clone(),
            },
            fetched_at_ms: self.meta.fetched_at_ms,
        }
    }
}

impl Store {
    /// Store an exchange and commit it, durably, before anything parses it; returns what was
    /// stored. (Readers in other processes share the file, so every commit is durable: redb
    /// allows no other kind then.)
    pub fn put_exchange(&self, new: NewExchange<'_>) -> Result<RawMeta, StoreError> {
        let body = &new.exchange.response.body;
        let compressed = codec::compress(body);
        let write = self.write()?;
        let id = tables::next_id(&write.open_table(RAW_META).map_err(db_error)?)?;
        let meta = RawMeta {
            id: ExchangeId(id),
            run: new.context.run,
            pipeline: new.context.pipeline.clone(),
            stream: new.exchange.request.endpoint.clone(),
            connector: new.context.connector.clone(),
            request: new.exchange.request.clone(),
            status: new.exchange.response.status,
            headers: new.exchange.response.headers.clone(),
            fetched_at_ms: new.exchange.fetched_at_ms,
            duration_ms: new.duration_ms,
            attempt: new.attempt,
            hop: new.hop,
            body_bytes: body.len() as u64,
            stored_bytes: compressed.len() as u64,
        };
        tables::put_json(&write, RAW_META, id, &meta)?;
        if let Some(entry) = new.to_parse {
            super::sync_state::mark_unprocessed(&write, id, entry)?;
        }
        write.open_table(RAW_BODY).map_err(db_error)?.insert(id, compressed.as_slice()).map_err(db_error)?;
        let mut counts = new.counts;
        counts.add(&meta.counts());
        add_counts(&write, new.context.run, &meta.stream, &counts)?;
        write.commit().map_err(db_error)?;
        Ok(meta)
    }

    /// The stored exchange `id`, with its body.
    pub fn raw(&self, id: ExchangeId) -> Result<RawExchange, StoreError> {
        let read = self.read()?;
        let not_found = StoreError::NotFound { what: "raw exchange", id: id.0 };
        let metas = read.open_table(RAW_META).map_err(db_error)?;
        let meta: RawMeta = tables::get_json(&metas, RAW_META, id.0)?.ok_or(not_found)?;
        let bodies = read.open_table(RAW_BODY).map_err(db_error)?;
        let stored = bodies.get(id.0).map_err(db_error)?;
        let body = match stored {
            Some(bytes) => codec::decompress(bytes.value(), meta.body_bytes as usize)?,
            None => {
                return Err(StoreError::NotFound { what: "raw body", id: id.0 });
            }
        };
        Ok(RawExchange { meta, body })
    }

    /// The metadata of every stored exchange that `keep` accepts, oldest first.
    pub fn raw_list(&self, keep: impl Fn(&RawMeta) -> bool) -> Result<Vec<RawMeta>, StoreError> {
        tables::list_json(&self.read()?, RAW_META, keep)
    }
}
