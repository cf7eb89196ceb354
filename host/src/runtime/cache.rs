//! Compiled components cached on disk, so loading a connector costs a file map, not a compile,
//! shared by every apiary home of the user (`$XDG_CACHE_HOME/apiary/components`).
//!
//! Trust boundary: an entry is native code that the host maps and runs, so an entry is used
//! only when its HMAC-SHA256 matches, keyed by a per-user secret kept outside the cache folder
//! (`$XDG_CONFIG_HOME/apiary/cache.key`, mode 600). Whoever can write the cache folder but not
//! read the key cannot get code run: a modified, stale or foreign entry is compiled again,
//! never executed. Entries are keyed by the component's sha256 and the engine's compatibility
//! hash (wasmtime version and settings), and the MAC covers both.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::model::ComponentDigest;

/// The cache folder of compiled components and the key that authenticates its entries.
#[derive(Clone)]
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl std::fmt::Debug for CompileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileCache").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// The cache's key could not be read or made.
#[derive(Debug, thiserror::Error)]
#[error("compile cache key {path}: {reason}")]
pub struct CacheKeyError {
    path: PathBuf,
    reason: String,
}

impl CompileCache {
    /// The user's cache: `$APIARY_CACHE_DIR`, else `$XDG_CACHE_HOME/apiary/components`; its
    /// key in `$XDG_CONFIG_HOME/apiary/cache.key`. Without a user folder (no `HOME`), both
    /// live under `fallback` (the apiary home).
    pub fn for_user(fallback: &Path) -> Result<CompileCache, CacheKeyError> {
        let dir = std::env::var_os("APIARY_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|d| d.join("apiary/components")))
            .unwrap_or_else(|| fallback.join("cache"));
        let key = dirs::config_dir().map(|d| d.join("apiary/cache.key")).unwrap_or_else(|| fallback.join("cache.key"));
        CompileCache::new(dir, &key)
    }

    /// A cache in `dir` (created when first written), its entries authenticated with the key
    /// in `key_path` (created, mode 600, when missing).
    pub fn new(dir: impl Into<PathBuf>, key_path: &Path) -> Result<CompileCache, CacheKeyError> {
        Ok(CompileCache { dir: dir.into(), key: read_or_create_key(key_path)? })
    }

    /// The folder of the entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The component for `bytes`: from the cache when an authentic entry exists, else compiled
    /// and stored. Failing to write the cache is not an error: the compiled component is
    /// returned.
    pub fn load(&self, engine: &Engine, bytes: &[u8], digest: &ComponentDigest) -> wasmtime::Result<Component> {
        let entry = self.entry_path(engine, digest);
        let context = format!("{}:{:016x}", digest.0, engine_hash(engine));
        if let Some(component) = self.read(engine, &entry, &context) {
            return Ok(component);
        }
        let compiled = engine.precompile_component(bytes)?;
        // SAFETY: `compiled` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled) }?;
        // Only a component the engine accepts is kept: one that compiles but is refused (too big
        // for an instance slot) would otherwise be read back, refused and warned about each time.
        if let Err(e) = self.write(&entry, &context, &compiled) {
            tracing::debug!(path = %entry.display(), "could not write the compile cache: {e}");
        }
        Ok(component)
    }

    /// The entry's path: `<component sha256>-<engine compatibility hash>.cwasm`.
    pub fn entry_path(&self, engine: &Engine, digest: &ComponentDigest) -> PathBuf {
        self.dir.join(format!("{}-{:016x}.cwasm", digest.0, engine_hash(engine)))
    }

    fn read(&self, engine: &Engine, entry: &Path, context: &str) -> Option<Component> {
        let bytes = std::fs::read(entry).ok()?;
        let tag = hex::decode(std::fs::read_to_string(mac_path(entry)).ok()?.trim()).ok()?;
        if self.mac(context, &bytes).verify_slice(&tag).is_err() {
            tracing::warn!(path = %entry.display(), "compile cache entry failed its authentication check; compiling again");
            return None;
        }
        // SAFETY: the bytes are exactly what a host holding this user's key wrote for this
        // component and an engine with the same compatibility hash (the MAC covers all three).
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %entry.display(), "compile cache entry unusable ({e}); compiling again");
                // Removed: a component compiled again is stored only if the engine accepts it.
                let _ = std::fs::remove_file(entry).and(std::fs::remove_file(mac_path(entry)));
                None
            }
        }
    }

    fn write(&self, entry: &Path, context: &str, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let partial = entry.with_extension(format!("partial-{}", std::process::id()));
        std::fs::write(&partial, compiled)?;
        std::fs::write(mac_path(entry), hex::encode(self.mac(context, compiled).finalize().into_bytes()))?;
        std::fs::rename(partial, entry)
    }

    /// The MAC of an entry's `bytes` for `context` (component digest and engine hash).
    fn mac(&self, context: &str, bytes: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(bytes);
        mac
    }
}

fn engine_hash(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

fn mac_path(entry: &Path) -> PathBuf {
    entry.with_extension("mac")
}

/// The 32-byte key at `path`, made from the OS's randomness (mode 600) when there is none.
fn read_or_create_key(path: &Path) -> Result<[u8; 32], CacheKeyError> {
    let error = |reason: String| CacheKeyError { path: path.to_path_buf(), reason };
    if let Ok(text) = std::fs::read_to_string(path) {
        let bytes =
            hex::decode(text.trim()).map_err(|e| error(format!("not a key ({e}); delete it to make a new one")))?;
        return bytes.try_into().map_err(|_| error("not a 32-byte key; delete it to make a new one".into()));
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| error(e.to_string()))?;
    }
    // Written whole beside the key, then linked into place: a concurrent process either finds
    // no key or a complete one, never a half-written file.
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&partial).and_then(|mut file| file.write_all(hex::encode(key).as_bytes()));
    let linked = written.and_then(|()| std::fs::hard_link(&partial, path));
    let _ = std::fs::remove_file(&partial);
    match linked {
        Ok(()) => {}
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read_or_create_key(path),
        Err(e) => return Err(error(e.to_string())),
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/apiary/cache.key");
        let first = read_or_create_key(&path).unwrap();
        assert_eq!(read_or_create_key(&path).unwrap(), first);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, "garbage").unwrap();
        assert!(read_or_create_key(&path).unwrap_err().to_string().contains("delete it"));
    }
}
