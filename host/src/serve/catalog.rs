//! The pipeline folder: every `*.toml` in it, read again when its modification time or size
//! changes. A file that fails to read keeps its last valid version running and shows its error
//! until it is fixed; two files naming the same pipeline are an error on the later one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::config::Pipeline;

/// What a file looked like when last read: modification time and size.
type Seen = (Option<SystemTime>, u64);

/// One file of the folder.
#[derive(Debug, Clone)]
struct FileEntry {
    /// What the file looked like when last read.
    seen: Seen,
    /// Its last valid version.
    pipeline: Option<Pipeline>,
    /// Why its current version cannot be used.
    error: Option<String>,
}

/// A file whose current version cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileError {
    /// The file.
    pub file: PathBuf,
    /// The pipeline its last valid version defined, if any (that version keeps running).
    pub pipeline: Option<String>,
    /// What is wrong, in one line.
    pub error: String,
}

/// The pipelines of a folder.
#[derive(Debug)]
pub struct Catalog {
    dir: PathBuf,
    files: BTreeMap<PathBuf, FileEntry>,
    folder_error: Option<String>,
}

impl Catalog {
    /// The catalog of `dir`, not read yet.
    pub fn new(dir: &Path) -> Catalog {
        Catalog { dir: dir.to_path_buf(), files: BTreeMap::new(), folder_error: None }
    }

    /// Read new and changed files, forget removed ones. Returns whether anything changed.
    pub fn rescan(&mut self) -> bool {
        let listed = match toml_files(&self.dir) {
            Ok(listed) => {
                self.folder_error = None;
                listed
            }
            Err(e) => {
                let error = format!("cannot list pipeline folder {}: {e}", self.dir.display());
                let changed = self.folder_error.as_ref() != Some(&error);
                if changed {
                    tracing::warn!("{error}; keeping the pipelines already read");
                }
                self.folder_error = Some(error);
                return changed;
            }
        };
        let before = self.files.len();
        self.files.retain(|path, _| listed.iter().any(|(p, _)| p == path));
        let mut changed = self.files.len() != before;
        for (path, seen) in listed {
            if self.files.get(&path).is_some_and(|f| f.seen == seen) {
                continue;
            }
            changed = true;
            let previous = self.files.remove(&path).and_then(|f| f.pipeline);
            self.files.insert(path.clone(), read(&path, seen, previous));
        }
        changed
    }

    /// The pipelines to run, by name: each file's last valid version; when two files name the
    /// same pipeline, the first file (by path) wins.
    pub fn pipelines(&self) -> BTreeMap<String, (PathBuf, Pipeline)> {
        let mut out = BTreeMap::new();
        for (path, entry) in &self.files {
            if let Some(p) = &entry.pipeline {
                out.entry(p.name.clone()).or_insert_with(|| (path.clone(), p.clone()));
            }
        }
        out
    }

    /// The pipeline `name`, if a file defines it.
    pub fn get(&self, name: &str) -> Option<Pipeline> {
        self.pipelines().remove(name).map(|(_, p)| p)
    }

    /// Every file that cannot be used as it is now, and the folder's own error.
    pub fn errors(&self) -> Vec<FileError> {
        let winners = self.pipelines();
        let mut out: Vec<FileError> = self
            .folder_error
            .iter()
            .map(|error| FileError { file: self.dir.clone(), pipeline: None, error: error.clone() })
            .collect();
        for (path, entry) in &self.files {
            let name = entry.pipeline.as_ref().map(|p| p.name.clone());
            let error = match (&entry.error, &name) {
                (Some(error), _) => error.clone(),
                (None, Some(n)) if winners.get(n).is_some_and(|(winner, _)| winner != path) => format!(
                    "pipeline `{n}` is also defined by {}: give each pipeline its own name",
                    winners[n].0.display()
                ),
                _ => continue,
            };
            out.push(FileError { file: path.clone(), pipeline: name, error });
        }
        out
    }
}

/// The `*.toml` files directly in `dir`, with their modification time and size.
fn toml_files(dir: &Path) -> std::io::Result<Vec<(PathBuf, Seen)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            let meta = std::fs::metadata(&path)?;
            files.push((path, (meta.modified().ok(), meta.len())));
        }
    }
    files.sort();
    Ok(files)
}

/// Read one file; on error keep `previous` (its last valid version).
fn read(path: &Path, seen: Seen, previous: Option<Pipeline>) -> FileEntry {
    match Pipeline::load(path) {
        Ok(pipeline) => {
            tracing::info!(file = %path.display(), pipeline = %pipeline.name, "read pipeline file");
            FileEntry { seen, pipeline: Some(pipeline), error: None }
        }
        Err(e) => {
            let kept = previous
                .as_ref()
                .map_or(String::new(), |p| format!("; its last valid version ({}) keeps running", p.name));
            tracing::warn!("{e}{kept}");
            FileEntry { seen, pipeline: previous, error: Some(e.to_string()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn reads_valid_files_reports_bad_ones_and_keeps_the_last_valid_version() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", "name = \"a\"\nconnector = \"c.wasm\"\nevery = \"15m\"\n");
        write(dir.path(), "b.toml", "name = \"b\"\nconnector = \n");
        write(dir.path(), "notes.txt", "not a pipeline");
        let mut catalog = Catalog::new(dir.path());
        assert!(catalog.rescan());
        assert_eq!(catalog.pipelines().keys().collect::<Vec<_>>(), vec!["a"]);
        let errors = catalog.errors();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].file.ends_with("b.toml") && errors[0].error.contains("line 2"), "{errors:?}");
        assert!(!catalog.rescan(), "nothing changed");

        write(dir.path(), "a.toml", "name = \"a\"\nconnector = \"c.wasm\"\nschedule = \"every day at noon\"\n");
        assert!(catalog.rescan());
        assert_eq!(catalog.get("a").unwrap().trigger().to_string(), "every 15m", "the last valid version stays");
        assert!(catalog.errors().iter().any(|e| e.pipeline.as_deref() == Some("a")));

        std::fs::remove_file(dir.path().join("a.toml")).unwrap();
        assert!(catalog.rescan());
        assert!(catalog.pipelines().is_empty(), "a removed file's pipeline is gone");
    }

    #[test]
    fn two_files_naming_one_pipeline_are_an_error_on_the_later() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1.toml", "name = \"same\"\nconnector = \"one.wasm\"\n");
        write(dir.path(), "2.toml", "name = \"same\"\nconnector = \"two.wasm\"\n");
        let mut catalog = Catalog::new(dir.path());
        catalog.rescan();
        assert!(catalog.get("same").unwrap().connector.ends_with("one.wasm"));
        let errors = catalog.errors();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].file.ends_with("2.toml") && errors[0].error.contains("also defined by"), "{errors:?}");
    }
}
