//! # apiary-sdk
//!
//! Write an [apiary] API connector in Rust. A connector declares what an API is (its
//! [`Manifest`]: endpoints, rate-limit buckets, auth scheme, API version) and how to read it
//! ([`Connector::start`] gives the first requests of a stream, [`Connector::parse`] turns a
//! response into records and follow-up requests). The apiary host does everything else:
//! networking, retries, rate limits, raw storage, the dead-letter queue, checkpoints, output.
//!
//! A connector is a plain Rust library built for `wasm32-wasip2` with `crate-type = ["cdylib",
//! "rlib"]`; [`export_connector!`] makes the type the component's exports. The same crate also
//! compiles natively, so parsers are unit-tested with plain `cargo test`.
//!
//! ```
//! use apiary_sdk::{Connector, Exchange, Manifest, Page, ParseError, Request, SyncContext};
//!
//! struct Hello;
//!
//! impl Connector for Hello {
//!     fn manifest() -> Manifest {
//!         apiary_sdk::manifest("hello", "0.1.0", "v1", "https://api.example.com")
//!     }
//!     fn start(endpoint: &str, _ctx: &SyncContext) -> Result<Vec<Request>, String> {
//!         Ok(vec![Request::get(endpoint, "/greetings")])
//!     }
//!     fn parse(exchange: &Exchange) -> Result<Page, ParseError> {
//!         // One pass over the body: the records, keyed by `id`; records without one are rejects.
//!         let page = apiary_sdk::records::scan(exchange).key(&["id"]).array()?;
//!         Ok(page.into_page(None))
//!     }
//! }
//!
//! apiary_sdk::export_connector!(Hello);
//! # fn main() {}
//! ```
//!
//! [apiary]: https://example.invalid/apiary

#[doc(hidden)]
pub mod __private {
    /// The code wit-bindgen generates from `wit/0.4/connector.wit` (`apiary:connector@0.4.0`).
    pub mod bindings {
        // The generated glue passes flattened records (`scan-records`' arguments) as many arguments.
        #![allow(clippy::too_many_arguments)]
        wit_bindgen::generate!({
            path: "wit/0.4",
            world: "connector",
            pub_export_macro: true,
            export_macro_name: "__export_connector_world",
            default_bindings_module: "apiary_sdk::__private::bindings",
            additional_derives: [PartialEq, Eq],
        });
    }
    pub use bindings::Guest;
}

pub mod checkpoint;
mod export;
mod http;
pub mod log;
mod manifest;
pub mod paginate;
pub mod records;
pub mod testing;

pub use __private::bindings::apiary::connector::types::{
    Auth, Bucket, Endpoint, Exchange, Header, Level, Manifest, Method, Page, ParseError, RateLimitHeaders, Record,
    Reject, Request, Response, RetryPolicy, SyncContext,
};
pub use http::{link_next, link_relation, query_escape};
pub use manifest::{DEFAULT_RETRY_STATUSES, check_manifest, manifest};
pub use records::{json_array_records, json_field_records, key_of, reject_missing_keys};
/// The crate behind [`Endpoint::schema_of`], for `#[derive(JsonSchema)]`.
pub use schemars::{self, JsonSchema};

/// An API connector: what the API is, and how to read it.
///
/// All three functions are pure: no clock, no network, no files, no secrets. That is what makes
/// re-parsing stored responses exact and connectors safe to load. Export the implementing type
/// with [`export_connector!`].
pub trait Connector {
    /// Describe the API: name, version, the upstream API version, endpoints, buckets, auth.
    fn manifest() -> Manifest;

    /// The first requests of a sync of the stream `endpoint`.
    ///
    /// `ctx` holds the pipeline's `[config]` values and the stream's last checkpoint.
    fn start(endpoint: &str, ctx: &SyncContext) -> Result<Vec<Request>, String>;

    /// Turn one fetched exchange into records, rejected records and follow-up requests.
    fn parse(exchange: &Exchange) -> Result<Page, ParseError>;
}
