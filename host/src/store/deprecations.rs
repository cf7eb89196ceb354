//! Deprecation and sunset notices seen in responses, per connector, API version and endpoint.

use std::collections::BTreeSet;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::tables::DEPRECATIONS;
use super::{RunContext, Store, StoreError, codec, db_error};
use crate::clock::now_ms;
use crate::model::DeprecationNotice;

/// A deprecation notice an API sent for one endpoint of one API version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deprecation {
    /// The connector's name.
    pub connector: String,
    /// The API version the notice was sent to.
    pub api_version: String,
    /// The endpoint (stream).
    pub endpoint: String,
    /// What the API said (the latest notice).
    pub notice: DeprecationNotice,
    /// The pipelines that received it.
    pub pipelines: BTreeSet<String>,
    /// When it was first seen (ms since the epoch).
    pub first_seen_ms: u64,
    /// When it was last seen.
    pub last_seen_ms: u64,
}

impl Store {
    /// Record (or refresh) a notice for `endpoint`, seen by the run in `context`.
    pub fn record_deprecation(
        &self,
        context: &RunContext,
        endpoint: &str,
        notice: &DeprecationNotice,
    ) -> Result<(), StoreError> {
        let c = &context.connector;
        let key = (c.name.as_str(), c.api_version.as_str(), endpoint);
        let write = self.write()?;
        {
            let mut table = write.open_table(DEPRECATIONS).map_err(db_error)?;
            let existing: Option<Deprecation> = match table.get(key).map_err(db_error)? {
                Some(v) => Some(codec::from_json("deprecations", v.value())?),
                None => None,
            };
            let now = now_ms();
            let mut record = existing.unwrap_or_else(|| Deprecation {
                connector: c.name.clone(),
                api_version: c.api_version.clone(),
                endpoint: endpoint.to_string(),
                notice: notice.clone(),
                pipelines: BTreeSet::new(),
                first_seen_ms: now,
                last_seen_ms: now,
            });
            record.notice = notice.clone();
            record.pipelines.insert(context.pipeline.clone());
            record.last_seen_ms = now;
            table.insert(key, codec::to_json(&record).as_slice()).map_err(db_error)?;
        }
        write.commit().map_err(db_error)
    }

    /// Every recorded notice that `keep` accepts.
    pub fn deprecations(&self, keep: impl Fn(&Deprecation) -> bool) -> Result<Vec<Deprecation>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(DEPRECATIONS).map_err(db_error)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_error)? {
            let (_, v) = row.map_err(db_error)?;
            let record: Deprecation = codec::from_json("deprecations", v.value())?;
            if keep(&record) {
                out.push(record);
            }
        }
        Ok(out)
    }
}
