//! Encoding stored values: JSON for metadata, zstd for bodies. Decoding never panics.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// zstd level for response bodies: JSON compresses well at low levels, and level 3 keeps
/// compression far cheaper than the network.
const ZSTD_LEVEL: i32 = 3;

/// Encode a metadata value.
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("stored types always encode")
}

/// Decode a metadata value read from `table`.
pub fn from_json<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Decode { table: table.to_string(), reason: e.to_string() })
}

/// Compress a response body.
pub fn compress(body: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(body, ZSTD_LEVEL).expect("compressing into memory does not fail")
}

/// Decompress a response body of `len` bytes.
pub fn decompress(bytes: &[u8], len: usize) -> Result<Vec<u8>, StoreError> {
    zstd::bulk::decompress(bytes, len.max(1))
        .map_err(|e| StoreError::Decode { table: "raw_body".to_string(), reason: e.to_string() })
}
