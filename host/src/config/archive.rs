//! The `[archive]` table: where every stored exchange is also written, for re-parsing on another
//! machine. Credentials are read like the sink's URL: the name of a `[secrets]` entry, or a
//! source of their own; never written in the file.
//!
//! ```toml
//! [archive]
//! url = "s3://bucket/prefix"                      # or "file:///shared/mount/prefix"
//! access-key-id = { env = "AWS_ACCESS_KEY_ID" }   # S3 only; the AWS_* environment when absent
//! secret-access-key = "s3-secret"                 # a [secrets] entry
//! region = "us-east-1"
//! endpoint = "http://127.0.0.1:9000"              # an S3-compatible server
//! allow-http = true                               # plain HTTP: loopback endpoints only
//! flush-s = 5                                     # how long `apiary run` waits for the archive at its end
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Bounded, SecretSource, UrlSource};

/// The default of `flush-s`: a few seconds, so a slow archive never holds a run up for long.
pub const DEFAULT_FLUSH_S: u64 = 5;

/// The `[archive]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ArchiveConfig {
    /// Where the archive is.
    pub url: ArchiveUrl,
    /// The S3 access key id (a secret's name or a source); the environment's when absent.
    #[serde(default)]
    pub access_key_id: Option<UrlSource>,
    /// The S3 secret access key, read like `access-key-id`.
    #[serde(default)]
    pub secret_access_key: Option<UrlSource>,
    /// The S3 region (default: the environment's, else us-east-1).
    #[serde(default)]
    pub region: Option<String>,
    /// An S3-compatible server's URL instead of AWS's.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Allow a plain-HTTP `endpoint` (loopback only: credentials and data must not cross a
    /// network in clear).
    #[serde(default)]
    pub allow_http: bool,
    /// How long `apiary run` lets the archive catch up after the sync, in seconds.
    #[serde(default)]
    pub flush_s: Option<Bounded<0, 3600>>,
}

/// Where an archive is: an S3 bucket and key prefix, or a folder (a shared mount).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ArchiveUrl {
    /// `s3://bucket/prefix`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing `/` (may be empty).
        prefix: String,
    },
    /// `file:///absolute/folder`.
    File(PathBuf),
}

impl TryFrom<String> for ArchiveUrl {
    type Error = String;

    fn try_from(text: String) -> Result<ArchiveUrl, String> {
        text.parse()
    }
}

impl std::str::FromStr for ArchiveUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<ArchiveUrl, String> {
        let parsed = url::Url::parse(text).map_err(|e| format!("archive url {text:?} is not a URL: {e}"))?;
        if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() {
            // Never echo it: what it carries may be a credential.
            return Err(format!(
                "archive url {}://{}... carries credentials or a query: give credentials as `access-key-id` and `secret-access-key`",
                parsed.scheme(),
                parsed.host_str().unwrap_or_default()
            ));
        }
        match parsed.scheme() {
            "s3" => {
                let bucket = parsed.host_str().unwrap_or_default().to_string();
                if bucket.is_empty() {
                    return Err(format!("archive url {text:?} names no bucket: write s3://BUCKET/PREFIX"));
                }
                Ok(ArchiveUrl::S3 { bucket, prefix: parsed.path().trim_matches('/').to_string() })
            }
            "file" => match parsed.to_file_path() {
                Ok(path) if path.is_absolute() => Ok(ArchiveUrl::File(path)),
                _ => Err(format!("archive url {text:?} is not an absolute folder: write file:///PATH")),
            },
            other => Err(format!("archive url {text:?} has scheme `{other}`: use s3://BUCKET/PREFIX or file:///PATH")),
        }
    }
}

impl std::fmt::Display for ArchiveUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArchiveUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            ArchiveUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            ArchiveUrl::File(path) => write!(f, "file://{}", path.display()),
        }
    }
}

impl ArchiveConfig {
    /// An archive at `url` with every other key at its default (credentials from the
    /// environment): what `reparse --from-archive` uses for a pipeline without `[archive]`.
    pub fn at(url: ArchiveUrl) -> ArchiveConfig {
        ArchiveConfig {
            url,
            access_key_id: None,
            secret_access_key: None,
            region: None,
            endpoint: None,
            allow_http: false,
            flush_s: None,
        }
    }

    /// How long `apiary run` waits for the archive after the sync.
    pub fn flush(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.flush_s.map_or(DEFAULT_FLUSH_S, |b| b.get()))
    }

    /// Check the keys against the URL's kind and the pipeline's `[secrets]`; one line, naming
    /// the key.
    pub fn check(&self, secrets: &BTreeMap<String, SecretSource>) -> Result<(), String> {
        if let ArchiveUrl::File(_) = self.url {
            let s3_only = [
                ("access-key-id", self.access_key_id.is_some()),
                ("secret-access-key", self.secret_access_key.is_some()),
                ("region", self.region.is_some()),
                ("endpoint", self.endpoint.is_some()),
                ("allow-http", self.allow_http),
            ];
            if let Some((key, _)) = s3_only.iter().find(|(_, set)| *set) {
                return Err(format!("[archive] `{key}` is for s3:// archives only; remove it for a file:// url"));
            }
            return Ok(());
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err("[archive] `access-key-id` and `secret-access-key` go together: set both or neither".into());
        }
        for (key, source) in [("access-key-id", &self.access_key_id), ("secret-access-key", &self.secret_access_key)] {
            if let Some(UrlSource::Secret(name)) = source
                && !secrets.contains_key(name)
            {
                return Err(format!(
                    "[archive] `{key}` names secret `{name}`, which [secrets] does not define: add `{name} = {{ env = \"VAR\" }}` there"
                ));
            }
        }
        self.check_endpoint()
    }

    /// An endpoint must be a URL; plain HTTP only when allowed, and only to loopback.
    fn check_endpoint(&self) -> Result<(), String> {
        let Some(endpoint) = &self.endpoint else {
            return if self.allow_http {
                Err("[archive] `allow-http` needs a loopback `endpoint`".into())
            } else {
                Ok(())
            };
        };
        let url =
            url::Url::parse(endpoint).map_err(|e| format!("[archive] `endpoint` {endpoint:?} is not a URL: {e}"))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        };
        match (url.scheme(), self.allow_http) {
            ("https", _) => Ok(()),
            ("http", true) if loopback => Ok(()),
            ("http", true) => {
                Err(format!("[archive] `allow-http` is for loopback endpoints only, not {endpoint:?}: use https"))
            }
            ("http", false) => Err(format!(
                "[archive] `endpoint` {endpoint:?} is plain HTTP: use https, or `allow-http = true` for a loopback server"
            )),
            (other, _) => Err(format!("[archive] `endpoint` {endpoint:?} has scheme `{other}`: use https")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ArchiveUrl;
    use crate::config::Pipeline;

    fn with_archive(archive: &str) -> Result<Pipeline, String> {
        Pipeline::parse(&format!(
            "name = \"p\"\nconnector = \"c.wasm\"\n[secrets]\nkey = {{ env = \"K\" }}\n[archive]\n{archive}"
        ))
    }

    #[test]
    fn archive_urls_are_s3_or_absolute_folders() {
        let s3: ArchiveUrl = "s3://bucket/some/prefix/".parse().unwrap();
        assert_eq!(s3, ArchiveUrl::S3 { bucket: "bucket".into(), prefix: "some/prefix".into() });
        assert_eq!(s3.to_string(), "s3://bucket/some/prefix");
        assert_eq!("s3://b".parse::<ArchiveUrl>().unwrap().to_string(), "s3://b");
        assert_eq!("file:///mnt/a".parse::<ArchiveUrl>().unwrap(), ArchiveUrl::File("/mnt/a".into()));
        for (bad, expected) in [
            ("gs://b/p", "scheme `gs`"),
            ("s3://key:secret@b/p", "carries credentials"),
            ("s3:///p", "names no bucket"),
            ("nope", "not a URL"),
        ] {
            let err = bad.parse::<ArchiveUrl>().unwrap_err();
            assert!(err.contains(expected) && !err.contains("secret@"), "{bad}: {err}");
        }
    }

    #[test]
    fn archive_keys_are_checked_with_the_key_named() {
        let ok = with_archive(
            "url = \"s3://b/p\"\naccess-key-id = \"key\"\nsecret-access-key = { env = \"S\" }\nendpoint = \"http://127.0.0.1:9000\"\nallow-http = true\nflush-s = 0",
        )
        .unwrap();
        assert_eq!(ok.archive.unwrap().flush(), std::time::Duration::ZERO);
        assert_eq!(with_archive("url = \"file:///a\"").unwrap().archive.unwrap().flush().as_secs(), 5);
        let errors = [
            ("url = \"file:///a\"\nregion = \"x\"", "`region` is for s3://"),
            ("url = \"s3://b\"\naccess-key-id = \"key\"", "go together"),
            ("url = \"s3://b\"\naccess-key-id = \"nope\"\nsecret-access-key = \"key\"", "secret `nope`"),
            ("url = \"s3://b\"\nendpoint = \"http://10.0.0.1:9000\"\nallow-http = true", "loopback endpoints only"),
            ("url = \"s3://b\"\nendpoint = \"http://127.0.0.1:9000\"", "plain HTTP"),
            ("url = \"s3://b\"\nallow-http = true", "needs a loopback"),
            ("url = \"s3://b\"\nflush-s = 99999", "out of range"),
            ("url = \"ftp://b\"", "scheme `ftp`"),
        ];
        for (archive, expected) in errors {
            let err = with_archive(archive).unwrap_err();
            assert!(err.contains(expected) && !err.contains('\n'), "{archive}: {err}");
        }
    }
}
