//! The raw tables: every exchange, committed before anything parses it.

use serde::{Deserialize, Serialize};

use super::tables::{self, RAW_BODY, RAW_META};
use super::{ExchangeId, RunId, Store, StoreError, codec, db_error};
use crate::runtime::{ConnectorIdentity, Exchange, Header, Request, Response};

/// An exchange about to be stored.
#[derive(Debug, Clone)]
pub struct NewExchange<'a> {
    /// The run, pipeline and connector that fetched it.
    pub context: &'a super::RunContext,
    /// The request (secrets already redacted) and the response.
    pub exchange: &'a Exchange,
    /// Which attempt this response came from (1 = first try).
    pub attempt: u32,
    /// How long the request took, in ms.
    pub duration_ms: u64,
    /// The frontier entry it answers: the exchange is marked unprocessed until
    /// [`Store::complete`] says otherwise.
    pub entry: Option<super::FrontierId>,
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
    /// Body length as received.
    pub body_bytes: u64,
    /// Body length as stored (compressed).
    pub stored_bytes: u64,
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
    /// Store an exchange and commit it; returns what was stored. It is visible at once; it is
    /// durable at once unless it answers a frontier entry (see the comment inside).
    pub fn put_exchange(&self, new: NewExchange<'_>) -> Result<RawMeta, StoreError> {
        let body = &new.exchange.response.body;
        let compressed = codec::compress(body);
        let mut write = self.db().begin_write().map_err(db_error)?;
        if new.entry.is_some() {
            // Part of a sync: the commit that processes this exchange follows and is durable,
            // and makes this one durable with it. A crash before it loses both (the page is
            // fetched again, like any request in flight), so one fsync per page is saved.
            write.set_durability(redb::Durability::None);
        }
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
            body_bytes: body.len() as u64,
            stored_bytes: compressed.len() as u64,
        };
        tables::put_json(&write, RAW_META, id, &meta)?;
        if let Some(entry) = new.entry {
            super::sync_state::mark_unprocessed(&write, id, entry)?;
        }
        write.open_table(RAW_BODY).map_err(db_error)?.insert(id, compressed.as_slice()).map_err(db_error)?;
        write.commit().map_err(db_error)?;
        Ok(meta)
    }

    /// The stored exchange `id`, with its body.
    pub fn raw(&self, id: ExchangeId) -> Result<RawExchange, StoreError> {
        let read = self.db().begin_read().map_err(db_error)?;
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
        tables::list_json(self.db(), RAW_META, keep)
    }
}
