//! Building a [`Manifest`] with sensible defaults.

use crate::{Auth, Bucket, Endpoint, Manifest, Method, RetryPolicy};

/// Statuses the host retries for every connector; a policy's `retry-statuses` add to these.
pub const DEFAULT_RETRY_STATUSES: [u16; 7] = [408, 425, 429, 500, 502, 503, 504];

/// A manifest with no endpoints, no buckets, no auth and the default retry policy (5 attempts,
/// 2 s base, doubling, capped at 60 s). Add endpoints and buckets to it.
pub fn manifest(name: &str, version: &str, api_version: &str, base_url: &str) -> Manifest {
    Manifest {
        name: name.to_string(),
        version: version.to_string(),
        api_version: api_version.to_string(),
        base_url: base_url.to_string(),
        allowed_hosts: Vec::new(),
        auth: Auth::None,
        buckets: Vec::new(),
        endpoints: Vec::new(),
        retry: RetryPolicy::default(),
        rate_limit_headers: None,
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base_ms: 2_000, max_ms: 60_000, retry_statuses: Vec::new() }
    }
}

impl Bucket {
    /// A bucket of `requests` per `per_ms` milliseconds, with a burst of `burst`.
    pub fn new(name: &str, requests: u32, per_ms: u64, burst: u32) -> Bucket {
        Bucket { name: name.to_string(), requests, per_ms, burst }
    }
}

impl Endpoint {
    /// A `GET` endpoint named `name` (its stream name), one request in flight, no buckets.
    pub fn get(name: &str, path: &str) -> Endpoint {
        Endpoint::new(name, Method::Get, path)
    }

    /// An endpoint with any method, one request in flight, no buckets.
    pub fn new(name: &str, method: Method, path: &str) -> Endpoint {
        Endpoint {
            name: name.to_string(),
            method,
            path: path.to_string(),
            buckets: Vec::new(),
            max_in_flight: 1,
            primary_key: Vec::new(),
            cursor_field: None,
            idempotency_key: None,
        }
    }

    /// The header the API reads an idempotency key from; lets the host retry a POST safely.
    pub fn idempotency_key(mut self, header: &str) -> Endpoint {
        self.idempotency_key = Some(header.to_string());
        self
    }

    /// Draw one token from `bucket` for each request to this endpoint.
    pub fn bucket(mut self, bucket: &str) -> Endpoint {
        self.buckets.push(bucket.to_string());
        self
    }

    /// The fields that identify a record.
    pub fn primary_key(mut self, fields: &[&str]) -> Endpoint {
        self.primary_key = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// The field incremental syncs advance on.
    pub fn cursor_field(mut self, field: &str) -> Endpoint {
        self.cursor_field = Some(field.to_string());
        self
    }

    /// How many requests to this endpoint may be in flight at once.
    pub fn max_in_flight(mut self, n: u32) -> Endpoint {
        self.max_in_flight = n;
        self
    }
}

impl Default for crate::Page {
    fn default() -> Self {
        crate::Page { records: Vec::new(), rejects: Vec::new(), next: Vec::new(), checkpoint: None }
    }
}

impl crate::SyncContext {
    /// The pipeline's `[config]` value `name`, if set.
    pub fn config(&self, name: &str) -> Option<&str> {
        self.config.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}
