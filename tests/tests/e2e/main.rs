//! End-to-end tests: the real `apiary` binary, real connector components, the mock API as a
//! real server process on loopback, a real redb file. One test binary, so one link.

mod authoring;
mod bad_input;
mod connectors;
mod dashboard;
mod dlq;
mod fetching;
mod resume;
mod security;
mod serve;
mod skeleton;
mod versions;

use apiary_e2e::harness::{binary, github_fixtures};
use apiary_e2e::spawn::MockProcess;

/// The mock API replaying the recorded GitHub traffic.
pub fn github_mock() -> MockProcess {
    let fixtures = github_fixtures();
    MockProcess::start(&binary("apiary-mock"), &["--fixtures", fixtures.to_str().unwrap()]).expect("mock starts")
}
