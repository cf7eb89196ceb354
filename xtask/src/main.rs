//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `demo`: build everything, start the mock API on loopback, sync the GitHub example pipeline
//!   against it into `./.apiary`, print the summary and where the output went;
//! - `test`: run every test (`cargo test --workspace`: the `apiary-test-artifacts` crate builds
//!   the test connectors to wasm itself), then print one summary line;
//! - `connectors`: build every connector (and the test connectors) to `wasm32-wasip2`;
//! - `bench [FIGURE...]`: build in release and print the benchmark table (all figures, or the
//!   numbered ones given);
//! - `setup`: install what the test services need (PostgreSQL, Redis, Chromium, Python
//!   virtualenvs); `test` runs it first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

mod setup;

/// Every crate built to wasm: the shipped connectors and the ones tests load.
const WASM_PACKAGES: &[&str] = &[
    "github-connector",
    "stripe-connector",
    "shop-connector",
    "rogue-connector",
    "future-connector",
    "bench-connector",
    "legacy-connector",
];

fn main() -> Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match task.as_str() {
        "demo" => demo(&root),
        "test" => test(),
        "connectors" => build_connectors(),
        "bench" => bench(),
        "setup" => setup::setup(),
        _ => bail!("usage: cargo xtask demo | test | connectors | bench | setup"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is in the workspace").to_path_buf()
}

/// A cargo command as a shell would run it: without the variables `cargo xtask` itself sets
/// (an inherited `CARGO_MANIFEST_DIR` reruns some build scripts, and a rebuild follows).
fn cargo_command() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.env_remove("CARGO_MANIFEST_DIR");
    command
}

fn cargo(args: &[&str]) -> Result<()> {
    let status = cargo_command().args(args).status().with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

/// Install the wasm target with rustup if it is missing (a fresh machine has only the host's).
fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-wasip2") => Ok(()),
        Ok(_) => {
            let status = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).status()?;
            if !status.success() {
                bail!("`rustup target add wasm32-wasip2` failed");
            }
            Ok(())
        }
        // No rustup: the toolchain was installed another way; let cargo say what is missing.
        Err(_) => Ok(()),
    }
}

fn build_connectors() -> Result<()> {
    ensure_wasm_target()?;
    // The variants first: the main build then leaves every package's default build in place.
    build_variants()?;
    let mut args = vec!["build", "--release", "--target", "wasm32-wasip2"];
    for package in WASM_PACKAGES {
        args.extend(["-p", package]);
    }
    cargo(&args)
}

/// Test connectors built again with a feature, each build copied aside: the versioned
/// connector's two releases (`versioned_v1.wasm` buggy, `versioned_v2.wasm` fixed) and the
/// legacy connector against contracts 0.2 and 0.3 (`legacy_v0_2.wasm`, `legacy_v0_3.wasm`; its
/// default build, 0.1, is `legacy_connector.wasm`). (package, its file stem, features, the copy's stem)
const VARIANTS: &[(&str, &str, Option<&str>, &str)] = &[
    ("versioned-connector", "versioned_connector", None, "versioned_v1"),
    ("versioned-connector", "versioned_connector", Some("v2"), "versioned_v2"),
    ("legacy-connector", "legacy_connector", Some("contract-0-2"), "legacy_v0_2"),
    ("legacy-connector", "legacy_connector", Some("contract-0-3"), "legacy_v0_3"),
];

fn build_variants() -> Result<()> {
    let dir = Path::new("target/wasm32-wasip2/release");
    for (package, stem, features, copy) in VARIANTS {
        let mut args = vec!["build", "--release", "--target", "wasm32-wasip2", "-p", package];
        if let Some(f) = features {
            args.extend(["--features", f]);
        }
        cargo(&args)?;
        std::fs::copy(dir.join(format!("{stem}.wasm")), dir.join(format!("{copy}.wasm")))
            .with_context(|| format!("copying the {copy} build"))?;
    }
    Ok(())
}

/// Always the whole workspace: a narrower selection unifies features differently and would
/// rebuild wasmtime and friends a second time.
fn build_binaries() -> Result<()> {
    cargo(&["build", "--workspace"])
}

fn test() -> Result<()> {
    setup::setup()?;
    ensure_wasm_target()?;
    let mut child =
        cargo_command().args(["test", "--workspace"]).stdout(Stdio::piped()).spawn().context("running cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        println!("{line}");
        if let Some((p, f)) = test_counts(&line) {
            passed += p;
            failed += f;
        }
    }
    let status = child.wait()?;
    // One closing line for the whole workspace (each crate's own `test result:` line comes before).
    println!("\ntests: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed");
    }
    Ok(())
}

/// (passed, failed) from a `test result: ok. 3 passed; 0 failed; ...` line.
fn test_counts(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("test result: ")?;
    let number_before = |word: &str| -> Option<u64> {
        let end = rest.find(word)?;
        rest[..end].trim_end().rsplit([' ', '.', ';']).next()?.parse().ok()
    };
    Some((number_before(" passed")?, number_before(" failed")?))
}

/// Build everything in release and run the benchmark (it is not a test: it prints figures).
fn bench() -> Result<()> {
    build_connectors()?;
    cargo(&["build", "--release", "-p", "apiary-host", "-p", "apiary-e2e", "-p", "apiary-bench"])?;
    // `cargo xtask bench 2 8` measures only those figures.
    let figures: Vec<String> = std::env::args().skip(2).collect();
    let status =
        Command::new("target/release/apiary-bench").args(&figures).status().context("running the benchmark")?;
    if !status.success() {
        bail!("the benchmark failed");
    }
    Ok(())
}

fn demo(root: &Path) -> Result<()> {
    build_connectors()?;
    build_binaries()?;
    let bin = root.join("target/debug");
    let mut mock = Mock::start(&bin.join("apiary-mock"), &root.join("tests/fixtures/github"))?;
    println!("mock GitHub API listening on {}\n", mock.base_url);
    let status = Command::new(bin.join("apiary"))
        .args(["run", "examples/github-issues.toml", "--base-url", &mock.base_url])
        // The mock ignores credentials; a token shows that secrets are injected, never stored.
        .env("GITHUB_TOKEN", "demo-token-not-a-secret")
        .status()
        .context("running apiary")?;
    mock.stop();
    if !status.success() {
        bail!("the demo sync failed");
    }
    println!("\nThe records are in .apiary/out/github-issues/issues.jsonl; try `target/debug/apiary runs`.");
    Ok(())
}

/// The mock API server process, stopped on drop.
struct Mock {
    child: Child,
    base_url: String,
}

impl Mock {
    fn start(binary: &Path, fixtures: &Path) -> Result<Mock> {
        let mut child = Command::new(binary)
            .arg("--fixtures")
            .arg(fixtures)
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the mock API")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let base_url = line.trim().strip_prefix("listening on ").context("the mock API did not start")?.to_string();
        Ok(Mock { child, base_url })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop();
    }
}
