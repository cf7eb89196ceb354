//! Fetching: the HTTP client, retries with backoff and jitter, `Retry-After`, auth injection and
//! the allowed-hosts check. Rules 1 and 3 of the design live here.

mod auth;
mod backoff;
mod classify;
mod retry_after;
mod target;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

pub use auth::{AuthInjector, REDACTED, SecretError, Secrets};
pub use backoff::{Backoff, Jitter};
pub use classify::{is_idempotent, is_retryable_status};
pub use retry_after::parse_retry_after;
pub use target::Target;

use crate::runtime::{Exchange, Header, Method, Request, Response, RetryPolicy};
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
    /// Time spent waiting between attempts.
    pub waited: Duration,
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

/// Sends a connector's requests under its retry policy.
pub struct Fetcher {
    client: reqwest::Client,
    target: Target,
    auth: AuthInjector,
    policy: RetryPolicy,
    backoff: Backoff,
    settings: FetchSettings,
    rng: Mutex<StdRng>,
}

impl Fetcher {
    /// A fetcher for one connector in one pipeline.
    pub fn new(
        target: Target,
        auth: AuthInjector,
        policy: RetryPolicy,
        settings: FetchSettings,
    ) -> Fetcher {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("apiary/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is valid");
        let backoff = Backoff {
            base: Duration::from_millis(policy.base_ms),
            max: Duration::from_millis(policy.max_ms.max(policy.base_ms)),
            jitter: settings.jitter,
        };
        let rng = settings
            .seed
            .map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64);
        Fetcher {
            client,
            target,
            auth,
            policy,
            backoff,
            settings,
            rng: Mutex::new(rng),
        }
    }

    /// The secrets in use, for redacting text.
    pub fn secrets(&self) -> &Secrets {
        self.auth.secrets()
    }

    /// Fetch `request`, retrying what is worth retrying.
    pub async fn fetch(&self, request: &Request) -> Result<Fetched, FetchError> {
        let url = self
            .target
            .resolve(&request.url)
            .map_err(FetchError::Policy)?;
        let max_attempts = self.policy.max_attempts.max(1);
        let retry_allowed = is_idempotent(request.method);
        let (mut waited, mut throttled) = (Duration::ZERO, 0);
        for attempt in 1..=max_attempts {
            let started = Instant::now();
            let outcome = self.send_once(url.clone(), request).await;
            let duration = started.elapsed();
            let last = attempt == max_attempts || !retry_allowed;
            let wait = match outcome {
                Ok(response) => {
                    throttled += u32::from(response.status == 429);
                    let retryable =
                        is_retryable_status(response.status, &self.policy.retry_statuses);
                    let asked = self.server_wait(&response);
                    let gave_up = asked
                        .filter(|w| *w > self.settings.max_retry_after)
                        .map(|w| {
                            format!(
                                "server asked to wait {} s, more than the {} s cap",
                                w.as_secs(),
                                self.settings.max_retry_after.as_secs()
                            )
                        });
                    if !retryable || last || gave_up.is_some() {
                        let exchange = Exchange {
                            request: request.clone(),
                            response,
                            fetched_at_ms: now_ms(),
                        };
                        return Ok(Fetched {
                            exchange,
                            attempts: attempt,
                            duration,
                            waited,
                            throttled,
                            gave_up,
                        });
                    }
                    self.next_wait(attempt, asked)
                }
                Err(error) if last => {
                    return Err(FetchError::Failed {
                        error,
                        attempts: attempt,
                    });
                }
                Err(_) => self.next_wait(attempt, None),
            };
            tracing::debug!(url = %self.secrets().redact(url.as_str()), attempt, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        unreachable!("the last attempt always returns")
    }

    /// The backoff wait after attempt `attempt` (1-based), or the server's demand if longer.
    fn next_wait(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        let computed = self
            .backoff
            .delay(attempt - 1, &mut *self.rng.lock().expect("rng lock"));
        asked.map_or(computed, |a| a.max(computed))
    }

    /// What the response asks us to wait: `Retry-After`, if present and readable.
    fn server_wait(&self, response: &Response) -> Option<Duration> {
        let value = header(&response.headers, "retry-after")?;
        parse_retry_after(value, SystemTime::now())
    }

    /// One HTTP attempt; an error is a transport failure, already redacted.
    async fn send_once(&self, mut url: url::Url, request: &Request) -> Result<Response, String> {
        let mut builder = self.client.request(
            reqwest_method(request.method),
            "http://placeholder.invalid/",
        );
        builder = self.auth.apply(&mut url, builder);
        for h in &request.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut http = builder.build().map_err(|e| self.describe(e))?;
        *http.url_mut() = url;
        let mut response = self
            .client
            .execute(http)
            .await
            .map_err(|e| self.describe(e))?;
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
                return Err(format!(
                    "response body larger than the {} MiB limit",
                    self.settings.max_body_bytes >> 20
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
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
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
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
