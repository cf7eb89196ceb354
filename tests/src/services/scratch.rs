//! Folders for the servers' data and logs: one folder per test process under
//! `$TMPDIR/apiary-services-<uid>/<pid>`. Shared servers live as long as the process, so their
//! folders cannot be removed on drop; the first process to start a server removes the folders
//! of processes that are gone (after a normal exit, a panic or a SIGKILL).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A new empty folder for one server, e.g. `.../<pid>/redis-3`.
pub(crate) fn server_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = process_dir().join(format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    create_traversable(&dir);
    dir
}

/// This process's folder, made (and the stale ones swept) on first use.
fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // SAFETY: geteuid has no preconditions.
        let root = std::env::temp_dir().join(format!("apiary-services-{}", unsafe { libc::geteuid() }));
        create_traversable(&root);
        sweep_stale(&root);
        let dir = root.join(std::process::id().to_string());
        create_traversable(&dir);
        dir
    })
}

/// Create `dir` readable and searchable by all, whatever the umask: a server running as
/// another user (PostgreSQL as `postgres`) must reach its folder inside.
fn create_traversable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)))
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
}

/// Remove the folders of test processes that no longer run.
fn sweep_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().parse::<u32>().ok();
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            // Best effort: another process may be sweeping the same folder.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The last `lines` lines of a log file, for a panic message.
pub(crate) fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
