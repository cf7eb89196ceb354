//! Encoding stored values: JSON for metadata, zstd for bodies. Decoding never panics.

use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// zstd level for response bodies: JSON compresses well at low levels. Level 1 stores the
/// recorded GitHub responses in `shared/fixtures` 1.5-3% larger than level 3 did (the
/// benchmark's pages 0.7% smaller), at the same speed, and its contexts (kept, one per core)
/// are smaller: figure 8's sync peaked with about 2 MiB less anonymous memory (README).
const ZSTD_LEVEL: i32 = 1;

/// Encode a metadata value.
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("stored types always encode")
}

/// Decode a metadata value read from `table`.
pub fn from_json<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Decode { table: table.to_string(), reason: e.to_string() })
}

/// Compression contexts not in use. A context's tables are allocated and zeroed when it is
/// made (at level 3 that showed in profiles as `memset`): a sync compresses every page, so
/// contexts are kept (one per core at most) instead of made for each body.
static IDLE_COMPRESSORS: Mutex<Vec<zstd::bulk::Compressor<'static>>> = Mutex::new(Vec::new());

/// Compress a response body.
pub fn compress(body: &[u8]) -> Vec<u8> {
    let idle = IDLE_COMPRESSORS.lock().expect("compressor pool lock").pop();
    let mut compressor = match idle {
        Some(compressor) => compressor,
        None => zstd::bulk::Compressor::new(ZSTD_LEVEL).expect("a compression context in memory"),
    };
    let compressed = compressor.compress(body).expect("compressing into memory does not fail");
    let mut idle = IDLE_COMPRESSORS.lock().expect("compressor pool lock");
    if idle.len() < crate::machine::cores() {
        idle.push(compressor);
    }
    compressed
}

/// Decompress a response body of `len` bytes.
pub fn decompress(bytes: &[u8], len: usize) -> Result<Vec<u8>, StoreError> {
    zstd::bulk::decompress(bytes, len.max(1))
        .map_err(|e| StoreError::Decode { table: "raw_body".to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_context_compresses_like_a_fresh_one() {
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{{\"id\":{i}}},").into_bytes()).collect();
        for body in [&b"{}"[..], &big[..], &b"[1,2,3]"[..], &big[..1000]] {
            let kept = compress(body);
            assert_eq!(kept, zstd::bulk::compress(body, ZSTD_LEVEL).unwrap(), "the same frame");
            assert_eq!(decompress(&kept, body.len()).unwrap(), body);
        }
    }
}
