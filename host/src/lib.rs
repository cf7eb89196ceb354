//! # apiary-host
//!
//! The apiary runtime: it loads API connectors compiled to WebAssembly components and runs
//! syncs with the reliability rules every connector gets for free: retries with backoff and
//! jitter, raw responses stored before parsing, per-endpoint rate limits, a dead-letter queue,
//! and the API version tracked in the metadata.
//!
//! | module | owns |
//! | --- | --- |
//! | [`runtime`] | the wasmtime engine, loading components, limited calls into them |
//! | [`fetch`] | HTTP, retries and backoff, rate limits, auth, allowed hosts |
//! | [`store`] | the redb database: runs, raw exchanges, dead letters |
//! | [`sink`] | where records go (JSONL files) |
//! | [`schema`] | stream schemas: inference, drift, contracts, declared schemas |
//! | [`sync`] | the engine that drives a pipeline |
//! | [`config`] | the pipeline file |

pub mod config;
pub mod fetch;
pub mod fixtures;
pub mod home;
pub mod impact;
pub mod reparse;
pub mod runtime;
pub mod scaffold;
pub mod schema;
pub mod sink;
pub mod store;
pub mod sync;
