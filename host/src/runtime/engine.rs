//! The process-wide wasmtime engine and linkers, and the epoch ticker that enforces call
//! deadlines.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy};

use super::LoadError;
use super::cache::CompileCache;
use super::pool::{self, Gate};
use super::wit::Linkers;

/// Set (to anything) in the environment, the engine writes `/tmp/perf-<pid>.map`, so `perf
/// report` names the connector's own functions instead of `[JIT]` addresses (how the README's
/// parse profile was taken).
pub const PERF_MAP_VARIABLE: &str = "APIARY_PERFMAP";

/// How long an epoch tick lasts: the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine and linkers shared by every connector the process loads. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linkers: Linkers,
    cache: Option<CompileCache>,
    /// Keeps the instances alive at once within the pool's slots.
    slots: Arc<Gate>,
}

impl Runtime {
    /// Build the engine (epoch interruption on, instances from a pool of slots, see
    /// [`pool`]) and the linkers (empty WASI plus each contract version's imports), and start
    /// the thread that advances the epoch.
    pub fn new() -> Result<Runtime, LoadError> {
        let engine_error = |e: wasmtime::Error| LoadError::Engine(e.to_string());
        let mut config = Config::new();
        config.epoch_interruption(true);
        if std::env::var_os(PERF_MAP_VARIABLE).is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool::config()));
        let engine = Engine::new(&config).or_else(|error| {
            tracing::warn!("no instance pool ({error}): instances are allocated one by one, more slowly");
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)
        });
        let engine = engine.map_err(engine_error)?;
        let linkers = Linkers::new(&engine).map_err(engine_error)?;
        start_epoch_ticker(&engine);
        Ok(Runtime { engine, linkers, cache: None, slots: Arc::new(Gate::new(pool::SLOTS)) })
    }

    /// Cache compiled components in `cache`.
    pub fn with_cache(mut self, cache: CompileCache) -> Runtime {
        self.cache = Some(cache);
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

    pub(super) fn linkers(&self) -> &Linkers {
        &self.linkers
    }

    /// The gate every call passes while its instance is alive.
    pub(super) fn slots(&self) -> &Gate {
        &self.slots
    }
}

/// A call deadline of `time` in epoch ticks (at least one).
pub fn deadline_ticks(time: Duration) -> u64 {
    (time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
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
