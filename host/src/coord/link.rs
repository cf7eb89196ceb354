//! The connection to Redis: a `redis` connection manager (it reconnects by itself after a
//! failure), with short timeouts so an unreachable Redis is noticed and waited out by the
//! caller, and errors as one line naming Redis by host and port, never by its URL.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ToRedisArgs};

use crate::secrets::Secrets;

/// How long connecting or one command may take before Redis counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Coordination could not be set up or Redis did not answer.
#[derive(Debug, thiserror::Error)]
pub enum CoordError {
    /// `[coordination]` is unusable (no such secret, a bad URL).
    #[error("{0}")]
    Config(String),
    /// Redis failed or is unreachable.
    #[error("Redis at {place}: {message}")]
    Redis {
        /// `HOST:PORT`.
        place: String,
        /// What went wrong, redacted.
        message: String,
    },
}

/// A connection to one Redis, shared by clones.
#[derive(Clone)]
pub struct RedisLink {
    manager: ConnectionManager,
    place: String,
    hidden: Secrets,
}

impl RedisLink {
    /// A link to the Redis at `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`); connects on first use.
    pub fn open(url: &str) -> Result<RedisLink, CoordError> {
        let parsed = url::Url::parse(url).ok();
        let hidden = Secrets::from_values(
            [
                ("url", Some(url.to_string())),
                ("password", parsed.as_ref().and_then(|u| u.password().map(str::to_string))),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?))),
        );
        let place = parsed
            .as_ref()
            .map(|u| format!("{}:{}", u.host_str().unwrap_or("?"), u.port().unwrap_or(6379)))
            .unwrap_or_else(|| "(unparsable URL)".into());
        let bad_url = |e: redis::RedisError| {
            CoordError::Config(hidden.redact(&format!(
                "[coordination] redis is not a Redis URL ({e}): write it as redis://[:PASSWORD@]HOST:PORT"
            )))
        };
        let client = redis::Client::open(url).map_err(bad_url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let manager = ConnectionManager::new_lazy_with_config(client, config).map_err(bad_url)?;
        Ok(RedisLink { manager, place, hidden })
    }

    /// `HOST:PORT`, for messages.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Run `script` with `keys` and `args`.
    pub async fn eval<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&dyn ToRedisArgsRef],
    ) -> Result<T, CoordError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            arg.push_to(&mut invocation);
        }
        let mut connection = self.manager.clone();
        invocation.invoke_async(&mut connection).await.map_err(|e| self.error(e))
    }

    /// Run one command.
    pub async fn query<T: FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, CoordError> {
        let mut connection = self.manager.clone();
        command.query_async(&mut connection).await.map_err(|e| self.error(e))
    }

    /// A Redis error as one redacted line.
    fn error(&self, e: redis::RedisError) -> CoordError {
        let message = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
            format!("unreachable ({e})")
        } else {
            e.to_string()
        };
        CoordError::Redis { place: self.place.clone(), message: self.hidden.redact(&message) }
    }
}

/// An argument to a script (object-safe, so one call can mix numbers and strings).
pub trait ToRedisArgsRef: Sync {
    /// Append this argument to `invocation`.
    fn push_to(&self, invocation: &mut redis::ScriptInvocation<'_>);
}

impl<T: ToRedisArgs + Sync> ToRedisArgsRef for T {
    fn push_to(&self, invocation: &mut redis::ScriptInvocation<'_>) {
        invocation.arg(self);
    }
}
