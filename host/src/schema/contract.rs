//! Schema contracts: what a pipeline does with a record whose shape differs from its stream's
//! schema. Read from the pipeline file:
//!
//! ```toml
//! [schema]
//! contract = "freeze"          # default "evolve"
//!
//! [schema.streams.events]
//! contract = "evolve"          # this stream only
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::SchemaError;
use super::change::{Change, Deviation};

/// How strictly a stream's records must keep to its schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Contract {
    /// Load every record and record the drift (the default).
    #[default]
    Evolve,
    /// A record with a new field or a type the schema does not admit becomes a `record` dead
    /// letter. A missing field or a `null` is never a violation: both mean "no value", and
    /// every field of an inferred schema may lack one. With no schema yet, every record is
    /// accepted and the run's observed schema becomes the one to keep to.
    Freeze,
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Contract::Evolve => "evolve",
            Contract::Freeze => "freeze",
        })
    }
}

/// The `[schema]` table of a pipeline file: a contract for every stream, and overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaPolicy {
    /// The contract of streams without an override.
    #[serde(default)]
    pub contract: Contract,
    /// Per-stream settings, by stream name (`[schema.streams.NAME]`).
    #[serde(default)]
    pub streams: BTreeMap<String, StreamPolicy>,
}

/// The `[schema.streams.NAME]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamPolicy {
    /// This stream's contract, replacing the pipeline's.
    pub contract: Option<Contract>,
}

impl SchemaPolicy {
    /// The contract that applies to `stream`.
    pub fn contract_for(&self, stream: &str) -> Contract {
        self.streams.get(stream).and_then(|s| s.contract).unwrap_or(self.contract)
    }

    /// Refuse an override naming a stream the connector does not have (a typo would silently
    /// leave the stream on the default contract).
    pub fn check_streams<'a>(&self, known: impl IntoIterator<Item = &'a str> + Clone) -> Result<(), SchemaError> {
        match self.streams.keys().find(|s| !known.clone().into_iter().any(|k| k == s.as_str())) {
            Some(stream) => Err(SchemaError::UnknownStream {
                stream: stream.clone(),
                known: known.into_iter().collect::<Vec<_>>().join(", "),
            }),
            None => Ok(()),
        }
    }
}

/// What to do with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Load it.
    Accept,
    /// Make it a `record` dead letter with this error.
    Reject(ContractViolation),
}

impl Contract {
    /// The verdict on a record that has `deviations` from the stream's schema.
    pub fn verdict(self, deviations: &[Deviation]) -> Verdict {
        if self == Contract::Evolve {
            return Verdict::Accept;
        }
        let breaking: Vec<Deviation> = deviations.iter().filter(|d| breaks_freeze(&d.change)).cloned().collect();
        if breaking.is_empty() { Verdict::Accept } else { Verdict::Reject(ContractViolation { deviations: breaking }) }
    }
}

/// Whether a frozen schema refuses `change`: a new field, or a type it does not admit.
fn breaks_freeze(change: &Change) -> bool {
    matches!(change, Change::Added { .. } | Change::TypeChanged { .. })
}

/// A record refused by a frozen schema; its text is the dead letter's error, one line naming
/// every offending field and its change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ContractViolation {
    /// The fields that broke the contract.
    pub deviations: Vec<Deviation>,
}

impl fmt::Display for ContractViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("schema contract freeze refuses the record: ")?;
        for (i, deviation) in self.deviations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{deviation}")?;
        }
        f.write_str(" (accept the observed schema to load it)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{SchemaObserver, StreamSchema};

    fn baseline() -> StreamSchema {
        StreamSchema::infer([r#"{"id":1,"name":"a","user":{"login":"x"},"score":1.5}"#]).unwrap()
    }

    fn verdict(contract: Contract, json: &str) -> Verdict {
        let baseline = baseline();
        let mut observer = SchemaObserver::new(Some(&baseline));
        contract.verdict(observer.observe(json, Some("7")).unwrap())
    }

    #[test]
    fn freeze_refuses_new_fields_and_changed_types_naming_each() {
        let Verdict::Reject(violation) =
            verdict(Contract::Freeze, r#"{"id":"1","name":"a","user":{"login":"x","email":"e"}}"#)
        else {
            panic!("refused")
        };
        assert_eq!(
            violation.to_string(),
            "schema contract freeze refuses the record: field id changed type from integer to string; \
             field user.email is new (string) (accept the observed schema to load it)"
        );
        assert_eq!(verdict(Contract::Evolve, r#"{"id":"1"}"#), Verdict::Accept, "evolve accepts everything");
    }

    #[test]
    fn freeze_accepts_missing_fields_nulls_and_integers_where_numbers_were() {
        assert_eq!(verdict(Contract::Freeze, r#"{"id":2}"#), Verdict::Accept);
        assert_eq!(verdict(Contract::Freeze, r#"{"id":null,"user":null,"score":3}"#), Verdict::Accept);
        assert!(matches!(verdict(Contract::Freeze, r#"{"score":"high"}"#), Verdict::Reject(_)));
    }

    #[test]
    fn the_policy_reads_from_toml_with_per_stream_overrides() {
        let policy: SchemaPolicy = toml::from_str(
            r#"
            contract = "freeze"
            [streams.events]
            contract = "evolve"
            "#,
        )
        .unwrap();
        assert_eq!(policy.contract_for("issues"), Contract::Freeze);
        assert_eq!(policy.contract_for("events"), Contract::Evolve);
        assert_eq!(SchemaPolicy::default().contract_for("issues"), Contract::Evolve);
        assert!(policy.check_streams(["issues", "events"]).is_ok());
        let err = policy.check_streams(["issues"]).unwrap_err().to_string();
        assert!(err.contains("[schema.streams.events]") && err.contains("issues"), "{err}");
        let bad = toml::from_str::<SchemaPolicy>(r#"contract = "strict""#).unwrap_err().to_string();
        assert!(bad.contains("evolve") && bad.contains("freeze"), "{bad}");
    }
}
