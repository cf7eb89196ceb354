//! Fetching: the HTTP client, auth injection, the allowed-hosts check, redirects, and the two
//! rules that live here: retries with backoff ([`retry`], rule 1) and rate limits per endpoint
//! ([`buckets`], rule 3).
//!
//! A [`Fetcher`] sends one attempt at a time; the sync engine drives the attempts of a request
//! with its [`RetryBudget`], storing every response before deciding what to do next.

mod auth;
mod backoff;
mod buckets;
mod pause;
mod rate_headers;
mod redirect;
mod retry;
mod retry_after;
mod target;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;
use url::Url;

pub use auth::AuthInjector;
pub use backoff::Backoff;
pub use buckets::{BucketLevel, Buckets, Permit, quota};
pub use rate_headers::{exhausted_for, reset_delay, resource_of};
pub use redirect::{Redirect, redirect_of};
pub use retry::{Failure, RetryBudget, Verdict};
pub use retry_after::parse_retry_after;
pub use target::Target;

use crate::clock::now_ms;
use crate::coord::SharedBudget;
use crate::model::{Endpoint, Header, RateLimitHeaders, Request, Response, header};
use crate::policy::{HttpSettings, RetrySettings, RunPolicy};
use crate::secrets::Secrets;

/// What a [`Fetcher`] is built from: where requests may go, credentials, the run's policy and
/// the manifest's endpoints.
pub struct FetchPlan {
    /// Where requests may go.
    pub target: Target,
    /// Credentials.
    pub auth: AuthInjector,
    /// The run's resolved policy.
    pub policy: RunPolicy,
    /// The manifest's endpoints (buckets, in-flight caps, idempotency-key headers).
    pub endpoints: Vec<Endpoint>,
    /// The manifest's rate-limit header names, if it overrides the defaults.
    pub rate_limit_headers: Option<RateLimitHeaders>,
    /// The budgets shared with other workers (`[coordination]`), drawn instead of this
    /// process's own buckets.
    pub shared: Option<SharedBudget>,
}

/// The HTTP client could not be built (the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct ClientError(String);

/// One HTTP attempt.
#[derive(Debug)]
pub struct Attempt {
    /// The response, or the transport error (one line, secrets redacted, no URL).
    pub result: Result<Response, String>,
    /// Time the request took.
    pub duration: Duration,
    /// Time spent waiting for rate-limit tokens and an in-flight slot first.
    pub rate_waited: Duration,
    /// The response's `Retry-After`, if it has a readable one.
    pub asked: Option<Duration>,
}

/// Sends a connector's requests: one attempt at a time, within the endpoint's rate limits.
pub struct Fetcher {
    client: reqwest::Client,
    target: Target,
    auth: AuthInjector,
    retry: RetrySettings,
    http: HttpSettings,
    buckets: Buckets,
    idempotency_headers: HashMap<String, String>,
    rate_limit_headers: Option<RateLimitHeaders>,
    rng: Mutex<StdRng>,
}

impl Fetcher {
    /// A fetcher for one connector in one pipeline. Redirects are never followed by the
    /// client (the sync follows them hop by hop, see [`redirect_of`]) and no `Referer` is sent.
    pub fn new(plan: FetchPlan) -> Result<Fetcher, ClientError> {
        let http = plan.policy.http;
        let client = reqwest::Client::builder()
            .connect_timeout(http.connect_timeout)
            .timeout(http.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .user_agent(concat!("apiary/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        let retry = plan.policy.retry;
        let rng = retry.seed.map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64);
        let idempotency_headers =
            plan.endpoints.iter().filter_map(|e| Some((e.name.clone(), e.idempotency_key.clone()?))).collect();
        Ok(Fetcher {
            client,
            target: plan.target,
            auth: plan.auth,
            buckets: match plan.shared {
                Some(shared) => Buckets::new(&plan.policy.buckets, &plan.endpoints).sharing(shared),
                None => Buckets::new(&plan.policy.buckets, &plan.endpoints),
            },
            retry,
            http,
            idempotency_headers,
            rate_limit_headers: plan.rate_limit_headers,
            rng: Mutex::new(rng),
        })
    }

    /// Where requests may go.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The secrets in use, for redacting text.
    pub fn secrets(&self) -> &Secrets {
        self.auth.secrets()
    }

    /// The retry settings in force.
    pub fn retry(&self) -> &RetrySettings {
        &self.retry
    }

    /// The HTTP settings in force.
    pub fn http(&self) -> &HttpSettings {
        &self.http
    }

    /// `url` without the credentials the auth scheme puts in URLs, for a redirect hop: the base
    /// origin gets them again when the hop is sent, no other origin does, and the stored hop
    /// never holds them.
    pub fn strip_credentials(&self, url: &mut Url) {
        self.auth.strip(url);
    }

    /// The API limits learned from responses: endpoint -> resource.
    pub fn resources(&self) -> BTreeMap<String, String> {
        self.buckets.resources()
    }

    /// The run's rate-limit buckets (to read their levels).
    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    /// The request as it is sent and its retry budget. Idempotent methods may always be sent
    /// again; others only when the endpoint names an idempotency-key header, which then carries
    /// one key on every attempt.
    pub fn prepare(&self, request: &Request) -> (Request, RetryBudget) {
        let mut request = request.clone();
        let mut rng = self.rng.lock().expect("rng lock");
        let repeatable = request.method.is_idempotent()
            || match self.idempotency_headers.get(&request.endpoint) {
                Some(name) => {
                    if header(&request.headers, name).is_none() {
                        let key: u128 = rng.random();
                        request.headers.push(Header::new(name.clone(), format!("{key:032x}")));
                    }
                    true
                }
                None => false,
            };
        let budget = RetryBudget::new(&self.retry, repeatable, rng.random());
        (request, budget)
    }

    /// Send one attempt of `request` to `url` (a redirect hop may differ from the request's
    /// own URL), after waiting for the endpoint's rate limits; then pause the buckets if the
    /// response says so. `attempt` (1-based) sizes the pause after a 429 without `Retry-After`.
    pub async fn send(&self, request: &Request, url: &Url, attempt: u32) -> Attempt {
        let permit = self.buckets.acquire(&request.endpoint).await;
        let rate_waited = permit.waited;
        let started = Instant::now();
        let result = self.send_once(url.clone(), request).await;
        let duration = started.elapsed();
        drop(permit);
        let asked = result.as_ref().ok().and_then(|r| header(&r.headers, "retry-after"));
        let asked = asked.and_then(|value| parse_retry_after(value, SystemTime::now()));
        if let Ok(response) = &result {
            self.adapt_buckets(&request.endpoint, response, asked, attempt);
        }
        Attempt { result, duration, rate_waited, asked }
    }

    /// Pause the endpoint's buckets when the API says stop: a 429 (for its `Retry-After`, or
    /// the backoff step), or a quota reported as used up (until its reset) - only the endpoints
    /// of the named limit when the API names it.
    fn adapt_buckets(&self, endpoint: &str, response: &Response, asked: Option<Duration>, attempt: u32) {
        let cap = self.retry.max_retry_after;
        let resource = resource_of(&response.headers);
        if let Some(resource) = &resource {
            self.buckets.learn_resource(endpoint, resource);
        }
        if response.status == 429 {
            let pause = asked.unwrap_or_else(|| Backoff::of(&self.retry).step(attempt.saturating_sub(1))).min(cap);
            self.buckets.pause(endpoint, pause);
        } else if let Some(reset) = exhausted_for(&response.headers, self.rate_limit_headers.as_ref(), now_ms()) {
            match &resource {
                Some(resource) => self.buckets.pause_resource(endpoint, resource, reset.min(cap)),
                None => self.buckets.pause(endpoint, reset.min(cap)),
            }
        }
    }

    /// One HTTP request; an error is a transport failure, already redacted. Credentials go
    /// only to the base URL's origin.
    async fn send_once(&self, mut url: Url, request: &Request) -> Result<Response, String> {
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes()).expect("standard method");
        let mut builder = self.client.request(method, "http://placeholder.invalid/");
        if self.target.is_base_origin(&url) {
            builder = self.auth.apply(&mut url, builder);
        }
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
        // A header may echo a secret (a `Location` keeping the query): none is stored or parsed.
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                Header::new(name.as_str(), self.secrets().redact(&String::from_utf8_lossy(value.as_bytes())))
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(e))? {
            if body.len() + chunk.len() > self.http.max_body_bytes {
                return Err(format!("response body larger than the {} MiB limit", self.http.max_body_bytes >> 20));
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

#[cfg(test)]
mod tests;
