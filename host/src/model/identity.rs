//! What identifies the connector that fetched or parsed something: name, version, upstream API
//! version and the sha256 of its component. Every run, raw exchange and dead letter carries it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Manifest;

/// The sha256 of a connector's `.wasm` file, as lowercase hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ComponentDigest(pub String);

impl ComponentDigest {
    /// The digest of a component's bytes.
    pub fn of(bytes: &[u8]) -> ComponentDigest {
        ComponentDigest(hex::encode(Sha256::digest(bytes)))
    }
}

impl std::fmt::Display for ComponentDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

/// Which connector, in which version, speaking which API version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorIdentity {
    /// The connector's name, e.g. `github`.
    pub name: String,
    /// The connector's own version.
    pub version: String,
    /// The upstream API version it speaks, e.g. `2022-11-28`.
    pub api_version: String,
    /// The sha256 of the component.
    pub digest: ComponentDigest,
}

impl ConnectorIdentity {
    /// The identity of a loaded connector.
    pub fn new(manifest: &Manifest, digest: ComponentDigest) -> ConnectorIdentity {
        ConnectorIdentity {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            api_version: manifest.api_version.clone(),
            digest,
        }
    }
}
