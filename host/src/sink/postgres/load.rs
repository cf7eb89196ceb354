//! One batch into the database, in one transaction: the pages not loaded before are claimed in
//! the loads table, their tables made ready, their records copied (binary `COPY`) into a
//! temporary staging table, and each stream's rows upserted from it with one statement (newest
//! fetch wins per key). `COMMIT` makes rows and claims durable together; any error rolls back
//! both, so no page is ever half loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::columns::{self, ident};
use super::ddl::{self, Columns, Conflict, LOADS, META};
use super::state::{self, FenceToken};
use crate::schema::{Contract, StreamSchema};
use crate::sink::StreamSpecs;

/// The temporary table records are staged in (one per connection, emptied at each commit).
pub const STAGE: &str = "_apiary_stage";

/// The staging table's definition.
pub const STAGE_SQL: &str = "CREATE TEMP TABLE IF NOT EXISTS _apiary_stage (stream text, seq bigint, run bigint, \
                             exchange bigint, fetched_at timestamptz, record text) ON COMMIT DELETE ROWS";

/// One page waiting for the next flush.
pub struct Pending {
    /// Its identity in the loads table (`None`: not recognisable, always loaded).
    pub id: Option<String>,
    /// Its stream.
    pub stream: String,
    /// The run and exchange it came from, and when that was fetched.
    pub run: i64,
    /// The stored exchange.
    pub exchange: Option<i64>,
    /// When the exchange was fetched.
    pub fetched_at: SystemTime,
    /// The records' JSON, as the connector wrote it.
    pub records: Vec<String>,
}

/// The connector version and API version stamped on every row.
pub struct Versions<'a> {
    /// The connector's version.
    pub connector: &'a str,
    /// The API version it speaks.
    pub api: &'a str,
}

/// One batch to load: the schema it goes in, what each stream is, its pages, and the versions
/// its rows are stamped with.
pub struct Batch<'a> {
    /// The schema.
    pub schema: &'a str,
    /// Each stream's key, contract and baseline.
    pub specs: &'a StreamSpecs,
    /// The pages, in order.
    pub pending: &'a [Pending],
    /// The connector's and API's versions.
    pub versions: Versions<'a>,
    /// The pipeline the rows belong to (its checkpoints and fence are kept under its name).
    pub pipeline: &'a str,
    /// The streams' checkpoints after these pages, stored in the same transaction.
    pub checkpoints: &'a [(String, String)],
    /// The writer's fencing token, when it holds a lease.
    pub fence: Option<i64>,
}

/// A batch could not be loaded (and nothing of it was).
#[derive(Debug)]
pub enum LoadError {
    /// The database refused or failed.
    Database(tokio_postgres::Error),
    /// A table's existing column cannot hold the stream's field.
    Conflict { table: String, conflict: Conflict },
    /// A key field has no typed value to make a key column of.
    UntypedKey { stream: String, field: String },
    /// A record is not JSON (cannot happen after acceptance; kept as an error, not a panic).
    Json { stream: String },
    /// A newer lease than the writer's has written to the pipeline: the writer was taken over.
    Fenced { pipeline: String, token: i64 },
}

impl From<tokio_postgres::Error> for LoadError {
    fn from(e: tokio_postgres::Error) -> LoadError {
        LoadError::Database(e)
    }
}

/// Load `batch` in one transaction; `tables` caches each stream's columns and is cleared when
/// the transaction fails (its DDL was rolled back too). Returns the rows staged.
pub async fn batch(
    client: &Client,
    batch: &Batch<'_>,
    tables: &mut BTreeMap<String, Columns>,
) -> Result<u64, LoadError> {
    client.batch_execute("BEGIN").await?;
    match load(client, batch, tables).await {
        Ok(rows) => {
            client.batch_execute("COMMIT").await.inspect_err(|_| tables.clear())?;
            Ok(rows)
        }
        Err(e) => {
            tables.clear();
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn load(client: &Client, batch: &Batch<'_>, tables: &mut BTreeMap<String, Columns>) -> Result<u64, LoadError> {
    let Batch { schema, specs, pending, versions, pipeline, checkpoints, fence } = batch;
    if let Some(token) = *fence
        && !state::pass_fence(client, schema, FenceToken { pipeline, token }).await?
    {
        return Err(LoadError::Fenced { pipeline: pipeline.to_string(), token });
    }
    state::save_checkpoints(client, schema, pipeline, checkpoints).await?;
    let fresh = claim(client, schema, pending).await?;
    let pages: Vec<&Pending> = pending.iter().zip(&fresh).filter(|(_, f)| **f).map(|(p, _)| p).collect();
    let streams: BTreeSet<&str> = pages.iter().map(|p| p.stream.as_str()).collect();
    for stream in &streams {
        let records: Vec<&str> =
            pages.iter().filter(|p| p.stream == *stream).flat_map(|p| p.records.iter().map(String::as_str)).collect();
        prepare_table(client, schema, specs, tables, stream, &records).await?;
    }
    let rows = stage(client, &pages).await?;
    for stream in streams {
        let key = specs.get(stream).map_or(&[][..], |s| s.primary_key.as_slice());
        let table = format!("{}.{}", ident(schema), ident(stream));
        let sql = upsert_sql(&table, &tables[stream], key);
        client.execute(&sql, &[&stream, &versions.connector, &versions.api]).await?;
    }
    Ok(rows)
}

/// Record every recognisable page of `pending` in the loads table; whether each is new
/// (a page already there was loaded by an earlier, uncommitted-in-the-store attempt).
async fn claim(client: &Client, schema: &str, pending: &[Pending]) -> Result<Vec<bool>, tokio_postgres::Error> {
    let ids: Vec<&str> = pending.iter().filter_map(|p| p.id.as_deref()).collect();
    let known = pending.iter().filter(|p| p.id.is_some());
    let runs: Vec<i64> = known.clone().map(|p| p.run).collect();
    let streams: Vec<&str> = known.clone().map(|p| p.stream.as_str()).collect();
    let exchanges: Vec<Option<i64>> = known.clone().map(|p| p.exchange).collect();
    let counts: Vec<i64> = known.map(|p| p.records.len() as i64).collect();
    let sql = format!(
        "INSERT INTO {}.{LOADS} (page, run, stream, exchange, records) \
         SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[]) \
         ON CONFLICT (page) DO NOTHING RETURNING page",
        ident(schema)
    );
    let rows = client.query(&sql, &[&ids, &runs, &streams, &exchanges, &counts]).await?;
    let claimed: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
    Ok(pending.iter().map(|p| p.id.as_ref().is_none_or(|id| claimed.contains(id))).collect())
}

/// Make `stream`'s table ready for `records`: created from the stream's baseline and the
/// records' schema, or evolved (unless frozen with a baseline to keep to).
async fn prepare_table(
    client: &Client,
    schema: &str,
    specs: &StreamSpecs,
    tables: &mut BTreeMap<String, Columns>,
    stream: &str,
    records: &[&str],
) -> Result<(), LoadError> {
    let spec = specs.get(stream).cloned().unwrap_or_default();
    let existing = match tables.remove(stream) {
        Some(columns) => Some(columns),
        None => ddl::columns(client, schema, stream).await?,
    };
    let mut shape =
        StreamSchema::infer(records.iter().copied()).map_err(|_| LoadError::Json { stream: stream.to_string() })?;
    if let Some(baseline) = spec.baseline.as_ref().filter(|_| existing.is_none()) {
        shape.merge(baseline);
    }
    let needed = columns::plan(&shape, &columns::TopLevel::of(records.iter().copied()));
    let untyped_key = spec.primary_key.iter().find(|k| !needed.contains_key(*k));
    if let (None, Some(field)) = (&existing, untyped_key) {
        return Err(LoadError::UntypedKey { stream: stream.to_string(), field: field.clone() });
    }
    let may_alter = spec.contract == Contract::Evolve || spec.baseline.is_none();
    let table = format!("{}.{}", ident(schema), ident(stream));
    let changes = ddl::changes(existing.as_ref(), &needed, may_alter)
        .map_err(|conflict| LoadError::Conflict { table: format!("{schema}.{stream}"), conflict })?;
    for change in &changes {
        client.batch_execute(&ddl::sql(&table, &spec.primary_key, change)).await?;
    }
    tables.insert(stream.to_string(), ddl::apply(existing, &changes));
    Ok(())
}

/// Copy every record of `pages` into the staging table, numbered in order; the count.
async fn stage(client: &Client, pages: &[&Pending]) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in(&format!("COPY {STAGE} FROM STDIN (FORMAT binary)")).await?;
    let types = [Type::TEXT, Type::INT8, Type::INT8, Type::INT8, Type::TIMESTAMPTZ, Type::TEXT];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    let mut seq: i64 = 0;
    for page in pages {
        for record in &page.records {
            seq += 1;
            let row: [&(dyn ToSql + Sync); 6] =
                [&page.stream, &seq, &page.run, &page.exchange, &page.fetched_at, record];
            writer.as_mut().write(&row).await?;
        }
    }
    writer.finish().await
}

/// The statement moving one stream's staged rows (`$1`) into `table`, stamped with the
/// connector (`$2`) and API (`$3`) versions: upserted by `key`, the newest fetch winning (the
/// last staged among equals), or appended when the stream has no key.
pub fn upsert_sql(table: &str, columns: &Columns, key: &[String]) -> String {
    let meta: BTreeSet<&str> = META.iter().map(|(n, _)| *n).collect();
    let record: Vec<(&String, &String)> = columns.iter().filter(|(n, _)| !meta.contains(n.as_str())).collect();
    let mut names: Vec<String> = record.iter().map(|(n, _)| ident(n)).collect();
    names.extend(META.iter().map(|(n, _)| n.to_string()));
    let mut exprs: Vec<String> =
        record.iter().map(|(n, t)| format!("{} AS {}", columns::extract(n, t), ident(n))).collect();
    exprs.push("r.run AS _apiary_run, r.exchange AS _apiary_exchange, r.fetched_at AS _apiary_fetched_at".into());
    exprs.push("$2::text AS _apiary_connector_version, $3::text AS _apiary_api_version, r.seq AS _apiary_seq".into());
    let source = format!("SELECT s.*, s.record::jsonb AS j FROM {STAGE} s WHERE s.stream = $1");
    let rows = format!("SELECT {} FROM ({source}) r", exprs.join(", "));
    let list = names.join(", ");
    if key.is_empty() {
        return format!("INSERT INTO {table} ({list}) SELECT {list} FROM ({rows}) x ORDER BY _apiary_seq");
    }
    let keys: Vec<String> = key.iter().map(|k| ident(k)).collect();
    let keys = keys.join(", ");
    let updates: Vec<String> =
        names.iter().filter(|n| !key.iter().any(|k| ident(k) == **n)).map(|n| format!("{n} = EXCLUDED.{n}")).collect();
    format!(
        "INSERT INTO {table} AS t ({list}) SELECT {list} FROM (SELECT DISTINCT ON ({keys}) * FROM ({rows}) x \
         ORDER BY {keys}, _apiary_fetched_at DESC, _apiary_seq DESC) y ON CONFLICT ({keys}) DO UPDATE SET {} \
         WHERE t._apiary_fetched_at IS NULL OR t._apiary_fetched_at <= EXCLUDED._apiary_fetched_at",
        updates.join(", ")
    )
}
