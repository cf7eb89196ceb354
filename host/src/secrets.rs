//! Secrets: read from where the pipeline says (an environment variable, a mode-600 file), and
//! scrubbed from any text the host writes. Only the fetcher injects their values into requests;
//! the connector never receives one.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::{SecretSource, UrlSource};
use crate::model::Auth;

/// What replaces a secret value in any text apiary writes.
pub const REDACTED: &str = "[REDACTED]";

/// A secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("secret `{name}`: environment variable {var} is not set")]
    MissingEnv { name: String, var: String },
    /// The file could not be read.
    #[error("secret `{name}`: cannot read {path}: {reason}")]
    File { name: String, path: String, reason: String },
    /// The file is readable by others than its owner.
    #[error("secret `{name}`: {path} is readable by other users; run `chmod 600 {path}`")]
    Exposed { name: String, path: String },
}

/// The pipeline's secret values, by name. Its `Debug` never shows a value.
#[derive(Clone, Default)]
pub struct Secrets(BTreeMap<String, String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Secrets {
    /// Read every secret the pipeline names.
    pub fn resolve(sources: &BTreeMap<String, SecretSource>) -> Result<Secrets, SecretError> {
        let mut values = BTreeMap::new();
        for (name, source) in sources {
            let value = match source {
                SecretSource::Env(var) => {
                    std::env::var(var).map_err(|_| SecretError::MissingEnv { name: name.clone(), var: var.clone() })?
                }
                SecretSource::File(path) => read_secret_file(name, path)?,
            };
            values.insert(name.clone(), value);
        }
        Ok(Secrets(values))
    }

    /// Secrets from literal values (tests and embedding).
    pub fn from_values(values: impl IntoIterator<Item = (String, String)>) -> Secrets {
        Secrets(values.into_iter().collect())
    }

    /// The URL `source` names: a `[secrets]` entry of these, or its own source. `key` names
    /// the setting in messages (`[sink] url`, `[coordination] redis`).
    pub fn url(&self, source: &UrlSource, key: &str) -> Result<String, String> {
        match source {
            UrlSource::Secret(name) => self
                .get(name)
                .map(str::to_string)
                .ok_or_else(|| format!("{key} names secret `{name}`, which [secrets] does not define")),
            UrlSource::Source(source) => {
                let sources = BTreeMap::from([("url".to_string(), source.clone())]);
                let read = Secrets::resolve(&sources).map_err(|e| format!("{key}: {e}"))?;
                Ok(read.get("url").unwrap_or_default().to_string())
            }
        }
    }

    /// The value of secret `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `text` with every secret value (and its URL-encoded form) replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in self.0.values().filter(|v| !v.is_empty()) {
            out = out.replace(value.as_str(), REDACTED);
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            out = out.replace(&encoded, REDACTED);
        }
        out
    }

    /// The names the manifest's auth scheme needs that the pipeline does not provide.
    pub fn missing_for(&self, auth: &Auth) -> Vec<String> {
        auth.secret_names().into_iter().filter(|n| self.get(n).is_none()).map(str::to_string).collect()
    }
}

/// Read the secret `name` from the file at `path`, refusing a file others may read (so
/// `--token-file` is checked like a pipeline's secrets). A trailing newline is dropped.
pub fn read_secret_file(name: &str, path: &Path) -> Result<String, SecretError> {
    let shown = path.display().to_string();
    let file_error = |reason: String| SecretError::File { name: name.into(), path: shown.clone(), reason };
    let metadata = std::fs::metadata(path).map_err(|e| file_error(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            return Err(SecretError::Exposed { name: name.into(), path: shown });
        }
    }
    let _ = metadata;
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_plain_and_url_encoded_values() {
        let s = Secrets::from_values([("token".to_string(), "s3cr et/+".to_string())]);
        assert_eq!(s.redact("Authorization: Bearer s3cr et/+"), "Authorization: Bearer [REDACTED]");
        assert_eq!(s.redact("GET /x?key=s3cr+et%2F%2B"), "GET /x?key=[REDACTED]");
        assert!(!format!("{s:?}").contains("s3cr"));
    }

    #[test]
    fn a_missing_env_secret_names_the_variable() {
        let sources = BTreeMap::from([("token".to_string(), SecretSource::Env("APIARY_TEST_UNSET_VAR".into()))]);
        let err = Secrets::resolve(&sources).unwrap_err().to_string();
        assert!(err.contains("APIARY_TEST_UNSET_VAR"), "{err}");
    }

    #[test]
    fn a_secret_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let sources = BTreeMap::from([("token".to_string(), SecretSource::File(path.clone()))]);
        assert!(Secrets::resolve(&sources).unwrap_err().to_string().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let secrets = Secrets::resolve(&sources).unwrap();
        assert_eq!(secrets.redact("x abc y"), "x [REDACTED] y");
    }
}
