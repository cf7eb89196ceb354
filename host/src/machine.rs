//! The machine the host runs on.

use std::sync::OnceLock;

/// The cores this process may use (at least 1), read once.
///
/// `std::thread::available_parallelism` reads the cgroup's CPU quota files on every call (three
/// files opened, read and closed). The compressor pool asked it for every page it stored, under
/// the pool's lock: about fifteen system calls a page (`strace` of figure 8).
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The async runtime's worker threads: half the cores, at least one. The runtime fetches,
/// checks records and hands work around; a sync's parser threads (one per core but one) and
/// the blocking pool (compression, commits) take the rest. On 2 cores tokio's default of one
/// worker per core left four busy threads on two cores: one worker synced figure 8 6% faster
/// with 5% less CPU (twelve interleaved pairs by hand, README).
pub fn async_workers() -> usize {
    workers_for(cores())
}

fn workers_for(cores: usize) -> usize {
    (cores / 2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_match_what_std_reports() {
        let reported = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(cores(), reported);
        assert_eq!(cores(), reported, "the second answer comes from the first");
    }

    #[test]
    fn the_async_runtime_gets_half_the_cores_and_at_least_one() {
        let workers: Vec<usize> = [1, 2, 3, 8].into_iter().map(workers_for).collect();
        assert_eq!(workers, [1, 1, 1, 4]);
    }
}
