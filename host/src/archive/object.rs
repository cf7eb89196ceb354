//! One archived exchange as an object: its key and its bytes.
//!
//! The object is a header line, the exchange's [`RawMeta`] as one line of JSON (secrets were
//! redacted before it was stored), then the body exactly as the store keeps it (zstd): all a
//! re-parse needs, and no compression run again. The key is
//! `<prefix>/<pipeline>/<fetched at, 13 digits of ms>-<sha256 of the object>`: content-addressed
//! (the same exchange always has the same key, so a create-only put that finds it there is done),
//! and listing `<prefix>/<pipeline>/` returns a pipeline's exchanges in the order they were fetched.

use object_store::path::Path as ObjectPath;
use sha2::{Digest, Sha256};

use crate::store::RawMeta;

/// The first line of every archived exchange: the format, for readers of later versions.
const HEADER: &[u8] = b"apiary-exchange/1\n";

/// An exchange ready to put: its key and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedObject {
    /// Where it goes.
    pub key: ObjectPath,
    /// What it holds.
    pub bytes: Vec<u8>,
}

/// An object could not be read back as an exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// Its bytes do not hash to the digest in its key.
    #[error("its content does not match the sha256 in its name")]
    Digest,
    /// It is not an archived exchange of a format this apiary reads.
    #[error("it is not an apiary exchange: {0}")]
    Format(String),
}

/// The object of exchange `meta` with body `compressed` (as stored), archived under `prefix`.
pub fn encode(prefix: &ObjectPath, meta: &RawMeta, compressed: &[u8]) -> ArchivedObject {
    let json = serde_json::to_vec(meta).expect("stored types always encode");
    let mut bytes = Vec::with_capacity(HEADER.len() + json.len() + 1 + compressed.len());
    bytes.extend_from_slice(HEADER);
    bytes.extend_from_slice(&json);
    bytes.push(b'\n');
    bytes.extend_from_slice(compressed);
    let key = key(prefix, &meta.pipeline, meta.fetched_at_ms, &hex::encode(Sha256::digest(&bytes)));
    ArchivedObject { key, bytes }
}

/// The key of an exchange of `pipeline` fetched at `fetched_at_ms` whose object hashes to `sha256`.
pub fn key(prefix: &ObjectPath, pipeline: &str, fetched_at_ms: u64, sha256: &str) -> ObjectPath {
    pipeline_prefix(prefix, pipeline).join(format!("{fetched_at_ms:013}-{sha256}"))
}

/// Where the exchanges of `pipeline` lie.
pub fn pipeline_prefix(prefix: &ObjectPath, pipeline: &str) -> ObjectPath {
    prefix.clone().join(pipeline)
}

/// The exchange archived at `key` as `bytes`: its metadata and its compressed body, checked
/// against the digest in the key.
pub fn decode(key: &ObjectPath, bytes: &[u8]) -> Result<(RawMeta, Vec<u8>), ObjectError> {
    let digest = key.filename().and_then(|name| name.split_once('-')).map(|(_, sha)| sha);
    if digest != Some(hex::encode(Sha256::digest(bytes)).as_str()) {
        return Err(ObjectError::Digest);
    }
    let rest = bytes.strip_prefix(HEADER).ok_or_else(|| ObjectError::Format("no apiary-exchange/1 header".into()))?;
    let end = rest.iter().position(|b| *b == b'\n').ok_or_else(|| ObjectError::Format("no metadata line".into()))?;
    let meta = serde_json::from_slice(&rest[..end]).map_err(|e| ObjectError::Format(e.to_string()))?;
    Ok((meta, rest[end + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectorIdentity, Method, Request};
    use crate::store::{ExchangeId, RunId};

    fn meta(id: u64, fetched_at_ms: u64) -> RawMeta {
        RawMeta {
            id: ExchangeId(id),
            run: RunId(1),
            pipeline: "gh".into(),
            stream: "issues".into(),
            connector: ConnectorIdentity::default(),
            request: Request {
                endpoint: "issues".into(),
                method: Method::Get,
                url: "/issues?page=1".into(),
                headers: Vec::new(),
                body: None,
            },
            status: 200,
            headers: Vec::new(),
            fetched_at_ms,
            duration_ms: 3,
            attempt: 1,
            hop: 0,
            base_url: None,
            body_bytes: 2,
            stored_bytes: 11,
            unasked: false,
        }
    }

    #[test]
    fn the_key_is_the_pipeline_the_fetch_time_and_the_content_digest() {
        let prefix = ObjectPath::from("team/archive");
        let object = encode(&prefix, &meta(7, 1_700_000_000_123), b"zstd-bytes");
        let name = object.key.to_string();
        let digest = hex::encode(Sha256::digest(&object.bytes));
        assert_eq!(name, format!("team/archive/gh/1700000000123-{digest}"));
        assert_eq!(
            encode(&prefix, &meta(7, 1_700_000_000_123), b"zstd-bytes"),
            object,
            "the same exchange, the same key"
        );
        assert_ne!(encode(&prefix, &meta(8, 1_700_000_000_123), b"zstd-bytes").key, object.key, "another exchange");
        let early = encode(&prefix, &meta(9, 5), b"x").key.to_string();
        assert!(early < name, "keys sort by fetch time: {early}");
        assert_eq!(
            encode(&ObjectPath::from(""), &meta(7, 5), b"x").key.parts().count(),
            2,
            "no prefix: <pipeline>/<name>"
        );
    }

    #[test]
    fn an_object_decodes_to_what_was_archived_and_damage_is_refused() {
        let prefix = ObjectPath::from("p");
        let object = encode(&prefix, &meta(7, 42), b"\n\x28binary\nbody");
        assert_eq!(decode(&object.key, &object.bytes), Ok((meta(7, 42), b"\n\x28binary\nbody".to_vec())));
        let mut damaged = object.bytes.clone();
        damaged[30] ^= 1;
        assert_eq!(decode(&object.key, &damaged), Err(ObjectError::Digest));
        let foreign = b"not an exchange".to_vec();
        let key = key(&prefix, "gh", 42, &hex::encode(Sha256::digest(&foreign)));
        assert!(matches!(decode(&key, &foreign), Err(ObjectError::Format(_))));
    }
}
