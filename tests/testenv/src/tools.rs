//! The programs the test services run, and the Debian package each comes from.

use std::path::{Path, PathBuf};

/// A program from the system that a test service runs.
#[derive(Debug, Clone, Copy)]
pub struct SystemTool {
    /// The program's name, as people know it.
    pub program: &'static str,
    /// Where it is: an absolute path, or a bare name looked up on `PATH`.
    pub location: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
}

/// PostgreSQL 15's server (its bin folder also has `initdb`, `pg_isready`, `createdb`).
pub const POSTGRES: SystemTool =
    SystemTool { program: "postgres", location: "/usr/lib/postgresql/15/bin/postgres", package: "postgresql-15" };

/// The Redis server.
pub const REDIS: SystemTool =
    SystemTool { program: "redis-server", location: "/usr/bin/redis-server", package: "redis-server" };

/// Chromium, run headless by browser tests.
pub const CHROMIUM: SystemTool = SystemTool { program: "chromium", location: "/usr/bin/chromium", package: "chromium" };

/// Python 3 with its `venv` module, which makes the test virtualenv.
pub const PYTHON: SystemTool = SystemTool { program: "python3", location: "python3", package: "python3-venv" };

/// Every system program the test services need.
pub const SYSTEM_TOOLS: [SystemTool; 4] = [POSTGRES, REDIS, CHROMIUM, PYTHON];

impl SystemTool {
    /// The program's path if it is installed.
    pub fn find(&self) -> Option<PathBuf> {
        let location = Path::new(self.location);
        if location.is_absolute() {
            return location.is_file().then(|| location.to_path_buf());
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|dir| dir.join(location)).find(|candidate| candidate.is_file())
    }

    /// One line saying it is missing and how to install it.
    pub fn missing_message(&self) -> String {
        format!(
            "{} is not installed ({}): install the Debian package `{}` (`cargo xtask setup` does it when run as root)",
            self.program, self.location, self.package
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_not_found_and_its_message_names_the_package() {
        let tool = SystemTool { program: "nope", location: "/nonexistent/bin/nope", package: "nope-pkg" };
        assert!(tool.find().is_none());
        assert!(tool.missing_message().contains("`nope-pkg`"));
        assert!(tool.missing_message().contains("cargo xtask setup"));
    }

    #[test]
    fn a_bare_name_is_looked_up_on_the_path() {
        let sh = SystemTool { program: "sh", location: "sh", package: "dash" };
        assert!(sh.find().expect("sh is on PATH").is_absolute());
    }
}
