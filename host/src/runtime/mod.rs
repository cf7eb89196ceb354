//! The WebAssembly side of the host: the wasmtime engine, loading connector components, and
//! calling `manifest`, `start` and `parse` each in a fresh, limited instance.
//!
//! The engine, linker and pre-instantiated component live as long as the process; every call
//! gets its own short-lived `Store`, so no state leaks between pages and a trapped instance is
//! simply dropped.

pub mod bindings;
mod cache;
mod engine;
mod error;
mod host_state;
mod identity;
mod limits;

use std::path::Path;
use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::{Store, Trap};

pub use bindings::{
    Auth, Bucket, Endpoint, Exchange, Header, Level, Manifest, Method, Page, ParseError, RateLimitHeaders, Record,
    Reject, Request, Response, RetryPolicy, SyncContext,
};
use bindings::{Connector, ConnectorPre};
pub use cache::CompileCache;
pub use engine::Runtime;
pub use error::{CallError, LoadError, SUPPORTED_CONTRACTS};
use host_state::HostState;
pub use identity::{ComponentDigest, ConnectorIdentity};
pub use limits::CallLimits;

/// A connector loaded and ready to call, cheap to clone and share between threads.
#[derive(Clone)]
pub struct LoadedConnector {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    pre: ConnectorPre<HostState>,
    manifest: Manifest,
    identity: ConnectorIdentity,
    limits: CallLimits,
}

impl LoadedConnector {
    /// Load, compile and check the component at `path`, then read its manifest.
    pub fn load(runtime: &Runtime, path: &Path, limits: CallLimits) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
        let digest = ComponentDigest::of(&bytes);
        let compiled = match runtime.cache() {
            Some(cache) => cache.load(runtime.engine(), &bytes, &digest),
            None => Component::new(runtime.engine(), &bytes),
        };
        let component =
            compiled.map_err(|e| LoadError::NotAComponent { path: path.to_path_buf(), reason: first_line(&e) })?;
        if let Some(found) = contract_version(&component, runtime.engine()).filter(|v| !is_supported_contract(v)) {
            return Err(LoadError::UnsupportedContract { path: path.to_path_buf(), found });
        }
        let not_a_connector =
            |e: wasmtime::Error| LoadError::NotAConnector { path: path.to_path_buf(), reason: first_line(&e) };
        let instance_pre = runtime.linker().instantiate_pre(&component).map_err(not_a_connector)?;
        let pre = ConnectorPre::new(instance_pre).map_err(not_a_connector)?;
        let manifest = call_fresh(runtime, &pre, "", &limits, |connector, store| connector.call_manifest(store))
            .map_err(|source| LoadError::Manifest { path: path.to_path_buf(), source })?;
        let identity = ConnectorIdentity::new(&manifest, digest);
        Ok(LoadedConnector { inner: Arc::new(Inner { runtime: runtime.clone(), pre, manifest, identity, limits }) })
    }

    /// The manifest the connector declared.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &CallLimits {
        &self.inner.limits
    }

    /// Name, version, API version and digest: what every stored item is tagged with.
    pub fn identity(&self) -> &ConnectorIdentity {
        &self.inner.identity
    }

    /// Call `start(endpoint, ctx)` in a fresh instance.
    pub fn start(&self, endpoint: &str, ctx: &SyncContext) -> Result<Result<Vec<Request>, String>, CallError> {
        self.call(|connector, store| connector.call_start(store, endpoint, ctx))
    }

    /// Call `parse(exchange)` in a fresh instance.
    pub fn parse(&self, exchange: &Exchange) -> Result<Result<Page, ParseError>, CallError> {
        self.call(|connector, store| connector.call_parse(store, exchange))
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&Connector, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let inner = &self.inner;
        call_fresh(&inner.runtime, &inner.pre, &inner.identity.name, &inner.limits, f)
    }
}

/// Run `f` against a fresh instance in a fresh store, under the call limits.
fn call_fresh<R>(
    runtime: &Runtime,
    pre: &ConnectorPre<HostState>,
    connector_name: &str,
    limits: &CallLimits,
    f: impl FnOnce(&Connector, &mut Store<HostState>) -> wasmtime::Result<R>,
) -> Result<R, CallError> {
    let mut store = Store::new(runtime.engine(), HostState::new(connector_name, limits));
    store.limiter(|state| &mut state.limits);
    // A new store's deadline is 0: without this the first instruction would trap.
    store.set_epoch_deadline(limits.deadline_ticks());
    let result = pre.instantiate(&mut store).and_then(|connector| f(&connector, &mut store));
    let output = store.data().guest_output();
    if result.is_ok() && !output.is_empty() {
        tracing::info!(connector = connector_name, "guest output: {output}");
    }
    result.map_err(|e| classify(e, limits, store.data()))
}

/// The `apiary:connector` version the component imports its types from, if it names one.
fn contract_version(component: &Component, engine: &wasmtime::Engine) -> Option<String> {
    component.component_type().imports(engine).find_map(|(name, _)| {
        let (_, version) = name.strip_prefix("apiary:connector/")?.split_once('@')?;
        Some(version.to_string())
    })
}

/// Whether this host loads guests of contract `version` (semver-compatible with 0.1.0).
fn is_supported_contract(version: &str) -> bool {
    version.starts_with("0.1.")
}

/// Tell a time-out and a memory cap apart from other traps.
fn classify(error: wasmtime::Error, limits: &CallLimits, state: &HostState) -> CallError {
    let chain = error_chain(&error);
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        CallError::Timeout { limit_ms: limits.time.as_millis() }
    } else if chain.contains("forcing trap when growing memory") {
        CallError::Memory { limit_mib: limits.memory_bytes >> 20 }
    } else {
        let reason = error.downcast_ref::<Trap>().map_or_else(|| first_line(&error), |trap| trap.to_string());
        CallError::Trap { reason, output: state.guest_output() }
    }
}

impl std::fmt::Debug for LoadedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedConnector").field("identity", &self.inner.identity).finish()
    }
}

/// Every message of an error's chain, joined: wasmtime puts the useful part in the causes.
fn error_chain(error: &wasmtime::Error) -> String {
    error.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

/// The error's chain on one line, without wasm backtraces.
fn first_line(error: &wasmtime::Error) -> String {
    error_chain(error)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| !l.starts_with("wasm backtrace"))
        .collect::<Vec<_>>()
        .join(" ")
}
