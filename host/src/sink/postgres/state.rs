//! What the database keeps beside the rows so that any worker can carry a pipeline on: each
//! stream's checkpoint, committed in the same transaction as the records it covers, and the
//! highest fencing token a worker has written with, so a worker whose lease was taken over
//! cannot write after the one that took it.

use tokio_postgres::Client;

use super::columns::ident;

/// The checkpoints table: (pipeline, stream) -> the connector's checkpoint.
pub const CHECKPOINTS: &str = "_apiary_checkpoints";

/// The fences table: pipeline -> the highest fencing token seen.
pub const FENCES: &str = "_apiary_fences";

/// A writer's fencing token for a pipeline.
#[derive(Debug, Clone, Copy)]
pub struct FenceToken<'a> {
    /// The pipeline.
    pub pipeline: &'a str,
    /// The token of the writer's lease.
    pub token: i64,
}

/// Create both tables in `schema` if they are missing.
pub async fn ensure(client: &Client, schema: &str) -> Result<(), tokio_postgres::Error> {
    let schema = ident(schema);
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.{CHECKPOINTS} (pipeline text NOT NULL, stream text NOT NULL, \
             checkpoint text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, stream)); \
             CREATE TABLE IF NOT EXISTS {schema}.{FENCES} (pipeline text PRIMARY KEY, token bigint NOT NULL, \
             updated_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await
}

/// Inside a batch's transaction: raise the pipeline's fence to `fence.token`; `false` when a
/// newer token is there already (this writer's lease was taken over: it must not write).
pub async fn pass_fence(client: &Client, schema: &str, fence: FenceToken<'_>) -> Result<bool, tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO {schema}.{FENCES} AS f (pipeline, token) VALUES ($1, $2) ON CONFLICT (pipeline) DO UPDATE \
         SET token = EXCLUDED.token, updated_at = now() WHERE f.token <= EXCLUDED.token RETURNING token",
        schema = ident(schema)
    );
    Ok(!client.query(&sql, &[&fence.pipeline, &fence.token]).await?.is_empty())
}

/// Inside a batch's transaction: store the streams' new checkpoints.
pub async fn save_checkpoints(
    client: &Client,
    schema: &str,
    pipeline: &str,
    checkpoints: &[(String, String)],
) -> Result<(), tokio_postgres::Error> {
    if checkpoints.is_empty() {
        return Ok(());
    }
    let (streams, values): (Vec<&str>, Vec<&str>) = checkpoints.iter().map(|(s, v)| (s.as_str(), v.as_str())).unzip();
    let sql = format!(
        "INSERT INTO {schema}.{CHECKPOINTS} (pipeline, stream, checkpoint) SELECT $1, * FROM unnest($2::text[], $3::text[]) \
         ON CONFLICT (pipeline, stream) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = now()",
        schema = ident(schema)
    );
    client.execute(&sql, &[&pipeline, &streams, &values]).await.map(|_| ())
}

/// The checkpoint the database holds for `stream` of `pipeline`.
pub async fn checkpoint(
    client: &Client,
    schema: &str,
    pipeline: &str,
    stream: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let sql = format!("SELECT checkpoint FROM {}.{CHECKPOINTS} WHERE pipeline = $1 AND stream = $2", ident(schema));
    Ok(client.query_opt(&sql, &[&pipeline, &stream]).await?.map(|row| row.get(0)))
}
