//! Facts about the running process: where its cargo target folder is, who it runs as.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The cargo target folder holding the running executable (`target/debug/deps/e2e-*`,
/// `target/release/apiary-bench`, `target/debug/xtask`): the nearest ancestor with cargo's
/// `CACHEDIR.TAG`. `None` for an executable outside a target folder.
pub fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors().skip(1).find(|dir| dir.join("CACHEDIR.TAG").is_file()).map(PathBuf::from)
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
pub fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}
