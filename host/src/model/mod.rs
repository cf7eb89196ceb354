//! The host's own data types: what a connector declares and returns, and what the store keeps.
//!
//! Every supported version of the WIT contract converts into these types at the boundary
//! (`runtime::wit`), so the sync engine, the store and the command line never depend on
//! generated bindings, and a new contract version changes neither the database format nor the
//! engine. Types that are stored (requests, responses, exchanges, identities, notices) keep
//! their serde shape across versions; the store's format tests hold them to it.

mod deprecation;
mod http;
mod identity;
mod json_text;
mod manifest;
mod page;

pub use deprecation::DeprecationNotice;
pub use http::{Exchange, Header, Method, Request, Response, header};
pub use identity::{ComponentDigest, ConnectorIdentity};
pub use manifest::{Auth, Bucket, Endpoint, Jitter, Manifest, RateLimitHeaders, RetryPolicy};
pub use page::{LogLevel, Page, ParseError, Record, Reject, SyncContext};
