//! `cargo xtask setup`: install what the test services need (also run by `cargo xtask test`).
//! System programs come from Debian's packages (installed with apt-get when running as root,
//! otherwise listed and the task fails); the pinned Python virtualenv is made under the target
//! folder with the same code the test harness uses.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use apiary_testenv::{SYSTEM_TOOLS, SystemTool, VenvState, ensure_venvs, running_as_root, target_dir, venv_dir};

/// Install the missing system programs, then make the test virtualenv.
pub fn setup() -> Result<()> {
    install_missing_tools()?;
    make_venv()
}

fn install_missing_tools() -> Result<()> {
    let missing: Vec<SystemTool> = SYSTEM_TOOLS.into_iter().filter(|tool| tool.find().is_none()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !running_as_root() {
        let lines: Vec<String> = missing.iter().map(SystemTool::missing_message).collect();
        bail!(
            "the test services need system packages; as root, run `cargo xtask setup`, or install:\n{}",
            lines.join("\n")
        );
    }
    let packages: Vec<&str> = missing.iter().map(|tool| tool.package).collect();
    println!("setup: installing {} with apt-get", packages.join(", "));
    apt_get(&["update"])?;
    apt_get(&[&["install", "-y", "--no-install-recommends"], packages.as_slice()].concat())?;
    if let Some(still) = missing.iter().find(|tool| tool.find().is_none()) {
        bail!("apt-get installed `{}` but {} is still missing", still.package, still.location);
    }
    Ok(())
}

fn apt_get(args: &[&str]) -> Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!("`apt-get {}` failed", args.join(" "));
    }
    Ok(())
}

fn make_venv() -> Result<()> {
    // xtask runs from target/debug, and `main` has moved to the workspace root.
    let dir = venv_dir(&target_dir().unwrap_or_else(|| PathBuf::from("target")));
    let started = Instant::now();
    let state = ensure_venvs(&dir).with_context(|| format!("making the test virtualenvs in {}", dir.display()))?;
    match state {
        VenvState::AlreadyInstalled => println!("setup: test virtualenvs in {} are up to date", dir.display()),
        VenvState::Created => {
            println!("setup: made the test virtualenvs in {} in {:.0?}", dir.display(), started.elapsed())
        }
    }
    Ok(())
}
