//! Compiled components cached on disk, so loading a connector costs a file map, not a compile.
//!
//! An entry is keyed by the component's sha256 and the engine's compatibility hash (wasmtime
//! version and settings), and stored with the sha256 of its own bytes. An entry that is
//! missing, stale, or whose bytes do not match their checksum is compiled again, never trusted:
//! deserializing is only safe for artifacts this host wrote unchanged.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::ComponentDigest;

/// The cache folder of compiled components.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// A cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> CompileCache {
        CompileCache { dir: dir.into() }
    }

    /// The component for `bytes`: from the cache when a sound entry exists, else compiled and
    /// stored. Failing to write the cache is not an error: the compiled component is returned.
    pub fn load(&self, engine: &Engine, bytes: &[u8], digest: &ComponentDigest) -> wasmtime::Result<Component> {
        let entry = self.entry_path(engine, digest);
        if let Some(component) = self.read(engine, &entry) {
            return Ok(component);
        }
        let compiled = engine.precompile_component(bytes)?;
        if let Err(e) = self.write(&entry, &compiled) {
            tracing::debug!(path = %entry.display(), "could not write the compile cache: {e}");
        }
        // SAFETY: `compiled` was produced just now by this engine.
        unsafe { Component::deserialize(engine, &compiled) }
    }

    /// The entry's path: `<component sha256>-<engine compatibility hash>.cwasm`.
    pub fn entry_path(&self, engine: &Engine, digest: &ComponentDigest) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!("{}-{:016x}.cwasm", digest.0, hasher.finish()))
    }

    fn read(&self, engine: &Engine, entry: &Path) -> Option<Component> {
        let bytes = std::fs::read(entry).ok()?;
        let expected = std::fs::read_to_string(checksum_path(entry)).ok()?;
        if hex::encode(Sha256::digest(&bytes)) != expected.trim() {
            tracing::warn!(path = %entry.display(), "compile cache entry is corrupt; compiling again");
            return None;
        }
        // SAFETY: the bytes are exactly what this host wrote (checked against the checksum it
        // wrote beside them), for an engine with the same compatibility hash (in the name).
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %entry.display(), "compile cache entry unusable ({e}); compiling again");
                None
            }
        }
    }

    fn write(&self, entry: &Path, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let partial = entry.with_extension("partial");
        std::fs::write(&partial, compiled)?;
        std::fs::write(checksum_path(entry), hex::encode(Sha256::digest(compiled)))?;
        std::fs::rename(partial, entry)
    }
}

fn checksum_path(entry: &Path) -> PathBuf {
    entry.with_extension("sha256")
}
