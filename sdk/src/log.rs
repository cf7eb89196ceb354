//! Logging from a connector: messages go to the host's log, tagged with the connector's name.
//! In a native build (unit tests) they go to stderr.

use crate::Level;

/// Write `message` to the host's log at `level`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::__private::bindings::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Write a debug message to the host's log.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Write an informational message to the host's log.
///
/// ```
/// apiary_sdk::log::info("skipping 3 archived projects");
/// ```
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Write a warning to the host's log.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}
