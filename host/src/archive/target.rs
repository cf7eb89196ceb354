//! The archive's object store, built from a pipeline's `[archive]` table: S3 (or an
//! S3-compatible server) through `object_store`, or a folder. Credentials are read here and go
//! only into the S3 client; what is shown and recorded is the URL and errors with every
//! credential value scrubbed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use super::ArchiveError;
use crate::config::{ArchiveConfig, ArchiveUrl, SecretSource, UrlSource};
use crate::secrets::Secrets;

/// How long one request to the archive may take; the drain retries with its own backoff.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take: a dead server must not hold the drain (or a run's flush) up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An archive, open: where objects go and how it is shown.
#[derive(Clone)]
pub struct ArchiveTarget {
    objects: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    scrub: Secrets,
}

impl std::fmt::Debug for ArchiveTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveTarget").field("url", &self.url).finish()
    }
}

impl ArchiveTarget {
    /// Open the archive `config` names, its credentials read from `secrets` (the pipeline's
    /// `[secrets]`) or their own sources, else the `AWS_*` environment.
    pub fn open(
        config: &ArchiveConfig,
        secrets: &BTreeMap<String, SecretSource>,
    ) -> Result<ArchiveTarget, ArchiveError> {
        let url = config.url.to_string();
        let (objects, prefix, scrub): (Arc<dyn ObjectStore>, String, Secrets) = match &config.url {
            ArchiveUrl::File(folder) => {
                std::fs::create_dir_all(folder)
                    .map_err(|e| ArchiveError::Setup(format!("cannot create the archive folder {url}: {e}")))?;
                let local = LocalFileSystem::new_with_prefix(folder).map_err(|e| ArchiveError::Setup(e.to_string()))?;
                (Arc::new(local), String::new(), Secrets::default())
            }
            ArchiveUrl::S3 { bucket, prefix } => {
                let keys = credentials(config, secrets)?;
                (Arc::new(s3(config, bucket, &keys)?), prefix.clone(), keys)
            }
        };
        Ok(ArchiveTarget { objects, prefix: ObjectPath::from(prefix), url, scrub })
    }

    /// The archive's URL (never a credential).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object store.
    pub(super) fn objects(&self) -> &dyn ObjectStore {
        self.objects.as_ref()
    }

    /// The key prefix every object of the archive lies under.
    pub(super) fn prefix(&self) -> &ObjectPath {
        &self.prefix
    }

    /// An error from the store on one line, credential values replaced.
    pub(super) fn describe(&self, error: &object_store::Error) -> String {
        self.scrub.redact(&error.to_string().replace('\n', " "))
    }

    /// The archive failed to answer `error`: the error naming it.
    pub(super) fn unreachable(&self, error: &object_store::Error) -> ArchiveError {
        ArchiveError::Unreachable { url: self.url.clone(), reason: self.describe(error) }
    }
}

/// The S3 client: path-style requests, short timeouts, few retries of its own.
fn s3(config: &ArchiveConfig, bucket: &str, keys: &Secrets) -> Result<object_store::aws::AmazonS3, ArchiveError> {
    // reqwest 0.13 is built without a crypto provider: use ring, as the rest of apiary does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = ClientOptions::new().with_timeout(REQUEST_TIMEOUT).with_connect_timeout(CONNECT_TIMEOUT);
    let retry = RetryConfig { max_retries: 1, retry_timeout: REQUEST_TIMEOUT, ..RetryConfig::default() };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_client_options(options)
        .with_retry(retry)
        .with_allow_http(config.allow_http);
    if let Some(region) = &config.region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
    }
    if let (Some(id), Some(secret)) = (keys.get("access-key-id"), keys.get("secret-access-key")) {
        builder = builder.with_access_key_id(id).with_secret_access_key(secret);
    }
    builder.build().map_err(|e| ArchiveError::Setup(format!("s3://{bucket}: {}", keys.redact(&e.to_string()))))
}

/// The credentials `[archive]` names, read now, under the keys' own names.
fn credentials(config: &ArchiveConfig, secrets: &BTreeMap<String, SecretSource>) -> Result<Secrets, ArchiveError> {
    let mut sources = BTreeMap::new();
    for (key, source) in [("access-key-id", &config.access_key_id), ("secret-access-key", &config.secret_access_key)] {
        let source = match source {
            None => continue,
            Some(UrlSource::Source(source)) => source.clone(),
            Some(UrlSource::Secret(name)) => secrets.get(name).cloned().ok_or_else(|| {
                ArchiveError::Setup(format!("[archive] `{key}` names secret `{name}`, which [secrets] does not define"))
            })?,
        };
        sources.insert(key.to_string(), source);
    }
    Ok(Secrets::resolve(&sources)?)
}
