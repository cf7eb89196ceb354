//! The pinned Python tools (moto's S3 server, Singer targets), in virtualenvs under the
//! target folder, made on first use (see `apiary_testenv`; `cargo xtask setup` makes them too).

use std::path::PathBuf;
use std::sync::OnceLock;

use apiary_testenv::{PYTHON_TOOLS, ensure_venvs, target_dir, venv_dir};

/// The test virtualenvs, one per Python tool.
pub struct Venv {
    root: PathBuf,
}

/// The test virtualenvs, made (or checked) once per test process.
pub fn venv() -> &'static Venv {
    static VENV: OnceLock<Venv> = OnceLock::new();
    VENV.get_or_init(|| {
        let target = target_dir().expect("the test binary runs from a cargo target folder");
        let root = venv_dir(&target);
        if let Err(e) = ensure_venvs(&root) {
            panic!("the test virtualenvs in {} could not be made (try `cargo xtask setup`): {e}", root.display());
        }
        Venv { root }
    })
}

impl Venv {
    /// The path of a command one of the tools installs, e.g. `moto_server`, `target-jsonl`,
    /// `target-postgres`.
    pub fn bin(&self, command: &str) -> PathBuf {
        let tool = PYTHON_TOOLS.iter().find(|tool| tool.commands.contains(&command));
        let tool = tool.unwrap_or_else(|| {
            let known: Vec<&str> = PYTHON_TOOLS.iter().flat_map(|tool| tool.commands.iter().copied()).collect();
            panic!("no test virtualenv has a `{command}` command; known: {}", known.join(", "))
        });
        let path = self.root.join(tool.venv).join("bin").join(command);
        assert!(path.is_file(), "{} is missing: run `cargo xtask setup`", path.display());
        path
    }
}
