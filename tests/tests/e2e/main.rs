//! End-to-end tests: the real `apiary` binary, real connector components, the mock API as a
//! real server process on loopback, a real redb file. One test binary, so one link.

mod api_limits;
mod archive;
mod attempts;
mod authoring;
mod bad_input;
mod connectors;
mod coordination;
mod coordination_serve;
mod dashboard;
mod dlq;
mod exactly_once;
mod fetching;
mod guards;
mod interrupted;
mod large;
mod parsing_in_wasm;
mod pg;
mod redirects;
mod resume;
mod schemas;
mod security;
mod serve;
mod services;
mod sink_postgres;
mod sink_postgres_pages;
mod sink_postgres_schema;
mod sink_singer;
mod skeleton;
mod store_errors;
mod versions;

use apiary_e2e::harness::{binary, github_fixtures};
use apiary_e2e::spawn::MockProcess;

/// The mock API replaying the recorded GitHub traffic.
pub fn github_mock() -> MockProcess {
    let fixtures = github_fixtures();
    MockProcess::start(&binary("apiary-mock"), &["--fixtures", fixtures.to_str().unwrap()]).expect("mock starts")
}
