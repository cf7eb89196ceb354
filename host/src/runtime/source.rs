//! Reading a component file without trusting its size: a cap checked before reading, and only
//! regular files (a `/dev/zero` or a FIFO would never end).

use std::io::Read;
use std::path::Path;

use super::LoadError;

/// The bytes of the component at `path`, refused when it is not a regular file or is larger
/// than `cap` bytes.
pub fn read_component(path: &Path, cap: u64) -> Result<Vec<u8>, LoadError> {
    let read_error = |source| LoadError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    if !metadata.is_file() {
        return Err(LoadError::NotAFile { path: path.to_path_buf() });
    }
    let too_large = |size: u64| LoadError::TooLarge { path: path.to_path_buf(), size, cap };
    if metadata.len() > cap {
        return Err(too_large(metadata.len()));
    }
    // The file may grow between the check and the read: never read past the cap.
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_and_files_over_the_cap() {
        let err = read_component(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(err, LoadError::NotAFile { .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.wasm");
        std::fs::write(&path, vec![0u8; 2048]).unwrap();
        let err = read_component(&path, 1024).unwrap_err();
        assert!(err.to_string().contains("2048 bytes") && err.to_string().contains("max-component-mib"), "{err}");
        assert_eq!(read_component(&path, 4096).unwrap().len(), 2048);
    }
}
