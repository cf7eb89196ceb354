//! What a connector instance can reach: an empty WASI context (nothing preopened, no
//! environment, no arguments, no sockets), a capped stderr pipe, memory limits, and `log`.

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::model::LogLevel;
use crate::policy::ConnectorLimits;

/// The state of one short-lived store: one call into a connector.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    connector: String,
    stderr: MemoryOutputPipe,
    stderr_bytes: usize,
}

/// What a guest may write to stdout/stderr in one call before a write fails (and traps it).
const PIPE_CAPACITY: usize = 1 << 20;

impl HostState {
    /// A fresh state for one call into the connector named `connector`.
    pub fn new(connector: &str, limits: &ConnectorLimits) -> HostState {
        // The pipe traps a guest that writes past its capacity, so it is generous; only the
        // first `stderr_bytes` are kept for the log.
        let stderr = MemoryOutputPipe::new(PIPE_CAPACITY);
        // Deliberately empty: no preopens, no env, no args, no network, no inherited stdio.
        let wasi = WasiCtxBuilder::new().stdout(stderr.clone()).stderr(stderr.clone()).build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .trap_on_grow_failure(true)
                .instances(4)
                .build(),
            connector: connector.to_string(),
            stderr,
            stderr_bytes: limits.stderr_bytes,
        }
    }

    /// What the guest wrote to stdout/stderr during this call (a panic message, say), on one
    /// line, without Rust's hint about backtraces.
    pub fn guest_output(&self) -> String {
        let contents = self.stderr.contents();
        let text = String::from_utf8_lossy(&contents[..contents.len().min(self.stderr_bytes)]).into_owned();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        tidy_panic(&lines.join(" "))
    }
}

/// Rust's panic line, `thread '<unnamed>' (1) panicked at src/lib.rs:5:9: message`, as
/// `panicked: message (at src/lib.rs:5:9)`, so the message comes first in a narrow table.
fn tidy_panic(text: &str) -> String {
    let Some((_, after)) = text.split_once(" panicked at ") else { return text.to_string() };
    match after.split_once(": ") {
        Some((location, message)) => format!("panicked: {message} (at {location})"),
        None => text.to_string(),
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl HostState {
    /// The connector's `log` import: its message in the host's log, tagged with its name.
    pub fn log(&mut self, level: LogLevel, message: &str) {
        let connector = self.connector.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(connector, "{message}"),
            LogLevel::Debug => tracing::debug!(connector, "{message}"),
            LogLevel::Info => tracing::info!(connector, "{message}"),
            LogLevel::Warn => tracing::warn!(connector, "{message}"),
            LogLevel::Error => tracing::error!(connector, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn panic_messages_come_first() {
        let raw = "thread '<unnamed>' (1) panicked at src/lib.rs:57:27: page 2 is cursed";
        assert_eq!(super::tidy_panic(raw), "panicked: page 2 is cursed (at src/lib.rs:57:27)");
        assert_eq!(super::tidy_panic("plain output"), "plain output");
    }
}
