//! The process-wide wasmtime engine and linker, and the epoch ticker that enforces call deadlines.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::LoadError;
use super::bindings::Connector;
use super::cache::CompileCache;
use super::host_state::HostState;
use super::limits::EPOCH_TICK;

/// The engine and linker shared by every connector the process loads. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    cache: Option<CompileCache>,
}

impl Runtime {
    /// Build the engine (epoch interruption on) and the linker (empty WASI plus `log`), and
    /// start the thread that advances the epoch.
    pub fn new() -> Result<Runtime, LoadError> {
        let engine_error = |e: wasmtime::Error| LoadError::Engine(e.to_string());
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(engine_error)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        Connector::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state).map_err(engine_error)?;
        start_epoch_ticker(&engine);
        Ok(Runtime { engine, linker: Arc::new(linker), cache: None })
    }

    /// Cache compiled components in `dir` (the apiary home's `cache/`).
    pub fn with_cache(mut self, dir: impl Into<std::path::PathBuf>) -> Runtime {
        self.cache = Some(CompileCache::new(dir));
        self
    }

    /// The compile cache, if one is set.
    pub fn cache(&self) -> Option<&CompileCache> {
        self.cache.as_ref()
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(super) fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }
}

/// Advance the engine's epoch every tick until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("apiary-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
