//! What a connector declares about its API: endpoints, rate-limit buckets, auth, retry policy
//! and the upstream API version. Read once, when the connector is loaded.

use serde::{Deserialize, Serialize};

use super::Method;

/// Everything the host needs to know about a connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Connector name, e.g. `github`.
    pub name: String,
    /// Connector version (semver).
    pub version: String,
    /// The upstream API version it speaks, e.g. `2022-11-28`.
    pub api_version: String,
    /// Where requests go unless a pipeline overrides it.
    pub base_url: String,
    /// Hosts requests may go to besides the base URL's.
    pub allowed_hosts: Vec<String>,
    /// How requests are authenticated.
    pub auth: Auth,
    /// Named rate-limit budgets.
    pub buckets: Vec<Bucket>,
    /// The streams the connector can sync.
    pub endpoints: Vec<Endpoint>,
    /// The connector's retry policy.
    pub retry: RetryPolicy,
    /// Rate-limit header names, when the API uses others than the host's defaults.
    pub rate_limit_headers: Option<RateLimitHeaders>,
}

impl Manifest {
    /// The endpoint named `name`.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The primary-key fields of stream `name` (empty when it declares none).
    pub fn primary_key(&self, name: &str) -> &[String] {
        self.endpoint(name).map_or(&[], |e| e.primary_key.as_slice())
    }
}

/// A named rate-limit budget: `requests` per `per_ms` milliseconds, `burst` at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Its name, which endpoints refer to.
    pub name: String,
    /// Requests per period.
    pub requests: u32,
    /// The period, in ms.
    pub per_ms: u64,
    /// Requests allowed at once.
    pub burst: u32,
}

/// One stream: a kind of record and the requests that read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The stream name, also its output name.
    pub name: String,
    /// The method of its requests.
    pub method: Method,
    /// The path of its first request (informational; may hold `{placeholders}`).
    pub path: String,
    /// Every bucket a request draws one token from.
    pub buckets: Vec<String>,
    /// Requests to it that may be in flight at once.
    pub max_in_flight: u32,
    /// The fields that identify a record.
    pub primary_key: Vec<String>,
    /// The field incremental syncs advance on.
    pub cursor_field: Option<String>,
    /// The header a non-idempotent request carries an idempotency key in, if the API takes one.
    pub idempotency_key: Option<String>,
    /// The JSON Schema its records satisfy, as JSON text (contract 0.2; `None` before). Shown
    /// and stored as the JSON document itself, so it stays readable.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::json_text")]
    pub schema: Option<String>,
}

/// Header names an API reports its quota in, when not one of the host's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitHeaders {
    /// Requests remaining in the window.
    pub remaining: String,
    /// When the window resets.
    pub reset: String,
}

/// How requests are authenticated. Every string names a secret of the pipeline (or a header or
/// parameter name); the host fills in values when sending, and the connector never sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer {
        /// The secret's name.
        secret: String,
    },
    /// A header carrying the secret.
    Header {
        /// The header's name.
        name: String,
        /// The secret's name.
        secret: String,
    },
    /// A query parameter carrying the secret.
    Query {
        /// The parameter's name.
        param: String,
        /// The secret's name.
        secret: String,
    },
    /// HTTP basic auth.
    Basic {
        /// The secret holding the user name.
        user: String,
        /// The secret holding the password.
        password: String,
    },
}

impl Auth {
    /// The names of the secrets this scheme needs.
    pub fn secret_names(&self) -> Vec<&str> {
        match self {
            Auth::None => vec![],
            Auth::Bearer { secret } | Auth::Header { secret, .. } | Auth::Query { secret, .. } => vec![secret],
            Auth::Basic { user, password } => vec![user, password],
        }
    }
}

impl std::fmt::Display for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("none"),
            Auth::Bearer { secret } => write!(f, "bearer token from secret `{secret}`"),
            Auth::Header { name, secret } => write!(f, "header {name} from secret `{secret}`"),
            Auth::Query { param, secret } => write!(f, "query parameter {param} from secret `{secret}`"),
            Auth::Basic { user, password } => write!(f, "basic auth from secrets `{user}` and `{password}`"),
        }
    }
}

/// How a connector wants failed requests retried: at most `max_attempts` tries in all, waiting
/// `min(max_ms, base_ms * 2^n)` plus jitter between them; `retry_statuses` are retried on top of
/// the host's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff step, in ms.
    pub base_ms: u64,
    /// The largest backoff step, in ms.
    pub max_ms: u64,
    /// Statuses retried on top of the defaults.
    pub retry_statuses: Vec<u16>,
}

/// How random noise is added to each backoff step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// The step plus uniform noise up to half of it: 2-3 s, 4-6 s, 8-12 s ... (the default).
    #[default]
    Additive,
    /// Uniform between zero and the step.
    Full,
    /// Half the step plus uniform noise up to the other half.
    Equal,
    /// No noise: exactly the step.
    None,
}
