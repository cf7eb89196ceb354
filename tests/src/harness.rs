//! Helpers for end-to-end tests: where the built binaries and connectors are, a scratch apiary
//! home, pipeline files, and running the real `apiary` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The cargo profile folder the running test binary was built into (`target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// A binary of the workspace (`apiary`, `apiary-mock`), built by `cargo test --workspace`.
pub fn binary(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// A connector component the tests load, e.g. `github_connector` or `versioned_v2`, built to
/// wasm by the `apiary-test-artifacts` crate.
pub fn connector_wasm(name: &str) -> PathBuf {
    apiary_test_artifacts::connector(name)
}

/// The compile cache the tests share: `target/test-cache`.
pub fn test_cache() -> PathBuf {
    profile_dir().parent().expect("target folder").join("test-cache")
}

/// The recorded GitHub traffic shipped with the tests.
pub fn github_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/github")
}

/// The finished `apiary` process.
#[derive(Debug)]
pub struct Ran {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its exit code.
    pub code: Option<i32>,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Ran {
        Ran {
            success: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A scratch folder holding an apiary home and pipeline files, removed when dropped.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Scratch {
    /// A new empty scratch folder.
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The apiary home inside it.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Where a pipeline's stream output goes.
    pub fn output(&self, pipeline: &str, stream: &str) -> PathBuf {
        self.home().join("out").join(pipeline).join(format!("{stream}.jsonl"))
    }

    /// Write a file into the folder and return its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write scratch file");
        path
    }

    /// Run `apiary --home <home> args...`.
    pub fn apiary(&self, args: &[&str]) -> Ran {
        self.apiary_with_env(args, &[])
    }

    /// Run `apiary` with extra environment variables.
    pub fn apiary_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let mut command = self.command(args);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("running apiary").into()
    }

    /// Start `apiary args...` in the background and return it, still running, once `output`
    /// holds at least `lines` lines: a run caught halfway, to kill or stop.
    ///
    /// # Panics
    /// When the process ends first, or `output` does not grow that far within a minute.
    pub fn spawn_until_lines(&self, args: &[&str], output: &Path, lines: usize) -> std::process::Child {
        let mut child =
            self.command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("starting apiary");
        let started = Instant::now();
        while std::fs::read(output).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count()) < lines {
            if let Some(status) = child.try_wait().expect("polling apiary") {
                panic!("apiary {args:?} ended ({status}) before {} had {lines} lines", output.display());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{} did not reach {lines} lines", output.display());
            std::thread::sleep(Duration::from_millis(5));
        }
        child
    }

    /// The command `apiary --home <home> args...`, to run in the background or under another
    /// program. The compile cache and its key are the tests' own (shared by every test, under
    /// the target folder), not the user's.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("apiary"));
        command.arg("--home").arg(self.home()).args(args).env_remove("RUST_LOG");
        let cache = test_cache();
        command.env("APIARY_CACHE_DIR", cache.join("components")).env("XDG_CONFIG_HOME", cache.join("config"));
        command
    }
}

/// A pipeline file's text.
pub struct PipelineSpec<'a> {
    /// Its name.
    pub name: &'a str,
    /// The connector component.
    pub connector: &'a Path,
    /// The base URL (the mock's).
    pub base_url: &'a str,
    /// Streams to sync; every endpoint when empty.
    pub streams: &'a [&'a str],
    /// `[config]` entries, as TOML values.
    pub config: &'a [(&'a str, &'a str)],
    /// More TOML appended after `[config]` (`[retry]`, `[http]`, `[buckets.NAME]` tables).
    pub extra: &'a str,
}

impl PipelineSpec<'_> {
    /// The TOML text.
    pub fn toml(&self) -> String {
        let streams: Vec<String> = self.streams.iter().map(|s| format!("{s:?}")).collect();
        let mut text = format!(
            "name = {:?}\nconnector = {:?}\nbase-url = {:?}\n{}\n[config]\n",
            self.name,
            self.connector.display().to_string(),
            self.base_url,
            if streams.is_empty() { String::new() } else { format!("streams = [{}]\n", streams.join(", ")) }
        );
        for (k, v) in self.config {
            text.push_str(&format!("{k} = {v}\n"));
        }
        text.push('\n');
        text.push_str(self.extra);
        text
    }
}

/// The lines of a JSONL file, parsed.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
}

/// Every file under `dir`, recursively (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

/// The files under `dir` whose bytes contain `needle`: where a secret leaked to.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let needle = needle.as_bytes();
    files_under(dir)
        .into_iter()
        .filter(|p| std::fs::read(p).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle)))
        .collect()
}
