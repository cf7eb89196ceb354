//! Stream schemas: what shape a stream's records have, how that drifts, and what a pipeline
//! does about it.
//!
//! | file | concern |
//! | --- | --- |
//! | [`json_type`] | JSON types, sets and counts of them |
//! | [`path`] | field paths (`labels[].name`) |
//! | [`shape`] | [`StreamSchema`]: the tree of fields, mergeable and serialisable |
//! | `infer` | the one pass per record that validates its JSON and learns its shape |
//! | [`observer`] | [`SchemaObserver`]: a run's records against a baseline, per record and in sum |
//! | [`change`] / [`drift`] | how fields differ, per record and over a run, as one-line text |
//! | [`contract`] | [`SchemaPolicy`] (`[schema]` in a pipeline file) and the per-record verdict |
//! | `json_schema` | to JSON Schema (Draft 4 subset) and from a declared one |
//! | [`declared`] | declared schemas compiled and enforced with the `jsonschema` crate |
//!
//! This module is a leaf: it knows nothing of fetching, connectors or the sync; the store keeps
//! its values (`store::schemas`).

#[cfg(test)]
mod bench;
pub mod change;
pub mod contract;
pub mod declared;
pub mod drift;
mod infer;
mod json_schema;
pub mod json_type;
pub mod observer;
pub mod path;
mod reader;
pub mod shape;

pub use change::{Change, Deviation, FieldChange};
pub use contract::{Contract, ContractViolation, SchemaPolicy, StreamPolicy, Verdict};
pub use declared::{DeclaredMismatch, DeclaredSchema};
pub use drift::Drift;
pub use infer::{MAX_DEPTH, MAX_FIELDS, MAX_NODES};
pub use json_type::{JsonType, TypeCounts, TypeSet};
pub use observer::{InvalidJson, Observation, SchemaObserver};
pub use path::FieldPath;
pub use shape::{FieldShape, StreamSchema};

/// A schema setting or a declared schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A `[schema.streams.NAME]` table names a stream the connector does not have.
    #[error("[schema.streams.{stream}] names no stream of this connector; its streams are: {known}")]
    UnknownStream {
        /// The stream named.
        stream: String,
        /// The connector's streams, comma-separated.
        known: String,
    },
    /// An endpoint declares a schema that is not valid JSON Schema.
    #[error("endpoint {endpoint} declares a schema that is not valid JSON Schema: {reason}")]
    InvalidDeclared {
        /// The endpoint.
        endpoint: String,
        /// What is wrong, on one line.
        reason: String,
    },
}
