//! Building a [`Manifest`] with sensible defaults.

use crate::{Auth, Bucket, Endpoint, Manifest, Method, RetryPolicy};

/// Statuses the host retries for every connector; a policy's `retry-statuses` add to these.
pub const DEFAULT_RETRY_STATUSES: [u16; 7] = [408, 425, 429, 500, 502, 503, 504];

/// A manifest with no endpoints, no buckets, no auth and the default retry policy (5 attempts,
/// 2 s base, doubling, capped at 60 s). Add endpoints and buckets to it.
///
/// ```
/// use apiary_sdk::{Bucket, Endpoint};
/// let mut m = apiary_sdk::manifest("shop", "1.0.0", "v2", "https://shop.example.com");
/// m.buckets.push(Bucket::new("api", 20, 1_000, 2));
/// m.endpoints.push(Endpoint::get("orders", "/api/orders").bucket("api").primary_key(&["order_id"]).max_in_flight(2));
/// assert!(apiary_sdk::check_manifest(&m).is_empty());
/// assert_eq!(m.retry.max_attempts, 5);
/// ```
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
            schema: None,
        }
    }

    /// Declare the JSON Schema every record of this stream satisfies, as JSON text. The host
    /// compiles it when it loads the connector (a schema that is not valid JSON Schema refuses
    /// the load, naming this endpoint) and makes every record that fails it a `record` dead
    /// letter carrying the validator's message. The draft is the one `$schema` names (2020-12
    /// when none); `$ref`s must point inside the document.
    ///
    /// ```
    /// use apiary_sdk::Endpoint;
    /// let labels = Endpoint::get("labels", "/repos/{owner}/{repo}/labels").schema(
    ///     r#"{"type": "object", "required": ["id", "name"],
    ///         "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}"#,
    /// );
    /// assert!(labels.schema.as_deref().unwrap().contains("\"required\""));
    /// ```
    pub fn schema(mut self, json: impl Into<String>) -> Endpoint {
        self.schema = Some(json.into());
        self
    }

    /// Declare the schema of the Rust type `T`, derived with [`schemars`] (`#[derive(JsonSchema)]`,
    /// honouring `#[serde(..)]` attributes): the same as [`Endpoint::schema`] with its JSON.
    /// A field of type `Option<_>` may be `null` or missing; every other field is required.
    ///
    /// ```
    /// use apiary_sdk::{Endpoint, JsonSchema};
    ///
    /// #[derive(JsonSchema)]
    /// #[schemars(crate = "apiary_sdk::schemars")] // not needed when you depend on schemars yourself
    /// struct Label {
    ///     id: u64,
    ///     name: String,
    ///     description: Option<String>,
    /// }
    ///
    /// let labels = Endpoint::get("labels", "/repos/{owner}/{repo}/labels").schema_of::<Label>();
    /// let schema: serde_json::Value = serde_json::from_str(labels.schema.as_deref().unwrap()).unwrap();
    /// assert_eq!(schema["properties"]["id"]["type"], "integer");
    /// assert_eq!(schema["required"], serde_json::json!(["id", "name"]));
    /// ```
    pub fn schema_of<T: schemars::JsonSchema>(self) -> Endpoint {
        let schema = schemars::schema_for!(T);
        self.schema(serde_json::to_string(&schema).expect("a derived schema is JSON"))
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

    /// How many requests to this endpoint may be in flight at once (1 unless set). Declare
    /// more only if the API takes them: on a `Link` chain that counts a page or offset
    /// parameter up, the host then sends up to `n` of the chain's pages ahead, so the chain
    /// waits out the API's latency once per `n` pages.
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
    ///
    /// ```
    /// let ctx = apiary_sdk::SyncContext { config: vec![("owner".into(), "octo".into())], checkpoint: None, now_ms: 0 };
    /// assert_eq!(ctx.config("owner"), Some("octo"));
    /// assert_eq!(ctx.config("repo"), None);
    /// ```
    pub fn config(&self, name: &str) -> Option<&str> {
        self.config.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The common mistakes in a manifest, one sentence each; empty when it is sound. Call it from a
/// unit test (see [`crate::testing::assert_manifest_sound`]) so they fail `cargo test`, not a
/// sync.
///
/// ```
/// let mut m = apiary_sdk::manifest("shop", "1.0.0", "v2", "https://shop.example.com");
/// m.endpoints.push(apiary_sdk::Endpoint::get("orders", "/api/orders").bucket("nope"));
/// let problems = apiary_sdk::check_manifest(&m);
/// assert_eq!(problems, ["endpoint `orders` draws from bucket `nope`, which the manifest does not declare"]);
/// ```
pub fn check_manifest(m: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |text: String| problems.push(text);
    if m.name.trim().is_empty() {
        problem("the manifest has an empty name".into());
    }
    if m.version.split('.').filter(|p| p.parse::<u64>().is_ok()).count() < 3 {
        problem(format!("version {:?} is not semver (MAJOR.MINOR.PATCH)", m.version));
    }
    if m.api_version.trim().is_empty() {
        problem("api-version is empty: name the upstream API version, e.g. \"v1\" or \"2022-11-28\"".into());
    }
    if !(m.base_url.starts_with("https://") || m.base_url.starts_with("http://")) {
        problem(format!("base URL {:?} must start with https://", m.base_url));
    }
    if m.endpoints.is_empty() {
        problem("the manifest declares no endpoints".into());
    }
    if m.retry.max_attempts == 0 {
        problem("retry.max-attempts is 0: at least one attempt is needed".into());
    }
    for b in &m.buckets {
        if b.requests == 0 || b.per_ms == 0 {
            problem(format!("bucket `{}` allows no requests ({} per {} ms)", b.name, b.requests, b.per_ms));
        }
    }
    for (i, e) in m.endpoints.iter().enumerate() {
        if m.endpoints[..i].iter().any(|other| other.name == e.name) {
            problem(format!("endpoint `{}` is declared twice", e.name));
        }
        if e.name.is_empty() || !e.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            problem(format!("endpoint name {:?} must be letters, digits, `-`, `_` or `.` (it names a file)", e.name));
        }
        for bucket in &e.buckets {
            if !m.buckets.iter().any(|b| &b.name == bucket) {
                problem(format!(
                    "endpoint `{}` draws from bucket `{bucket}`, which the manifest does not declare",
                    e.name
                ));
            }
        }
        if e.max_in_flight == 0 {
            problem(format!("endpoint `{}` has max-in-flight 0: no request could ever be sent", e.name));
        }
        if let Some(text) = &e.schema {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(_) | serde_json::Value::Bool(_)) => {}
                Ok(_) => problem(format!("endpoint `{}` declares a schema that is not a JSON object", e.name)),
                Err(error) => problem(format!("endpoint `{}` declares a schema that is not JSON: {error}", e.name)),
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_common_mistakes() {
        let mut m = manifest("x", "1.0.0", "v1", "https://api.example.com");
        m.endpoints.push(Endpoint::get("items", "/items").bucket("core"));
        m.endpoints.push(Endpoint::get("items", "/items"));
        m.endpoints.push(Endpoint::get("typed", "/typed").schema("{\"type\": "));
        let problems = check_manifest(&m);
        assert!(
            problems.iter().any(|p| p.contains("bucket `core`, which the manifest does not declare")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("declared twice")));
        assert!(problems.iter().any(|p| p.starts_with("endpoint `typed` declares a schema that is not JSON")));
        m.buckets.push(Bucket::new("core", 10, 1000, 1));
        m.endpoints.pop();
        m.endpoints.pop();
        assert!(check_manifest(&m).is_empty(), "{:?}", check_manifest(&m));
        let bad = manifest("", "one", "", "");
        assert_eq!(check_manifest(&bad).len(), 5, "{:?}", check_manifest(&bad));
    }
}
