//! # apiary-host
//!
//! The apiary runtime: it loads API connectors compiled to WebAssembly components and runs
//! syncs with the reliability rules every connector gets for free. `docs/architecture.md` in
//! the repository walks through the data path; each rule lives in one module:
//!
//! | rule | module |
//! | --- | --- |
//! | 1. retries with backoff and jitter, honouring `Retry-After` | [`fetch::RetryBudget`] (`fetch/retry.rs`) |
//! | 2. the raw response stored before anything parses it | [`sync`] (`sync/request.rs`) into [`store`] |
//! | 3. rate limits per endpoint | [`fetch::Buckets`] (`fetch/buckets.rs`) |
//! | 4. a dead-letter queue, nothing silently dropped | [`accept`] and [`store`] (`store/letter_index.rs`) |
//! | 5. the API version in the metadata | [`model::ConnectorIdentity`], on every run, exchange and letter |
//!
//! | module | owns |
//! | --- | --- |
//! | [`model`] | the host's own data types, what every contract version converts into |
//! | [`config`] | the pipeline file |
//! | [`policy`] | the effective policy of a run: retry, HTTP, buckets, connector limits |
//! | [`runtime`] | the wasmtime engine, loading components, limited calls, the contract versions |
//! | [`fetch`] | HTTP, retries and backoff, rate limits, auth, allowed hosts, redirects |
//! | [`accept`] | what a parsed page becomes: records, record letters, follow-ups |
//! | [`store`] | the redb database: runs, raw exchanges, dead letters, sync state |
//! | [`schema`] | stream schemas: inference, drift, contracts, declared schemas |
//! | [`sink`] | where records go (JSONL files, PostgreSQL tables, Singer messages) |
//! | [`sync`] | the engine that drives a pipeline, and `dlq replay` |
//! | [`reparse`] | stored exchanges through a (newer) connector |
//! | [`archive`] | every stored exchange also on object storage, drained from a durable queue |
//! | [`serve`] | `apiary serve`: schedules, metrics, the JSON API and the dashboard |
//! | [`machine`] | the machine's usable cores, read once |

pub mod accept;
pub mod archive;
pub mod clock;
pub mod config;
pub mod coord;
pub mod fetch;
pub mod fixtures;
pub mod home;
pub mod impact;
pub mod machine;
pub mod model;
pub mod policy;
pub mod progress;
pub mod reparse;
pub mod runtime;
pub mod scaffold;
pub mod schema;
pub mod secrets;
pub mod serve;
pub mod sink;
pub mod store;
pub mod sync;
