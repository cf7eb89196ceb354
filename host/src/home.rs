//! The apiary home folder: `apiary.redb` and `out/`. Default `./.apiary`, overridden by
//! `--home` or `APIARY_HOME`. Compiled components are cached per user, not per home (see
//! `runtime::CompileCache`).

use std::path::{Path, PathBuf};

/// The folder apiary keeps its database, outputs and caches in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.root.join("apiary.redb")
    }

    /// Where a pipeline's records go.
    pub fn output(&self, pipeline: &str) -> PathBuf {
        self.root.join("out").join(pipeline)
    }
}
