//! The WebAssembly side of the host: the wasmtime engine, loading connector components, and
//! calling `manifest`, `start` and `parse` each in a fresh, limited instance.
//!
//! The engine, linkers and pre-instantiated component live as long as the process; every call
//! gets its own short-lived `Store`, so no state leaks between pages and a trapped instance is
//! simply dropped. Connectors of every supported contract version load through [`wit`] and
//! speak the host's own types ([`crate::model`]) from then on.

mod cache;
mod engine;
mod error;
mod host_state;
mod pool;
mod source;
pub mod wit;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::{Store, Trap};

pub use cache::{CacheKeyError, CompileCache};
pub use engine::{EPOCH_TICK, Runtime};
pub use error::{CallError, LoadError};
use host_state::HostState;
pub use wit::ContractVersion;

use crate::model::{ComponentDigest, ConnectorIdentity, Exchange, Manifest, Page, ParseError, Request, SyncContext};
use crate::policy::ConnectorLimits;
use crate::schema::DeclaredSchema;

/// A connector loaded and ready to call, cheap to clone and share between threads.
#[derive(Clone)]
pub struct LoadedConnector {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    bound: wit::Bound,
    contract: ContractVersion,
    manifest: Manifest,
    identity: ConnectorIdentity,
    limits: ConnectorLimits,
    declared: BTreeMap<String, DeclaredSchema>,
}

impl LoadedConnector {
    /// Load, compile and check the component at `path`, then read its manifest.
    pub fn load(runtime: &Runtime, path: &Path, limits: ConnectorLimits) -> Result<Self, LoadError> {
        let bytes = source::read_component(path, limits.component_bytes)?;
        let digest = ComponentDigest::of(&bytes);
        let compiled = match runtime.cache() {
            Some(cache) => cache.load(runtime.engine(), &bytes, &digest),
            None => Component::new(runtime.engine(), &bytes),
        };
        let component = compiled.map_err(|e| not_loadable(path, &e))?;
        let contract = match ContractVersion::imported_by(&component, runtime.engine()) {
            Some(found) => ContractVersion::of(&found).ok_or_else(|| LoadError::UnsupportedContract {
                path: path.to_path_buf(),
                found,
                supported: ContractVersion::supported_text(),
            })?,
            // No `apiary:connector` import: try the oldest world; linking says what is missing.
            None => ContractVersion::SUPPORTED[0],
        };
        let not_a_connector =
            |e: wasmtime::Error| LoadError::NotAConnector { path: path.to_path_buf(), reason: first_line(&e) };
        let bound = wit::Bound::new(runtime.linkers(), contract, &component).map_err(not_a_connector)?;
        let manifest = call_fresh(runtime, "", &limits, |store| bound.manifest(store))
            .map_err(|source| LoadError::Manifest { path: path.to_path_buf(), source })?;
        let declared = compile_declared(&manifest)
            .map_err(|error| LoadError::InvalidSchema { path: path.to_path_buf(), error })?;
        let identity = ConnectorIdentity::new(&manifest, digest);
        let inner = Inner { runtime: runtime.clone(), bound, contract, manifest, identity, limits, declared };
        Ok(LoadedConnector { inner: Arc::new(inner) })
    }

    /// The manifest the connector declared.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// The JSON Schema endpoint `name` declares, compiled when the connector was loaded.
    pub fn declared(&self, name: &str) -> Option<&DeclaredSchema> {
        self.inner.declared.get(name)
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &ConnectorLimits {
        &self.inner.limits
    }

    /// The contract version the connector was built against.
    pub fn contract(&self) -> ContractVersion {
        self.inner.contract
    }

    /// Name, version, API version and digest: what every stored item is tagged with.
    pub fn identity(&self) -> &ConnectorIdentity {
        &self.inner.identity
    }

    /// Call `start(endpoint, ctx)` in a fresh instance.
    pub fn start(&self, endpoint: &str, ctx: &SyncContext) -> Result<Result<Vec<Request>, String>, CallError> {
        self.call(|store| self.inner.bound.start(store, endpoint, ctx))
    }

    /// Call `parse(exchange)` in a fresh instance.
    pub fn parse(&self, exchange: &Exchange) -> Result<Result<Page, ParseError>, CallError> {
        self.call(|store| self.inner.bound.parse(store, exchange))
    }

    fn call<R>(&self, f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<R>) -> Result<R, CallError> {
        let inner = &self.inner;
        call_fresh(&inner.runtime, &inner.identity.name, &inner.limits, f)
    }
}

/// Every declared schema of the manifest, compiled; the first invalid one is the error.
fn compile_declared(manifest: &Manifest) -> Result<BTreeMap<String, DeclaredSchema>, crate::schema::SchemaError> {
    let declaring = manifest.endpoints.iter().filter_map(|e| Some((e.name.as_str(), e.schema.as_deref()?)));
    declaring.map(|(name, text)| Ok((name.to_string(), DeclaredSchema::compile(name, text)?))).collect()
}

/// Run `f` in a fresh store, under the call limits.
fn call_fresh<R>(
    runtime: &Runtime,
    connector_name: &str,
    limits: &ConnectorLimits,
    f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<R>,
) -> Result<R, CallError> {
    // Declared before the store, so dropped after it: the slot is free once the instance is gone.
    let _slot = runtime.slots().enter();
    let mut store = Store::new(runtime.engine(), HostState::new(connector_name, limits));
    store.limiter(|state| &mut state.limits);
    // A new store's deadline is 0: without this the first instruction would trap.
    store.set_epoch_deadline(engine::deadline_ticks(limits.time));
    let result = f(&mut store);
    let output = store.data().guest_output();
    if result.is_ok() && !output.is_empty() {
        tracing::info!(connector = connector_name, "guest output: {output}");
    }
    result.map_err(|e| classify(e, limits, store.data()))
}

/// Tell a time-out and a memory cap apart from other traps.
fn classify(error: wasmtime::Error, limits: &ConnectorLimits, state: &HostState) -> CallError {
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

/// Why wasmtime would not make a component of a file: not a component at all, or one beyond the
/// pool's per-component limits (wasmtime names its pooling allocator in that error).
fn not_loadable(path: &Path, error: &wasmtime::Error) -> LoadError {
    let (path, reason) = (path.to_path_buf(), first_line(error));
    match reason.contains("pooling allocator") {
        true => LoadError::TooBigForASlot { path, reason },
        false => LoadError::NotAComponent { path, reason },
    }
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
