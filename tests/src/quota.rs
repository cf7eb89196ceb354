//! The API's own account of a named rate limit, as GitHub sends it: `X-RateLimit-Resource`
//! names the limit a response counts against, with its remaining requests and reset time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};

/// The quota every named limit reports.
const LIMIT: u64 = 60;

/// `PATH_PART=NAME[/EXHAUSTED_S]`: responses to paths containing `path_part` count against the
/// limit `name`; with `exhausted_s`, the first such response says it is used up
/// (`X-RateLimit-Remaining: 0`) until `exhausted_s` seconds from now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateResource {
    /// Which responses carry the headers.
    pub path_part: String,
    /// The limit's name (`core`, `search`).
    pub name: String,
    /// Seconds until the reset when the first response uses the quota up.
    pub exhausted_s: Option<u64>,
}

impl std::str::FromStr for RateResource {
    type Err = String;

    /// `PATH_PART=NAME` or `PATH_PART=NAME/EXHAUSTED_S`, e.g. `search=search/2`.
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("{s:?}: expected PATH_PART=NAME[/EXHAUSTED_S]");
        let (part, spec) = s.split_once('=').ok_or_else(usage)?;
        let (name, exhausted_s) = match spec.split_once('/') {
            Some((name, seconds)) => (name, Some(seconds.parse().map_err(|_| usage())?)),
            None => (spec, None),
        };
        if part.is_empty() || name.is_empty() {
            return Err(usage());
        }
        Ok(RateResource { path_part: part.to_string(), name: name.to_string(), exhausted_s })
    }
}

/// A named limit and the responses it has counted.
#[derive(Debug)]
pub struct Quota {
    resource: RateResource,
    answered: AtomicU64,
}

impl Quota {
    /// Report `resource` on its responses.
    pub fn new(resource: RateResource) -> Quota {
        Quota { resource, answered: AtomicU64::new(0) }
    }

    /// Add the limit's headers to a response for `path`, if it counts against this limit.
    pub fn annotate(&self, path: &str, headers: &mut HeaderMap) {
        if !path.contains(&self.resource.path_part) {
            return;
        }
        let first = self.answered.fetch_add(1, Ordering::SeqCst) == 0;
        let now_s = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (remaining, reset) = match self.resource.exhausted_s {
            Some(seconds) if first => (0, now_s + seconds),
            _ => (LIMIT - 1, now_s + 60),
        };
        let name = HeaderValue::from_str(&self.resource.name).unwrap_or(HeaderValue::from_static("invalid"));
        headers.insert("x-ratelimit-resource", name);
        headers.insert("x-ratelimit-limit", HeaderValue::from(LIMIT));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_response_uses_the_quota_up_when_asked() {
        let quota = Quota::new("search=search/2".parse().unwrap());
        let mut first = HeaderMap::new();
        quota.annotate("/search/issues", &mut first);
        assert_eq!(first["x-ratelimit-resource"], "search");
        assert_eq!(first["x-ratelimit-remaining"], "0");
        let mut second = HeaderMap::new();
        quota.annotate("/search/issues", &mut second);
        assert_eq!(second["x-ratelimit-remaining"], "59");
        let mut other = HeaderMap::new();
        quota.annotate("/repos/o/generated/issues", &mut other);
        assert!(other.is_empty());
        assert!("search".parse::<RateResource>().is_err());
        assert_eq!("issues=core".parse::<RateResource>().unwrap().exhausted_s, None);
    }
}
