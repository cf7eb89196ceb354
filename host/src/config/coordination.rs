//! The `[coordination]` table: the Redis that workers on several machines share, for rate
//! budgets drawn by every worker of a credential and for pipeline leases under `apiary serve`.
//!
//! ```toml
//! [coordination]
//! redis = { env = "REDIS_URL" }   # or the name of a [secrets] entry; it may hold a password
//! lease-ttl = "30s"               # serve: how long a dead worker keeps a pipeline (5s to 10m)
//! ```

use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::UrlSource;

/// The `[coordination]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CoordinationConfig {
    /// Where Redis is: `redis://[:PASSWORD@]HOST:PORT[/DB]`, read like a secret.
    pub redis: UrlSource,
    /// How long a pipeline's lease lasts without renewal: a worker that dies gives the
    /// pipeline up this long after its last renewal.
    #[serde(default)]
    pub lease_ttl: LeaseTtl,
}

/// A lease's time to live, 5 s to 10 min (default 30 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LeaseTtl(Duration);

impl LeaseTtl {
    /// The shortest TTL: renewals every third of it must get through a busy Redis.
    pub const MIN: Duration = Duration::from_secs(5);
    /// The longest TTL: a dead worker's pipelines wait at most this long.
    pub const MAX: Duration = Duration::from_secs(600);

    /// The duration.
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl Default for LeaseTtl {
    fn default() -> LeaseTtl {
        LeaseTtl(Duration::from_secs(30))
    }
}

impl FromStr for LeaseTtl {
    type Err = String;

    fn from_str(text: &str) -> Result<LeaseTtl, String> {
        let ttl = humantime::parse_duration(text.trim())
            .map_err(|e| format!("`lease-ttl` {text:?} is not a duration like \"30s\" ({e})"))?;
        if !(LeaseTtl::MIN..=LeaseTtl::MAX).contains(&ttl) {
            return Err(format!("`lease-ttl` {text:?} is outside 5s..10m"));
        }
        Ok(LeaseTtl(ttl))
    }
}

impl TryFrom<String> for LeaseTtl {
    type Error = String;

    fn try_from(text: String) -> Result<LeaseTtl, String> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_ttl_is_a_bounded_duration() {
        assert_eq!("45s".parse::<LeaseTtl>().unwrap().duration(), Duration::from_secs(45));
        assert!("1s".parse::<LeaseTtl>().unwrap_err().contains("5s..10m"));
        assert!("soon".parse::<LeaseTtl>().unwrap_err().contains("not a duration"));
        assert_eq!(LeaseTtl::default().duration(), Duration::from_secs(30));
    }
}
