//! The raw tables: every exchange, committed before anything parses it.

use serde::{Deserialize, Serialize};

use super::counts::add_counts;
use super::tables::{self, RAW_BODY, RAW_META};
use redb::WriteTransaction;

use super::{Counts, ExchangeId, RunContext, RunId, Store, StoreError, codec, db_error};
use crate::model::{ConnectorIdentity, Exchange, Header, Request, Response};

/// An exchange about to be stored, its id reserved and its body already compressed (so the
/// compression can run beside the parse, off the commit's path).
#[derive(Debug, Clone)]
pub struct ExchangeWrite {
    /// Its id, reserved from the store.
    pub id: ExchangeId,
    /// The request (secrets already redacted) and the response without its body: a queued
    /// write holds only `compressed`.
    pub exchange: Exchange,
    /// The length of the response body as received.
    pub body_bytes: u64,
    /// The response body, zstd-compressed.
    pub compressed: Vec<u8>,
    /// Which attempt this response came from (1 = first try).
    pub attempt: u32,
    /// Which redirect hop of the attempt (0 = the request itself).
    pub hop: u32,
    /// The base URL the request was resolved against (see [`RawMeta::base_url`]).
    pub base_url: Option<String>,
    /// How long the request took, in ms.
    pub duration_ms: u64,
    /// The frontier entry whose page this is, when it is to be parsed: the exchange is marked
    /// unprocessed until [`Store::complete`] says otherwise, so a crash in between parses it
    /// from storage instead of fetching it again. `None` for attempts and hops kept as evidence.
    pub to_parse: Option<super::FrontierId>,
    /// Counts to commit with it (the attempt, the waits before it); the exchange and its bytes
    /// are added when it is stored.
    pub counts: Counts,
    /// Whether the exchange is also queued for the pipeline's archive (in the same transaction).
    pub archiving: super::Archiving,
    /// Whether it answers a request sent ahead that no page asked for (see [`RawMeta::unasked`]).
    pub unasked: bool,
}

impl ExchangeWrite {
    /// `exchange` ready to store in `store`: an id reserved, the body compressed.
    pub fn new(store: &Store, exchange: &Exchange) -> ExchangeWrite {
        ExchangeWrite::compressing(store.reservations().exchange(), exchange)
    }

    /// What storing this exchange adds to its stream's counts: its own counts, one exchange
    /// and its bytes.
    pub fn added_counts(&self) -> Counts {
        let mut counts = self.counts;
        counts.add(&Counts {
            exchanges: 1,
            raw_bytes: self.body_bytes,
            stored_bytes: self.compressed.len() as u64,
            ..Counts::default()
        });
        counts
    }

    /// `exchange` under the reserved id `id`, its body compressed now (read where it is: the
    /// page being parsed meanwhile shares it).
    pub fn compressing(id: ExchangeId, exchange: &Exchange) -> ExchangeWrite {
        let response = &exchange.response;
        ExchangeWrite {
            id,
            exchange: Exchange {
                request: exchange.request.clone(),
                response: Response { status: response.status, headers: response.headers.clone(), body: Vec::new() },
                fetched_at_ms: exchange.fetched_at_ms,
            },
            body_bytes: response.body.len() as u64,
            compressed: codec::compress(&response.body),
            attempt: 1,
            hop: 0,
            base_url: None,
            duration_ms: 0,
            to_parse: None,
            counts: Counts::default(),
            archiving: super::Archiving::Off,
            unasked: false,
        }
    }
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
    /// The base URL the request was resolved against when it was fetched: absolute links in a
    /// stored page that lie under it are made relative again when the page is parsed later (a
    /// resume, a replay), so they follow the base URL in force then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Body length as received.
    pub body_bytes: u64,
    /// Body length as stored (compressed).
    pub stored_bytes: u64,
    /// A request the host sent ahead that no page then asked for (`sync/send_ahead/`): kept
    /// as evidence of the call, never parsed; re-parse skips it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unasked: bool,
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
    /// Store one exchange in a transaction of its own; returns what was stored.
    pub fn put_exchange(&self, context: &RunContext, new: ExchangeWrite) -> Result<RawMeta, StoreError> {
        let write = self.write()?;
        let meta = insert_exchange(&write, context, &new)?;
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

/// Store `new` inside an open write transaction.
pub(super) fn insert_exchange(
    write: &WriteTransaction,
    context: &RunContext,
    new: &ExchangeWrite,
) -> Result<RawMeta, StoreError> {
    let (exchange, id) = (&new.exchange, new.id.0);
    let meta = RawMeta {
        id: new.id,
        run: context.run,
        pipeline: context.pipeline.clone(),
        stream: exchange.request.endpoint.clone(),
        connector: context.connector.clone(),
        request: exchange.request.clone(),
        status: exchange.response.status,
        headers: exchange.response.headers.clone(),
        fetched_at_ms: exchange.fetched_at_ms,
        duration_ms: new.duration_ms,
        attempt: new.attempt,
        hop: new.hop,
        base_url: new.base_url.clone(),
        body_bytes: new.body_bytes,
        stored_bytes: new.compressed.len() as u64,
        unasked: new.unasked,
    };
    tables::put_json(write, RAW_META, id, &meta)?;
    if let Some(entry) = new.to_parse {
        super::sync_state::mark_unprocessed(write, &context.pipeline, id, entry)?;
    }
    write.open_table(RAW_BODY).map_err(db_error)?.insert(id, new.compressed.as_slice()).map_err(db_error)?;
    add_counts(write, context.run, &meta.stream, &new.added_counts())?;
    if new.archiving == super::Archiving::Queue {
        super::archive_queue::enqueue(write, &context.pipeline, id, crate::clock::now_ms())?;
    }
    Ok(meta)
}
