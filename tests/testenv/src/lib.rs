//! What the test services need from the machine, in one place for the two that use it: the
//! test harness (`apiary_e2e::services`), which fails loudly when something is missing, and
//! `cargo xtask setup`, which installs it. Standard library only, so xtask builds it in seconds.

mod process;
mod tools;
mod venv;

pub use process::{running_as_root, target_dir};
pub use tools::{CHROMIUM, POSTGRES, PYTHON, REDIS, SYSTEM_TOOLS, SystemTool};
pub use venv::{PYTHON_TOOLS, PythonTool, VenvError, VenvState, ensure_venvs, venv_dir};
