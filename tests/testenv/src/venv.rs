//! The Python virtualenvs with the pinned packages the tests run (moto's S3 server, Singer
//! targets), one per package because their pins conflict (`target-jsonl` needs jsonschema 2.6,
//! moto and the Meltano SDK need 4.x). Made once per target folder; safe when several processes
//! ask at once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::PYTHON;

/// A pinned Python package in a virtualenv of its own, and the commands it installs.
#[derive(Debug, Clone, Copy)]
pub struct PythonTool {
    /// The virtualenv's folder name.
    pub venv: &'static str,
    /// The pinned requirement given to pip.
    pub requirement: &'static str,
    /// The commands it puts in the virtualenv's `bin`.
    pub commands: &'static [&'static str],
}

/// The Python packages the tests run.
pub const PYTHON_TOOLS: [PythonTool; 3] = [
    PythonTool { venv: "moto", requirement: "moto[server]==5.2.5", commands: &["moto_server"] },
    PythonTool { venv: "target-jsonl", requirement: "target-jsonl==0.1.4", commands: &["target-jsonl"] },
    PythonTool {
        venv: "target-postgres",
        requirement: "meltanolabs-target-postgres==0.8.1",
        commands: &["target-postgres"],
    },
];

/// The file in the virtualenv that lists what was installed, written last.
const MARKER: &str = "apiary-requirements.txt";

/// How many lines of a failed command's output an error keeps.
const TAIL_LINES: usize = 15;

/// What [`ensure_venvs`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenvState {
    /// Every marker listed its pinned package: nothing to do.
    AlreadyInstalled,
    /// At least one virtualenv was made (or remade) and its package installed.
    Created,
}

/// Why the virtualenv could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VenvError {
    /// The lock file beside the virtualenv could not be created or locked.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A step could not start or write its files.
    #[error("{step}: {source}")]
    Io {
        /// What was being done.
        step: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A step ran and failed.
    #[error("{step} failed; its last output lines:\n{tail}")]
    Failed {
        /// The command that failed.
        step: String,
        /// The end of its output.
        tail: String,
    },
}

/// The folder of the test virtualenvs inside a cargo target folder.
pub fn venv_dir(target: &Path) -> PathBuf {
    target.join("test-venv")
}

/// Make every virtualenv of [`PYTHON_TOOLS`] under `root` unless its marker says its package
/// is there. Holds an exclusive lock on `<root>.lock` throughout, so concurrent callers (test
/// binaries starting at once, xtask) wait for the first and then find the work done.
pub fn ensure_venvs(root: &Path) -> Result<VenvState, VenvError> {
    let _lock = lock(&root.with_extension("lock"))?;
    let mut state = VenvState::AlreadyInstalled;
    for tool in PYTHON_TOOLS {
        if ensure_venv(&root.join(tool.venv), tool.requirement)? == VenvState::Created {
            state = VenvState::Created;
        }
    }
    Ok(state)
}

/// Make the virtualenv `dir` with `requirement` unless its marker names it (caller holds the lock).
fn ensure_venv(dir: &Path, requirement: &str) -> Result<VenvState, VenvError> {
    if std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|found| found == requirement) {
        return Ok(VenvState::AlreadyInstalled);
    }
    if dir.exists() {
        // A partial install or older pins: start clean rather than patch it.
        std::fs::remove_dir_all(dir).map_err(|source| io_error(format!("removing {}", dir.display()), source))?;
    }
    let python = PYTHON
        .find()
        .ok_or_else(|| VenvError::Failed { step: "finding python3".into(), tail: PYTHON.missing_message() })?;
    run(Command::new(python).arg("-m").arg("venv").arg(dir))?;
    run(Command::new(dir.join("bin/python")).args(["-m", "pip", "install", "--quiet", "--no-input", requirement]))?;
    std::fs::write(dir.join(MARKER), requirement)
        .map_err(|source| io_error(format!("writing the {MARKER} marker"), source))?;
    Ok(VenvState::Created)
}

/// An exclusive lock on `path`, released when the file is dropped.
fn lock(path: &Path) -> Result<File, VenvError> {
    let fail = |source| VenvError::Lock { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let file = File::options().create(true).truncate(false).write(true).open(path).map_err(fail)?;
    file.lock().map_err(fail)?;
    Ok(file)
}

/// Run a command to completion; its output is kept only for the error.
fn run(command: &mut Command) -> Result<(), VenvError> {
    let step = format!("{command:?}");
    let output = command.output().map_err(|source| io_error(format!("starting {step}"), source))?;
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    Err(VenvError::Failed { step, tail })
}

fn io_error(step: String, source: std::io::Error) -> VenvError {
    VenvError::Io { step, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_step_reports_the_command_and_its_output() {
        let err = run(Command::new("sh").args(["-c", "echo boom >&2; exit 3"])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"sh\""), "{text}");
        assert!(text.contains("boom"), "{text}");
    }

    #[test]
    fn virtualenvs_whose_markers_name_their_pins_are_left_alone() {
        let root = std::env::temp_dir().join(format!("apiary-testenv-marked-{}", std::process::id()));
        for tool in PYTHON_TOOLS {
            std::fs::create_dir_all(root.join(tool.venv)).unwrap();
            std::fs::write(root.join(tool.venv).join(MARKER), tool.requirement).unwrap();
        }
        assert_eq!(ensure_venvs(&root).unwrap(), VenvState::AlreadyInstalled);
        assert!(!root.join("moto/bin").exists(), "nothing was installed");
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_file(root.with_extension("lock")).unwrap();
    }

    #[test]
    fn the_lock_is_exclusive_between_handles() {
        let dir = std::env::temp_dir().join(format!("apiary-testenv-lock-{}", std::process::id()));
        let path = dir.join("venv.lock");
        let held = lock(&path).expect("first lock");
        let second = File::options().write(true).open(&path).expect("open again");
        assert!(matches!(second.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
        drop(held);
        assert!(second.try_lock().is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
