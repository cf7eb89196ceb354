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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_match_what_std_reports() {
        let reported = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(cores(), reported);
        assert_eq!(cores(), reported, "the second answer comes from the first");
    }
}
