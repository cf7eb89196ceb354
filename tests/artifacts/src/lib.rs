//! Where the connectors that apiary's tests load were built: the build script compiles each to
//! a WebAssembly component (`cargo build --release --target wasm32-wasip2`) before any test
//! runs.

use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

/// The component named `name` (e.g. `github_connector`, `versioned_v2`).
///
/// # Panics
/// When no test connector has that name: the list is in this crate's build script.
pub fn connector(name: &str) -> PathBuf {
    let (_, path) = ALL.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no test connector `{name}`"));
    PathBuf::from(path)
}
