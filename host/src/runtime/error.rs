//! Why loading or calling a connector failed.

use std::path::PathBuf;

use super::ContractVersion;

/// A connector could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read connector {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The path is not a regular file (a device, a pipe, a folder).
    #[error("connector {path} is not a regular file; give the path of a .wasm component")]
    NotAFile { path: PathBuf },
    /// The file is larger than the cap.
    #[error(
        "connector {path} is {size} bytes, more than the {cap}-byte cap; if it really is that large, raise [limits] max-component-mib"
    )]
    TooLarge { path: PathBuf, size: u64, cap: u64 },
    /// The file is not a WebAssembly component.
    #[error(
        "{path} is not a WebAssembly component ({reason}); build connectors with `cargo build --target wasm32-wasip2`"
    )]
    NotAComponent { path: PathBuf, reason: String },
    /// The component is valid but needs more than one of the runtime's instance slots holds.
    #[error(
        "connector {path} is too big for an instance slot ({reason}); a connector may have up to {per} core module instances, {per} tables of up to {elements} elements and one memory",
        per = super::pool::PER_COMPONENT,
        elements = super::pool::TABLE_ELEMENTS
    )]
    TooBigForASlot { path: PathBuf, reason: String },
    /// The connector was built against a contract version this host does not load.
    #[error(
        "{path} was built against apiary:connector@{found}, but this host supports {supported}; rebuild it with a matching apiary-sdk, or upgrade apiary"
    )]
    UnsupportedContract { path: PathBuf, found: String, supported: String },
    /// The component does not implement the apiary connector contract.
    #[error("{path} is not an apiary connector: {reason} (this host supports {})", ContractVersion::supported_text())]
    NotAConnector { path: PathBuf, reason: String },
    /// An endpoint declares a schema that is not valid JSON Schema.
    #[error("{path}: {error}; fix the schema in the connector's manifest")]
    InvalidSchema { path: PathBuf, error: crate::schema::SchemaError },
    /// The connector's `manifest` call failed.
    #[error("{path}: calling `manifest` failed: {source}")]
    Manifest { path: PathBuf, source: CallError },
    /// The wasmtime engine could not be set up.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// A call into a connector failed (a trap, a limit, a panic), as opposed to the connector
/// returning an error value.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    /// The call ran past its time limit.
    #[error("connector ran longer than its {limit_ms} ms limit and was stopped")]
    Timeout { limit_ms: u128 },
    /// The guest tried to grow its memory past the limit.
    #[error("connector exceeded its memory limit of {limit_mib} MiB")]
    Memory { limit_mib: usize },
    /// The guest trapped or panicked; `output` is what it wrote to stderr (a panic message).
    #[error("connector crashed: {}", if output.is_empty() { reason.clone() } else { format!("{output} ({reason})") })]
    Trap { reason: String, output: String },
}
