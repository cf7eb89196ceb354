//! Stream schemas: the one each (pipeline, stream) keeps to, and what each run observed,
//! tagged with the connector and API version, so schemas can be compared by run or by version.

use std::fmt;
use std::str::FromStr;

use redb::{ReadableTable, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};

use super::tables::{ACCEPTED_SCHEMAS, OBSERVED_SCHEMAS};
use super::{RunContext, RunId, Store, StoreError, codec, db_error};
use crate::clock::now_ms;
use crate::schema::{Drift, Observation, StreamSchema};

/// Where an accepted schema came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaSource {
    /// Inferred from a run's records (the first run of a stream).
    Inferred,
    /// Declared by the connector's endpoint.
    Declared,
    /// Taken by a user from what a run observed (`schema accept`).
    Accepted,
}

/// The schema a stream keeps to: the baseline for drift and contracts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedSchema {
    /// The pipeline.
    pub pipeline: String,
    /// The stream.
    pub stream: String,
    /// Where it came from.
    pub source: SchemaSource,
    /// The run whose observation it is, if any.
    pub from_run: Option<RunId>,
    /// When it was set (ms since the epoch).
    pub accepted_at_ms: u64,
    /// The schema.
    pub schema: StreamSchema,
}

/// What one run saw of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedSchema {
    /// The pipeline.
    pub pipeline: String,
    /// The stream.
    pub stream: String,
    /// The run.
    pub run: RunId,
    /// The connector's name.
    pub connector: String,
    /// The connector's version.
    pub connector_version: String,
    /// The API version the connector spoke.
    pub api_version: String,
    /// When it was last recorded (ms since the epoch).
    pub observed_at_ms: u64,
    /// The schema of the run's records.
    pub schema: StreamSchema,
    /// How it differed from the accepted schema of the time.
    pub drift: Drift,
}

/// A point to read a schema at: one run, or an API version (every run that spoke it, merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaPoint {
    /// One run.
    Run(RunId),
    /// Every run with this API version.
    ApiVersion(String),
}

/// `run:12` or `api:2022-11-28`; bare digits are a run, anything else an API version.
impl FromStr for SchemaPoint {
    type Err = String;

    fn from_str(s: &str) -> Result<SchemaPoint, String> {
        let run = |digits: &str| digits.parse().map(|id| SchemaPoint::Run(RunId(id)));
        if let Some(digits) = s.strip_prefix("run:") {
            return run(digits).map_err(|_| format!("{s:?} is not a run: write run:NUMBER, e.g. run:12"));
        }
        let version = s.strip_prefix("api:").unwrap_or(s);
        if version.is_empty() {
            return Err("an empty schema point: write a run number or an API version".into());
        }
        Ok(run(s).unwrap_or_else(|_| SchemaPoint::ApiVersion(version.to_string())))
    }
}

impl fmt::Display for SchemaPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaPoint::Run(id) => write!(f, "run {id}"),
            SchemaPoint::ApiVersion(v) => write!(f, "API version {v}"),
        }
    }
}

impl Store {
    /// Make `schema` the one `stream` of `pipeline` keeps to, replacing any before it.
    pub fn set_accepted_schema(
        &self,
        pipeline: &str,
        stream: &str,
        source: SchemaSource,
        schema: &StreamSchema,
        from_run: Option<RunId>,
    ) -> Result<AcceptedSchema, StoreError> {
        let accepted = AcceptedSchema {
            pipeline: pipeline.to_string(),
            stream: stream.to_string(),
            source,
            from_run,
            accepted_at_ms: now_ms(),
            schema: schema.clone(),
        };
        let write = self.write()?;
        {
            let mut table = write.open_table(ACCEPTED_SCHEMAS).map_err(db_error)?;
            table.insert((pipeline, stream), codec::to_json(&accepted).as_slice()).map_err(db_error)?;
        }
        write.commit().map_err(db_error)?;
        Ok(accepted)
    }

    /// The schema `stream` of `pipeline` keeps to, if it has one yet.
    pub fn accepted_schema(&self, pipeline: &str, stream: &str) -> Result<Option<AcceptedSchema>, StoreError> {
        let found = self.read_rows(ACCEPTED_SCHEMAS, |k| k == (pipeline, stream))?;
        Ok(found.into_iter().next())
    }

    /// The accepted schema of every stream of `pipeline`, by stream name.
    pub fn accepted_schemas(&self, pipeline: &str) -> Result<Vec<AcceptedSchema>, StoreError> {
        self.read_rows(ACCEPTED_SCHEMAS, |(p, _)| p == pipeline)
    }

    /// Record what the run in `context` observed of `stream`. Recording the same run and stream
    /// again adds to it (schemas merged, drift counts added).
    pub fn record_observed_schema(
        &self,
        context: &RunContext,
        stream: &str,
        observation: &Observation,
    ) -> Result<ObservedSchema, StoreError> {
        let key = (context.pipeline.as_str(), stream, context.run.0);
        let write = self.write()?;
        let record = {
            let mut table = write.open_table(OBSERVED_SCHEMAS).map_err(db_error)?;
            let mut record: ObservedSchema = match table.get(key).map_err(db_error)? {
                Some(v) => codec::from_json(OBSERVED_SCHEMAS.name(), v.value())?,
                None => ObservedSchema {
                    pipeline: context.pipeline.clone(),
                    stream: stream.to_string(),
                    run: context.run,
                    connector: context.connector.name.clone(),
                    connector_version: context.connector.version.clone(),
                    api_version: context.connector.api_version.clone(),
                    observed_at_ms: 0,
                    schema: StreamSchema::default(),
                    drift: Drift::default(),
                },
            };
            record.schema.merge(&observation.schema);
            record.drift.absorb(&observation.drift);
            record.observed_at_ms = now_ms();
            table.insert(key, codec::to_json(&record).as_slice()).map_err(db_error)?;
            record
        };
        write.commit().map_err(db_error)?;
        Ok(record)
    }

    /// What the runs of `pipeline` observed, of one stream or of all, by stream then run.
    pub fn observed_schemas(&self, pipeline: &str, stream: Option<&str>) -> Result<Vec<ObservedSchema>, StoreError> {
        self.read_rows(OBSERVED_SCHEMAS, |(p, s, _)| p == pipeline && stream.is_none_or(|want| want == s))
    }

    /// The schema `stream` of `pipeline` had at `point`: one run's observation, or the merge of
    /// every run with that API version. `None` when nothing was recorded there.
    pub fn schema_at(
        &self,
        pipeline: &str,
        stream: &str,
        point: &SchemaPoint,
    ) -> Result<Option<StreamSchema>, StoreError> {
        let rows = self.observed_schemas(pipeline, Some(stream))?;
        let mut matching = rows.iter().filter(|o| match point {
            SchemaPoint::Run(run) => o.run == *run,
            SchemaPoint::ApiVersion(v) => o.api_version == *v,
        });
        let mut merged = match matching.next() {
            Some(first) => first.schema.clone(),
            None => return Ok(None),
        };
        matching.for_each(|o| merged.merge(&o.schema));
        Ok(Some(merged))
    }

    /// How `stream` of `pipeline` changed from `from` to `to` (what `schema diff` prints).
    pub fn schema_diff(
        &self,
        pipeline: &str,
        stream: &str,
        from: &SchemaPoint,
        to: &SchemaPoint,
    ) -> Result<Drift, StoreError> {
        let at = |point: &SchemaPoint| {
            self.schema_at(pipeline, stream, point)?.ok_or_else(|| StoreError::NoSchema {
                pipeline: pipeline.to_string(),
                stream: stream.to_string(),
                at: point.to_string(),
            })
        };
        Ok(Drift::between(&at(from)?, &at(to)?))
    }

    /// The API versions the runs of `pipeline` observed `stream` with, oldest first.
    pub fn schema_api_versions(&self, pipeline: &str, stream: &str) -> Result<Vec<String>, StoreError> {
        let mut versions: Vec<String> = Vec::new();
        for observed in self.observed_schemas(pipeline, Some(stream))? {
            if !versions.contains(&observed.api_version) {
                versions.push(observed.api_version);
            }
        }
        Ok(versions)
    }

    /// Every value of a JSON table whose key `keep` accepts, in key order. A database written
    /// before the table existed has none.
    fn read_rows<K, T>(
        &self,
        table: TableDefinition<'static, K, &'static [u8]>,
        keep: impl Fn(K::SelfType<'_>) -> bool,
    ) -> Result<Vec<T>, StoreError>
    where
        K: redb::Key + 'static,
        T: serde::de::DeserializeOwned,
    {
        let read = self.read()?;
        let opened = match read.open_table(table) {
            Ok(opened) => opened,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db_error(e)),
        };
        let mut out = Vec::new();
        for row in opened.iter().map_err(db_error)? {
            let (k, v) = row.map_err(db_error)?;
            if keep(k.value()) {
                out.push(codec::from_json(table.name(), v.value())?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
