//! Fetching: the HTTP client, retries with backoff and jitter, `Retry-After`, auth injection and
//! the allowed-hosts check. Rules 1 and 3 of the design live here.

mod auth;
mod backoff;
mod buckets;
mod classify;
mod deprecation;
mod rate_headers;
mod retry_after;
mod target;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

pub use auth::{AuthInjector, REDACTED, SecretError, Secrets};
pub use backoff::{Backoff, Jitter};
pub use buckets::{Buckets, effective_buckets};
pub use classify::{is_idempotent, is_retryable_status};
pub use deprecation::DeprecationNotice;
pub use rate_headers::{exhausted_for, reset_delay};
pub use retry_after::parse_retry_after;
pub use target::Target;

use std::collections::HashMap;

use crate::runtime::{Endpoint, Exchange, Header, Manifest, Method, RateLimitHeaders, Request, Response, RetryPolicy};
use crate::store::now_ms;

/// Fetch settings a pipeline may tune; the defaults suit most APIs.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, body included.
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_body_bytes: usize,
    /// How backoff steps are randomised.
    pub jitter: Jitter,
    /// The longest `Retry-After` honoured; a longer demand gives up on the request.
    pub max_retry_after: Duration,
    /// Seed for the jitter RNG (tests); random when `None`.
    pub seed: Option<u64>,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_body_bytes: 64 << 20,
            jitter: Jitter::Additive,
            max_retry_after: Duration::from_secs(15 * 60),
            seed: None,
        }
    }
}

/// A request that got an HTTP response (any status) after one or more attempts.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The request as the connector made it (no credentials) and the last response.
    pub exchange: Exchange,
    /// Attempts made, the last included.
    pub attempts: u32,
    /// Time the last attempt took.
    pub duration: Duration,
    /// Time spent waiting between attempts (backoff, `Retry-After`).
    pub waited: Duration,
    /// Time spent waiting for rate-limit tokens and in-flight slots.
    pub rate_waited: Duration,
    /// Responses with status 429 along the way.
    pub throttled: u32,
    /// Why retrying stopped early, if it did (e.g. a `Retry-After` beyond the cap).
    pub gave_up: Option<String>,
}

/// A request that could not be fetched at all.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// The host refused to send it (undeclared host, bad URL, plain http off loopback).
    #[error("{0}")]
    Policy(String),
    /// Every attempt failed without an HTTP response.
    #[error("{error} (after {attempts} attempts)")]
    Failed {
        /// The last error, secrets redacted.
        error: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// Sends a connector's requests under its retry policy and rate limits.
pub struct Fetcher {
    client: reqwest::Client,
    target: Target,
    auth: AuthInjector,
    policy: RetryPolicy,
    backoff: Backoff,
    settings: FetchSettings,
    buckets: Buckets,
    idempotency_headers: HashMap<String, String>,
    rate_limit_headers: Option<RateLimitHeaders>,
    rng: Mutex<StdRng>,
}

/// What a [`Fetcher`] is built from: the connector's declarations as the pipeline adjusted them.
pub struct FetchPlan {
    /// Where requests may go.
    pub target: Target,
    /// Credentials.
    pub auth: AuthInjector,
    /// The retry policy in force.
    pub policy: RetryPolicy,
    /// The buckets in force and the endpoints that draw from them.
    pub buckets: Buckets,
    /// The manifest's endpoints (idempotency-key headers).
    pub endpoints: Vec<Endpoint>,
    /// The manifest's rate-limit header names, if it overrides the defaults.
    pub rate_limit_headers: Option<RateLimitHeaders>,
}

impl FetchPlan {
    /// The plan for `manifest` with a policy, buckets, target and auth already decided.
    pub fn new(
        manifest: &Manifest,
        target: Target,
        auth: AuthInjector,
        policy: RetryPolicy,
        buckets: Buckets,
    ) -> FetchPlan {
        FetchPlan {
            target,
            auth,
            policy,
            buckets,
            endpoints: manifest.endpoints.clone(),
            rate_limit_headers: manifest.rate_limit_headers.clone(),
        }
    }
}

impl Fetcher {
    /// A fetcher for one connector in one pipeline.
    pub fn new(plan: FetchPlan, settings: FetchSettings) -> Fetcher {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("apiary/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is valid");
        let policy = plan.policy;
        let backoff = Backoff {
            base: Duration::from_millis(policy.base_ms),
            max: Duration::from_millis(policy.max_ms.max(policy.base_ms)),
            jitter: settings.jitter,
        };
        let rng = settings.seed.map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64);
        let idempotency_headers =
            plan.endpoints.iter().filter_map(|e| Some((e.name.clone(), e.idempotency_key.clone()?))).collect();
        Fetcher {
            client,
            target: plan.target,
            auth: plan.auth,
            policy,
            backoff,
            settings,
            buckets: plan.buckets,
            idempotency_headers,
            rate_limit_headers: plan.rate_limit_headers,
            rng: Mutex::new(rng),
        }
    }

    /// The secrets in use, for redacting text.
    pub fn secrets(&self) -> &Secrets {
        self.auth.secrets()
    }

    /// The absolute URL a connector's `url` resolves to, or why it may not be fetched.
    pub fn resolve(&self, url: &str) -> Result<url::Url, String> {
        self.target.resolve(url)
    }

    /// The retry policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Fetch `request`, retrying what is worth retrying, within the endpoint's rate limits.
    pub async fn fetch(&self, request: &Request) -> Result<Fetched, FetchError> {
        let url = self.target.resolve(&request.url).map_err(FetchError::Policy)?;
        let (request, retry_allowed) = self.with_idempotency_key(request);
        let max_attempts = self.policy.max_attempts.max(1);
        let (mut waited, mut rate_waited, mut throttled) = (Duration::ZERO, Duration::ZERO, 0);
        for attempt in 1..=max_attempts {
            let permit = self.buckets.acquire(&request.endpoint).await;
            rate_waited += permit.waited;
            let started = Instant::now();
            let outcome = self.send_once(url.clone(), &request).await;
            let duration = started.elapsed();
            drop(permit);
            let last = attempt == max_attempts || !retry_allowed;
            let wait = match outcome {
                Ok(response) => {
                    let asked = self.server_wait(&response);
                    self.adapt_buckets(&request.endpoint, &response, asked, attempt);
                    throttled += u32::from(response.status == 429);
                    let retryable = is_retryable_status(response.status, &self.policy.retry_statuses);
                    let gave_up = asked.filter(|w| *w > self.settings.max_retry_after).map(|w| {
                        format!(
                            "server asked to wait {} s, more than the {} s cap",
                            w.as_secs(),
                            self.settings.max_retry_after.as_secs()
                        )
                    });
                    if !retryable || last || gave_up.is_some() {
                        let exchange = Exchange { request, response, fetched_at_ms: now_ms() };
                        return Ok(Fetched {
                            exchange,
                            attempts: attempt,
                            duration,
                            waited,
                            rate_waited,
                            throttled,
                            gave_up,
                        });
                    }
                    self.retry_wait(attempt, asked)
                }
                Err(error) if last => return Err(FetchError::Failed { error, attempts: attempt }),
                Err(_) => self.retry_wait(attempt, None),
            };
            tracing::debug!(url = %self.secrets().redact(url.as_str()), attempt, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        unreachable!("the last attempt always returns")
    }

    /// The request as sent, and whether it may be retried: idempotent methods always; others
    /// only when the endpoint names an idempotency-key header, which then carries one key for
    /// every attempt.
    fn with_idempotency_key(&self, request: &Request) -> (Request, bool) {
        let mut request = request.clone();
        if is_idempotent(request.method) {
            return (request, true);
        }
        let Some(header_name) = self.idempotency_headers.get(&request.endpoint) else { return (request, false) };
        if header(&request.headers, header_name).is_none() {
            let key: u128 = rand::Rng::random(&mut *self.rng.lock().expect("rng lock"));
            request.headers.push(Header { name: header_name.clone(), value: format!("{key:032x}") });
        }
        (request, true)
    }

    /// Pause the endpoint's buckets when the API says stop: a 429 (for its `Retry-After`, or
    /// the backoff step), or a quota reported as used up (until its reset).
    fn adapt_buckets(&self, endpoint: &str, response: &Response, asked: Option<Duration>, attempt: u32) {
        if response.status == 429 {
            let pause = asked.unwrap_or_else(|| self.backoff.step(attempt - 1)).min(self.settings.max_retry_after);
            self.buckets.pause(endpoint, pause);
        } else if let Some(reset) = exhausted_for(&response.headers, self.rate_limit_headers.as_ref(), now_ms()) {
            self.buckets.pause(endpoint, reset.min(self.settings.max_retry_after));
        }
    }

    /// The backoff wait after attempt `attempt` (1-based), or the server's demand if longer.
    pub fn retry_wait(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        let computed = self.backoff.delay(attempt - 1, &mut *self.rng.lock().expect("rng lock"));
        asked.map_or(computed, |a| a.max(computed))
    }

    /// What the response asks us to wait: `Retry-After`, if present and readable.
    fn server_wait(&self, response: &Response) -> Option<Duration> {
        let value = header(&response.headers, "retry-after")?;
        parse_retry_after(value, SystemTime::now())
    }

    /// One HTTP attempt; an error is a transport failure, already redacted.
    async fn send_once(&self, mut url: url::Url, request: &Request) -> Result<Response, String> {
        let mut builder = self.client.request(reqwest_method(request.method), "http://placeholder.invalid/");
        builder = self.auth.apply(&mut url, builder);
        for h in &request.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut http = builder.build().map_err(|e| self.describe(e))?;
        *http.url_mut() = url;
        let mut response = self.client.execute(http).await.map_err(|e| self.describe(e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| Header {
                name: name.as_str().to_string(),
                value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(e))? {
            if body.len() + chunk.len() > self.settings.max_body_bytes {
                return Err(format!("response body larger than the {} MiB limit", self.settings.max_body_bytes >> 20));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers, body })
    }

    /// A transport error as one redacted line, without the URL (it may carry a query secret).
    fn describe(&self, error: reqwest::Error) -> String {
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        let error = error.without_url();
        let mut text = format!("{kind}: {error}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        self.secrets().redact(&text)
    }
}

/// The first value of header `name` (case-insensitive).
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
}

fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

#[cfg(test)]
mod tests;
