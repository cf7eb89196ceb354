//! Where the instances' memories come from: a pool of slots, reused call after call.
//!
//! Every call runs in a fresh instance, so no state crosses pages. Allocated one by one (wasmtime's
//! default), each instance maps its memory, faults in every page it touches and unmaps it at the
//! end, which on a multi-threaded process also interrupts the other cores to flush their TLBs:
//! in profiles, 15% of the parse's samples (figure 2b) and 16% of a whole sync's (figure 8, the
//! parser thread in the kernel) went to that (README). wasmtime's
//! pooling allocator reserves the slots once; the pages an ended instance touched within the
//! first [`KEEP_RESIDENT`] bytes of its memory stay mapped and are reset for the next one, the
//! rest is returned to the kernel. Figure 8's sync took 15-20% less time (README).
//! The next instance still starts from the component's own initial memory: wasmtime resets a
//! slot, it does not hand over what the last call left (`tests/connectors/rogue`'s `remember`
//! stream checks that on every page of a real sync).
//!
//! The pool has [`SLOTS`] component instances; a [`Gate`] makes a call beyond them wait for one
//! to end instead of failing. The pool reserves its address space when the engine is made:
//! about 260 GiB of it inaccessible (64 memories of 4 GiB and their guards) and about 400 MiB of
//! tables, touched only as used. A machine that cannot reserve that (a `ulimit -v`) allocates
//! instances one by one, as before, with a warning in the log (`Runtime::new`).

use std::sync::{Condvar, Mutex};

use wasmtime::{Enabled, PoolingAllocationConfig};

/// Component instances alive at once per [`super::Runtime`] (a process has one). A call lasts
/// milliseconds and runs on a parser, re-parse or blocking thread, so this many is far more than
/// a run keeps busy.
pub const SLOTS: u32 = 64;

/// Core module instances a component may have, and tables (see [`config`]).
pub const PER_COMPONENT: u32 = 8;

/// The most elements a table may start with.
pub const TABLE_ELEMENTS: usize = 100_000;

/// Bytes at the start of each memory slot kept mapped between instances: a page of figure 8
/// (100 records of 1.5 KB) is parsed within them. With 1 MiB that sync was no faster than
/// without a pool (README). Connectors built in this workspace, and by `apiary new`, start with
/// this much memory (`.cargo/config.toml`), so a page's parse does not grow it.
pub const KEEP_RESIDENT: usize = 2 << 20;

/// The pool's limits. Per component: up to 8 core instances and tables and one memory (the
/// connectors here have 3 core modules, 2 tables and 1 memory); a component beyond them is
/// refused when it is loaded, so a run never fails for want of a slot, and the totals are
/// [`SLOTS`] times those. Memories up to 4 GiB, the most a 32-bit wasm memory can be (the
/// store's limiter caps them lower). No stacks: the host makes no async calls. wasmtime prefers
/// a slot used before to a fresh one, and a used slot keeps the pages it touched within
/// [`KEEP_RESIDENT`]; where the kernel has `PAGEMAP_SCAN` (Linux 6.7) only those pages are
/// reset and kept, not all of it: figure 8's peak anonymous memory stayed as without a pool
/// (11-13 MiB) instead of growing 2-3 MiB (README).
pub(super) fn config() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(SLOTS)
        .max_core_instances_per_component(PER_COMPONENT)
        .max_tables_per_component(PER_COMPONENT)
        .max_memories_per_component(1)
        .total_core_instances(SLOTS * PER_COMPONENT)
        .total_tables(SLOTS * PER_COMPONENT)
        .total_memories(SLOTS)
        .total_stacks(0)
        .max_memory_size(4 << 30)
        .table_elements(TABLE_ELEMENTS)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto)
        .max_unused_warm_slots(0);
    pool
}

/// Admits at most `capacity` holders at once; the next one waits until a holder ends.
#[derive(Debug)]
pub(super) struct Gate {
    free: Mutex<u32>,
    freed: Condvar,
}

/// A place through a [`Gate`], given back when dropped.
pub(super) struct Admitted<'a> {
    gate: &'a Gate,
}

impl Gate {
    /// A gate with `capacity` places.
    pub(super) fn new(capacity: u32) -> Gate {
        Gate { free: Mutex::new(capacity), freed: Condvar::new() }
    }

    /// Wait for a free place and take it.
    pub(super) fn enter(&self) -> Admitted<'_> {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let mut free = self.freed.wait_while(free, |free| *free == 0).unwrap_or_else(|e| e.into_inner());
        *free -= 1;
        Admitted { gate: self }
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        *self.gate.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.gate.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_full_gate_admits_the_next_caller_only_when_a_place_is_given_back() {
        let gate = Arc::new(Gate::new(2));
        let (first, second) = (gate.enter(), gate.enter());
        let (admitted, waiting) = channel();
        let third = std::thread::spawn({
            let gate = gate.clone();
            move || {
                let _place = gate.enter();
                admitted.send(()).unwrap();
            }
        });
        assert!(waiting.recv_timeout(Duration::from_millis(50)).is_err(), "a third caller waits while two hold places");
        drop(first);
        waiting.recv().expect("admitted once a place is given back");
        third.join().unwrap();
        drop(second);
        let _again = (gate.enter(), gate.enter());
    }
}
