//! A credential's public name. A rate limit belongs to the credential, not to the process, so
//! budgets are keyed by it; Redis only ever sees this hash of it.

use sha2::{Digest, Sha256};

use crate::model::Auth;
use crate::secrets::Secrets;

/// The first 16 bytes of a SHA-256 over the secrets a connector's auth sends, in hex; or
/// `anonymous` when it sends none (an API's anonymous limit is per client address).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialId(String);

impl CredentialId {
    /// The credential `auth` sends with `secrets`. The secret names do not count: two pipelines
    /// naming one token differently share its budget.
    pub fn of(auth: &Auth, secrets: &Secrets) -> CredentialId {
        let values: Vec<&str> = auth.secret_names().into_iter().filter_map(|name| secrets.get(name)).collect();
        if values.is_empty() {
            return CredentialId("anonymous".into());
        }
        let mut hash = Sha256::new();
        hash.update(b"apiary credential v1\0");
        for value in values {
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(value.as_bytes());
        }
        CredentialId(hex::encode(&hash.finalize()[..16]))
    }

    /// The name, as used in Redis keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CredentialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(secret: &str) -> Auth {
        Auth::Bearer { secret: secret.into() }
    }

    #[test]
    fn one_token_under_two_names_is_one_credential_and_its_value_never_shows() {
        let token = "ghp_supersecret";
        let a = CredentialId::of(&bearer("token"), &Secrets::from_values([("token".into(), token.into())]));
        let b = CredentialId::of(&bearer("gh"), &Secrets::from_values([("gh".into(), token.into())]));
        let other = CredentialId::of(&bearer("token"), &Secrets::from_values([("token".into(), "ghp_other".into())]));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.as_str().len(), 32);
        assert!(!a.as_str().contains("supersecret"));
        assert_eq!(CredentialId::of(&Auth::None, &Secrets::default()).as_str(), "anonymous");
    }
}
